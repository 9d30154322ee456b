//! memcached's counters and the `stats` command. Each connection counts in
//! plain integers and adds them to the shared atomics once per batch (no
//! shared cache line written per command); `stats` reads the sum.

use std::sync::atomic::{AtomicU64, Ordering};

use super::connection::Conn;
use super::{Memcache, VERSION};

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// One connection's counts since it last published them.
        #[derive(Default, Debug)]
        pub struct Counters {
            $(pub $name: u64,)*
        }

        /// Every connection's counts together.
        #[derive(Default)]
        pub struct Totals {
            $($name: AtomicU64,)*
        }

        impl Totals {
            /// Adds a connection's counts and zeroes them.
            pub fn publish(&self, c: &mut Counters) {
                $(
                    if c.$name != 0 {
                        self.$name.fetch_add(c.$name, Ordering::Relaxed);
                    }
                )*
                *c = Counters::default();
            }

            /// The counts, in memcached's order, by name.
            pub fn read(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Ordering::Relaxed)),)*]
            }

            /// `stats reset`.
            pub fn reset(&self) {
                $(self.$name.store(0, Ordering::Relaxed);)*
            }
        }
    };
}

counters!(
    cmd_get,
    cmd_set,
    cmd_flush,
    cmd_touch,
    cmd_meta,
    get_hits,
    get_misses,
    get_expired,
    delete_misses,
    delete_hits,
    incr_misses,
    incr_hits,
    decr_misses,
    decr_hits,
    cas_misses,
    cas_hits,
    cas_badval,
    touch_hits,
    touch_misses,
    store_too_large,
    store_no_memory,
    bytes_read,
    bytes_written,
    total_items,
);

/// `stats`, `stats settings`, `stats items`, `stats slabs`, `stats reset`.
pub fn reply<'a>(mc: &Memcache, conn: &mut Conn, mut args: impl Iterator<Item = &'a [u8]>) {
    mc.totals.publish(&mut conn.counters);
    let which = args.next();
    if args.next().is_some() {
        conn.out.extend_from_slice(b"ERROR\r\n");
        return;
    }
    match lines(mc, which) {
        Some(lines) => {
            for (name, value) in lines {
                conn.out.extend_from_slice(format!("STAT {name} {value}\r\n").as_bytes());
            }
            conn.out.extend_from_slice(b"END\r\n");
        }
        None if which == Some(b"reset") => conn.out.extend_from_slice(b"RESET\r\n"),
        None => conn.out.extend_from_slice(b"ERROR\r\n"),
    }
}

/// The lines of a stats group (None for none: `reset` resets and shows nothing).
pub fn lines(mc: &Memcache, which: Option<&[u8]>) -> Option<Lines> {
    match which {
        None => Some(general(mc)),
        Some(b"settings") => Some(settings(mc)),
        Some(b"items") => Some(items(mc)),
        Some(b"slabs") => Some(slabs(mc)),
        Some(b"reset") => {
            mc.totals.reset();
            mc.server().keyspace().reset_stats();
            None
        }
        _ => None,
    }
}

pub type Lines = Vec<(String, String)>;

fn line(name: &str, value: impl ToString) -> (String, String) {
    (name.to_owned(), value.to_string())
}

/// (items, bytes they take)
fn storage(mc: &Memcache) -> (usize, u64) {
    let server = mc.server();
    let items = server.keyspace().db_sizes().first().map_or(0, |d| d.0);
    (items, server.used_memory())
}

fn general(mc: &Memcache) -> Lines {
    let server = mc.server();
    let now = server.now_ms();
    let (user, system) = cpu_times();
    let (items, bytes) = storage(mc);
    let evicted = server.keyspace().stats().evicted;
    let mut out = vec![
        line("pid", std::process::id()),
        line("uptime", server.uptime_secs()),
        line("time", now / 1000),
        line("version", VERSION),
        line("pointer_size", usize::BITS),
        line("rusage_user", user),
        line("rusage_system", system),
        line("max_connections", server.live().maxclients.load(Ordering::Relaxed)),
        line("curr_connections", server.clients().count()),
        line("total_connections", server.stats().connections_received.load(Ordering::Relaxed)),
        line("rejected_connections", server.stats().rejected_connections.load(Ordering::Relaxed)),
    ];
    let totals = mc.totals.read();
    let (counts, items_total): (Vec<_>, Vec<_>) = totals.into_iter().partition(|(n, _)| *n != "total_items");
    out.extend(counts.into_iter().map(|(n, v)| line(n, v)));
    out.extend([
        line("limit_maxbytes", server.live().maxmemory.load(Ordering::Relaxed)),
        line("accepting_conns", 1),
        line("threads", mc.threads()),
        line("bytes", bytes),
        line("curr_items", items),
        line("total_items", items_total.first().map_or(0, |t| t.1)),
        line("evictions", evicted),
    ]);
    out
}

fn settings(mc: &Memcache) -> Lines {
    let live = mc.server().live();
    vec![
        line("maxbytes", live.maxmemory.load(Ordering::Relaxed)),
        line("maxconns", live.maxclients.load(Ordering::Relaxed)),
        line("tcpport", live.port.load(Ordering::Relaxed)),
        line("udpport", 0),
        line("inter", &live.bind),
        line("verbosity", mc.verbosity()),
        line("evictions", "on"),
        line("num_threads", mc.threads()),
        line("cas_enabled", "yes"),
        line("binding_protocol", "auto-negotiate"),
        line("auth_enabled_sasl", "no"),
        line("item_size_max", mc.max_item_size()),
        line("flush_enabled", "yes"),
        line("idle_timeout", live.timeout.load(Ordering::Relaxed)),
    ]
}

/// Items are not kept in slab classes here: one class holds them all.
fn items(mc: &Memcache) -> Lines {
    let (items, bytes) = storage(mc);
    if items == 0 {
        return Vec::new();
    }
    let evicted = mc.server().keyspace().stats().evicted;
    vec![line("items:1:number", items), line("items:1:mem_requested", bytes), line("items:1:evicted", evicted)]
}

fn slabs(mc: &Memcache) -> Lines {
    let (items, bytes) = storage(mc);
    vec![line("1:used_chunks", items), line("active_slabs", 1), line("total_malloced", bytes)]
}

/// This process's user and system CPU time as memcached prints them
/// (seconds.microseconds), from /proc/self/stat.
fn cpu_times() -> (String, String) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces, so split after its ')').
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15: 11 and 12 after the name; 100 ticks a second.
    let format = |t: u64| format!("{}.{:06}", t / 100, (t % 100) * 10_000);
    (format(ticks(11)), format(ticks(12)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_counts_add_up_and_reset() {
        let totals = Totals::default();
        let mut c = Counters { cmd_get: 2, get_hits: 1, ..Default::default() };
        totals.publish(&mut c);
        assert_eq!(c.cmd_get, 0);
        c.cmd_get = 3;
        totals.publish(&mut c);
        let read = totals.read();
        assert_eq!(read[0], ("cmd_get", 5));
        assert!(read.contains(&("get_hits", 1)));
        totals.reset();
        assert!(totals.read().iter().all(|(_, v)| *v == 0));
    }
}
