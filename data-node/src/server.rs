//! The state every connection shares: keyspace, live config, clients, pub/sub,
//! blocked clients, statistics and the slow log.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hashbrown::HashMap;
use tokio::sync::Notify;

use crate::blocking::Blocking;
use crate::config::{Flags, Live};
use crate::keyspace::Keyspace;
use crate::pubsub::PubSub;

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
}

/// What other clients can see of a client (CLIENT LIST) and how to stop it.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created: Instant,
    pub name: Mutex<Option<String>>,
    pub db: AtomicUsize,
    pub last_active: Mutex<Instant>,
    pub last_cmd: Mutex<&'static str>,
    pub subscriptions: AtomicUsize,
    pub resp3: AtomicBool,
    pub kill: Notify,
    pub killed: AtomicBool,
}

impl ClientHandle {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }

    pub fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One line of CLIENT LIST / CLIENT INFO.
    pub fn describe(&self) -> String {
        let now = Instant::now();
        let idle = now.duration_since(*self.last_active.lock().unwrap_or_else(|e| e.into_inner())).as_secs();
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags=N db={} sub={} psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.name().unwrap_or_default(),
            now.duration_since(self.created).as_secs(),
            idle,
            self.db.load(Ordering::Relaxed),
            self.subscriptions.load(Ordering::Relaxed),
            self.last_cmd.lock().unwrap_or_else(|e| e.into_inner()),
            if self.resp3.load(Ordering::Relaxed) { 3 } else { 2 },
        )
    }
}

pub struct SlowEntry {
    pub id: u64,
    pub at_secs: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

pub struct Server {
    pub keyspace: Keyspace,
    pub live: Live,
    pub stats: Stats,
    pub clients: Mutex<HashMap<u64, Arc<ClientHandle>>>,
    pub next_client_id: AtomicU64,
    pub pubsub: PubSub,
    pub blocking: Blocking,
    pub slowlog: Mutex<(u64, VecDeque<SlowEntry>)>,
    pub started: Instant,
    pub run_id: String,
    pub peak_memory: AtomicU64,
    pub persistence: Persistence,
    pub replication: Arc<crate::replication::Replication>,
    pub pause: crate::pause::Pause,
    /// (commands processed, at ms) samples, one per tick, for instantaneous_ops_per_sec.
    ops_samples: Mutex<VecDeque<(u64, u64)>>,
}

impl Server {
    pub fn new(flags: &Flags) -> Arc<Server> {
        let keyspace = Keyspace::new(flags.databases as usize);
        keyspace.set_policy(flags.maxmemory_policy);
        let replication = Arc::new(crate::replication::Replication::new(random_hex(40), flags.masterauth.clone()));
        let feed = replication.clone();
        keyspace.on_removal(move |db, key| feed.propagate(db, &[b"DEL", key]));
        Arc::new(Server {
            keyspace,
            live: Live::new(flags),
            stats: Stats::default(),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            pubsub: PubSub::default(),
            blocking: Blocking::default(),
            slowlog: Mutex::new((0, VecDeque::new())),
            started: Instant::now(),
            run_id: random_hex(40),
            peak_memory: AtomicU64::new(0),
            persistence: Persistence::new(),
            replication,
            pause: crate::pause::Pause::default(),
            ops_samples: Mutex::new(VecDeque::new()),
        })
    }

    pub fn register_client(&self, addr: String, laddr: String) -> Arc<ClientHandle> {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: now,
            name: Mutex::new(None),
            db: AtomicUsize::new(0),
            last_active: Mutex::new(now),
            last_cmd: Mutex::new("NULL"),
            subscriptions: AtomicUsize::new(0),
            resp3: AtomicBool::new(false),
            kill: Notify::new(),
            killed: AtomicBool::new(false),
        });
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).insert(id, handle.clone());
        handle
    }

    pub fn unregister_client(&self, id: u64) {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    pub fn client_list(&self) -> Vec<Arc<ClientHandle>> {
        let mut v: Vec<_> = self.clients.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }

    pub fn connected_clients(&self) -> usize {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn used_memory(&self) -> u64 {
        self.keyspace.used_memory() as u64
    }

    /// Frees memory under the eviction policy until used memory is within
    /// maxmemory; false if that can't be done (the write is then refused).
    pub fn make_room(&self) -> bool {
        let max = self.live.maxmemory.load(Ordering::Relaxed);
        if max == 0 {
            return true;
        }
        let samples = self.live.maxmemory_samples.load(Ordering::Relaxed);
        while self.used_memory() > max {
            if !self.keyspace.evict_one(samples) {
                return false;
            }
        }
        true
    }

    /// Called on every server tick (100 ms).
    pub fn sample_ops(&self) {
        let mut samples = self.ops_samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((self.stats.commands_processed.load(Ordering::Relaxed), crate::keyspace::now_ms()));
        if samples.len() > 16 {
            samples.pop_front();
        }
        self.peak_memory.fetch_max(self.used_memory(), Ordering::Relaxed);
    }

    pub fn ops_per_sec(&self) -> u64 {
        let samples = self.ops_samples.lock().unwrap_or_else(|e| e.into_inner());
        match (samples.front(), samples.back()) {
            (Some(a), Some(b)) if b.1 > a.1 => (b.0.saturating_sub(a.0)) * 1000 / (b.1 - a.1),
            _ => 0,
        }
    }

    pub fn record_slow(&self, micros: u64, args: &[&[u8]], addr: &str, name: String) {
        let threshold = self.live.slowlog_slower_than.load(Ordering::Relaxed) as i64;
        if threshold < 0 || (micros as i64) < threshold {
            return;
        }
        let max = self.live.slowlog_max_len.load(Ordering::Relaxed);
        let mut log = self.slowlog.lock().unwrap_or_else(|e| e.into_inner());
        let id = log.0;
        log.0 += 1;
        let mut kept: Vec<Vec<u8>> = args.iter().take(32).map(|a| a[..a.len().min(128)].to_vec()).collect();
        if args.len() > 32 {
            kept[31] = format!("... ({} more arguments)", args.len() - 31).into_bytes();
        }
        log.1.push_front(SlowEntry {
            id,
            at_secs: crate::keyspace::now_ms() / 1000,
            micros,
            args: kept,
            addr: addr.to_string(),
            name,
        });
        log.1.truncate(max);
    }
}

pub fn random_hex(n: usize) -> String {
    (0..n).map(|_| char::from_digit((crate::rand::next_u64() % 16) as u32, 16).unwrap_or('0')).collect()
}

/// The state of RDB snapshots, for SAVE, BGSAVE, LASTSAVE and INFO persistence.
pub struct Persistence {
    /// Unix seconds of the last successful save (or of the start).
    pub last_save: AtomicU64,
    pub bgsave_in_progress: AtomicBool,
    pub last_save_ok: AtomicBool,
}

impl Persistence {
    fn new() -> Persistence {
        Persistence {
            last_save: AtomicU64::new(crate::keyspace::now_ms() / 1000),
            bgsave_in_progress: AtomicBool::new(false),
            last_save_ok: AtomicBool::new(true),
        }
    }

    /// Saves the keyspace to its RDB file, recording the outcome.
    pub fn save(&self, server: &Server) -> Result<usize, crate::rdb::RdbError> {
        let result = crate::rdb::save(&server.keyspace, &server.live.rdb_path());
        self.last_save_ok.store(result.is_ok(), Ordering::Relaxed);
        if result.is_ok() {
            self.last_save.store(crate::keyspace::now_ms() / 1000, Ordering::Relaxed);
        }
        result
    }
}
