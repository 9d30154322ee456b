//! Active expiry: each cycle pops the due (time, hash) pairs of every shard's
//! expiry queue and removes the expired entries they point at, so memory held by
//! keys nobody reads again comes back without waiting for an access.

use std::cmp::Reverse;

use super::{Keyspace, SHARDS};

/// Keys removed per shard per lock hold, to keep each critical section short.
const BATCH: usize = 256;

impl Keyspace {
    /// Runs one cycle; returns how many keys it removed. A return of at least
    /// `BATCH` means more may be due and the caller should run again soon.
    pub fn expire_cycle(&self, now: u64) -> usize {
        let mut removed = 0;
        if self.passive_expiry() {
            return removed;
        }
        for i in 0..SHARDS {
            let mut shard = self.guard(i);
            for db in 0..self.databases {
                let mut n = 0;
                while n < BATCH {
                    let d = &mut shard.dbs[db];
                    match d.expiries.peek() {
                        Some(Reverse((at, _))) if *at <= now => {}
                        _ => break,
                    }
                    let Some(Reverse((_, hash))) = d.expiries.pop() else { break };
                    if let Some(gone) = shard.remove_where(db, hash, |e| e.is_expired(now)) {
                        shard.stats.expired += 1;
                        self.removed(db, gone.key());
                        n += 1;
                    }
                }
                shard.dbs[db].compact_expiries();
                removed += n;
            }
            self.used[i].0.store(shard.used, std::sync::atomic::Ordering::Relaxed);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    #[test]
    fn expired_keys_are_reclaimed_without_access() {
        let ks = Keyspace::new(1);
        let now = ks.now_ms();
        for i in 0..1000u32 {
            let key = format!("k{i}");
            let mut l = ks.lock_one(key.as_bytes());
            let at = if i % 2 == 0 { now + 10 } else { 0 };
            l.set(0, key.as_bytes(), Value::str(b"v"), at);
        }
        let before = ks.used_memory();
        assert_eq!(ks.expire_cycle(now), 0);
        assert_eq!(ks.expire_cycle(now + 11), 500);
        assert_eq!(ks.db_sizes()[0], (500, 0, 0));
        assert!(ks.used_memory() < before);
    }
}
