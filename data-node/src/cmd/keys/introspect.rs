//! What a key is made of: OBJECT and MEMORY.

use crate::cmd::Ctx;
use crate::cmd::args::{eq, parse_i64};
use crate::cmd::error::{CmdResult, SYNTAX, unknown_subcommand};
use crate::keyspace::ValueRef;

pub(super) fn encoding(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Str(s) if s.len() <= 20 && parse_i64(s).is_some() => "int",
        ValueRef::Str(s) if s.len() <= 44 => "embstr",
        ValueRef::Str(_) => "raw",
        ValueRef::List(l) if l.len() <= 128 => "listpack",
        ValueRef::List(_) => "quicklist",
        ValueRef::Hash(h) if h.is_compact() => "listpack",
        ValueRef::Hash(_) => "hashtable",
        ValueRef::Set(s) if s.len() <= 512 && s.iter().all(|m| parse_i64(m).is_some()) => "intset",
        ValueRef::Set(s) if s.len() <= 128 => "listpack",
        ValueRef::Set(_) => "hashtable",
        ValueRef::ZSet(z) if z.len() <= 128 => "listpack",
        ValueRef::ZSet(_) => "skiplist",
    }
}

pub(super) fn object(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "help") {
        let lines =
            ["OBJECT <subcommand> [<arg> ...]", "ENCODING <key>", "FREQ <key>", "IDLETIME <key>", "REFCOUNT <key>"];
        ctx.out.help(&lines);
        return Ok(());
    }
    if ctx.argc() != 3 {
        return Err(unknown_subcommand(sub, "OBJECT"));
    }
    let (db, key) = (ctx.db(), ctx.arg(2));
    let lfu = ctx.server.keyspace().policy().is_lfu();
    let now = ctx.ks().now();
    let Some(e) = ctx.ks().peek(db, key) else {
        ctx.out.null();
        return Ok(());
    };
    let (enc, access) = (encoding(e.value()), e.access());
    if eq(sub, "encoding") {
        ctx.out.bulk(enc.as_bytes());
    } else if eq(sub, "refcount") {
        ctx.out.int(1);
    } else if eq(sub, "idletime") {
        if lfu {
            return Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.".into());
        }
        ctx.out.int(crate::keyspace::lru_idle_secs(access, now) as i64);
    } else if eq(sub, "freq") {
        if !lfu {
            return Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.".into());
        }
        ctx.out.int(crate::keyspace::lfu_decayed(access, now) as i64);
    } else {
        return Err(format!("ERR unknown subcommand '{}'. Try OBJECT HELP.", String::from_utf8_lossy(sub)).into());
    }
    Ok(())
}

pub(super) fn memory(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "usage") && (ctx.argc() == 3 || ctx.argc() == 5) {
        if ctx.argc() == 5 && !eq(ctx.arg(3), "samples") {
            return Err(SYNTAX.into());
        }
        let (db, key) = (ctx.db(), ctx.arg(2));
        match ctx.ks().peek(db, key) {
            Some(e) => {
                let n = e.mem_size() as i64 + 16;
                ctx.out.int(n)
            }
            None => ctx.out.null(),
        }
        return Ok(());
    }
    if eq(sub, "stats") && ctx.argc() == 2 {
        memory_stats(ctx);
        return Ok(());
    }
    if eq(sub, "malloc-stats") && ctx.argc() == 2 {
        // What redis-server built on libc's malloc answers, and we use libc's.
        ctx.out.verbatim("Stats not supported for the current allocator");
        return Ok(());
    }
    if eq(sub, "doctor") && ctx.argc() == 2 {
        let text = memory_doctor(ctx.server.used_memory(), ctx.server.peak_memory(ctx.server.used_memory()));
        ctx.out.verbatim(&text);
        return Ok(());
    }
    if eq(sub, "purge") && ctx.argc() == 2 {
        ctx.out.ok();
        return Ok(());
    }
    if eq(sub, "help") {
        let lines = [
            "MEMORY <subcommand> [<arg> ...]",
            "DOCTOR",
            "MALLOC-STATS",
            "PURGE",
            "STATS",
            "USAGE <key> [SAMPLES <count>]",
        ];
        ctx.out.help(&lines);
        return Ok(());
    }
    Err(unknown_subcommand(sub, "MEMORY"))
}

/// MEMORY STATS: what this node knows of its memory, under redis-server's names.
fn memory_stats(ctx: &mut Ctx) {
    let used = ctx.server.used_memory();
    let peak = ctx.server.peak_memory(used);
    let rss = crate::info::rss_bytes();
    let sizes = ctx.ks().db_sizes();
    let keys: usize = sizes.iter().map(|(k, _, _)| k).sum();
    let dbs: Vec<(usize, usize, usize)> =
        sizes.iter().enumerate().filter(|(_, (k, _, _))| *k > 0).map(|(db, (k, e, _))| (db, *k, *e)).collect();
    let out = &mut *ctx.out;
    out.map(9 + dbs.len());
    let pair = |out: &mut crate::resp::Reply, name: &str, v: u64| {
        out.bulk(name.as_bytes());
        out.int(v as i64);
    };
    pair(out, "peak.allocated", peak);
    pair(out, "total.allocated", used);
    pair(out, "dataset.bytes", used);
    for (db, k, e) in dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(2);
        pair(out, "keys", k as u64);
        pair(out, "expires", e as u64);
    }
    pair(out, "keys.count", keys as u64);
    pair(out, "keys.bytes-per-key", if keys > 0 { used / keys as u64 } else { 0 });
    out.bulk(b"dataset.percentage");
    out.double(if used > 0 { 100.0 } else { 0.0 });
    out.bulk(b"peak.percentage");
    out.double(if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 });
    pair(out, "allocator.resident", rss);
    out.bulk(b"rss-overhead.ratio");
    out.double(if used > 0 { rss as f64 / used as f64 } else { 0.0 });
}

/// MEMORY DOCTOR: redis-server's words for what it checks that we can check.
fn memory_doctor(used: u64, peak: u64) -> String {
    if used < 5 << 20 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.".into();
    }
    let rss = crate::info::rss_bytes();
    let mut issues = Vec::new();
    if peak as f64 / used as f64 > 1.5 {
        issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if rss as f64 / used as f64 > 1.4 {
        issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc.\n\n");
    }
    if issues.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".into();
    }
    format!(
        "Sam, I detected a few issues in this Redis instance memory implants:\n\n{}I'm here to keep you safe, Sam. I want to help you.\n",
        issues.concat()
    )
}
