//! `Locked`: the shards a command holds, and the only way commands touch keys.
//! Lazy expiry, memory accounting, watch versions and empty-collection removal
//! all happen here, so no command can forget one of them.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use hashbrown::hash_table::OccupiedEntry;

use super::acquire::Exclusive;
use super::clock::{lfu_new, lfu_stamp, lfu_touch, lru_stamp};
use super::entry::Entry;
use super::shard::table_cost;
use super::shard::{DbSizes, Shard, ShardStats};
use super::small_bytes::SmallBytes;
use super::value::{Value, ValueMut, ValueRef};
use super::{Keyspace, SHARDS, hash_key, shard_of};
use crate::rand;

/// Why a lookup found no live entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Absent,
    /// It was there, but its time had come (it is gone now).
    Expired,
}

pub struct Locked<'a> {
    ks: &'a Keyspace,
    first: (usize, MutexGuard<'a, Shard>),
    /// The other shards held, in ascending order: shard `i` is in `rest`
    /// when bit `i` of `rest_shards` is set, at the place the bits below it
    /// count. (Indices beside each guard made lock_all's 63 guards too big
    /// for malloc's thread cache: a slow allocation on every script.)
    rest: Vec<MutexGuard<'a, Shard>>,
    rest_shards: u64,
    /// Held by an exclusive holder, which takes other shards on first use.
    /// Declared after the guards: released after them.
    exclusive: Option<Exclusive<'a>>,
    /// Precise time, read on first use (0 until then): most commands never
    /// need it, and clock reads are a visible cost at a million commands a second.
    now: Cell<u64>,
    /// The server clock's last tick: good enough for LRU/LFU stamps.
    coarse: u64,
    lfu: bool,
    /// Commands from a replica's primary: on a replica they see expired keys
    /// as live (the primary sends the DEL when it expires them).
    primary_link: bool,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let (i, s) = &self.first;
        self.ks.used[*i].0.store(s.used, Ordering::Relaxed);
        // Released highest first, the first shard last: a command waiting for
        // the first then finds the others free, instead of following this one
        // through them and sleeping at each.
        let mut shards = self.rest_shards;
        while let Some(s) = self.rest.pop() {
            let i = 63 - shards.leading_zeros() as usize;
            shards &= !(1 << i);
            self.ks.used[i].0.store(s.used, Ordering::Relaxed);
        }
    }
}

impl<'a> Locked<'a> {
    pub(super) fn new(
        ks: &'a Keyspace,
        first: (usize, MutexGuard<'a, Shard>),
        rest: impl ExactSizeIterator<Item = (usize, MutexGuard<'a, Shard>)>,
        exclusive: Option<Exclusive<'a>>,
    ) -> Locked<'a> {
        let lfu = ks.policy().is_lfu();
        let mut rest_shards = 0u64;
        let mut guards = Vec::with_capacity(rest.len());
        for (i, guard) in rest {
            debug_assert!(i > first.0 && rest_shards >> i == 0, "shards are locked in ascending order");
            rest_shards |= 1 << i;
            guards.push(guard);
        }
        Locked {
            ks,
            first,
            rest: guards,
            rest_shards,
            exclusive,
            now: Cell::new(0),
            coarse: ks.coarse_ms(),
            lfu,
            primary_link: false,
        }
    }

    /// Marks these locks as held for a replica's primary link.
    pub fn for_primary_link(&mut self, yes: bool) {
        self.primary_link = yes;
    }

    /// The time this command runs at: one value for the whole command (and a
    /// whole EXEC), like Redis's cached command time.
    pub fn now(&self) -> u64 {
        if self.now.get() == 0 {
            self.now.set(self.ks.now_ms());
        }
        self.now.get()
    }

    pub fn databases(&self) -> usize {
        self.ks.databases
    }

    fn new_stamp(&self) -> u16 {
        if self.lfu { lfu_new(self.coarse) } else { lru_stamp(self.coarse) }
    }

    /// The access stamp of a key said to be idle for `idle_secs` (under an
    /// LRU policy) or used with frequency `freq` (under LFU), as RESTORE
    /// sets them; a hint the policy does not track is ignored.
    pub fn stamp_with(&self, idle_secs: Option<u64>, freq: Option<u8>) -> u16 {
        match (self.lfu, idle_secs, freq) {
            (true, _, Some(freq)) => lfu_stamp(freq, self.coarse),
            (false, Some(idle), _) => lru_stamp(self.coarse.saturating_sub(idle.saturating_mul(1000))),
            _ => self.new_stamp(),
        }
    }

    fn shard(&mut self, idx: usize) -> &mut Shard {
        if self.first.0 == idx {
            return &mut self.first.1;
        }
        if self.rest_shards & (1 << idx) == 0 {
            self.take(idx);
        }
        let at = (self.rest_shards & ((1 << idx) - 1)).count_ones() as usize;
        &mut self.rest[at]
    }

    /// Locks shard `idx` for an exclusive holder, keeping `rest` in order.
    fn take(&mut self, idx: usize) {
        if self.exclusive.is_none() {
            panic!("shard {idx} used without being locked: the command's key spec is wrong");
        }
        let guard = self.ks.take_shard(idx);
        let at = (self.rest_shards & ((1 << idx) - 1)).count_ones() as usize;
        self.rest.insert(at, guard);
        self.rest_shards |= 1 << idx;
    }

    /// Calls `f` with every shard (an exclusive holder's).
    pub(super) fn each_shard(&mut self, f: &mut dyn FnMut(&mut Shard)) {
        self.shards().for_each(f);
    }

    /// Every shard held, for commands over the whole keyspace: an exclusive
    /// holder takes the ones it does not hold yet.
    fn shards(&mut self) -> impl Iterator<Item = &mut Shard> {
        if self.exclusive.is_some() && self.rest.len() < SHARDS - 1 {
            let first = self.first.0;
            for i in (0..SHARDS).filter(|&i| i != first) {
                if self.rest_shards & (1 << i) == 0 {
                    self.take(i);
                }
            }
        }
        std::iter::once(&mut *self.first.1).chain(self.rest.iter_mut().map(|s| &mut **s))
    }

    /// Finds a live entry, removing it first if it has expired.
    fn find(&mut self, db: usize, key: &[u8]) -> Option<(u64, &mut Shard)> {
        self.find_hashed(db, key, hash_key(key)).ok()
    }

    fn find_hashed(&mut self, db: usize, key: &[u8], hash: u64) -> Result<(u64, &mut Shard), Missing> {
        let idx = shard_of(hash);
        let expires_at = match self.shard(idx).dbs[db].table.find(hash, |e| e.key() == key) {
            None => return Err(Missing::Absent),
            Some(e) => e.expires_at(),
        };
        if expires_at != 0 && expires_at <= self.now() {
            // A replica leaves expiry to its primary: clients are told the key
            // is gone, the primary's own commands still find it.
            if self.ks.passive_expiry() {
                return if self.primary_link { Ok((hash, self.shard(idx))) } else { Err(Missing::Expired) };
            }
            let shard = self.shard(idx);
            shard.remove_where(db, hash, |e| e.key() == key);
            shard.stats.expired += 1;
            self.ks.removed(db, key);
            return Err(Missing::Expired);
        }
        Ok((hash, self.shard(idx)))
    }

    /// A read: counts a hit or a miss and refreshes the key's access stamp.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.lookup(db, key).ok()
    }

    /// As `get`, telling a key that had expired from one that was never
    /// there (memcached's get_expired).
    pub fn lookup(&mut self, db: usize, key: &[u8]) -> Result<&Entry, Missing> {
        let (now, lfu) = (self.coarse, self.lfu);
        let hash = hash_key(key);
        if let Err(missing) = self.find_hashed(db, key, hash) {
            self.shard(shard_of(hash)).stats.misses += 1;
            return Err(missing);
        }
        let shard = self.shard(shard_of(hash));
        shard.stats.hits += 1;
        let entry = shard.dbs[db].table.find_mut(hash, |e| e.key() == key).ok_or(Missing::Absent)?;
        let stamp = if lfu { lfu_touch(entry.access(), now, rand::unit()) } else { lru_stamp(now) };
        entry.set_access(stamp);
        Ok(entry)
    }

    /// Like `get` but leaves statistics and access stamps alone.
    pub fn peek(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        let (hash, shard) = self.find(db, key)?;
        shard.dbs[db].table.find(hash, |e| e.key() == key)
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.find(db, key).is_some()
    }

    /// Write access to a live entry. The key's watchers are told it changed.
    pub fn get_mut(&mut self, db: usize, key: &[u8]) -> Option<EntryMut<'_>> {
        let (hash, shard) = self.find(db, key)?;
        let Shard { dbs, used, changes, mark, snapshot, .. } = shard;
        *changes += 1;
        let d = &mut dbs[db];
        d.bump_watch(key);
        let mut occ = d.table.find_entry(hash, |e| e.key() == key).ok()?;
        Shard::settle(snapshot, *mark, db, occ.get_mut());
        let before = occ.get().mem_size();
        Some(EntryMut { occ: Some(occ), expiries: &mut d.expiries, volatile: &mut d.volatile, used, before, hash })
    }

    /// Write access, creating the entry with `make` when the key is absent.
    pub fn get_or_insert(&mut self, db: usize, key: &[u8], make: impl FnOnce() -> Value) -> EntryMut<'_> {
        if !self.exists(db, key) {
            self.set(db, key, make(), 0);
        }
        self.get_mut(db, key).expect("entry inserted under the same lock")
    }

    /// Stores `value` under `key`, replacing whatever was there (and its TTL).
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, expires_at: u64) {
        let stamp = self.new_stamp();
        self.insert_entry(db, Entry::new(key, value, expires_at, stamp));
    }

    /// As `set` for a string whose value is `parts` joined.
    pub fn set_str(&mut self, db: usize, key: &[u8], parts: &[&[u8]], expires_at: u64) {
        let stamp = self.new_stamp();
        self.insert_entry(db, Entry::new_str(key, parts, expires_at, stamp));
    }

    /// Stores an entry built elsewhere (RENAME, MOVE, COPY), keeping its TTL.
    pub fn insert_entry(&mut self, db: usize, mut entry: Entry) {
        let hash = hash_key(entry.key());
        let shard = self.shard(shard_of(hash));
        let Shard { dbs, used, changes, mark, snapshot, .. } = shard;
        // Made after any snapshot's cut: no snapshot is owed it.
        entry.set_mark(*mark);
        *changes += 1;
        let d = &mut dbs[db];
        d.bump_watch(entry.key());
        let at = entry.expires_at();
        if at != 0 {
            d.volatile += 1;
            d.expiries.push(Reverse((at, hash)));
        }
        *used += entry.mem_size();
        match d.table.find_entry(hash, |e| e.key() == entry.key()) {
            Ok(mut slot) => {
                Shard::settle(snapshot, *mark, db, slot.get_mut());
                let old = std::mem::replace(slot.get_mut(), entry);
                if old.expires_at() != 0 {
                    d.volatile -= 1;
                }
                *used -= old.mem_size();
            }
            Err(absent) => {
                let table = absent.into_table();
                let capacity = table.capacity();
                table.insert_unique(hash, entry, |e| hash_key(e.key()));
                if table.capacity() != capacity {
                    *used = *used + table_cost(table.capacity()) - table_cost(capacity);
                }
            }
        }
    }

    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let (hash, shard) = self.find(db, key)?;
        shard.remove_where(db, hash, |e| e.key() == key)
    }

    /// SWAPDB (the caller holds every shard).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        let now = self.now();
        for shard in self.shards() {
            shard.swap_dbs(a, b, now);
        }
    }

    pub fn flush_db(&mut self, db: usize) {
        for shard in self.shards() {
            shard.flush_db(db);
        }
    }

    /// Every live key of a database (the caller holds every shard).
    pub fn keys(&mut self, db: usize) -> Vec<SmallBytes> {
        let now = self.now();
        let mut out = Vec::new();
        for shard in self.shards() {
            out.extend(shard.dbs[db].table.iter().filter(|e| !e.is_expired(now)).map(|e| SmallBytes::new(e.key())));
        }
        out
    }

    /// Keys of `db` in a stable order for SCAN: (shard, bucket position). The
    /// cursor counts keys already returned within a snapshot of one shard, so a
    /// scan returns every key present throughout, possibly some twice.
    pub fn scan_shard(&mut self, db: usize, shard: usize) -> Vec<SmallBytes> {
        let now = self.now();
        self.shard(shard).dbs[db]
            .table
            .iter()
            .filter(|e| !e.is_expired(now))
            .map(|e| SmallBytes::new(e.key()))
            .collect()
    }

    pub fn dbsize(&mut self, db: usize) -> usize {
        self.shards().map(|s| s.dbs[db].len()).sum()
    }

    pub fn random_key(&mut self, db: usize) -> Option<SmallBytes> {
        let total = self.dbsize(db);
        if total == 0 {
            return None;
        }
        let now = self.now();
        for _ in 0..64 {
            let mut n = rand::below(total);
            for shard in self.shards() {
                let t = &shard.dbs[db].table;
                if n < t.len() {
                    if let Some(e) = t.iter().nth(n)
                        && !e.is_expired(now)
                    {
                        return Some(SmallBytes::new(e.key()));
                    }
                    break;
                }
                n -= t.len();
            }
        }
        None
    }

    /// Hits, misses, expiries and evictions over the shards held (all of
    /// them for an exclusive holder).
    pub fn stats(&mut self) -> ShardStats {
        let mut total = ShardStats::default();
        self.shards().for_each(|s| total.add(&s.stats));
        total
    }

    /// As `Keyspace::changes`, through these locks (an exclusive holder's).
    pub fn changes(&mut self) -> u64 {
        self.shards().map(|s| s.changes).sum()
    }

    /// As `Keyspace::db_sizes`, through these locks (an exclusive holder's).
    pub fn db_sizes(&mut self) -> Vec<(usize, usize, u64)> {
        let mut sizes = DbSizes::new(self.ks.databases, self.now());
        self.shards().for_each(|s| sizes.add(s));
        sizes.finish()
    }

    /// Registers a WATCH on a key; returns its current version.
    pub fn watch(&mut self, db: usize, key: &[u8]) -> u64 {
        let shard = self.shard(shard_of(hash_key(key)));
        let slot = shard.dbs[db].watched.entry(SmallBytes::new(key)).or_insert((0, 0));
        slot.1 += 1;
        slot.0
    }

    pub fn watch_version(&mut self, db: usize, key: &[u8]) -> u64 {
        let shard = self.shard(shard_of(hash_key(key)));
        shard.dbs[db].watched.get(key).map(|v| v.0).unwrap_or(0)
    }

    pub fn unwatch(&mut self, db: usize, key: &[u8]) {
        let shard = self.shard(shard_of(hash_key(key)));
        let watched = &mut shard.dbs[db].watched;
        if let Some(slot) = watched.get_mut(key) {
            slot.1 -= 1;
            if slot.1 == 0 {
                watched.remove(key);
            }
        }
    }
}

/// Write access to one entry. On drop it settles the entry's memory, and
/// deletes it if it is a collection left empty.
pub struct EntryMut<'a> {
    occ: Option<OccupiedEntry<'a, Entry>>,
    expiries: &'a mut BinaryHeap<Reverse<(u64, u64)>>,
    volatile: &'a mut usize,
    used: &'a mut usize,
    before: usize,
    hash: u64,
}

impl EntryMut<'_> {
    fn entry(&self) -> &Entry {
        self.occ.as_ref().map(|o| o.get()).expect("present until drop")
    }

    fn entry_mut(&mut self) -> &mut Entry {
        self.occ.as_mut().map(|o| o.get_mut()).expect("present until drop")
    }

    pub fn value(&self) -> ValueRef<'_> {
        self.entry().value()
    }

    pub fn value_mut(&mut self) -> ValueMut<'_> {
        self.entry_mut().value_mut()
    }

    /// Replaces the value, keeping the key's TTL.
    pub fn set_value(&mut self, value: Value) {
        self.entry_mut().set_value(value);
    }

    /// Replaces the value with the string `parts` joined, keeping the key's TTL.
    pub fn set_str(&mut self, parts: &[&[u8]]) {
        self.entry_mut().set_str(parts);
    }

    pub fn expires_at(&self) -> u64 {
        self.entry().expires_at()
    }

    pub fn set_expires_at(&mut self, at: u64) {
        let old = self.expires_at();
        match (old != 0, at != 0) {
            (false, true) => *self.volatile += 1,
            (true, false) => *self.volatile -= 1,
            _ => {}
        }
        if at != 0 {
            self.expiries.push(Reverse((at, self.hash)));
        }
        self.entry_mut().set_expires_at(at);
    }
}

impl Drop for EntryMut<'_> {
    fn drop(&mut self) {
        let Some(occ) = self.occ.take() else { return };
        if occ.get().value().is_empty_collection() {
            let (entry, _) = occ.remove();
            if entry.expires_at() != 0 {
                *self.volatile -= 1;
            }
            *self.used -= self.before;
        } else {
            *self.used = *self.used + occ.get().mem_size() - self.before;
        }
    }
}
