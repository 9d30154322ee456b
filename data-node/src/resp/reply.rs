//! The reply encoder. Commands write straight into the connection's output
//! buffer; the protocol version decides how maps, sets, nulls and doubles look.

pub struct Reply {
    pub buf: Vec<u8>,
    pub resp3: bool,
}

fn push_int(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Formats a double the way Redis prints scores and INCRBYFLOAT results.
pub fn format_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.trunc() && v.abs() < 1e17 {
        return format!("{}", v as i64);
    }
    format!("{v}")
}

/// Formats a double as redis-server 7.0 replies with one (scores, distances):
/// integers below 2^52 as integers, anything else as C's `%.17g`.
pub fn format_score(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.trunc() && v.abs() < 4_503_599_627_370_496.0 {
        return format!("{}", v as i64);
    }
    let scientific = format!("{v:.16e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..17).contains(&exponent) {
        let fixed = format!("{:.*}", (16 - exponent) as usize, v);
        trim_fraction(&fixed).to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.abs())
    }
}

/// "1.2500" → "1.25", "3.000" → "3".
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

impl Reply {
    /// A connection's reply buffer, sized for a batch of pipelined replies.
    pub fn new() -> Reply {
        Reply { buf: Vec::with_capacity(16 * 1024), resp3: false }
    }

    /// A buffer for one reply that is read back at once (a command a script
    /// calls): a connection's 16 KiB each time was most of a script's cost.
    pub fn scratch(resp3: bool) -> Reply {
        Reply { buf: Vec::with_capacity(64), resp3 }
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        push_int(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` starts with its code (`ERR`, `WRONGTYPE`, ...).
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        // A newline inside an error would break the framing.
        self.buf.extend(msg.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_opt(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.bulk(d),
            None => self.null(),
        }
    }

    pub fn bulk_int(&mut self, v: i64) {
        let mut tmp = Vec::with_capacity(20);
        push_int(&mut tmp, v);
        self.bulk(&tmp);
    }

    /// A null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// A null array (RESP2 `*-1`, RESP3 `_`).
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of n pairs; a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 { self.header(b'%', n as i64) } else { self.header(b'*', 2 * n as i64) }
    }

    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// An out-of-band message: a RESP3 push, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    pub fn double(&mut self, v: f64) {
        self.double_text(&format_score(v));
    }

    /// A double already formatted (RESP3 `,`; a bulk string in RESP2).
    pub fn double_text(&mut self, text: &str) {
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A big number (RESP3 `(`; a bulk string in RESP2).
    pub fn big_number(&mut self, digits: &str) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits.as_bytes());
        }
    }

    /// A HELP reply: one status line each.
    pub fn help(&mut self, lines: &[&str]) {
        self.array(lines.len());
        for line in lines {
            self.simple(line);
        }
    }

    pub fn bool(&mut self, v: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// Text meant for people (INFO, CLIENT LIST): verbatim in RESP3.
    pub fn verbatim(&mut self, text: &str) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for i in items {
            self.bulk(i);
        }
    }
}

impl Default for Reply {
    fn default() -> Self {
        Reply::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_as_redis_server_7_0_prints_them() {
        // Each pair as redis-server 7.0.15 answered ZSCORE on this machine.
        for (v, text) in [
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (3.0e-5, "3.0000000000000001e-05"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (4503599627370497.0, "4503599627370497"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.5, "-2.5"),
            (7.0, "7"),
            (0.0, "0"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_score(v), text, "{v:e}");
        }
    }

    #[test]
    fn encodes_both_protocols() {
        let mut r = Reply::new();
        r.int(-42);
        r.bulk(b"hi");
        r.null();
        r.map(1);
        r.double(1.5);
        assert_eq!(r.buf, b":-42\r\n$2\r\nhi\r\n$-1\r\n*2\r\n$3\r\n1.5\r\n");
        let mut r = Reply { buf: Vec::new(), resp3: true };
        r.null();
        r.map(1);
        r.double(3.0);
        r.bool(true);
        assert_eq!(r.buf, b"_\r\n%1\r\n,3\r\n#t\r\n");
    }

    #[test]
    fn integers_at_the_edges() {
        let mut r = Reply::new();
        r.int(i64::MIN);
        r.int(0);
        assert_eq!(r.buf, b":-9223372036854775808\r\n:0\r\n");
    }
}
