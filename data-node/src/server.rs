//! The state every connection shares: the keyspace, live config, clients,
//! pub/sub, blocked clients, replication, statistics and the slow log. Each
//! part is a type that owns its locks; `Server` only holds them together.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::blocking::Blocking;
use crate::clients::ClientRegistry;
use crate::config::{Flags, Live};
use crate::keyspace::{Clock, Keyspace};
use crate::pause::Pause;
use crate::persistence::Persistence;
use crate::pubsub::PubSub;
use crate::replication::Replication;
use crate::slowlog::SlowLog;
use crate::sync::lock;

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
}

pub struct Server {
    keyspace: Keyspace,
    live: Live,
    stats: Stats,
    clients: ClientRegistry,
    pubsub: PubSub,
    blocking: Blocking,
    slowlog: SlowLog,
    command_stats: crate::cmdstats::CommandStats,
    started: Instant,
    run_id: String,
    peak_memory: AtomicU64,
    persistence: Persistence,
    replication: Arc<Replication>,
    pause: Pause,
    scripts: crate::scripts::Scripts,
    /// (commands processed, at ms) samples, one per tick, for instantaneous_ops_per_sec.
    ops_samples: Mutex<VecDeque<(u64, u64)>>,
}

impl Server {
    pub fn new(flags: &Flags) -> Arc<Server> {
        Server::with_clock(flags, Clock::system())
    }

    /// A server whose expiry, TTLs and timeouts read `clock`.
    pub fn with_clock(flags: &Flags, clock: Clock) -> Arc<Server> {
        let keyspace = Keyspace::with_clock(flags.databases as usize, clock.clone());
        keyspace.set_policy(flags.maxmemory_policy);
        let replication = Arc::new(Replication::new(crate::rand::random_hex(40), flags.masterauth.clone()));
        let feed = replication.clone();
        keyspace.on_removal(move |db, key| feed.propagate(db, &[b"DEL", key]));
        Arc::new(Server {
            live: Live::new(flags),
            stats: Stats::default(),
            clients: ClientRegistry::default(),
            pubsub: PubSub::default(),
            blocking: Blocking::default(),
            slowlog: SlowLog::default(),
            command_stats: crate::cmdstats::CommandStats::default(),
            started: Instant::now(),
            run_id: crate::rand::random_hex(40),
            peak_memory: AtomicU64::new(0),
            persistence: Persistence::new(keyspace.now_ms() / 1000, flags.save.0.clone()),
            replication,
            scripts: crate::scripts::Scripts::default(),
            pause: Pause::new(clock),
            ops_samples: Mutex::new(VecDeque::new()),
            keyspace,
        })
    }

    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    pub fn live(&self) -> &Live {
        &self.live
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn clients(&self) -> &ClientRegistry {
        &self.clients
    }

    pub fn pubsub(&self) -> &PubSub {
        &self.pubsub
    }

    pub fn blocking(&self) -> &Blocking {
        &self.blocking
    }

    pub fn command_stats(&self) -> &crate::cmdstats::CommandStats {
        &self.command_stats
    }

    pub fn slowlog(&self) -> &SlowLog {
        &self.slowlog
    }

    pub fn persistence(&self) -> &Persistence {
        &self.persistence
    }

    pub fn replication(&self) -> &Replication {
        &self.replication
    }

    pub fn pause(&self) -> &Pause {
        &self.pause
    }

    pub fn scripts(&self) -> &crate::scripts::Scripts {
        &self.scripts
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Unix time in ms by the server's clock.
    pub fn now_ms(&self) -> u64 {
        self.keyspace.now_ms()
    }

    pub fn used_memory(&self) -> u64 {
        self.keyspace.used_memory() as u64
    }

    /// The most memory ever used, `used` included.
    pub fn peak_memory(&self, used: u64) -> u64 {
        self.peak_memory.fetch_max(used, Ordering::Relaxed).max(used)
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

    /// Saves a snapshot of the keyspace to its RDB file (SAVE, BGSAVE), the
    /// node serving on meanwhile.
    pub fn save(&self) -> Result<usize, crate::rdb::RdbError> {
        let functions = self.scripts.library_codes();
        let header = crate::rdb::Header {
            now_ms: self.now_ms(),
            used_memory: self.used_memory() as usize,
            replication: None,
            functions: &functions,
        };
        self.persistence.save(&self.keyspace, &self.live.rdb_path(), &header)
    }

    /// Starts a save on a thread of its own (BGSAVE, save points).
    pub fn background_save(self: &Arc<Self>) -> Result<(), &'static str> {
        if !self.persistence.start_background() {
            return Err("ERR Background save already in progress");
        }
        let server = self.clone();
        let started = std::thread::Builder::new().name("bgsave".into()).spawn(move || {
            if let Err(e) = server.save() {
                eprintln!("data-node: background save failed: {e}");
            }
            server.persistence().end_background();
        });
        started.map(|_| ()).map_err(|_| {
            self.persistence.end_background();
            "ERR could not start a background save"
        })
    }

    /// Called on every tick: a scheduled BGSAVE, or a save point reached.
    pub fn save_if_due(self: &Arc<Self>) {
        if self.persistence.due(|| self.keyspace.changes(), self.now_ms() / 1000) {
            let _ = self.background_save();
        }
    }

    /// Called on every server tick (100 ms).
    pub fn sample_ops(&self) {
        let mut samples = lock(&self.ops_samples);
        samples.push_back((self.stats.commands_processed.load(Ordering::Relaxed), self.now_ms()));
        if samples.len() > 16 {
            samples.pop_front();
        }
        self.peak_memory.fetch_max(self.used_memory(), Ordering::Relaxed);
    }

    pub fn ops_per_sec(&self) -> u64 {
        let samples = lock(&self.ops_samples);
        match (samples.front(), samples.back()) {
            (Some(a), Some(b)) if b.1 > a.1 => (b.0.saturating_sub(a.0)) * 1000 / (b.1 - a.1),
            _ => 0,
        }
    }

    /// Whether a command that took `micros` goes in the slow log
    /// (`slowlog-log-slower-than`: 0 logs everything, negative nothing).
    pub fn is_slow(&self, micros: u64) -> bool {
        let threshold = self.live.slowlog_slower_than.load(Ordering::Relaxed) as i64;
        threshold >= 0 && micros as i64 >= threshold
    }

    /// Records a command in the slow log if it ran past the threshold.
    pub fn record_slow(&self, micros: u64, args: &[&[u8]], addr: &str, name: String) {
        if !self.is_slow(micros) {
            return;
        }
        let max = self.live.slowlog_max_len.load(Ordering::Relaxed);
        self.slowlog.record(self.now_ms() / 1000, micros, args, addr, name, max);
    }
}
