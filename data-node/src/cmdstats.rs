//! INFO commandstats and errorstats: per command, its calls, their time, and
//! how often it was refused before running or failed while running; per
//! error code (the first word of an error reply), how often it was sent.
//!
//! Commands are counted in slots by an index the dispatcher gives each
//! command; connections add their calls in batches, so pipelined commands
//! do not contend on these counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::sync::lock;

/// More than the commands there are: a slot per command.
pub const SLOTS: usize = 512;

/// Redis keeps at most this many error codes; later ones are not tracked.
const MAX_ERROR_CODES: usize = 128;

#[derive(Default)]
struct Counters {
    name: OnceLock<&'static str>,
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

pub struct CommandStats {
    slots: Box<[Counters]>,
    errors: Mutex<BTreeMap<String, u64>>,
    error_replies: AtomicU64,
}

impl Default for CommandStats {
    fn default() -> CommandStats {
        CommandStats {
            slots: (0..SLOTS).map(|_| Counters::default()).collect(),
            errors: Mutex::default(),
            error_replies: AtomicU64::new(0),
        }
    }
}

impl CommandStats {
    fn slot(&self, index: usize, name: &'static str) -> Option<&Counters> {
        let slot = self.slots.get(index)?;
        slot.name.get_or_init(|| name);
        Some(slot)
    }

    pub fn add_calls(&self, index: usize, name: &'static str, calls: u64, usec: u64) {
        if let Some(slot) = self.slot(index, name) {
            slot.calls.fetch_add(calls, Ordering::Relaxed);
            slot.usec.fetch_add(usec, Ordering::Relaxed);
        }
    }

    /// Refused before it ran (arity, auth, a busy script, OOM ...).
    pub fn rejected(&self, index: usize, name: &'static str) {
        if let Some(slot) = self.slot(index, name) {
            slot.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ran and answered an error.
    pub fn failed(&self, index: usize, name: &'static str) {
        if let Some(slot) = self.slot(index, name) {
            slot.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An error reply was sent: counted under its code.
    pub fn error_reply(&self, message: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let code = message.split(' ').next().unwrap_or_default();
        let mut errors = lock(&self.errors);
        if let Some(count) = errors.get_mut(code) {
            *count += 1;
        } else if errors.len() < MAX_ERROR_CODES {
            errors.insert(code.to_owned(), 1);
        }
    }

    pub fn error_replies(&self) -> u64 {
        self.error_replies.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for slot in self.slots.iter() {
            for counter in [&slot.calls, &slot.usec, &slot.rejected, &slot.failed] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        lock(&self.errors).clear();
        self.error_replies.store(0, Ordering::Relaxed);
    }

    /// `cmdstat_<name>:calls=..,usec=..,...` for each command used since the last reset.
    pub fn render_commands(&self, out: &mut String) {
        let mut lines: Vec<(&str, String)> = Vec::new();
        for slot in self.slots.iter() {
            let Some(name) = slot.name.get() else { continue };
            let (calls, usec) = (slot.calls.load(Ordering::Relaxed), slot.usec.load(Ordering::Relaxed));
            let (rejected, failed) = (slot.rejected.load(Ordering::Relaxed), slot.failed.load(Ordering::Relaxed));
            if calls + rejected + failed == 0 {
                continue;
            }
            let per_call = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
            lines.push((
                name,
                format!(
                    "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n"
                ),
            ));
        }
        lines.sort();
        lines.into_iter().for_each(|(_, line)| out.push_str(&line));
    }

    /// `errorstat_<CODE>:count=..` for each error code sent since the last reset.
    pub fn render_errors(&self, out: &mut String) {
        for (code, count) in lock(&self.errors).iter() {
            let _ = write!(out, "errorstat_{code}:count={count}\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_command_and_by_error_code() {
        let stats = CommandStats::default();
        stats.add_calls(3, "get", 2, 10);
        stats.failed(3, "get");
        stats.rejected(7, "set");
        stats.error_reply("WRONGTYPE Operation against a key holding the wrong kind of value");
        stats.error_reply("ERR syntax error");
        stats.error_reply("ERR wrong number of arguments for 'set' command");
        let mut out = String::new();
        stats.render_commands(&mut out);
        assert_eq!(
            out,
            "cmdstat_get:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=1\r\n\
             cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
        );
        let mut out = String::new();
        stats.render_errors(&mut out);
        assert_eq!(out, "errorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n");
        assert_eq!(stats.error_replies(), 3);
        stats.reset();
        let mut out = String::new();
        stats.render_commands(&mut out);
        stats.render_errors(&mut out);
        assert_eq!(out, "");
    }
}
