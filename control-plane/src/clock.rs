//! Wall-clock time as Unix milliseconds, and its RFC 3339 form (UTC), without
//! a date library: the API only ever shows and parses UTC instants.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// What the schedulers (backup windows, retention) take "now" from: the
/// system's clock, or one a test sets and moves.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock standing at `millis` until it is moved.
    pub fn manual(millis: i64) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(millis))))
    }

    pub fn now_millis(&self) -> i64 {
        match &self.0 {
            None => now_millis(),
            Some(at) => at.load(Ordering::Relaxed),
        }
    }

    /// Moves a manual clock on by `millis` (a system clock is not moved).
    pub fn advance(&self, millis: i64) {
        if let Some(at) = &self.0 {
            at.fetch_add(millis, Ordering::Relaxed);
        }
    }
}

/// The `YYYY-MM-DD-HH-MM` of a UTC instant (automated snapshots' names).
pub fn minute_stamp(millis: i64) -> String {
    let text = to_rfc3339(millis);
    format!("{}-{}-{}", &text[..10], &text[11..13], &text[14..16])
}

/// `1970-01-01T00:00:00.000Z` style.
pub fn to_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let day_secs = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", day_secs / 3600, day_secs % 3600 / 60, day_secs % 60)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)`; other offsets are refused
/// rather than misread.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        ms = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    if !matches!(rest, "Z" | "z" | "+00:00") {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + ms)
}

// Howard Hinnant's days-from-civil algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for ms in [0, 951_782_400_000, 1_795_000_000_123, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&to_rfc3339(ms)), Some(ms));
        }
        assert_eq!(to_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(to_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        for bad in ["", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23T10:00:00+02:00", "2026-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(parse_rfc3339("2026-11-23T10:00:00.5Z").map(|m| m % 1000), Some(500));
    }
}
