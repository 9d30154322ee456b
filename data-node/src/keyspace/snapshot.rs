//! Point-in-time snapshots taken while the keyspace keeps serving: no fork,
//! no copy of the keyspace, no pause beyond one pass over the shard locks.
//!
//! The cut: with every shard held for an instant, each shard flips its mark.
//! From then on an entry whose mark differs from its shard's is *owed* to
//! the snapshot, as it was at the cut. The snapshot writes owed entries two
//! ways, each one once:
//! - the scan walks each shard's tables bucket by bucket, a chunk per lock
//!   hold, writing the owed entries it finds and marking them paid;
//! - a write that is about to change or remove an owed entry first writes
//!   it as it is (`ShardSnapshot::settle`), as Dragonfly does, then marks it.
//!
//! Entries made after the cut carry their shard's new mark: never owed. A
//! flushed table is set aside for the scan rather than written at once, and
//! SWAPDB swaps which database a table's entries belong to in the snapshot.
//! A shard counts what it still owes; a scan that missed entries (hashbrown
//! rehashed the table between two chunks) walks the shard again.
//!
//! Why not copy-on-write of whole values (Arc) or a fork: the first costs
//! every write an atomic and the cut an O(keys) pass; the second doubles
//! memory under a write-heavy load. Here the extra memory is the owed
//! entries that writes settled early, and only until the writer drains them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::HashTable;

use super::entry::Entry;
use super::shard::Shard;
use super::{Keyspace, SHARDS};
use crate::sync::lock;

/// How entries become bytes: the RDB layer's encoding.
pub trait Encoder: Send + Sync {
    fn select_db(&self, db: usize, out: &mut Vec<u8>);
    fn entry(&self, entry: &Entry, out: &mut Vec<u8>);
}

/// Buckets the scan visits per lock hold, and bytes it writes at most.
const CHUNK_BUCKETS: usize = 256;
const CHUNK_BYTES: usize = 64 << 10;

/// Entries settled early by writes, waiting for the writer.
struct Early {
    /// The database the last entry in `bytes` belongs to.
    db: Option<usize>,
    bytes: Vec<u8>,
}

/// What the shards and the writer share.
struct Shared {
    encoder: Arc<dyn Encoder>,
    /// Keys expired at the cut are left out.
    cut_ms: u64,
    early: Mutex<Early>,
    /// Entries written so far (by the scan and by writes).
    written: AtomicU64,
    /// Entries paid (written, or left out as expired).
    paid: AtomicU64,
    /// Bytes writes settled early: what the snapshot cost in memory beyond
    /// the data (redis-server's copy-on-write size).
    early_bytes: AtomicU64,
    /// Dropped before the end: the walk goes on to set marks right, writing nothing.
    abandoned: AtomicBool,
}

impl Shared {
    /// Writes an owed entry; false if it is left out (expired at the cut,
    /// or the snapshot was abandoned).
    fn pay(&self, entry: &Entry, out: &mut Vec<u8>) -> bool {
        self.paid.fetch_add(1, Ordering::Relaxed);
        if entry.is_expired(self.cut_ms) || self.abandoned.load(Ordering::Relaxed) {
            return false;
        }
        self.encoder.entry(entry, out);
        self.written.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// One shard's part of the snapshot under way.
pub(super) struct ShardSnapshot {
    shared: Arc<Shared>,
    /// Entries of this shard the snapshot does not have yet.
    owed: usize,
    /// For each database index now, the database its entries were in at the cut.
    db_of: Box<[usize]>,
    /// Tables flushed since the cut: (database at the cut, table).
    set_aside: Vec<(usize, HashTable<Entry>)>,
}

impl ShardSnapshot {
    /// Before a write changes or removes `entry` (in database `db`): if the
    /// snapshot is owed it, it gets it now, as it is.
    pub(super) fn settle(&mut self, mark: bool, db: usize, entry: &mut Entry) {
        if entry.mark() == mark {
            return;
        }
        entry.set_mark(mark);
        self.owed -= 1;
        let db = self.db_of[db];
        let mut early = lock(&self.shared.early);
        let before = early.bytes.len();
        let Early { db: last, bytes } = &mut *early;
        if *last != Some(db) {
            self.shared.encoder.select_db(db, bytes);
        }
        if self.shared.pay(entry, bytes) {
            *last = Some(db);
        } else {
            bytes.truncate(before);
        }
        self.shared.early_bytes.fetch_add((bytes.len() - before) as u64, Ordering::Relaxed);
    }

    /// FLUSHDB during the snapshot: the table goes to the scan, whole.
    pub(super) fn set_aside(&mut self, db: usize, table: HashTable<Entry>) {
        if !table.is_empty() {
            self.set_aside.push((self.db_of[db], table));
        }
    }

    pub(super) fn swap_dbs(&mut self, a: usize, b: usize) {
        self.db_of.swap(a, b);
    }
}

/// Where the scan stands.
#[derive(Clone, Copy, Default)]
struct Cursor {
    shard: usize,
    /// A database's table, or past them one set aside.
    table: usize,
    bucket: usize,
    /// The table's bucket count when the scan started it: a resize moves
    /// every entry, so the walk of that table starts over.
    buckets: usize,
    /// Entries this pass over the shard found owed.
    paid_in_pass: usize,
}

/// A snapshot under way. `next_chunk` hands out its RDB body piece by piece;
/// dropped early, it still walks the rest of the keyspace (writing nothing)
/// so that every mark agrees again.
pub struct Snapshot<'a> {
    ks: &'a Keyspace,
    shared: Arc<Shared>,
    cursor: Cursor,
    /// The database the bytes handed out so far last selected.
    stream_db: Option<usize>,
    total: u64,
    done: bool,
    /// One snapshot at a time; released after `drop` has walked the rest.
    _slot: MutexGuard<'a, ()>,
}

/// How far a snapshot has come, for INFO and progress reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotProgress {
    pub keys_total: u64,
    pub keys_done: u64,
    pub keys_written: u64,
    pub early_bytes: u64,
}

impl Keyspace {
    /// Takes the cut once no other snapshot is under way, and returns the
    /// snapshot. `at_cut` runs while every shard is held (a full sync
    /// attaches its replica to the stream there, so the snapshot and the
    /// stream meet exactly).
    pub fn begin_snapshot(&self, encoder: Arc<dyn Encoder>, at_cut: impl FnOnce()) -> Snapshot<'_> {
        self.snapshot_at(lock(&self.snapshot_slot), encoder, at_cut)
    }

    pub fn snapshot_under_way(&self) -> bool {
        crate::sync::try_lock(&self.snapshot_slot).is_none()
    }

    /// `begin_snapshot`, or None if a snapshot is under way.
    pub fn try_begin_snapshot(&self, encoder: Arc<dyn Encoder>, at_cut: impl FnOnce()) -> Option<Snapshot<'_>> {
        Some(self.snapshot_at(crate::sync::try_lock(&self.snapshot_slot)?, encoder, at_cut))
    }

    fn snapshot_at<'a>(
        &'a self,
        slot: MutexGuard<'a, ()>,
        encoder: Arc<dyn Encoder>,
        at_cut: impl FnOnce(),
    ) -> Snapshot<'a> {
        let mut all = self.lock_all();
        let shared = Arc::new(Shared {
            encoder,
            cut_ms: all.now(),
            early: Mutex::new(Early { db: None, bytes: Vec::new() }),
            written: AtomicU64::new(0),
            paid: AtomicU64::new(0),
            early_bytes: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
        });
        let mut total = 0;
        all.each_shard(&mut |shard: &mut Shard| {
            let owed: usize = shard.dbs.iter().map(|d| d.table.len()).sum();
            total += owed as u64;
            shard.mark = !shard.mark;
            shard.snapshot = Some(ShardSnapshot {
                shared: shared.clone(),
                owed,
                db_of: (0..shard.dbs.len()).collect(),
                set_aside: Vec::new(),
            });
        });
        at_cut();
        drop(all);
        Snapshot { ks: self, shared, cursor: Cursor::default(), stream_db: None, total, done: false, _slot: slot }
    }
}

impl Snapshot<'_> {
    /// Appends the next part of the body (entries, with SELECTDB where the
    /// database changes) to `out`; false once everything is written.
    pub fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
        if self.done {
            return false;
        }
        self.drain_early(out);
        if self.cursor.shard == SHARDS {
            self.done = true;
            return !out.is_empty();
        }
        let mut shard = self.ks.guard(self.cursor.shard);
        if self.scan_chunk(&mut shard, out) {
            // This shard is paid: it owes nothing and writes settle nothing more.
            shard.snapshot = None;
            drop(shard);
            self.cursor = Cursor { shard: self.cursor.shard + 1, ..Cursor::default() };
        }
        true
    }

    pub fn progress(&self) -> SnapshotProgress {
        SnapshotProgress {
            keys_total: self.total,
            keys_done: self.shared.paid.load(Ordering::Relaxed),
            keys_written: self.shared.written.load(Ordering::Relaxed),
            early_bytes: self.shared.early_bytes.load(Ordering::Relaxed),
        }
    }

    fn drain_early(&mut self, out: &mut Vec<u8>) {
        let mut early = lock(&self.shared.early);
        if early.bytes.is_empty() {
            return;
        }
        out.extend_from_slice(&early.bytes);
        early.bytes.clear();
        self.stream_db = early.db;
        // The next entry settled starts with its own SELECTDB.
        early.db = None;
    }

    /// One chunk of the shard held; true when the shard owes nothing more.
    /// Tables are walked in order: the shard's databases, then the tables
    /// set aside by flushes.
    fn scan_chunk(&mut self, shard: &mut Shard, out: &mut Vec<u8>) -> bool {
        let mark = shard.mark;
        let Shard { dbs, snapshot, .. } = shard;
        let Some(snap) = snapshot.as_mut() else { return true };
        let start = out.len();
        let mut visited = 0;
        while visited < CHUNK_BUCKETS && out.len() - start < CHUNK_BYTES {
            if snap.owed == 0 {
                return true;
            }
            let c = &mut self.cursor;
            let (db, table) = match c.table.checked_sub(dbs.len()) {
                None => (snap.db_of[c.table], &mut dbs[c.table].table),
                Some(k) if k < snap.set_aside.len() => {
                    let (db, table) = &mut snap.set_aside[k];
                    (*db, table)
                }
                Some(_) => {
                    // A table rehashed in place between two chunks moved
                    // entries behind the cursor: walk the shard again. A
                    // pass that found nothing owed means the count is wrong;
                    // better an incomplete snapshot than a scan without end.
                    debug_assert!(c.paid_in_pass > 0, "a shard owes {} entries it does not hold", snap.owed);
                    if c.paid_in_pass == 0 {
                        snap.owed = 0;
                    }
                    *c = Cursor { shard: c.shard, ..Cursor::default() };
                    continue;
                }
            };
            if c.bucket == 0 || c.buckets != table.num_buckets() {
                c.bucket = 0;
                c.buckets = table.num_buckets();
            }
            if c.bucket >= c.buckets {
                c.table += 1;
                c.bucket = 0;
                continue;
            }
            let end = (c.bucket + CHUNK_BUCKETS - visited).min(c.buckets);
            for i in c.bucket..end {
                if let Some(entry) = table.get_bucket_mut(i)
                    && entry.mark() != mark
                {
                    entry.set_mark(mark);
                    snap.owed -= 1;
                    c.paid_in_pass += 1;
                    self.stream_db = write(&snap.shared, self.stream_db, db, entry, out);
                }
            }
            visited += end - c.bucket;
            c.bucket = end;
        }
        false
    }
}

/// Writes one owed entry of `db` to the stream; returns the stream's database.
fn write(shared: &Shared, stream_db: Option<usize>, db: usize, entry: &Entry, out: &mut Vec<u8>) -> Option<usize> {
    let before = out.len();
    if stream_db != Some(db) {
        shared.encoder.select_db(db, out);
    }
    if shared.pay(entry, out) {
        Some(db)
    } else {
        out.truncate(before);
        stream_db
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        self.shared.abandoned.store(true, Ordering::Relaxed);
        let mut discard = Vec::new();
        while self.next_chunk(&mut discard) {
            discard.clear();
        }
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
