//! maxmemory eviction. Like Redis, it samples a few keys and evicts the best
//! candidate among them under the configured policy; no global LRU list.

use std::cmp::Reverse;

use super::clock::{lfu_decayed, lru_idle_secs};
use super::entry::Entry;
use super::small_bytes::SmallBytes;
use super::{Keyspace, SHARDS};
use crate::rand;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    pub const ALL: [Policy; 8] = [
        Policy::NoEviction,
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
        }
    }

    pub fn parse(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s))
    }

    pub(super) fn from_u8(v: u8) -> Policy {
        Policy::ALL.get(v as usize).copied().unwrap_or(Policy::NoEviction)
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    fn volatile_only(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }

    /// Higher is a better candidate for eviction.
    fn score(self, e: &Entry, now: u64) -> u64 {
        match self {
            Policy::AllKeysLru | Policy::VolatileLru => lru_idle_secs(e.access(), now),
            Policy::AllKeysLfu | Policy::VolatileLfu => 255 - lfu_decayed(e.access(), now) as u64,
            Policy::VolatileTtl => u64::MAX - e.expires_at(),
            _ => 0,
        }
    }
}

impl Keyspace {
    /// Evicts one key chosen by `samples` samples; false when nothing can go.
    pub fn evict_one(&self, samples: usize) -> bool {
        let policy = self.policy();
        if policy == Policy::NoEviction {
            return false;
        }
        let now = self.now_ms();
        let start = rand::below(SHARDS);
        for step in 0..SHARDS {
            let idx = (start + step) % SHARDS;
            let mut shard = self.guard(idx);
            let mut best: Option<(u64, usize, u64, SmallBytes)> = None; // (score, db, hash, key)
            for db in 0..self.databases {
                let d = &shard.dbs[db];
                if d.table.is_empty() || (policy.volatile_only() && d.volatile == 0) {
                    continue;
                }
                for _ in 0..samples.max(1) {
                    let candidate = if policy.volatile_only() {
                        let heap = d.expiries.as_slice();
                        let Reverse((_, hash)) = heap[rand::below(heap.len())];
                        d.table.find(hash, |e| e.expires_at() != 0).map(|e| (e, hash))
                    } else {
                        sample(&d.table)
                    };
                    if let Some((e, hash)) = candidate {
                        let score = policy.score(e, now);
                        if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                            best = Some((score, db, hash, SmallBytes::new(e.key())));
                        }
                    }
                }
            }
            if let Some((_, db, hash, key)) = best {
                let evicted = shard.remove_where(db, hash, |e| e.key() == &*key);
                if evicted.is_some() {
                    shard.stats.evicted += 1;
                    self.removed(db, &key);
                    self.used[idx].0.store(shard.used, std::sync::atomic::Ordering::Relaxed);
                    return true;
                }
            }
        }
        false
    }
}

/// A random entry of a table. hashbrown offers no random access, but `find`
/// with a random hash and an always-true predicate returns the first occupied
/// slot whose tag matches along that hash's probe sequence: a random entry.
fn sample(table: &hashbrown::HashTable<Entry>) -> Option<(&Entry, u64)> {
    if table.len() < 64 {
        let e = table.iter().nth(rand::below(table.len()))?;
        return Some((e, super::hash_key(e.key())));
    }
    for _ in 0..64 {
        if let Some(e) = table.find(rand::next_u64(), |_| true) {
            return Some((e, super::hash_key(e.key())));
        }
    }
    None
}
