//! Clients blocked in BLPOP and friends, by the keys they wait on. A write to
//! one of those keys wakes the first of them; it retries its command, then
//! wakes the next while the key exists.

use crate::sync;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hashbrown::HashMap;
use tokio::sync::Notify;

/// A blocked client's wake-up call.
pub type Waiter = Arc<Notify>;

/// (db, key) → the clients waiting on it, in the order they blocked.
type WaitList = HashMap<(usize, Vec<u8>), Vec<Waiter>>;

/// A client's place in the wait lists while its command is blocked. It keeps
/// that place (and its deadline) across retries that find nothing to take.
pub struct Blocked {
    /// Unix ms; 0 waits forever.
    pub deadline: u64,
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    pub waiter: Waiter,
}

#[derive(Default)]
pub struct Blocking {
    waiters: Mutex<WaitList>,
    count: AtomicUsize,
}

impl Blocking {
    /// Cheap check for the write path: is anyone blocked at all?
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Clients blocked right now.
    pub fn blocked(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn register(&self, db: usize, keys: Vec<Vec<u8>>, deadline: u64) -> Blocked {
        let waiter = Waiter::default();
        let mut w = sync::lock(&self.waiters);
        for k in &keys {
            w.entry((db, k.clone())).or_default().push(waiter.clone());
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        Blocked { deadline, db, keys, waiter }
    }

    pub fn unregister(&self, blocked: &Blocked) {
        let mut w = sync::lock(&self.waiters);
        for k in &blocked.keys {
            let slot = (blocked.db, k.clone());
            if let Some(list) = w.get_mut(&slot) {
                list.retain(|n| !Arc::ptr_eq(n, &blocked.waiter));
                if list.is_empty() {
                    w.remove(&slot);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    /// A write to `key`: wakes the client that blocked on it first. Each
    /// woken client passes the wake-up on once it has retried (`pass_on`), so
    /// clients are served in the order they blocked, as in Redis.
    pub fn signal(&self, db: usize, key: &[u8]) {
        let w = sync::lock(&self.waiters);
        if let Some(first) = w.get(&(db, key.to_vec())).and_then(|list| list.first()) {
            first.notify_one();
        }
    }

    /// Wakes the first client waiting on each key of `db` (SWAPDB brought
    /// in other data: whoever can now be served retries).
    pub fn signal_db(&self, db: usize) {
        let w = sync::lock(&self.waiters);
        for ((d, _), list) in w.iter() {
            if *d == db
                && let Some(first) = list.first()
            {
                first.notify_one();
            }
        }
    }

    /// After `blocked` retried: wakes the next client in line on each of its
    /// keys that still exists (there may be more to take, or a type another
    /// waiter can take).
    pub fn pass_on(&self, blocked: &Blocked, mut exists: impl FnMut(&[u8]) -> bool) {
        let live: Vec<&Vec<u8>> = blocked.keys.iter().filter(|k| exists(k)).collect();
        if live.is_empty() {
            return;
        }
        let w = sync::lock(&self.waiters);
        for key in live {
            let Some(list) = w.get(&(blocked.db, key.clone())) else { continue };
            let mine = list.iter().position(|n| Arc::ptr_eq(n, &blocked.waiter));
            let next = mine.map_or(0, |i| i + 1);
            if let Some(n) = list.get(next) {
                n.notify_one();
            }
        }
    }
}
