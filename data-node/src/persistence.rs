//! The state of RDB snapshots: SAVE, BGSAVE (and BGSAVE SCHEDULE), save
//! points, and what INFO persistence reports of them.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

pub use crate::config::{SavePoint, format_save_points, parse_save_points};
use crate::keyspace::{Keyspace, SnapshotProgress};
use crate::rdb::{Header, RdbError};
use crate::sync::lock;

/// A failed background save is retried by save points only after this long,
/// as redis-server does (CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_SECS: u64 = 5;

pub struct Persistence {
    /// Unix seconds of the last successful save (or of the start).
    last_save: AtomicU64,
    bgsave_in_progress: AtomicBool,
    last_save_ok: AtomicBool,
    /// Why the last save failed, for SAVE's reply and the log.
    last_error: Mutex<Option<String>>,
    /// Unix seconds of the last save attempt, failed or not.
    last_try: AtomicU64,
    /// Keys the snapshot loaded at start held (INFO's rdb_last_load_keys_loaded),
    /// and those it left out as expired.
    keys_loaded: AtomicU64,
    keys_expired: AtomicU64,
    /// The keyspace's change count the last successful save captured.
    changes_at_save: AtomicU64,
    /// Successful saves since the start (rdb_saves).
    saves: AtomicU64,
    /// Unix ms the save under way began (0: none).
    started_ms: AtomicU64,
    /// Seconds the last save took (-1: none yet).
    last_duration: AtomicI64,
    /// The save under way, as far as it has come.
    current: Mutex<SnapshotProgress>,
    /// Bytes the last save held for entries writes changed under it.
    last_early_bytes: AtomicU64,
    /// BGSAVE SCHEDULE: a background save to start once the snapshot under way ends.
    scheduled: AtomicBool,
    save_points: Mutex<Vec<SavePoint>>,
    stop_writes_on_error: AtomicBool,
}

impl Persistence {
    pub fn new(now_secs: u64, save_points: Vec<SavePoint>) -> Persistence {
        Persistence {
            last_save: AtomicU64::new(now_secs),
            bgsave_in_progress: AtomicBool::new(false),
            last_save_ok: AtomicBool::new(true),
            last_error: Mutex::new(None),
            last_try: AtomicU64::new(0),
            keys_loaded: AtomicU64::new(0),
            keys_expired: AtomicU64::new(0),
            changes_at_save: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            started_ms: AtomicU64::new(0),
            last_duration: AtomicI64::new(-1),
            current: Mutex::new(SnapshotProgress::default()),
            last_early_bytes: AtomicU64::new(0),
            scheduled: AtomicBool::new(false),
            save_points: Mutex::new(save_points),
            stop_writes_on_error: AtomicBool::new(true),
        }
    }

    /// Saves a snapshot of the keyspace to `path`, recording the outcome.
    pub fn save(&self, keyspace: &Keyspace, path: &Path, header: &Header) -> Result<usize, RdbError> {
        let changes = keyspace.changes();
        let now = keyspace.now_ms();
        self.started_ms.store(now.max(1), Ordering::Relaxed);
        self.last_try.store(now / 1000, Ordering::Relaxed);
        *lock(&self.current) = SnapshotProgress::default();
        let mut early = 0;
        let result = crate::rdb::save(keyspace, path, header, &mut |progress| {
            early = progress.early_bytes;
            *lock(&self.current) = progress;
        });
        let ended = keyspace.now_ms();
        self.started_ms.store(0, Ordering::Relaxed);
        self.last_duration.store(((ended.saturating_sub(now)) / 1000) as i64, Ordering::Relaxed);
        self.last_early_bytes.store(early, Ordering::Relaxed);
        self.last_save_ok.store(result.is_ok(), Ordering::Relaxed);
        match &result {
            Ok(_) => {
                self.last_save.store(ended / 1000, Ordering::Relaxed);
                self.changes_at_save.store(changes, Ordering::Relaxed);
                self.saves.fetch_add(1, Ordering::Relaxed);
                *lock(&self.last_error) = None;
            }
            Err(e) => *lock(&self.last_error) = Some(e.to_string()),
        }
        result
    }

    /// Writes since the last successful save (rdb_changes_since_last_save),
    /// of the keyspace's `changes` so far.
    pub fn changes_since_save(&self, changes: u64) -> u64 {
        changes.saturating_sub(self.changes_at_save.load(Ordering::Relaxed))
    }

    /// Claims the one background save slot; false if a save is under way.
    pub fn start_background(&self) -> bool {
        !self.bgsave_in_progress.swap(true, Ordering::AcqRel)
    }

    pub fn end_background(&self) {
        self.bgsave_in_progress.store(false, Ordering::Release);
    }

    pub fn background_in_progress(&self) -> bool {
        self.bgsave_in_progress.load(Ordering::Acquire)
    }

    pub fn schedule(&self) {
        self.scheduled.store(true, Ordering::Release);
    }

    /// Whether a background save is due now: one was scheduled, or a save
    /// point is reached (`changes`: the keyspace's writes so far, asked only
    /// when there are save points; `now`: unix seconds).
    pub fn due(&self, changes: impl FnOnce() -> u64, now: u64) -> bool {
        if self.background_in_progress() {
            return false;
        }
        if self.scheduled.swap(false, Ordering::AcqRel) {
            return true;
        }
        if lock(&self.save_points).is_empty() {
            return false;
        }
        let changes = changes();
        let since_save = now.saturating_sub(self.last_save_secs());
        let pending = self.changes_since_save(changes);
        let retry_ok =
            self.last_save_ok() || now.saturating_sub(self.last_try.load(Ordering::Relaxed)) >= RETRY_DELAY_SECS;
        retry_ok && lock(&self.save_points).iter().any(|p| pending >= p.changes && since_save >= p.secs)
    }

    pub fn save_points(&self) -> Vec<SavePoint> {
        lock(&self.save_points).clone()
    }

    pub fn set_save_points(&self, points: Vec<SavePoint>) {
        *lock(&self.save_points) = points;
    }

    pub fn stop_writes_on_error(&self) -> bool {
        self.stop_writes_on_error.load(Ordering::Relaxed)
    }

    pub fn set_stop_writes_on_error(&self, yes: bool) {
        self.stop_writes_on_error.store(yes, Ordering::Relaxed)
    }

    /// redis-server's MISCONF rule: with save points set and
    /// stop-writes-on-bgsave-error, writes stop while the last save failed.
    pub fn refuses_writes(&self) -> bool {
        !self.last_save_ok() && self.stop_writes_on_error() && !lock(&self.save_points).is_empty()
    }

    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    pub fn last_save_secs(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    pub fn last_save_ok(&self) -> bool {
        self.last_save_ok.load(Ordering::Relaxed)
    }

    pub fn loaded(&self, keys: usize, expired: usize) {
        self.keys_loaded.store(keys as u64, Ordering::Relaxed);
        self.keys_expired.store(expired as u64, Ordering::Relaxed);
    }

    pub fn keys_expired(&self) -> u64 {
        self.keys_expired.load(Ordering::Relaxed)
    }

    pub fn keys_loaded(&self) -> u64 {
        self.keys_loaded.load(Ordering::Relaxed)
    }

    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    /// Seconds the save under way has run, if one is.
    pub fn current_duration(&self, now_ms: u64) -> Option<u64> {
        match self.started_ms.load(Ordering::Relaxed) {
            0 => None,
            started => Some(now_ms.saturating_sub(started) / 1000),
        }
    }

    pub fn last_duration(&self) -> i64 {
        self.last_duration.load(Ordering::Relaxed)
    }

    /// The save under way (all zero when none is).
    pub fn current(&self) -> SnapshotProgress {
        if self.started_ms.load(Ordering::Relaxed) == 0 {
            return SnapshotProgress::default();
        }
        *lock(&self.current)
    }

    pub fn last_early_bytes(&self) -> u64 {
        self.last_early_bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_point_is_due_once_both_its_time_and_its_changes_are_reached() {
        let p = Persistence::new(1000, vec![]);
        assert!(!p.due(|| 50, 2000), "no save points, nothing due");
        p.set_save_points(vec![SavePoint { secs: 300, changes: 100 }, SavePoint { secs: 60, changes: 10_000 }]);
        assert!(!p.due(|| 99, 1300));
        assert!(!p.due(|| 100, 1299));
        assert!(p.due(|| 100, 1300));
        assert!(p.due(|| 10_000, 1060));
        assert!(!p.due(|| 9_999, 1060));
        p.schedule();
        assert!(p.due(|| 0, 1000), "a scheduled save is due at once");
        assert!(!p.due(|| 0, 1000), "and only once");
    }
}
