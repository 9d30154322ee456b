//! ElastiCache's rules for what a request may name and set. Each check returns
//! the message of an `InvalidParameterValue`.

pub type Check = Result<(), String>;

/// Cache cluster ids: 1–50 characters; replication group ids: 1–40.
pub const MAX_CLUSTER_ID: usize = 50;
pub const MAX_GROUP_ID: usize = 40;
/// Snapshot names: 1–200 characters (each names a file under the data dir).
pub const MAX_SNAPSHOT_NAME: usize = 200;

/// Letters, digits and hyphens, starting with a letter, no two hyphens in a
/// row, not ending in a hyphen. Callers store the lowercase form.
pub fn identifier(field: &str, value: &str, max_len: usize) -> Check {
    let fail = |why: &str| Err(format!("Invalid {field} '{value}': {why}."));
    if value.is_empty() || value.len() > max_len {
        return fail(&format!("it must contain from 1 to {max_len} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return fail("only letters, digits and hyphens are allowed");
    }
    if !value.as_bytes()[0].is_ascii_alphabetic() {
        return fail("the first character must be a letter");
    }
    if value.contains("--") {
        return fail("it cannot contain two consecutive hyphens");
    }
    if value.ends_with('-') {
        return fail("it cannot end with a hyphen");
    }
    Ok(())
}

/// 16–128 printable ASCII characters; the only non-alphanumerics allowed are
/// `! & # $ ^ < > -`.
pub fn auth_token(value: &str) -> Check {
    if !(16..=128).contains(&value.len()) {
        return Err("Invalid auth_token: it must contain from 16 to 128 characters.".into());
    }
    if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "!&#$^<>-".contains(*c))) {
        return Err(format!(
            "Invalid auth_token: character '{}' is not allowed; use letters, digits and ! & # $ ^ < > -.",
            bad.escape_default()
        ));
    }
    Ok(())
}

pub fn port(value: i64) -> Check {
    if (1..=65535).contains(&value) { Ok(()) } else { Err(format!("Invalid port {value}: it must be 1-65535.")) }
}

/// A host port a cluster asks for: unprivileged, so a control plane that
/// is not root can publish it too.
pub fn host_port(value: i64) -> Result<u16, String> {
    port(value)?;
    match u16::try_from(value) {
        Ok(port) if port >= 1024 => Ok(port),
        _ => {
            Err(format!("Invalid port {value}: a cache cluster's port must be 1024-65535 (below 1024 is privileged)."))
        }
    }
}

pub fn snapshot_retention_limit(value: i64) -> Check {
    if (0..=35).contains(&value) {
        Ok(())
    } else {
        Err(format!("Invalid snapshot_retention_limit {value}: it must be 0-35 days."))
    }
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const WEEK_MINUTES: i64 = 7 * 24 * 60;

/// `ddd:hh24:mi-ddd:hh24:mi` (UTC), from 60 minutes to 24 hours long.
pub fn maintenance_window(value: &str) -> Check {
    let fail = || {
        Err(format!(
            "Invalid preferred_maintenance_window '{value}': expected ddd:hh24:mi-ddd:hh24:mi (UTC, e.g. sun:05:00-sun:06:00), at least 60 minutes and at most 24 hours long."
        ))
    };
    let lower = value.to_ascii_lowercase();
    let Some((start, end)) = lower.split_once('-') else { return fail() };
    let (Some(start), Some(end)) = (week_minute(start), week_minute(end)) else { return fail() };
    let length = (end - start).rem_euclid(WEEK_MINUTES);
    if (60..=24 * 60).contains(&length) { Ok(()) } else { fail() }
}

/// `hh24:mi-hh24:mi` (UTC), at least 60 minutes long.
pub fn snapshot_window(value: &str) -> Check {
    let fail = || {
        Err(format!(
            "Invalid snapshot_window '{value}': expected hh24:mi-hh24:mi (UTC, e.g. 03:00-04:00), at least 60 minutes long."
        ))
    };
    let Some((start, end)) = value.split_once('-') else { return fail() };
    let (Some(start), Some(end)) = (day_minute(start), day_minute(end)) else { return fail() };
    if (end - start).rem_euclid(24 * 60) >= 60 { Ok(()) } else { fail() }
}

/// A snapshot window's start (minute of the day, UTC) and length in minutes.
pub fn snapshot_window_minutes(value: &str) -> Option<(i64, i64)> {
    let (start, end) = value.split_once('-')?;
    let (start, end) = (day_minute(start)?, day_minute(end)?);
    Some((start, (end - start).rem_euclid(24 * 60)))
}

/// A maintenance window's start (minute of the week from Sunday 00:00 UTC) and length.
pub fn maintenance_window_minutes(value: &str) -> Option<(i64, i64)> {
    let lower = value.to_ascii_lowercase();
    let (start, end) = lower.split_once('-')?;
    let (start, end) = (week_minute(start)?, week_minute(end)?);
    Some((start, (end - start).rem_euclid(WEEK_MINUTES)))
}

/// ElastiCache's rule: the daily snapshot window may not overlap the weekly
/// maintenance window (a backup and a node replacement at once).
pub fn windows_apart(maintenance: &str, snapshot: &str) -> Check {
    let (Some((m_start, m_len)), Some((s_start, s_len))) =
        (maintenance_window_minutes(maintenance), snapshot_window_minutes(snapshot))
    else {
        return Ok(());
    };
    let overlaps = (0..8).any(|day| {
        // The snapshot window of each day of the week (and the next week's
        // first, for a maintenance window that wraps past Saturday).
        let start = day * 24 * 60 + s_start;
        let (a, b) = (start, start + s_len);
        [m_start, m_start + WEEK_MINUTES, m_start - WEEK_MINUTES].iter().any(|&m| a < m + m_len && m < b)
    });
    if overlaps {
        return Err(format!(
            "The snapshot_window '{snapshot}' overlaps the preferred_maintenance_window '{maintenance}'; choose times apart."
        ));
    }
    Ok(())
}

fn week_minute(text: &str) -> Option<i64> {
    let (day, time) = text.split_once(':')?;
    let day = DAYS.iter().position(|d| *d == day)? as i64;
    Some(day * 24 * 60 + day_minute(time)?)
}

fn day_minute(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Tags: at most 50, keys 1–128 characters not starting with `aws:`, values up to 256.
pub fn tags(tags: &[(String, String)]) -> Check {
    if tags.len() > 50 {
        return Err("Invalid tags: at most 50 tags are allowed.".into());
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(format!("Invalid tag key '{key}': 1-128 characters, not starting with 'aws:'."));
        }
        if value.chars().count() > 256 {
            return Err(format!("Invalid value for tag '{key}': at most 256 characters."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_elasticache() {
        for good in ["a", "my-cache", "A1-b2", &"x".repeat(50)] {
            assert!(identifier("id", good, MAX_CLUSTER_ID).is_ok(), "{good}");
        }
        for bad in ["", "1abc", "-abc", "ab--c", "abc-", "a_b", "a.b", &"x".repeat(51), "é"] {
            assert!(identifier("id", bad, MAX_CLUSTER_ID).is_err(), "{bad}");
        }
        assert!(identifier("id", &"x".repeat(41), MAX_GROUP_ID).is_err());
    }

    #[test]
    fn auth_tokens() {
        assert!(auth_token("0123456789abcdef").is_ok());
        assert!(auth_token("!&#$^<>-ABCDEFGHijkl").is_ok());
        assert!(auth_token("short").is_err());
        assert!(auth_token("0123456789abcdef@").is_err());
        assert!(auth_token("0123456789 abcdef").is_err());
        assert!(auth_token(&"a".repeat(129)).is_err());
    }

    #[test]
    fn windows() {
        assert!(maintenance_window("sun:05:00-sun:06:00").is_ok());
        assert!(maintenance_window("Sat:23:30-sun:00:30").is_ok());
        assert!(maintenance_window("sun:05:00-sun:05:59").is_err());
        assert!(maintenance_window("sun:05:00-tue:06:00").is_err());
        assert!(maintenance_window("sun:25:00-sun:26:00").is_err());
        assert!(maintenance_window("sunday").is_err());
        assert!(snapshot_window("03:00-04:00").is_ok());
        assert!(snapshot_window("23:30-00:30").is_ok());
        assert!(snapshot_window("03:00-03:30").is_err());
        assert!(snapshot_window("3:00-4:00").is_err());
        assert!(windows_apart("sun:05:00-sun:06:00", "03:00-04:00").is_ok());
        assert!(windows_apart("sun:05:00-sun:06:00", "05:30-06:30").is_err());
        assert!(windows_apart("tue:23:30-wed:00:30", "00:00-01:00").is_err());
        assert!(windows_apart("sat:23:00-sun:01:00", "00:30-01:30").is_err(), "a window wrapping past Saturday");
        assert!(windows_apart("sat:22:00-sat:23:00", "23:00-00:00").is_ok(), "touching is not overlapping");
        assert_eq!(snapshot_window_minutes("23:30-00:30"), Some((23 * 60 + 30, 60)));
    }
}
