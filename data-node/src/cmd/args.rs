//! Argument parsing shared by all commands: integers, floats, flags, ranges.

use super::error::{Error, NOT_FLOAT, NOT_INT};

/// Parses a strict decimal i64 like Redis's string2ll: no spaces, no `+`,
/// no leading zeros.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    if s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) || s.starts_with("-0") {
        return None;
    }
    s.parse().ok()
}

pub fn int(b: &[u8]) -> Result<i64, Error> {
    parse_i64(b).ok_or(Error::from(NOT_INT))
}

/// The count of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER: negative means
/// "with repeats"; with pairs (WITHVALUES, WITHSCORES) its double must fit.
pub fn random_count(b: &[u8], pairs: bool) -> Result<i64, Error> {
    let n = int(b)?;
    if n == i64::MIN || (pairs && n.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err("ERR value is out of range".into());
    }
    Ok(n)
}

/// Parses a float as Redis's strtold-based checks do: finite or ±inf, no NaN.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    if v.is_nan() { None } else { Some(v) }
}

pub fn float(b: &[u8]) -> Result<f64, Error> {
    parse_f64(b).ok_or(Error::from(NOT_FLOAT))
}

pub fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Resolves Redis's inclusive (start, end) with negative indexes against len;
/// None when the range is empty.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    if start > end || start >= len || end < 0 { None } else { Some((start as usize, end as usize)) }
}

/// A blocking command's timeout in seconds (float) as an absolute deadline in
/// unix ms; 0 means wait forever.
pub fn timeout_deadline(b: &[u8], now: u64) -> Result<u64, Error> {
    let secs =
        parse_f64(b).filter(|v| v.is_finite()).ok_or(Error::from("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err("ERR timeout is negative".into());
    }
    if secs == 0.0 {
        return Ok(0);
    }
    Ok(now + (secs * 1000.0).ceil() as u64)
}

/// LMPOP's and ZMPOP's arguments: keys, which end, how many.
pub type MpopArgs<'a> = (Vec<&'a [u8]>, &'a [u8], usize);

pub fn mpop_args<'a>(args: &[&'a [u8]], at: usize) -> Result<MpopArgs<'a>, Error> {
    let n = int(args[at]).map_err(|_| Error::from("ERR numkeys should be greater than 0"))?;
    if n <= 0 {
        return Err("ERR numkeys should be greater than 0".into());
    }
    let n = n as usize;
    if args.len() < at + 1 + n + 1 {
        return Err(super::error::SYNTAX.into());
    }
    let keys = args[at + 1..at + 1 + n].to_vec();
    let which = args[at + 1 + n];
    let rest = &args[at + 2 + n..];
    let count = match rest {
        [] => 1,
        [c, v] if eq(c, "count") => {
            let n = int(v).ok().filter(|n| *n > 0).ok_or(Error::from("ERR count should be greater than 0"))?;
            n as usize
        }
        _ => return Err(super::error::SYNTAX.into()),
    };
    Ok((keys, which, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"0"), Some(0));
        for bad in [&b""[..], b" 1", b"+1", b"01", b"1.0", b"99999999999999999999", b"-0"] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(clamp_range(5, 10, 3), None);
    }
}
