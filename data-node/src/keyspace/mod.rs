//! The keyspace: databases of keys spread over many mutex-guarded shards.
//!
//! A command locks the shards its keys hash to and works through the
//! `Locked` view; scripts and commands over the whole keyspace hold the
//! keyspace exclusively and take shards as they use them (`acquire`).
//!
//! - `acquire`: how locks are taken without deadlock
//! - `small_bytes`: short strings stored inline
//! - `entry`: one key's record, in one allocation
//! - `value`: the value types, owned and borrowed
//! - `collections`, `zset`: list, hash, set and sorted set containers
//! - `shard`: one shard's tables, expiry queue and watch versions
//! - `locked`: the view a command works through, and `EntryMut`
//! - `snapshot`: point-in-time snapshots taken while serving
//! - `expire`: the active expiry cycle
//! - `evict`: maxmemory eviction by sampling
//! - `memory`, `clock`: allocation sizes and time stamps

mod acquire;
mod clock;
mod collections;
mod entry;
mod evict;
mod expire;
mod locked;
mod memory;
mod shard;
mod small_bytes;
mod snapshot;
mod value;
mod zset;

use crate::sync;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

pub use acquire::Wanted;
pub use clock::{
    Clock, lfu_decay_time, lfu_decayed, lfu_log_factor, lru_idle_secs, set_lfu_decay_time, set_lfu_log_factor,
};
pub use collections::{Hash, List, Set, set_small_hash_limits};
pub use entry::Entry;
pub use evict::Policy;
pub use locked::{EntryMut, Locked, Missing};
pub use shard::ShardStats;
pub use small_bytes::SmallBytes;
pub use snapshot::{Encoder, Snapshot, SnapshotProgress};
pub use value::{Value, ValueMut, ValueRef};
pub use zset::{Score, ZSet};

use shard::Shard;

const SHARDS: usize = 64;
// `Locked` keeps the set of shards it holds in a u64.
const _: () = assert!(SHARDS <= 64);

static HASHER: LazyLock<hashbrown::DefaultHashBuilder> = LazyLock::new(Default::default);

pub(crate) fn hash_key(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// Bits 32..38 pick the shard: hashbrown uses the low bits for the bucket and
/// the top seven as the tag, so the shard index must come from neither.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize & (SHARDS - 1)
}

/// The distinct shards of `keys` in ascending order (shard 0 for none).
fn shards_of<'k>(keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<usize> {
    let mut idx: Vec<usize> = keys.into_iter().map(|k| shard_of(hash_key(k))).collect();
    idx.sort_unstable();
    idx.dedup();
    if idx.is_empty() {
        idx.push(0);
    }
    idx
}

/// Told of a key's removal by expiry or eviction: (database, key).
type RemovalHook = Box<dyn Fn(usize, &[u8]) + Send + Sync>;

#[repr(align(64))]
struct Padded<T>(T);

pub struct Keyspace {
    shards: Box<[Padded<Mutex<Shard>>]>,
    /// Each shard's `used` bytes, mirrored on unlock so readers need no lock.
    used: Box<[Padded<AtomicUsize>]>,
    databases: usize,
    policy: AtomicU8,
    /// What "now" is for expiry, TTLs and timeouts.
    clock: Clock,
    /// Unix ms as of the server's last tick, like Redis's cached LRU clock.
    coarse: AtomicU64,
    /// Told of every key that expiry or eviction removes (replicas learn of
    /// those deletions as DELs in the replication stream).
    on_removal: std::sync::OnceLock<RemovalHook>,
    /// Set on a replica: keys are removed by the primary's DELs, not by
    /// their expiry time (clients still never see an expired key).
    passive_expiry: std::sync::atomic::AtomicBool,
    /// Unix ms until which expired keys are hidden but not deleted (CLIENT PAUSE).
    expiry_held_until: AtomicU64,
    /// Who may take shards in any order (see `acquire`).
    exclusive: acquire::ExclusiveLock,
    /// Held by the snapshot under way (see `snapshot`).
    snapshot_slot: Mutex<()>,
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace::with_clock(databases, Clock::system())
    }

    pub fn with_clock(databases: usize, clock: Clock) -> Keyspace {
        Keyspace {
            shards: (0..SHARDS).map(|_| Padded(Mutex::new(Shard::new(databases)))).collect(),
            used: (0..SHARDS).map(|_| Padded(AtomicUsize::new(0))).collect(),
            databases,
            policy: AtomicU8::new(Policy::NoEviction as u8),
            coarse: AtomicU64::new(clock.now_ms()),
            clock,
            on_removal: std::sync::OnceLock::new(),
            passive_expiry: std::sync::atomic::AtomicBool::new(false),
            expiry_held_until: AtomicU64::new(0),
            exclusive: acquire::ExclusiveLock::new(),
            snapshot_slot: Mutex::new(()),
        }
    }

    pub fn set_passive_expiry(&self, passive: bool) {
        self.passive_expiry.store(passive, Ordering::Release)
    }

    /// Whether an expired key is only hidden, not deleted: on a replica (its
    /// primary deletes it), and while CLIENT PAUSE holds expiry.
    pub fn passive_expiry(&self) -> bool {
        self.passive_expiry.load(Ordering::Acquire) || self.now_ms() < self.expiry_held_until.load(Ordering::Acquire)
    }

    /// Expired keys stay (hidden) until `until_ms` (0: from now on they go as usual).
    pub fn hold_expiry_until(&self, until_ms: u64) {
        self.expiry_held_until.store(until_ms, Ordering::Release)
    }

    /// Sets what is told of keys removed by expiry or eviction (once).
    pub fn on_removal(&self, hook: impl Fn(usize, &[u8]) + Send + Sync + 'static) {
        let _ = self.on_removal.set(Box::new(hook));
    }

    /// Called with the removed key's shard still locked.
    pub(crate) fn removed(&self, db: usize, key: &[u8]) {
        if let Some(hook) = self.on_removal.get() {
            hook(db, key);
        }
    }

    /// Advances the coarse clock; the server calls this every tick.
    pub fn tick_clock(&self) {
        self.coarse.store(self.now_ms(), Ordering::Relaxed)
    }

    pub fn coarse_ms(&self) -> u64 {
        self.coarse.load(Ordering::Relaxed)
    }

    /// Unix time in ms by the keyspace's clock.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    pub fn set_policy(&self, policy: Policy) {
        self.policy.store(policy as u8, Ordering::Relaxed)
    }

    /// Bytes held by keys and values, as the allocator counts them.
    pub fn used_memory(&self) -> usize {
        self.used.iter().map(|u| u.0.load(Ordering::Relaxed)).sum()
    }

    fn guard(&self, idx: usize) -> MutexGuard<'_, Shard> {
        // A panicking command cannot leave a shard half-updated in a way that
        // matters more than losing the whole server would, so poison is ignored.
        sync::lock(&self.shards[idx].0)
    }

    /// Keys per database, how many of them expire, and the keys' average
    /// remaining TTL in ms, for INFO keyspace.
    pub fn db_sizes(&self) -> Vec<(usize, usize, u64)> {
        let mut sizes = shard::DbSizes::new(self.databases, self.now_ms());
        (0..SHARDS).for_each(|i| sizes.add(&self.guard(i)));
        sizes.finish()
    }

    pub fn stats(&self) -> ShardStats {
        let mut total = ShardStats::default();
        (0..SHARDS).for_each(|i| total.add(&self.guard(i).stats));
        total
    }

    /// Writes to keys since the start, all shards together.
    pub fn changes(&self) -> u64 {
        (0..SHARDS).map(|i| self.guard(i).changes).sum()
    }

    pub fn reset_stats(&self) {
        for i in 0..SHARDS {
            self.guard(i).stats = ShardStats::default();
        }
    }
}
