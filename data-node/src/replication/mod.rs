//! Replication, as Redis does it: a primary streams its writes to replicas
//! after a full synchronisation (an RDB snapshot) or a partial one (the
//! missing tail of its backlog); replicas apply the stream, acknowledge
//! offsets, and refuse writes from clients.
//!
//! - `feed`: the primary's stream, backlog and attached replicas.
//! - `follow`: the replica's side: handshake, sync, applying the stream.

pub mod feed;
mod follow;
pub mod link;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::Notify;

use crate::server::Server;
use feed::{Attached, Feed};

pub struct ReplicaOf {
    pub host: String,
    pub port: u16,
    pub link_up: bool,
    pub sync_in_progress: bool,
    pub last_io: Instant,
    /// The primary's replication id and our offset in its stream.
    pub master_replid: String,
    pub offset: u64,
}

pub enum Role {
    Primary,
    Replica(ReplicaOf),
}

#[derive(Default)]
pub struct SyncStats {
    pub full: AtomicU64,
    pub partial_ok: AtomicU64,
    pub partial_err: AtomicU64,
}

pub struct Replication {
    pub feed: Mutex<Feed>,
    /// False until a replica first attaches: writes skip the feed until then.
    active: AtomicBool,
    /// Woken when a replica acknowledges an offset (WAIT).
    pub acks: Notify,
    role: Mutex<Role>,
    /// Mirrors `role`, read by every write command without taking a lock.
    replica: AtomicBool,
    /// Bumped by every REPLICAOF, so a superseded follower task stops.
    epoch: AtomicU64,
    pub masterauth: RwLock<Option<String>>,
    pub stats: SyncStats,
    /// The follower task, stopped at once when REPLICAOF changes: a stale
    /// link must not apply one more write.
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Replication {
    pub fn new(replid: String, masterauth: Option<String>) -> Replication {
        Replication {
            feed: Mutex::new(Feed::new(replid)),
            active: AtomicBool::new(false),
            acks: Notify::new(),
            role: Mutex::new(Role::Primary),
            replica: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            masterauth: RwLock::new(masterauth),
            stats: SyncStats::default(),
            follower: Mutex::new(None),
        }
    }

    /// Whether writes are fed to replicas at all (a replica ever attached).
    pub fn feeding(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Called with the command's shard locks held, after it succeeded.
    pub fn propagate(&self, db: usize, args: &[&[u8]]) {
        if self.active.load(Ordering::Acquire) {
            lock(&self.feed).propagate(db, args);
        }
    }

    pub fn ping_replicas(&self) {
        if self.active.load(Ordering::Acquire) {
            lock(&self.feed).ping_replicas();
        }
    }

    /// Whether this node is a replica whose link to its primary is down.
    pub fn link_down(&self) -> bool {
        self.is_replica() && self.with_role(|role| matches!(role, Role::Replica(of) if !of.link_up))
    }

    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    pub fn with_role<T>(&self, f: impl FnOnce(&mut Role) -> T) -> T {
        f(&mut lock(&self.role))
    }

    /// PSYNC that needs everything: the snapshot and the stream from the
    /// offset it was taken at. Every shard is held while the snapshot is
    /// written, so no write falls between the two.
    pub fn attach_full(&self, server: &Server, id: u64, addr: String, port: u16) -> (Vec<u8>, Attached) {
        let mut all = server.keyspace.lock_all();
        let mut rdb = Vec::new();
        // Writing to memory cannot fail.
        let _ = crate::rdb::dump_locked(&mut all, &mut rdb);
        let mut feed = lock(&self.feed);
        let attached = feed.attach(id, addr, port);
        self.active.store(true, Ordering::Release);
        let mut preamble = format!("+FULLRESYNC {} {}\r\n${}\r\n", feed.replid, feed.offset, rdb.len()).into_bytes();
        preamble.extend_from_slice(&rdb);
        drop(feed);
        drop(all);
        self.stats.full.fetch_add(1, Ordering::Relaxed);
        (preamble, attached)
    }

    /// PSYNC `replid` `from`: the backlog's tail, when it still holds it.
    pub fn attach_partial(
        &self,
        replid: &str,
        from: u64,
        id: u64,
        addr: String,
        port: u16,
    ) -> Option<(Vec<u8>, Attached)> {
        let mut feed = lock(&self.feed);
        let tail = (replid == feed.replid).then(|| feed.backlog_from(from)).flatten();
        let Some(tail) = tail else {
            self.stats.partial_err.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let mut preamble = format!("+CONTINUE {}\r\n", feed.replid).into_bytes();
        preamble.extend_from_slice(&tail);
        let attached = feed.attach(id, addr, port);
        self.active.store(true, Ordering::Release);
        self.stats.partial_ok.fetch_add(1, Ordering::Relaxed);
        Some((preamble, attached))
    }

    pub fn detach(&self, id: u64) {
        lock(&self.feed).detach(id);
    }

    pub fn record_ack(&self, attached: &Attached, offset: u64) {
        attached.ack.fetch_max(offset, Ordering::AcqRel);
        attached.acked_at.store(crate::keyspace::now_ms(), Ordering::Release);
        self.acks.notify_waiters();
    }

    /// min-replicas-to-write: whether enough replicas acknowledged lately for
    /// a primary to take a write.
    pub fn enough_replicas(&self, needed: usize, max_lag_secs: u64) -> bool {
        needed == 0 || lock(&self.feed).good_replicas(crate::keyspace::now_ms(), max_lag_secs * 1000) >= needed
    }

    /// `REPLICAOF host port`: follow that primary from now on.
    pub fn follow(self: &Arc<Self>, server: &Arc<Server>, host: String, port: u16) {
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let mut role = lock(&self.role);
        // The history we hold, so the new primary can continue it (PSYNC
        // replid offset) instead of sending everything: a replica repointed
        // after a failover, or a demoted primary, usually resumes partially.
        let (master_replid, offset) = match &*role {
            Role::Replica(of) => (of.master_replid.clone(), of.offset),
            Role::Primary => {
                let feed = lock(&self.feed);
                (feed.replid.clone(), feed.offset)
            }
        };
        *role = Role::Replica(ReplicaOf {
            host: host.clone(),
            port,
            link_up: false,
            sync_in_progress: false,
            last_io: Instant::now(),
            master_replid,
            offset,
        });
        self.replica.store(true, Ordering::Release);
        drop(role);
        server.keyspace.set_passive_expiry(true);
        // Our own replicas were fed by our history; they must resync with us.
        lock(&self.feed).restart_history(crate::server::random_hex(40));
        let task = tokio::spawn(follow::follow(server.clone(), host, port, epoch));
        if let Some(old) = lock(&self.follower).replace(task) {
            old.abort();
        }
    }

    /// Data loaded at startup from a snapshot that records its place in a
    /// primary's stream: continue that history.
    pub fn adopt_history(&self, replid: String, offset: u64) {
        let mut feed = lock(&self.feed);
        feed.restart_history(replid);
        feed.offset = offset;
    }

    /// Stops applying the primary's stream (at shutdown), keeping the role,
    /// so the data and the recorded offset stay in step.
    pub async fn stop_following(&self) {
        let task = lock(&self.follower).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// The history the data belongs to and how far into it: a replica's place
    /// in its primary's stream (once it has one), a primary's in its own.
    pub fn history(&self) -> Option<(String, u64)> {
        match &*lock(&self.role) {
            Role::Replica(of) if of.master_replid != "?" => Some((of.master_replid.clone(), of.offset)),
            Role::Primary => {
                let feed = lock(&self.feed);
                Some((feed.replid.clone(), feed.offset))
            }
            _ => None,
        }
    }

    /// `REPLICAOF NO ONE`: become a primary, keeping the data.
    pub fn promote(&self, server: &Server) {
        server.keyspace.set_passive_expiry(false);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(old) = lock(&self.follower).take() {
            old.abort();
        }
        let mut role = lock(&self.role);
        if let Role::Replica(of) = &*role {
            // Continue the old primary's history: its replicas can follow us.
            let mut feed = lock(&self.feed);
            feed.restart_history(of.master_replid.clone());
            feed.offset = of.offset;
        }
        *role = Role::Primary;
        self.replica.store(false, Ordering::Release);
    }

    fn current_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}
