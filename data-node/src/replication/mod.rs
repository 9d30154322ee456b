//! Replication state, as Redis keeps it: a primary's stream and backlog
//! (`feed`), this node's role, the history its data belongs to, and the
//! primary it should follow. The wire lives above: `primary_link` follows
//! the target set here and applies the stream through the command table;
//! `replica_link` carries the stream to an attached replica. Methods take the
//! keyspace, never the server.

pub mod feed;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Instant;

use tokio::sync::{Notify, watch};

use crate::keyspace::Keyspace;
use crate::sync::{lock, read};
use feed::{Attached, Feed};

pub struct ReplicaOf {
    pub host: String,
    pub port: u16,
    pub link_up: bool,
    pub sync_in_progress: bool,
    pub last_io: Instant,
    /// The history our data belongs to (the primary's replication id) and our
    /// offset in it; None until we hold one.
    pub history: Option<String>,
    pub offset: u64,
}

pub enum Role {
    Primary,
    Replica(ReplicaOf),
}

/// The primary the link should follow, and which REPLICAOF asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub epoch: u64,
}

#[derive(Default)]
pub struct SyncStats {
    pub full: AtomicU64,
    pub partial_ok: AtomicU64,
    pub partial_err: AtomicU64,
}

pub struct Replication {
    feed: Mutex<Feed>,
    /// False until a replica first attaches: writes skip the feed until then.
    active: AtomicBool,
    /// Woken when a replica acknowledges an offset (WAIT).
    acks: Notify,
    role: Mutex<Role>,
    /// Mirrors `role`, read by every write command without taking a lock.
    replica: AtomicBool,
    /// Bumped by every change of target: a link applying an older epoch's
    /// stream stops before its next command.
    epoch: AtomicU64,
    /// Held by the link while it applies a batch of the stream, so a change
    /// of target (or a stop at shutdown) waits for the batch in flight and no
    /// stale write follows it.
    applying: Mutex<()>,
    target: watch::Sender<Option<Target>>,
    masterauth: RwLock<Option<String>>,
    pub stats: SyncStats,
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
            applying: Mutex::new(()),
            target: watch::Sender::new(None),
            masterauth: RwLock::new(masterauth),
            stats: SyncStats::default(),
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

    /// The primary's stream: offsets, backlog and attached replicas.
    pub fn with_feed<T>(&self, f: impl FnOnce(&mut Feed) -> T) -> T {
        f(&mut lock(&self.feed))
    }

    pub fn masterauth(&self) -> Option<String> {
        read(&self.masterauth).clone()
    }

    pub fn set_masterauth(&self, password: Option<String>) {
        *crate::sync::write(&self.masterauth) = password;
    }

    /// Resolves at the next acknowledgement; `enable` it before counting acks.
    pub fn next_ack(&self) -> tokio::sync::futures::Notified<'_> {
        self.acks.notified()
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
    /// offset it was taken at. The replica joins the stream at the
    /// snapshot's cut, with every shard held, so no write falls between the
    /// two; the snapshot is then written while the node serves on (this
    /// takes as long as the snapshot: call it off the async workers).
    /// `functions` are the function libraries' code, sent with the keys.
    pub fn attach_full(
        &self,
        keyspace: &Keyspace,
        functions: &[Vec<u8>],
        id: u64,
        addr: String,
        port: u16,
    ) -> (Vec<u8>, Attached) {
        let mut joined = None;
        let rdb = crate::rdb::snapshot_bytes(keyspace, functions, || {
            let mut feed = lock(&self.feed);
            let attached = feed.attach(id, addr, port, keyspace.now_ms());
            self.active.store(true, Ordering::Release);
            joined = Some((feed.replid.clone(), feed.offset, attached));
        });
        let (replid, offset, attached) = joined.expect("the cut runs its closure");
        let mut preamble = format!("+FULLRESYNC {replid} {offset}\r\n${}\r\n", rdb.len()).into_bytes();
        preamble.extend_from_slice(&rdb);
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
        now_ms: u64,
    ) -> Option<(Vec<u8>, Attached)> {
        let mut feed = lock(&self.feed);
        let tail = (replid == feed.replid).then(|| feed.backlog_from(from)).flatten();
        let Some(tail) = tail else {
            self.stats.partial_err.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let mut preamble = format!("+CONTINUE {}\r\n", feed.replid).into_bytes();
        preamble.extend_from_slice(&tail);
        let attached = feed.attach(id, addr, port, now_ms);
        self.active.store(true, Ordering::Release);
        self.stats.partial_ok.fetch_add(1, Ordering::Relaxed);
        Some((preamble, attached))
    }

    pub fn detach(&self, id: u64) {
        lock(&self.feed).detach(id);
    }

    pub fn record_ack(&self, attached: &Attached, offset: u64, now_ms: u64) {
        attached.ack.fetch_max(offset, Ordering::AcqRel);
        attached.acked_at.store(now_ms, Ordering::Release);
        self.acks.notify_waiters();
    }

    /// min-replicas-to-write: whether enough replicas acknowledged lately for
    /// a primary to take a write.
    pub fn enough_replicas(&self, needed: usize, max_lag_secs: u64, now_ms: u64) -> bool {
        needed == 0 || lock(&self.feed).good_replicas(now_ms, max_lag_secs * 1000) >= needed
    }

    /// `REPLICAOF host port`: follow that primary from now on. The link
    /// (`primary_link`) sees the new target and connects.
    pub fn follow(&self, keyspace: &Keyspace, host: String, port: u16) {
        let applying = self.retarget();
        let mut role = lock(&self.role);
        // The history we hold, so the new primary can continue it (PSYNC
        // replid offset) instead of sending everything: a replica repointed
        // after a failover, or a demoted primary, usually resumes partially.
        let (history, offset) = match &*role {
            Role::Replica(of) => (of.history.clone(), of.offset),
            Role::Primary => {
                let feed = lock(&self.feed);
                (Some(feed.replid.clone()), feed.offset)
            }
        };
        *role = Role::Replica(ReplicaOf {
            host: host.clone(),
            port,
            link_up: false,
            sync_in_progress: false,
            last_io: Instant::now(),
            history,
            offset,
        });
        self.replica.store(true, Ordering::Release);
        drop(role);
        keyspace.set_passive_expiry(true);
        // Our own replicas were fed by our history; they must resync with us.
        lock(&self.feed).restart_history(crate::rand::random_hex(40));
        let epoch = self.current_epoch();
        drop(applying);
        self.target.send_replace(Some(Target { host, port, epoch }));
    }

    /// `REPLICAOF NO ONE`: become a primary, keeping the data.
    pub fn promote(&self, keyspace: &Keyspace) {
        keyspace.set_passive_expiry(false);
        let applying = self.retarget();
        let mut role = lock(&self.role);
        if let Role::Replica(of) = &*role {
            // Continue the old primary's history: its replicas can follow us.
            let mut feed = lock(&self.feed);
            if let Some(history) = &of.history {
                feed.restart_history(history.clone());
                feed.offset = of.offset;
            }
        }
        *role = Role::Primary;
        self.replica.store(false, Ordering::Release);
        drop(role);
        drop(applying);
        self.target.send_replace(None);
    }

    /// Stops applying the primary's stream (at shutdown), keeping the role,
    /// so the data and the recorded offset stay in step. Returns once the
    /// batch in flight, if any, is applied.
    pub fn stop_following(&self) {
        drop(self.retarget());
        self.target.send_replace(None);
    }

    /// Ends the current epoch once the batch being applied is done; the
    /// guard keeps the next batch out until the new role is in place.
    fn retarget(&self) -> MutexGuard<'_, ()> {
        let applying = lock(&self.applying);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        applying
    }

    /// The primary to follow, as it changes.
    pub fn watch_target(&self) -> watch::Receiver<Option<Target>> {
        self.target.subscribe()
    }

    pub fn current_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Held while the link applies a batch of `epoch`'s stream; None once a
    /// newer target superseded that epoch.
    pub fn start_applying(&self, epoch: u64) -> Option<MutexGuard<'_, ()>> {
        let guard = lock(&self.applying);
        (self.current_epoch() == epoch).then_some(guard)
    }

    /// Changes the replica's link state, unless `epoch` was superseded.
    pub fn update_link(&self, epoch: u64, f: impl FnOnce(&mut ReplicaOf)) {
        let mut role = lock(&self.role);
        if self.current_epoch() != epoch {
            return;
        }
        if let Role::Replica(of) = &mut *role {
            f(of)
        }
    }

    /// Data loaded at startup from a snapshot that records its place in a
    /// primary's stream: continue that history.
    pub fn adopt_history(&self, replid: String, offset: u64) {
        let mut feed = lock(&self.feed);
        feed.restart_history(replid);
        feed.offset = offset;
    }

    /// The history the data belongs to and how far into it: a replica's place
    /// in its primary's stream (once it has one), a primary's in its own.
    pub fn history(&self) -> Option<(String, u64)> {
        match &*lock(&self.role) {
            Role::Replica(of) => of.history.clone().map(|id| (id, of.offset)),
            Role::Primary => {
                let feed = lock(&self.feed);
                Some((feed.replid.clone(), feed.offset))
            }
        }
    }
}
