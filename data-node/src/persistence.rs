//! The state of RDB snapshots, for SAVE, BGSAVE, LASTSAVE and INFO persistence.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::keyspace::Keyspace;
use crate::rdb::RdbError;

pub struct Persistence {
    /// Unix seconds of the last successful save (or of the start).
    last_save: AtomicU64,
    bgsave_in_progress: AtomicBool,
    last_save_ok: AtomicBool,
    /// Keys the snapshot loaded at start held (INFO's rdb_last_load_keys_loaded).
    keys_loaded: AtomicU64,
    /// The keyspace's change count the last successful save captured.
    changes_at_save: AtomicU64,
}

impl Persistence {
    pub fn new(now_secs: u64) -> Persistence {
        Persistence {
            last_save: AtomicU64::new(now_secs),
            bgsave_in_progress: AtomicBool::new(false),
            last_save_ok: AtomicBool::new(true),
            keys_loaded: AtomicU64::new(0),
            changes_at_save: AtomicU64::new(0),
        }
    }

    /// Saves the keyspace to `path`, recording the outcome.
    pub fn save(&self, keyspace: &Keyspace, path: &Path, functions: &[Vec<u8>]) -> Result<usize, RdbError> {
        let changes = keyspace.changes();
        let result = crate::rdb::save(keyspace, path, functions);
        self.saved(keyspace, result.is_ok(), changes);
        result
    }

    /// A save that began when the keyspace had seen `changes` writes ended.
    pub fn saved(&self, keyspace: &Keyspace, ok: bool, changes: u64) {
        self.last_save_ok.store(ok, Ordering::Relaxed);
        if ok {
            self.last_save.store(keyspace.now_ms() / 1000, Ordering::Relaxed);
            self.changes_at_save.store(changes, Ordering::Relaxed);
        }
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

    pub fn last_save_secs(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    pub fn last_save_ok(&self) -> bool {
        self.last_save_ok.load(Ordering::Relaxed)
    }

    pub fn loaded(&self, keys: usize) {
        self.keys_loaded.store(keys as u64, Ordering::Relaxed);
    }

    pub fn keys_loaded(&self) -> u64 {
        self.keys_loaded.load(Ordering::Relaxed)
    }
}
