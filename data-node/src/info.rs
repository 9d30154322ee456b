//! INFO: the sections and field names redis-server uses.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::keyspace::Locked;
use crate::server::Server;

const SECTIONS: [&str; 11] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Sections only `all`, `everything` or their own name ask for.
const NOT_DEFAULT: [&str; 2] = ["commandstats", "errorstats"];

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        n if n >= 1 << 30 => format!("{:.2}G", b / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.2}M", b / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.2}K", b / 1024.0),
        n => format!("{n}B"),
    }
}

/// Resident set size from /proc (0 where it can't be read).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// (user, system) CPU seconds from /proc/self/stat.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (ticks(11), ticks(12))
}

/// The sections of INFO `wanted`; the keyspace's figures come through `ks`
/// (held exclusively: INFO may run inside a script, which holds the shards).
pub fn render(s: &Server, ks: &mut Locked, wanted: &[String]) -> String {
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let mut out = String::new();
    for section in SECTIONS {
        let by_default = default && !NOT_DEFAULT.contains(&section);
        if !(all || by_default || wanted.iter().any(|w| w == section)) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = writeln!(out, "# {}\r", title(section));
        let body = match section {
            "server" => server(s),
            "clients" => clients(s),
            "memory" => memory(s),
            "persistence" => persistence(s, ks),
            "stats" => stats(s, ks),
            "replication" => replication(s),
            "cpu" => cpu(),
            // Client libraries read cluster_enabled from here.
            "cluster" => vec![("cluster_enabled", "0".to_owned())],
            "commandstats" => {
                s.command_stats().render_commands(&mut out);
                continue;
            }
            "errorstats" => {
                s.command_stats().render_errors(&mut out);
                continue;
            }
            _ => {
                keyspace(ks, &mut out);
                continue;
            }
        };
        for (k, v) in body {
            let _ = write!(out, "{k}:{v}\r\n");
        }
    }
    out
}

fn title(section: &str) -> String {
    if section == "cpu" {
        return "CPU".into();
    }
    let mut c = section.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

type Fields = Vec<(&'static str, String)>;

fn server(s: &Server) -> Fields {
    let up = s.uptime_secs();
    vec![
        ("redis_version", crate::REDIS_VERSION.into()),
        ("ferrocache_version", env!("CARGO_PKG_VERSION").into()),
        ("redis_mode", "standalone".into()),
        ("os", std::env::consts::OS.into()),
        ("arch_bits", "64".into()),
        ("multiplexing_api", "epoll".into()),
        ("process_id", std::process::id().to_string()),
        ("run_id", s.run_id().to_owned()),
        ("tcp_port", s.live().port.load(Ordering::Relaxed).to_string()),
        ("uptime_in_seconds", up.to_string()),
        ("uptime_in_days", (up / 86400).to_string()),
        ("hz", "10".into()),
        ("executable", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default()),
        ("config_file", String::new()),
    ]
}

fn clients(s: &Server) -> Fields {
    vec![
        ("connected_clients", s.clients().count().to_string()),
        ("blocked_clients", (s.blocking().blocked() + s.pause().held()).to_string()),
        ("maxclients", s.live().maxclients.load(Ordering::Relaxed).to_string()),
    ]
}

fn memory(s: &Server) -> Fields {
    let used = s.used_memory();
    let rss = rss_bytes();
    let max = s.live().maxmemory.load(Ordering::Relaxed);
    let peak = s.peak_memory(used);
    let (scripts, script_bytes) = s.scripts().cached();
    let (libraries, functions) = s.scripts().library_counts();
    vec![
        ("used_memory", used.to_string()),
        ("used_memory_human", human(used)),
        ("used_memory_rss", rss.to_string()),
        ("used_memory_rss_human", human(rss)),
        ("used_memory_peak", peak.to_string()),
        ("used_memory_peak_human", human(peak)),
        ("used_memory_scripts_eval", script_bytes.to_string()),
        ("number_of_cached_scripts", scripts.to_string()),
        ("number_of_functions", functions.to_string()),
        ("number_of_libraries", libraries.to_string()),
        ("maxmemory", max.to_string()),
        ("maxmemory_human", human(max)),
        ("maxmemory_policy", s.keyspace().policy().name().into()),
        ("mem_fragmentation_ratio", format!("{:.2}", if used > 0 { rss as f64 / used as f64 } else { 0.0 })),
        ("mem_allocator", "mimalloc".into()),
    ]
}

fn persistence(s: &Server, ks: &mut Locked) -> Fields {
    let p = s.persistence();
    let current = p.current();
    let ongoing = p.current_duration(s.now_ms()).map_or(-1, |secs| secs as i64);
    vec![
        ("loading", "0".into()),
        ("async_loading", "0".into()),
        // A snapshot's extra memory is the entries writes changed under it,
        // written early and held until the file has them (no fork, no pages copied).
        ("current_cow_peak", current.early_bytes.to_string()),
        ("current_cow_size", current.early_bytes.to_string()),
        ("current_cow_size_age", "0".into()),
        ("current_fork_perc", format!("{:.2}", percent(current.keys_done, current.keys_total))),
        ("current_save_keys_processed", current.keys_done.to_string()),
        ("current_save_keys_total", current.keys_total.to_string()),
        ("rdb_changes_since_last_save", p.changes_since_save(ks.changes()).to_string()),
        ("rdb_bgsave_in_progress", u8::from(p.background_in_progress()).to_string()),
        ("rdb_last_save_time", p.last_save_secs().to_string()),
        ("rdb_last_bgsave_status", if p.last_save_ok() { "ok" } else { "err" }.into()),
        ("rdb_last_bgsave_time_sec", p.last_duration().to_string()),
        ("rdb_current_bgsave_time_sec", ongoing.to_string()),
        ("rdb_saves", p.saves().to_string()),
        ("rdb_last_cow_size", p.last_early_bytes().to_string()),
        ("rdb_last_load_keys_expired", p.keys_expired().to_string()),
        ("rdb_last_load_keys_loaded", p.keys_loaded().to_string()),
        ("aof_enabled", "0".into()),
        ("aof_rewrite_in_progress", "0".into()),
        ("aof_rewrite_scheduled", "0".into()),
        ("aof_last_rewrite_time_sec", "-1".into()),
        ("aof_current_rewrite_time_sec", "-1".into()),
        ("aof_last_bgrewrite_status", "ok".into()),
        ("aof_rewrites", "0".into()),
        ("aof_last_write_status", "ok".into()),
        ("module_fork_in_progress", "0".into()),
        ("module_fork_last_cow_size", "0".into()),
    ]
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

fn stats(s: &Server, ks: &mut Locked) -> Fields {
    let ks = ks.stats();
    let st = s.stats();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed).to_string();
    vec![
        ("total_connections_received", load(&st.connections_received)),
        ("total_commands_processed", load(&st.commands_processed)),
        ("instantaneous_ops_per_sec", s.ops_per_sec().to_string()),
        ("total_net_input_bytes", load(&st.net_input_bytes)),
        ("total_net_output_bytes", load(&st.net_output_bytes)),
        ("rejected_connections", load(&st.rejected_connections)),
        ("sync_full", load(&s.replication().stats.full)),
        ("sync_partial_ok", load(&s.replication().stats.partial_ok)),
        ("sync_partial_err", load(&s.replication().stats.partial_err)),
        ("expired_keys", ks.expired.to_string()),
        ("evicted_keys", ks.evicted.to_string()),
        ("keyspace_hits", ks.hits.to_string()),
        ("keyspace_misses", ks.misses.to_string()),
        ("pubsub_channels", s.pubsub().channels(None).len().to_string()),
        ("pubsub_patterns", s.pubsub().numpat().to_string()),
        ("total_error_replies", s.command_stats().error_replies().to_string()),
        // No MIGRATE here, so never a cached connection to another node.
        ("migrate_cached_sockets", "0".into()),
    ]
}

fn replication(s: &Server) -> Fields {
    let r = s.replication();
    let mut fields: Fields = Vec::new();
    let offset = r.with_role(|role| match role {
        crate::replication::Role::Primary => {
            fields.push(("role", "master".into()));
            None
        }
        crate::replication::Role::Replica(of) => {
            fields.push(("role", "slave".into()));
            fields.push(("master_host", of.host.clone()));
            fields.push(("master_port", of.port.to_string()));
            fields.push(("master_link_status", if of.link_up { "up" } else { "down" }.into()));
            fields.push(("master_last_io_seconds_ago", of.last_io.elapsed().as_secs().to_string()));
            fields.push(("master_sync_in_progress", u8::from(of.sync_in_progress).to_string()));
            fields.push(("slave_read_repl_offset", of.offset.to_string()));
            fields.push(("slave_repl_offset", of.offset.to_string()));
            fields.push(("slave_priority", "100".into()));
            fields.push(("slave_read_only", "1".into()));
            fields.push(("replica_announced", "1".into()));
            of.history.clone().map(|id| (id, of.offset))
        }
    });
    r.with_feed(|feed| {
        fields.push(("connected_slaves", feed.links().len().to_string()));
        const NAMES: [&str; 16] = [
            "slave0", "slave1", "slave2", "slave3", "slave4", "slave5", "slave6", "slave7", "slave8", "slave9",
            "slave10", "slave11", "slave12", "slave13", "slave14", "slave15",
        ];
        for (name, link) in NAMES.iter().zip(feed.links()) {
            let ack = link.ack.load(std::sync::atomic::Ordering::Relaxed);
            let ip = link.addr.rsplit_once(':').map_or(link.addr.as_str(), |(ip, _)| ip);
            let line = format!("ip={ip},port={},state=online,offset={ack},lag=0", link.listening_port);
            fields.push((name, line));
        }
        let (replid, offset) = offset.unwrap_or((feed.replid.clone(), feed.offset));
        fields.push(("master_failover_state", "no-failover".into()));
        fields.push(("master_replid", replid));
        fields.push(("master_replid2", "0".repeat(40)));
        fields.push(("master_repl_offset", offset.to_string()));
        fields.push(("second_repl_offset", "-1".into()));
        let active = feed.backlog_len() > 0 || !feed.links().is_empty();
        fields.push(("repl_backlog_active", u8::from(active).to_string()));
        fields.push(("repl_backlog_size", crate::replication::feed::BACKLOG_SIZE.to_string()));
        fields.push(("repl_backlog_first_byte_offset", feed.backlog_first_byte().to_string()));
        fields.push(("repl_backlog_histlen", feed.backlog_len().to_string()));
    });
    fields
}

fn cpu() -> Fields {
    let (user, sys) = cpu_seconds();
    vec![("used_cpu_sys", format!("{sys:.6}")), ("used_cpu_user", format!("{user:.6}"))]
}

fn keyspace(ks: &mut Locked, out: &mut String) {
    for (db, (keys, expires, avg_ttl)) in ks.db_sizes().into_iter().enumerate() {
        if keys > 0 {
            let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n");
        }
    }
}
