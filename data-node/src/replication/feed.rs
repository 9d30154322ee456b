//! The primary's side: the replication stream. Every write a client makes is
//! appended, as RESP, to a backlog (for partial resynchronisation) and sent
//! to each attached replica, in the order the keyspace applied them: the
//! append happens while the command still holds its shard locks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;

/// `repl-backlog-size`, as redis-server's default.
pub const BACKLOG_SIZE: usize = 1024 * 1024;

/// A replica as the primary sees it.
pub struct Link {
    pub id: u64,
    pub addr: String,
    pub listening_port: u16,
    pub ack: Arc<AtomicU64>,
    /// Unix ms of the replica's last acknowledgement.
    pub acked_at: Arc<AtomicU64>,
    tx: mpsc::UnboundedSender<Bytes>,
}

pub struct Feed {
    pub replid: String,
    /// Bytes ever written to the stream (`master_repl_offset`).
    pub offset: u64,
    backlog: VecDeque<u8>,
    links: Vec<Link>,
    last_db: Option<usize>,
}

/// What a replica's connection needs once attached.
pub struct Attached {
    pub id: u64,
    pub stream: mpsc::UnboundedReceiver<Bytes>,
    pub ack: Arc<AtomicU64>,
    pub acked_at: Arc<AtomicU64>,
}

pub fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

impl Feed {
    pub fn new(replid: String) -> Feed {
        Feed { replid, offset: 0, backlog: VecDeque::new(), links: Vec::new(), last_db: None }
    }

    /// The offset of the first byte the backlog still holds (1-based, as Redis counts).
    pub fn backlog_first_byte(&self) -> u64 {
        self.offset - self.backlog.len() as u64 + 1
    }

    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    fn append(&mut self, bytes: Vec<u8>) {
        self.offset += bytes.len() as u64;
        self.backlog.extend(&bytes);
        let excess = self.backlog.len().saturating_sub(BACKLOG_SIZE);
        self.backlog.drain(..excess);
        let bytes = Bytes::from(bytes);
        // A replica whose connection ended is dropped here.
        self.links.retain(|link| link.tx.send(bytes.clone()).is_ok());
    }

    pub fn propagate(&mut self, db: usize, args: &[&[u8]]) {
        let mut frame = Vec::with_capacity(64);
        if self.last_db != Some(db) {
            encode(&[b"SELECT", db.to_string().as_bytes()], &mut frame);
            self.last_db = Some(db);
        }
        encode(args, &mut frame);
        self.append(frame);
    }

    /// The keepalive in the stream (`repl-ping-replica-period`), as Redis
    /// sends it: a replica tells a quiet primary from a lost link by it.
    pub fn ping_replicas(&mut self) {
        if !self.links.is_empty() {
            let mut frame = Vec::new();
            encode(&[b"PING"], &mut frame);
            self.append(frame);
        }
    }

    /// Asks every replica for its offset (WAIT); counted in the stream, as in Redis.
    pub fn request_acks(&mut self) {
        if !self.links.is_empty() {
            let mut frame = Vec::new();
            encode(&[b"REPLCONF", b"GETACK", b"*"], &mut frame);
            self.append(frame);
        }
    }

    /// Registers a replica whose stream starts at the current offset.
    pub fn attach(&mut self, id: u64, addr: String, listening_port: u16, now_ms: u64) -> Attached {
        let (tx, stream) = mpsc::unbounded_channel();
        let ack = Arc::new(AtomicU64::new(0));
        let acked_at = Arc::new(AtomicU64::new(now_ms));
        self.links.push(Link { id, addr, listening_port, ack: ack.clone(), acked_at: acked_at.clone(), tx });
        // The next write names its database: the replica's may be anything.
        self.last_db = None;
        Attached { id, stream, ack, acked_at }
    }

    /// The backlog from 1-based offset `from`, if it still holds it.
    pub fn backlog_from(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.backlog_first_byte() || from > self.offset + 1 {
            return None;
        }
        let skip = (from - self.backlog_first_byte()) as usize;
        Some(self.backlog.iter().skip(skip).copied().collect())
    }

    pub fn detach(&mut self, id: u64) {
        self.links.retain(|link| link.id != id);
    }

    /// Replicas that acknowledged something within `max_lag_ms` of `now`
    /// (min-replicas-max-lag).
    pub fn good_replicas(&self, now: u64, max_lag_ms: u64) -> usize {
        self.links.iter().filter(|l| now.saturating_sub(l.acked_at.load(Ordering::Acquire)) <= max_lag_ms).count()
    }

    /// Replicas that acknowledged at least `offset`.
    pub fn acked(&self, offset: u64) -> usize {
        self.links.iter().filter(|l| l.ack.load(Ordering::Acquire) >= offset).count()
    }

    /// A new history (this node was promoted, or its data replaced): replicas
    /// of the old one must resynchronise in full.
    pub fn restart_history(&mut self, replid: String) {
        self.replid = replid;
        self.backlog.clear();
        self.last_db = None;
        self.links.clear();
    }
}
