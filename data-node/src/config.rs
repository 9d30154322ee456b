//! Start-up flags (with env fallbacks) and the settings CONFIG GET/SET see.

use crate::sync;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use clap::Parser;

use crate::keyspace::Policy;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "data-node",
    version,
    about = "ferrocache data node: a Redis- or Memcached-compatible in-memory store"
)]
pub struct Flags {
    /// The protocol clients speak: redis, or memcached (text, meta and binary).
    #[arg(long, env = "FERRO_PROTOCOL", default_value = "redis", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// TCP port to listen on (0 picks a free one and prints it); 6379, or
    /// 11211 under --protocol memcached.
    #[arg(long, short = 'p', env = "FERRO_PORT")]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, short = 'l', env = "FERRO_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    /// Memcached: megabytes of item memory, as memcached's -m (default 64);
    /// least recently used items are evicted past it.
    #[arg(long = "memory-limit", short = 'm', env = "FERRO_MEMORY_LIMIT")]
    pub memory_limit: Option<u64>,
    /// Memcached: the largest item, as memcached's -I (k and m are powers of 1024).
    #[arg(long = "max-item-size", short = 'I', env = "FERRO_MAX_ITEM_SIZE", value_parser = parse_item_size)]
    pub max_item_size: Option<u64>,
    /// Memory limit for keys and values (bytes, or with kb/mb/gb); 0 is none.
    #[arg(long, env = "FERRO_MAXMEMORY", default_value = "0", value_parser = parse_memory)]
    pub maxmemory: u64,
    /// What to do when maxmemory is reached.
    #[arg(long = "maxmemory-policy", env = "FERRO_MAXMEMORY_POLICY", default_value = "noeviction", value_parser = parse_policy)]
    pub maxmemory_policy: Policy,
    /// Keys sampled per eviction.
    #[arg(long = "maxmemory-samples", env = "FERRO_MAXMEMORY_SAMPLES", default_value_t = 5)]
    pub maxmemory_samples: usize,
    /// Password clients must AUTH with.
    #[arg(long, env = "FERRO_REQUIREPASS")]
    pub requirepass: Option<String>,
    /// Number of databases.
    #[arg(long, env = "FERRO_DATABASES", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub databases: u16,
    /// Directory for data files.
    #[arg(long, env = "FERRO_DIR", default_value = ".")]
    pub dir: String,
    /// The RDB file SAVE and BGSAVE write, and startup loads, inside --dir.
    #[arg(long, env = "FERRO_DBFILENAME", default_value = "dump.rdb")]
    pub dbfilename: String,
    /// Start as a replica of this primary: `HOST PORT`.
    #[arg(long, env = "FERRO_REPLICAOF", value_parser = parse_replicaof)]
    pub replicaof: Option<(String, u16)>,
    /// Password this replica gives its primary.
    #[arg(long, env = "FERRO_MASTERAUTH")]
    pub masterauth: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 't', env = "FERRO_THREADS")]
    pub threads: Option<usize>,
    /// Close a client after this many idle seconds (0: never).
    #[arg(long, env = "FERRO_TIMEOUT", default_value_t = 0)]
    pub timeout: u64,
    /// Most clients connected at once.
    #[arg(long, short = 'c', env = "FERRO_MAXCLIENTS", default_value_t = 10000)]
    pub maxclients: usize,
    /// Save points, as redis-server's `save`: "SECONDS CHANGES ..." ("" for none).
    #[arg(long, env = "FERRO_SAVE", default_value = "", value_parser = parse_save)]
    pub save: SavePoints,
    /// A parameter set at start as `CONFIG SET NAME VALUE` would set it
    /// (repeatable): `--config maxmemory-policy=allkeys-lru`.
    #[arg(long = "config", value_name = "NAME=VALUE", value_parser = parse_config)]
    pub config: Vec<(String, String)>,
}

fn parse_config(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("'{s}' is not NAME=VALUE")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Redis,
    Memcached,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    match s {
        "redis" => Ok(Protocol::Redis),
        "memcached" => Ok(Protocol::Memcached),
        _ => Err(format!("unknown protocol '{s}' (redis or memcached)")),
    }
}

/// memcached's `-I` and `-m` defaults.
pub const MEMCACHED_MAX_ITEM_SIZE: u64 = 1024 * 1024;
pub const MEMCACHED_MEMORY_LIMIT_MB: u64 = 64;

impl Flags {
    /// The port to listen on: the protocol's usual one unless told.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.protocol {
            Protocol::Redis => 6379,
            Protocol::Memcached => 11211,
        })
    }

    pub fn max_item_size(&self) -> u64 {
        self.max_item_size.unwrap_or(MEMCACHED_MAX_ITEM_SIZE)
    }

    /// Checks the flags belong together and, for memcached, turns its
    /// settings into the keyspace's: one database, the memory limit as
    /// maxmemory, least recently used items evicted.
    pub fn resolve(mut self) -> Result<Flags, String> {
        match self.protocol {
            Protocol::Redis => {
                if self.memory_limit.is_some() || self.max_item_size.is_some() {
                    return Err("--memory-limit and --max-item-size are memcached's: use --maxmemory".into());
                }
            }
            Protocol::Memcached => {
                if self.maxmemory != 0 {
                    return Err("under --protocol memcached the memory limit is --memory-limit (megabytes)".into());
                }
                let redis_only = [
                    ("--replicaof", self.replicaof.is_some()),
                    ("--masterauth", self.masterauth.is_some()),
                    ("--requirepass", self.requirepass.is_some()),
                    ("--save", !self.save.0.is_empty()),
                    ("--config", !self.config.is_empty()),
                ];
                if let Some((flag, _)) = redis_only.iter().find(|(_, given)| *given) {
                    return Err(format!(
                        "{flag} is a Redis setting: memcached mode has no replication, passwords or snapshots"
                    ));
                }
                let mb = self.memory_limit.unwrap_or(MEMCACHED_MEMORY_LIMIT_MB);
                self.maxmemory = mb.checked_mul(1 << 20).ok_or("--memory-limit is too large")?;
                let item = self.max_item_size();
                if item < 1024 || (self.maxmemory != 0 && item > self.maxmemory.max(1 << 20)) {
                    return Err("--max-item-size must be at least 1k and no more than the memory limit".into());
                }
                self.databases = 1;
                self.maxmemory_policy = Policy::AllKeysLru;
            }
        }
        Ok(self)
    }
}

/// memcached's `-I` sizes: a number of bytes, or with k or m (powers of 1024).
fn parse_item_size(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 1 << 10),
        Some(b'm') => (&lower[..lower.len() - 1], 1 << 20),
        _ => (lower.as_str(), 1),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid item size '{s}'"))?;
    n.checked_mul(unit).ok_or_else(|| format!("item size '{s}' is too large"))
}

/// `--save`'s value (a newtype: clap reads a bare Vec as a repeated flag).
#[derive(Debug, Clone)]
pub struct SavePoints(pub Vec<SavePoint>);

fn parse_save(s: &str) -> Result<SavePoints, String> {
    parse_save_points(s).map(SavePoints).map_err(str::to_owned)
}

/// `save` points: after `secs` seconds, if at least `changes` writes happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavePoint {
    pub secs: u64,
    pub changes: u64,
}

/// Parses CONFIG SET save's value: pairs of seconds and changes ("" for none).
pub fn parse_save_points(value: &str) -> Result<Vec<SavePoint>, &'static str> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        return Err("Invalid save parameters");
    }
    words
        .chunks(2)
        .map(|pair| match (pair[0].parse(), pair[1].parse()) {
            (Ok(secs), Ok(changes)) => Ok(SavePoint { secs, changes }),
            _ => Err("Invalid save parameters"),
        })
        .collect()
}

pub fn format_save_points(points: &[SavePoint]) -> String {
    points.iter().map(|p| format!("{} {}", p.secs, p.changes)).collect::<Vec<_>>().join(" ")
}

fn parse_replicaof(s: &str) -> Result<(String, u16), String> {
    let mut words = s.split_whitespace();
    match (words.next(), words.next().and_then(|p| p.parse().ok()), words.next()) {
        (Some(host), Some(port), None) => Ok((host.to_owned(), port)),
        _ => Err("expected HOST PORT".into()),
    }
}

pub fn parse_memory(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (digits, unit): (&str, u64) = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mult)| lower.strip_suffix(suffix).map(|d| (d, *mult)))
    .unwrap_or((lower.as_str(), 1));
    let n: u64 = digits.parse().map_err(|_| format!("invalid memory size '{s}'"))?;
    n.checked_mul(unit).ok_or_else(|| format!("memory size '{s}' is too large"))
}

fn parse_policy(s: &str) -> Result<Policy, String> {
    Policy::parse(s).ok_or_else(|| format!("unknown maxmemory-policy '{s}'"))
}

/// Settings that can change while the server runs.
pub struct Live {
    pub maxmemory: AtomicU64,
    pub maxmemory_samples: AtomicUsize,
    pub timeout: AtomicU64,
    pub maxclients: AtomicUsize,
    pub slowlog_slower_than: AtomicU64,
    pub slowlog_max_len: AtomicUsize,
    pub requirepass: RwLock<Option<Vec<u8>>>,
    pub dir: RwLock<String>,
    pub dbfilename: RwLock<String>,
    pub min_replicas_to_write: AtomicUsize,
    pub min_replicas_max_lag: AtomicU64,
    /// Seconds without a byte from the primary before a replica drops the link.
    pub repl_timeout: AtomicU64,
    /// Seconds between the PINGs a primary sends down its replicas' streams.
    pub repl_ping_replica_period: AtomicU64,
    /// Whether a replica whose link is down still answers from its data.
    pub replica_serve_stale_data: AtomicBool,
    /// Milliseconds a script runs before other clients are answered `-BUSY`.
    pub busy_reply_threshold: AtomicU64,
    /// A sparse HyperLogLog larger than this becomes dense.
    pub hll_sparse_max_bytes: AtomicU64,
    /// Seconds of idle before TCP keepalive probes a new client's socket (0: off).
    pub tcp_keepalive: AtomicU64,
    /// Values of the parameters that change nothing here (`knobs`).
    pub knobs: RwLock<std::collections::HashMap<&'static str, String>>,
    pub port: AtomicUsize,
    pub bind: String,
    pub databases: usize,
}

impl Live {
    pub fn new(f: &Flags) -> Live {
        Live {
            maxmemory: AtomicU64::new(f.maxmemory),
            maxmemory_samples: AtomicUsize::new(f.maxmemory_samples.max(1)),
            timeout: AtomicU64::new(f.timeout),
            maxclients: AtomicUsize::new(f.maxclients),
            slowlog_slower_than: AtomicU64::new(10_000),
            slowlog_max_len: AtomicUsize::new(128),
            requirepass: RwLock::new(f.requirepass.clone().filter(|p| !p.is_empty()).map(String::into_bytes)),
            dir: RwLock::new(f.dir.clone()),
            dbfilename: RwLock::new(f.dbfilename.clone()),
            min_replicas_to_write: AtomicUsize::new(0),
            min_replicas_max_lag: AtomicU64::new(10),
            repl_timeout: AtomicU64::new(60),
            repl_ping_replica_period: AtomicU64::new(10),
            replica_serve_stale_data: AtomicBool::new(true),
            busy_reply_threshold: AtomicU64::new(5000),
            hll_sparse_max_bytes: AtomicU64::new(3000),
            tcp_keepalive: AtomicU64::new(300),
            knobs: RwLock::new(crate::knobs::KNOBS.iter().map(|k| (k.name, k.default.to_owned())).collect()),
            port: AtomicUsize::new(f.port() as usize),
            bind: f.bind.clone(),
            databases: f.databases as usize,
        }
    }

    pub fn requirepass(&self) -> Option<Vec<u8>> {
        sync::read(&self.requirepass).clone()
    }

    /// `dir`/`dbfilename`: where SAVE writes and startup loads.
    pub fn rdb_path(&self) -> std::path::PathBuf {
        let dir = sync::read(&self.dir).clone();
        let file = sync::read(&self.dbfilename).clone();
        std::path::Path::new(&dir).join(file)
    }

    pub fn load(&self, a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_parse_as_redis_writes_them() {
        let points = parse_save_points("3600 1  300 100").expect("valid");
        assert_eq!(points, vec![SavePoint { secs: 3600, changes: 1 }, SavePoint { secs: 300, changes: 100 }]);
        assert_eq!(format_save_points(&points), "3600 1 300 100");
        assert_eq!(parse_save_points("").expect("none"), vec![]);
        assert!(parse_save_points("3600").is_err());
        assert!(parse_save_points("10 x").is_err());
        assert!(parse_save_points("-1 5").is_err());
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("256mb"), Ok(256 << 20));
        assert_eq!(parse_memory("1GB"), Ok(1 << 30));
        assert_eq!(parse_memory("100"), Ok(100));
        assert_eq!(parse_memory("2k"), Ok(2000));
        assert!(parse_memory("lots").is_err());
    }
}
