//! ferrocache's data node: a Redis-compatible in-memory store.
//!
//! Layers, each using only the ones below it (a test in `tests/layers.rs`
//! fails on an import that reaches up):
//! - `memcache`: memcached's protocols over the same keyspace (`--protocol memcached`)
//! - `connection`, `primary_link`, `replica_link`: the wire. A client's
//!   socket; our link to our primary (follows the target REPLICAOF sets and
//!   applies the stream through `cmd`); an attached replica's stream.
//! - `cmd`: the command table and one module per command family
//!   (`cmd/scripting/`: Lua, a VM per worker thread, EVAL & co, functions)
//! - `info`, `params`: INFO's sections, CONFIG GET/SET's parameters
//! - `session`: one client's state
//! - `server`: the parts every connection shares, held together
//! - `replication`: state only: the primary's stream and backlog, the role,
//!   the history the data belongs to, the primary to follow
//! - `clients`, `slowlog`, `persistence`, `pubsub`, `blocking`, `pause`,
//!   `scripts`: the client registry, SLOWLOG, RDB save state, channels,
//!   clients waiting in BLPOP & co, CLIENT PAUSE, the script cache and
//!   function libraries
//! - `rdb`: Redis's RDB format: snapshots to and from the keyspace
//! - `keyspace`: sharded databases, expiry, eviction, memory accounting, the clock
//! - `resp`: bytes ⇄ requests and replies (RESP2/RESP3, inline commands)
//! - `config` (flags and live settings), `glob` (patterns), `rand`
//!   (sampling, ids), `sync` (locks through poison), `knobs` (encoding
//!   parameters we accept and report): leaves

pub mod allocator;
pub mod blocking;
pub mod clients;
pub mod cmd;
pub mod cmdstats;
pub mod config;
pub mod connection;
pub mod glob;
pub mod info;
pub mod keyspace;
pub mod knobs;
pub mod memcache;
pub mod params;
pub mod pause;
pub mod persistence;
pub mod primary_link;
pub mod pubsub;
pub mod rand;
pub mod rdb;
pub mod replica_link;
pub mod replication;
pub mod resp;
pub mod scripts;
pub mod server;
pub mod session;
pub mod slowlog;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use config::Flags;
use server::Server;

/// The Redis version we answer to HELLO and INFO with: the command set and
/// replies follow Redis 7.0.
pub const REDIS_VERSION: &str = "7.0.15";

/// Accepts Redis clients until the process ends.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    tokio::spawn(primary_link::run(server.clone()));
    let s = server.clone();
    accept(listener, server, b"-ERR max number of clients reached\r\n", move |stream, peer| {
        tokio::spawn(connection::serve(s.clone(), stream, peer));
    })
    .await
}

/// Accepts memcached clients until the process ends.
pub async fn serve_memcached(listener: TcpListener, cache: Arc<memcache::Memcache>) {
    let server = cache.server_arc();
    accept(listener, server, b"SERVER_ERROR Too many open connections\r\n", move |stream, peer| {
        tokio::spawn(memcache::connection::serve(cache.clone(), stream, peer));
    })
    .await
}

/// `tcp-keepalive`: a client that vanished without closing (a host gone, a
/// NAT that forgot the flow) is found out and its connection closed.
fn keep_alive(stream: &tokio::net::TcpStream, idle_secs: u64) {
    if idle_secs > 0 {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(idle_secs))
            .with_interval(Duration::from_secs((idle_secs / 3).max(1)));
        let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
    }
}

async fn accept(
    listener: TcpListener,
    server: Arc<Server>,
    too_many: &'static [u8],
    start: impl Fn(tokio::net::TcpStream, std::net::SocketAddr),
) {
    tokio::spawn(tick(server.clone()));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off, don't spin.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        server.stats().connections_received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        keep_alive(&stream, server.live().tcp_keepalive.load(std::sync::atomic::Ordering::Relaxed));
        let max = server.live().maxclients.load(std::sync::atomic::Ordering::Relaxed);
        if server.clients().count() >= max {
            server.stats().rejected_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut stream = stream;
                let _ = stream.write_all(too_many).await;
            });
            continue;
        }
        start(stream, peer);
    }
}

/// The server's clock, ten times a second: housekeeping, and every
/// `repl-ping-replica-period` the replicas' keepalive.
async fn tick(server: Arc<Server>) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    let mut pinged = std::time::Instant::now();
    loop {
        interval.tick().await;
        let period = server.live().repl_ping_replica_period.load(std::sync::atomic::Ordering::Relaxed);
        // A pause keeps the offset still, the replicas' keepalive included.
        if pinged.elapsed() >= Duration::from_secs(period) && !server.pause().active() {
            server.replication().ping_replicas();
            pinged = std::time::Instant::now();
        }
        let s = server.clone();
        // Expiry takes shard locks: keep it off the async workers' fast path.
        let _ = tokio::task::spawn_blocking(move || {
            housekeeping(&s);
            s.save_if_due();
        })
        .await;
    }
}

/// One tick's work: the coarse clock (LRU/LFU stamps), active expiry, and
/// the ops/sec sample. A pause keeps the data, and the replication offset, still.
pub fn housekeeping(server: &Server) {
    let keyspace = server.keyspace();
    keyspace.tick_clock();
    while !server.pause().active() && keyspace.expire_cycle(server.now_ms()) >= 256 {}
    server.sample_ops();
}

pub fn start_runtime(flags: &Flags) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = flags.threads {
        b.worker_threads(n.max(1));
    }
    b.enable_all().build()
}
