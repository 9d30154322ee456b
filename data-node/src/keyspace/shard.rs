//! A shard: for every database, the keys whose hash falls in this shard, an
//! expiry queue, and the versions of watched keys. All of it under one mutex.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hashbrown::{HashMap, HashTable};

use super::entry::Entry;
use super::small_bytes::SmallBytes;
use super::snapshot::ShardSnapshot;

/// What a key table of this capacity costs: a pointer and a control byte per bucket.
pub(super) fn table_cost(capacity: usize) -> usize {
    super::memory::table_size(super::memory::buckets_for(capacity), std::mem::size_of::<Entry>())
}

#[derive(Default)]
pub struct Db {
    pub(super) table: HashTable<Entry>,
    /// (expires_at, key hash): may hold stale pairs; a pair only ever removes
    /// an entry that has really expired, so stale ones are harmless.
    pub(super) expiries: BinaryHeap<Reverse<(u64, u64)>>,
    pub(super) volatile: usize,
    /// WATCHed keys: (version, watchers). Bumped on every write to the key.
    pub(super) watched: HashMap<SmallBytes, (u64, u32)>,
}

impl Db {
    pub(super) fn bump_watch(&mut self, key: &[u8]) {
        if !self.watched.is_empty()
            && let Some((version, _)) = self.watched.get_mut(key)
        {
            *version += 1;
        }
    }

    /// A flush touches the watched keys it deletes, not those that were absent.
    pub(super) fn bump_watches_of_present_keys(&mut self) {
        let table = &self.table;
        for (key, (version, _)) in self.watched.iter_mut() {
            if table.find(super::hash_key(key), |e| e.key() == &**key).is_some() {
                *version += 1;
            }
        }
    }

    /// Rewrites of TTLs leave stale pairs in the queue; rebuild it when they dominate.
    pub(super) fn compact_expiries(&mut self) {
        if self.expiries.len() > 2 * self.volatile + 1024 {
            self.expiries = self
                .table
                .iter()
                .filter(|e| e.expires_at() != 0)
                .map(|e| Reverse((e.expires_at(), super::hash_key(e.key()))))
                .collect();
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The sum of the remaining TTLs of this db's expiring keys, in ms.
    pub fn ttl_sum(&self, now: u64) -> u128 {
        self.table.iter().filter(|e| e.expires_at() != 0).map(|e| e.expires_at().saturating_sub(now) as u128).sum()
    }

    pub fn volatile(&self) -> usize {
        self.volatile
    }
}

#[derive(Default, Clone, Copy)]
pub struct ShardStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub evicted: u64,
}

impl ShardStats {
    pub(super) fn add(&mut self, other: &ShardStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
        self.evicted += other.evicted;
    }
}

/// Keys per database, how many of them expire, and their average remaining
/// TTL in ms (INFO keyspace), summed shard by shard.
pub(super) struct DbSizes {
    sizes: Vec<(usize, usize, u128)>,
    now: u64,
}

impl DbSizes {
    pub(super) fn new(databases: usize, now: u64) -> DbSizes {
        DbSizes { sizes: vec![(0, 0, 0); databases], now }
    }

    pub(super) fn add(&mut self, shard: &Shard) {
        for (size, d) in self.sizes.iter_mut().zip(shard.dbs.iter()) {
            size.0 += d.len();
            size.1 += d.volatile();
            if d.volatile() > 0 {
                size.2 += d.ttl_sum(self.now);
            }
        }
    }

    pub(super) fn finish(self) -> Vec<(usize, usize, u64)> {
        self.sizes
            .into_iter()
            .map(|(keys, vol, sum)| (keys, vol, if vol > 0 { (sum / vol as u128) as u64 } else { 0 }))
            .collect()
    }
}

pub struct Shard {
    pub(super) dbs: Box<[Db]>,
    pub(super) used: usize,
    pub(super) stats: ShardStats,
    /// Writes to keys since the start (INFO's rdb_changes_since_last_save
    /// counts from the last save's total).
    pub(super) changes: u64,
    /// Every entry's mark but those a snapshot under way is owed (`snapshot`).
    pub(super) mark: bool,
    pub(super) snapshot: Option<ShardSnapshot>,
}

impl Shard {
    pub(super) fn new(databases: usize) -> Shard {
        Shard {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            used: 0,
            stats: ShardStats::default(),
            changes: 0,
            mark: false,
            snapshot: None,
        }
    }

    /// Before a write changes or removes `entry` of `db`: a snapshot under
    /// way that is owed it takes it first.
    #[inline]
    pub(super) fn settle(snapshot: &mut Option<ShardSnapshot>, mark: bool, db: usize, entry: &mut Entry) {
        if let Some(snapshot) = snapshot {
            snapshot.settle(mark, db, entry);
        }
    }

    /// Removes the entry found by `eq` at `hash`, keeping every counter right.
    pub(super) fn remove_where(&mut self, db: usize, hash: u64, eq: impl FnMut(&Entry) -> bool) -> Option<Entry> {
        let d = &mut self.dbs[db];
        let mut found = d.table.find_entry(hash, eq).ok()?;
        Shard::settle(&mut self.snapshot, self.mark, db, found.get_mut());
        let entry = found.remove().0;
        if entry.expires_at() != 0 {
            d.volatile -= 1;
        }
        d.bump_watch(entry.key());
        self.changes += 1;
        self.used -= entry.mem_size();
        Some(entry)
    }

    /// SWAPDB for this shard's part: the data of `a` and `b` trade places;
    /// each db's watchers of a key live (unexpired) in either are told it
    /// changed. The watch lists themselves stay with their db.
    pub(super) fn swap_dbs(&mut self, a: usize, b: usize, now: u64) {
        if a == b {
            return;
        }
        let live = |d: &Db, key: &[u8]| {
            d.table.find(super::hash_key(key), |e| e.key() == key).is_some_and(|e| !e.is_expired(now))
        };
        for (this, other) in [(a, b), (b, a)] {
            let touched: Vec<SmallBytes> = self.dbs[this]
                .watched
                .keys()
                .filter(|k| live(&self.dbs[this], k) || live(&self.dbs[other], k))
                .cloned()
                .collect();
            touched.iter().for_each(|k| self.dbs[this].bump_watch(k));
        }
        let (low, high) = (a.min(b), a.max(b));
        let (head, tail) = self.dbs.split_at_mut(high);
        let (x, y) = (&mut head[low], &mut tail[0]);
        std::mem::swap(&mut x.table, &mut y.table);
        std::mem::swap(&mut x.expiries, &mut y.expiries);
        std::mem::swap(&mut x.volatile, &mut y.volatile);
        if let Some(snapshot) = &mut self.snapshot {
            snapshot.swap_dbs(a, b);
        }
        self.changes += 1;
    }

    pub(super) fn flush_db(&mut self, db: usize) {
        let d = &mut self.dbs[db];
        let freed: usize = d.table.iter().map(|e| e.mem_size()).sum::<usize>() + table_cost(d.table.capacity());
        d.bump_watches_of_present_keys();
        self.changes += d.table.len() as u64;
        let table = std::mem::take(&mut d.table);
        d.expiries = BinaryHeap::new();
        d.volatile = 0;
        self.used -= freed;
        if let Some(snapshot) = &mut self.snapshot {
            snapshot.set_aside(db, table);
        }
    }
}
