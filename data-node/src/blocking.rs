//! Clients blocked in BLPOP and friends, by the keys they wait on. A write to
//! one of those keys wakes every waiter; each retries its command and the
//! losers of the race block again.

use crate::sync;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hashbrown::HashMap;
use tokio::sync::Notify;

/// A blocked client's wake-up call.
pub type Waiter = Arc<Notify>;

/// (db, key) → the clients waiting on it.
type WaitList = HashMap<(usize, Vec<u8>), Vec<Waiter>>;

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

    pub fn register(&self, db: usize, keys: &[Vec<u8>], waiter: &Arc<Notify>) {
        let mut w = sync::lock(&self.waiters);
        for k in keys {
            w.entry((db, k.clone())).or_default().push(waiter.clone());
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unregister(&self, db: usize, keys: &[Vec<u8>], waiter: &Arc<Notify>) {
        let mut w = sync::lock(&self.waiters);
        for k in keys {
            let slot = (db, k.clone());
            if let Some(list) = w.get_mut(&slot) {
                list.retain(|n| !Arc::ptr_eq(n, waiter));
                if list.is_empty() {
                    w.remove(&slot);
                }
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn signal(&self, db: usize, key: &[u8]) {
        let w = sync::lock(&self.waiters);
        if let Some(list) = w.get(&(db, key.to_vec())) {
            for n in list {
                n.notify_one();
            }
        }
    }
}
