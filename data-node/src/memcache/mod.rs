//! memcached's protocols over the same keyspace: `--protocol memcached`.
//!
//! - `item`: how an item (data, flags, CAS, state) sits in a string value
//! - `ops`: the item operations every protocol front end shares
//! - `line`: a request line's words, keys, numbers and expiry times
//! - `text`: the classic text protocol (get, set, incr, stats, ...)
//! - `meta`: the meta protocol (mg, ms, md, ma, mn, me)
//! - `reply`: numbers and lines written out
//! - `binary`: the binary protocol, as memccapable and older clients speak it
//! - `stats`: counters, and `stats` / `stats settings|items|slabs`
//! - `discovery`: ElastiCache Auto Discovery (`config get cluster`)
//! - `connection`: one client's socket: lines, data blocks, replies

pub mod binary;
pub mod connection;
pub mod discovery;
pub mod item;
pub mod line;
pub mod meta;
pub mod ops;
pub mod reply;
pub mod stats;
pub mod text;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Flags;
use crate::server::Server;

/// The memcached version we answer `version` and `stats` with.
pub const VERSION: &str = "1.6.18";

/// What every memcached connection shares beside the server.
pub struct Memcache {
    server: Arc<Server>,
    /// The last CAS unique handed out; every store takes the next.
    cas: AtomicU64,
    pub totals: stats::Totals,
    max_item_size: u64,
    verbosity: AtomicU64,
    /// Bumped by every flush_all: a delayed flush runs only if none came after it.
    flushes: AtomicU64,
    pub discovery: discovery::Discovery,
    threads: usize,
}

impl Memcache {
    pub fn new(server: Arc<Server>, flags: &Flags) -> Arc<Memcache> {
        let threads = flags.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Arc::new(Memcache {
            discovery: discovery::Discovery::new(&flags.bind),
            server,
            cas: AtomicU64::new(0),
            totals: stats::Totals::default(),
            max_item_size: flags.max_item_size(),
            verbosity: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            threads,
        })
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_arc(&self) -> Arc<Server> {
        self.server.clone()
    }

    pub fn verbosity(&self) -> u64 {
        self.verbosity.load(Ordering::Relaxed)
    }

    pub fn set_verbosity(&self, level: u64) {
        self.verbosity.store(level, Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn max_item_size(&self) -> u64 {
        self.max_item_size
    }

    pub(crate) fn next_cas(&self) -> u64 {
        self.cas.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether an item of this key and data length fits `-I`: memcached
    /// counts its item header (56 bytes with CAS), the key and a "\r\n".
    pub fn fits(&self, key_len: usize, data_len: u64) -> bool {
        data_len.saturating_add(56 + key_len as u64 + 1 + 2) <= self.max_item_size
    }

    /// flush_all: now, or `delay_secs` from now (unless another flush_all
    /// comes first, which replaces it, as in memcached).
    pub fn flush_all(self: &Arc<Self>, delay_secs: u64) {
        let this_flush = self.flushes.fetch_add(1, Ordering::SeqCst) + 1;
        if delay_secs == 0 {
            self.server.keyspace().lock_all().flush_db(0);
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(delay_secs)).await;
            if cache.flushes.load(Ordering::SeqCst) == this_flush {
                cache.server.keyspace().lock_all().flush_db(0);
            }
        });
    }
}
