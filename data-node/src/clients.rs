//! The clients connected now: what CLIENT LIST shows of each, and how to
//! name or stop one. The registry owns its lock; callers use its methods.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hashbrown::HashMap;
use tokio::sync::Notify;

use crate::sync::lock;

/// What other clients can see of a client (CLIENT LIST) and how to stop it.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    created: Instant,
    name: Mutex<Option<String>>,
    pub db: AtomicUsize,
    /// When it last sent something, in ms since `created`.
    last_active_ms: AtomicU64,
    last_cmd: Mutex<&'static str>,
    pub subscriptions: AtomicUsize,
    pub resp3: AtomicBool,
    /// Woken by `kill`: the client's connection ends.
    pub kill: Notify,
    pub killed: AtomicBool,
    /// Waiting in a blocking command now (CLIENT UNBLOCK applies).
    pub blocked: AtomicBool,
    /// Woken by CLIENT UNBLOCK; `unblock_error` says whether with an error.
    pub unblock: Notify,
    pub unblock_error: AtomicBool,
}

impl ClientHandle {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }

    /// CLIENT UNBLOCK: ends the client's blocking command as if it timed
    /// out, or with an error. False when it is not blocked.
    pub fn unblock(&self, with_error: bool) -> bool {
        if !self.blocked.load(Ordering::Relaxed) {
            return false;
        }
        self.unblock_error.store(with_error, Ordering::Relaxed);
        self.unblock.notify_waiters();
        true
    }

    pub fn name(&self) -> Option<String> {
        lock(&self.name).clone()
    }

    pub fn set_name(&self, name: Option<String>) {
        *lock(&self.name) = name;
    }

    pub fn touch(&self, at: Instant) {
        let since = at.saturating_duration_since(self.created).as_millis() as u64;
        self.last_active_ms.store(since, Ordering::Relaxed);
    }

    pub fn set_last_cmd(&self, name: &'static str) {
        *lock(&self.last_cmd) = name;
    }

    /// One line of CLIENT LIST / CLIENT INFO.
    pub fn describe(&self) -> String {
        let now = Instant::now();
        let age_ms = now.duration_since(self.created).as_millis() as u64;
        let idle = age_ms.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000;
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.name().unwrap_or_default(),
            now.duration_since(self.created).as_secs(),
            idle,
            if self.blocked.load(Ordering::Relaxed) { "b" } else { "N" },
            self.db.load(Ordering::Relaxed),
            self.subscriptions.load(Ordering::Relaxed),
            lock(&self.last_cmd),
            if self.resp3.load(Ordering::Relaxed) { 3 } else { 2 },
        )
    }
}

#[derive(Default)]
pub struct ClientRegistry {
    clients: Mutex<HashMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    pub fn register(&self, addr: String, laddr: String) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: now,
            name: Mutex::new(None),
            db: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(0),
            last_cmd: Mutex::new("NULL"),
            subscriptions: AtomicUsize::new(0),
            resp3: AtomicBool::new(false),
            kill: Notify::new(),
            killed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            unblock: Notify::new(),
            unblock_error: AtomicBool::new(false),
        });
        lock(&self.clients).insert(id, handle.clone());
        handle
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.clients).remove(&id);
    }

    /// Every client, in the order they connected.
    pub fn list(&self) -> Vec<Arc<ClientHandle>> {
        let mut v: Vec<_> = lock(&self.clients).values().cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        lock(&self.clients).get(&id).cloned()
    }

    /// Stops every client but `keep`.
    pub fn kill_all_but(&self, keep: u64) {
        for client in self.list().iter().filter(|c| c.id != keep) {
            client.kill();
        }
    }

    pub fn count(&self) -> usize {
        lock(&self.clients).len()
    }
}
