//! Request parsing in one pass over the buffer: a frame is either complete (its
//! argument spans are returned with the bytes consumed) or incomplete (nothing
//! is consumed, and the caller reads more). Lengths are checked before any
//! allocation, so a client that declares a huge length costs nothing up front.

use std::ops::Range;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bulk_len: usize,
    pub max_multibulk_len: usize,
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_multibulk_len: 1024 * 1024, max_inline_len: 64 * 1024 }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Incomplete,
    /// A multibulk request; its arguments are `spans` into the buffer.
    Multibulk {
        consumed: usize,
    },
    /// An inline request (a person typing into `nc`): arguments are owned,
    /// since quoting may have changed them.
    Inline {
        consumed: usize,
        args: Vec<Vec<u8>>,
    },
}

/// A request that can't be parsed; the connection answers it and closes.
#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

fn err(msg: &str) -> ProtocolError {
    ProtocolError(format!("ERR Protocol error: {msg}"))
}

pub fn parse_request(buf: &[u8], spans: &mut Vec<Range<usize>>, limits: &Limits) -> Result<Parsed, ProtocolError> {
    spans.clear();
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk(buf, spans, limits),
        Some(_) => parse_inline(buf, limits),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let nl = from + buf.get(from..)?.iter().position(|&b| b == b'\n')?;
    Some(nl)
}

/// Parses a decimal integer exactly as Redis's string2ll does for lengths.
fn parse_len(digits: &[u8]) -> Option<i64> {
    let (neg, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as i64;
    }
    Some(if neg { -v } else { v })
}

/// Reads a `<prefix><int>\r\n` line at `pos`; None when the line is incomplete.
fn read_len_line(buf: &[u8], pos: usize, max_line: usize) -> Result<Option<(Option<i64>, usize)>, ()> {
    match find_crlf(buf, pos) {
        None if buf.len() - pos > max_line => Err(()),
        None => Ok(None),
        Some(nl) => {
            let end = if nl > pos && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
            Ok(Some((parse_len(&buf[pos + 1..end]), nl + 1)))
        }
    }
}

fn parse_multibulk(buf: &[u8], spans: &mut Vec<Range<usize>>, limits: &Limits) -> Result<Parsed, ProtocolError> {
    let Some((count, mut pos)) =
        read_len_line(buf, 0, limits.max_inline_len).map_err(|_| err("too big mbulk count string"))?
    else {
        return Ok(Parsed::Incomplete);
    };
    let count = match count {
        Some(n) if n <= 0 => return Ok(Parsed::Multibulk { consumed: pos }),
        Some(n) if n as usize <= limits.max_multibulk_len => n as usize,
        _ => return Err(err("invalid multibulk length")),
    };
    spans.reserve(count.min(1024));
    for _ in 0..count {
        match buf.get(pos) {
            None => return Ok(Parsed::Incomplete),
            Some(b'$') => {}
            Some(&other) => return Err(err(&format!("expected '$', got '{}'", other as char))),
        }
        let Some((len, next)) =
            read_len_line(buf, pos, limits.max_inline_len).map_err(|_| err("too big bulk count string"))?
        else {
            return Ok(Parsed::Incomplete);
        };
        let len = match len {
            Some(n) if n >= 0 && n as usize <= limits.max_bulk_len => n as usize,
            _ => return Err(err("invalid bulk length")),
        };
        if buf.len() < next + len + 2 {
            return Ok(Parsed::Incomplete);
        }
        if &buf[next + len..next + len + 2] != b"\r\n" {
            return Err(err("invalid bulk terminator"));
        }
        spans.push(next..next + len);
        pos = next + len + 2;
    }
    Ok(Parsed::Multibulk { consumed: pos })
}

fn parse_inline(buf: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
    let Some(nl) = find_crlf(buf, 0) else {
        return if buf.len() > limits.max_inline_len {
            Err(err("too big inline request"))
        } else {
            Ok(Parsed::Incomplete)
        };
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match split_args(line) {
        Some(args) => Ok(Parsed::Inline { consumed: nl + 1, args }),
        None => Err(err("unbalanced quotes in request")),
    }
}

/// Splits a line like redis's sdssplitargs: spaces separate, "double quotes"
/// take \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' take \'.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                let c = *line.get(i)?;
                if c == b'\\'
                    && i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let hex = std::str::from_utf8(&line[i + 2..i + 4]).ok()?;
                    cur.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 4;
                    continue;
                } else if c == b'\\' && i + 1 < line.len() {
                    cur.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                    continue;
                } else if c == b'"' {
                    // A closing quote must be followed by a space or the end.
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else if in_sq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else {
                match line.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => cur.push(c),
                }
                i += 1;
            }
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> (Result<Parsed, ProtocolError>, Vec<Vec<u8>>) {
        let mut spans = Vec::new();
        let r = parse_request(buf, &mut spans, &Limits::default());
        let args = spans.iter().map(|s| buf[s.clone()].to_vec()).collect();
        (r, args)
    }

    #[test]
    fn multibulk_complete_and_partial() {
        let req = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        let (r, args) = parse(req);
        assert_eq!(r, Ok(Parsed::Multibulk { consumed: req.len() }));
        assert_eq!(args, vec![b"GET".to_vec(), b"key".to_vec()]);
        for cut in 0..req.len() {
            assert_eq!(parse(&req[..cut]).0, Ok(Parsed::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn binary_safe_values() {
        let req = b"*2\r\n$3\r\nSET\r\n$4\r\n\r\n\x00\xff\r\n";
        let (r, args) = parse(req);
        assert!(matches!(r, Ok(Parsed::Multibulk { .. })));
        assert_eq!(args[1], b"\r\n\x00\xff");
    }

    #[test]
    fn huge_declared_lengths_are_rejected_not_allocated() {
        assert_eq!(parse(b"*99999999999\r\n").0, Err(err("invalid multibulk length")));
        assert_eq!(parse(b"*1\r\n$999999999999\r\n").0, Err(err("invalid bulk length")));
        assert_eq!(parse(b"*1\r\n$-5\r\n").0, Err(err("invalid bulk length")));
        assert_eq!(parse(b"*1\r\n:5\r\n").0, Err(err("expected '$', got ':'")));
        assert_eq!(parse(b"*x\r\n").0, Err(err("invalid multibulk length")));
        // A large but legal bulk just waits for its bytes.
        assert_eq!(parse(b"*1\r\n$100000000\r\nabc").0, Ok(Parsed::Incomplete));
    }

    #[test]
    fn inline_with_quotes() {
        let (r, _) = parse(b"SET k \"a b\\x41\\n\" 'it\\'s'\r\n");
        let Ok(Parsed::Inline { args, .. }) = r else { panic!("{r:?}") };
        assert_eq!(args, vec![b"SET".to_vec(), b"k".to_vec(), b"a bA\n".to_vec(), b"it's".to_vec()]);
        assert_eq!(parse(b"GET \"k\r\n").0, Err(err("unbalanced quotes in request")));
        assert_eq!(parse(b"PING").0, Ok(Parsed::Incomplete));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let alphabet = b"*$\r\n0123456789-abc \"'\\x";
        for _ in 0..20_000 {
            let len = (x % 40) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(if x.is_multiple_of(3) {
                    (x >> 8) as u8
                } else {
                    alphabet[(x >> 16) as usize % alphabet.len()]
                });
            }
            let _ = parse(&buf);
        }
    }
}
