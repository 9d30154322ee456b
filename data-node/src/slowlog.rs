//! SLOWLOG: the latest commands that ran longer than `slowlog-log-slower-than`.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::sync::lock;

pub struct SlowEntry {
    pub id: u64,
    pub at_secs: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

#[derive(Default)]
struct Log {
    next_id: u64,
    entries: VecDeque<SlowEntry>,
}

#[derive(Default)]
pub struct SlowLog(Mutex<Log>);

/// What a slow command is remembered by: its first 32 arguments, each cut
/// at 128 bytes, as Redis keeps them.
fn kept_args(args: &[&[u8]]) -> Vec<Vec<u8>> {
    let trim = |a: &[u8]| -> Vec<u8> {
        if a.len() <= 128 {
            return a.to_vec();
        }
        let mut kept = a[..128].to_vec();
        kept.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
        kept
    };
    let mut kept: Vec<Vec<u8>> = args.iter().take(32).map(|a| trim(a)).collect();
    if args.len() > 32 {
        kept[31] = format!("... ({} more arguments)", args.len() - 31).into_bytes();
    }
    kept
}

impl SlowLog {
    /// Records a command at the front, keeping the newest `max_len`.
    pub fn record(&self, at_secs: u64, micros: u64, args: &[&[u8]], addr: &str, name: String, max_len: usize) {
        let mut log = lock(&self.0);
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(SlowEntry { id, at_secs, micros, args: kept_args(args), addr: addr.to_string(), name });
        log.entries.truncate(max_len);
    }

    /// Calls `f` with the newest `n` entries, newest first.
    pub fn with_latest<T>(&self, n: usize, f: impl FnOnce(&[&SlowEntry]) -> T) -> T {
        let log = lock(&self.0);
        let entries: Vec<&SlowEntry> = log.entries.iter().take(n).collect();
        f(&entries)
    }

    pub fn len(&self) -> usize {
        lock(&self.0).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        lock(&self.0).entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_cuts_long_commands() {
        let log = SlowLog::default();
        let many: Vec<&[u8]> = (0..40).map(|_| b"x".as_slice()).collect();
        log.record(1, 10, &many, "a", String::new(), 2);
        log.record(2, 20, &[b"get", b"k"], "a", String::new(), 2);
        log.record(3, 30, &[b"set", b"k", b"v"], "a", String::new(), 2);
        assert_eq!(log.len(), 2);
        log.with_latest(10, |e| {
            assert_eq!((e[0].id, e[1].id), (2, 1));
            assert_eq!(e[0].args[0], b"set");
        });
        let log = SlowLog::default();
        log.record(1, 10, &many, "a", String::new(), 2);
        log.with_latest(1, |e| assert_eq!(e[0].args[31], b"... (9 more arguments)"));
    }
}
