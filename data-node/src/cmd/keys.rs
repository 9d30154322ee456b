//! Generic key commands: existence, deletion, renaming, TTLs, iteration.

use super::Ctx;
use super::args::{eq, int, parse_i64};
use super::error::{CmdResult, Error, NO_SUCH_KEY, SYNTAX, unknown_subcommand};
use super::spec::{ALL_KEYS_FROM1, KEY1, KEY12, Keys, NO_KEYS, Spec, flag::*, spec};
use crate::glob;
use crate::keyspace::{Entry, Value};

const KEY2: Keys = Keys::Range { first: 2, last: 2, step: 1 };

pub const COMMANDS: &[Spec] = &[
    spec!("del", -2, WRITE, ALL_KEYS_FROM1, del),
    spec!("unlink", -2, WRITE | FAST, ALL_KEYS_FROM1, del),
    spec!("exists", -2, READONLY | FAST, ALL_KEYS_FROM1, exists),
    spec!("touch", -2, READONLY | FAST, ALL_KEYS_FROM1, touch),
    spec!("type", 2, READONLY | FAST, KEY1, type_),
    spec!("keys", 2, READONLY, Keys::All, keys),
    spec!("scan", -2, READONLY, Keys::All, scan),
    spec!("rename", 3, WRITE, KEY12, rename),
    spec!("renamenx", 3, WRITE | FAST, KEY12, renamenx),
    spec!("copy", -3, WRITE | DENYOOM, KEY12, copy),
    spec!("move", 3, WRITE | FAST, KEY1, move_),
    spec!("expire", -3, WRITE | FAST, KEY1, expire),
    spec!("pexpire", -3, WRITE | FAST, KEY1, pexpire),
    spec!("expireat", -3, WRITE | FAST, KEY1, expireat),
    spec!("pexpireat", -3, WRITE | FAST, KEY1, pexpireat),
    spec!("ttl", 2, READONLY | FAST, KEY1, ttl),
    spec!("pttl", 2, READONLY | FAST, KEY1, pttl),
    spec!("expiretime", 2, READONLY | FAST, KEY1, expiretime),
    spec!("pexpiretime", 2, READONLY | FAST, KEY1, pexpiretime),
    spec!("persist", 2, WRITE | FAST, KEY1, persist),
    spec!("randomkey", 1, READONLY, Keys::All, randomkey),
    spec!("dbsize", 1, READONLY | FAST, Keys::All, dbsize),
    spec!("flushdb", -1, WRITE, Keys::All, flushdb),
    spec!("flushall", -1, WRITE, Keys::All, flushall),
    spec!("swapdb", 3, WRITE | FAST, NO_KEYS, swapdb),
    spec!("object", -2, READONLY, KEY2, object),
    spec!("memory", -2, READONLY, KEY2, memory),
];

fn del(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let mut n = 0;
    for key in &ctx.args[1..] {
        n += ctx.ks().remove(db, key).is_some() as i64;
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let mut n = 0;
    for key in &ctx.args[1..] {
        n += ctx.ks().exists(db, key) as i64;
    }
    ctx.out.int(n);
    Ok(())
}

fn touch(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let mut n = 0;
    for key in &ctx.args[1..] {
        n += ctx.ks().get(db, key).is_some() as i64;
    }
    ctx.out.int(n);
    Ok(())
}

fn type_(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let name = ctx.ks().peek(db, key).map_or("none", |e| e.value.type_name());
    ctx.out.simple(name);
    Ok(())
}

fn keys(ctx: &mut Ctx) -> CmdResult {
    let (db, pattern) = (ctx.db(), ctx.arg(1));
    let all = ctx.ks().keys(db);
    let matched: Vec<&[u8]> = all.iter().map(|k| k.as_slice()).filter(|k| glob::matches(pattern, k)).collect();
    ctx.out.bulks(matched.into_iter());
    Ok(())
}

/// SCAN's cursor is the next shard to visit; each call returns every key of
/// whole shards until COUNT is reached (COUNT is a hint in Redis too), so a
/// full scan returns every key that was present throughout, whatever resizes.
fn scan(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let cursor = parse_cursor(ctx.arg(1))?;
    let opts = ScanOpts::parse(&ctx.args[2..], true)?;
    let shards = 64;
    let mut shard = cursor as usize;
    let mut found = Vec::new();
    while shard < shards && found.len() < opts.count {
        for key in ctx.ks().scan_shard(db, shard) {
            if !opts.matches(&key) {
                continue;
            }
            if let Some(t) = &opts.type_ {
                let ty = ctx.ks().peek(db, &key).map_or("none", |e| e.value.type_name());
                if !eq(t, ty) {
                    continue;
                }
            }
            found.push(key);
        }
        shard += 1;
    }
    let next = if shard >= shards { 0 } else { shard };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.bulks(found.iter().map(|k| k.as_slice()));
    Ok(())
}

pub(super) fn parse_cursor(b: &[u8]) -> Result<u64, Error> {
    std::str::from_utf8(b).ok().and_then(|s| s.parse::<u64>().ok()).ok_or(Error::from("ERR invalid cursor"))
}

pub(super) struct ScanOpts<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_: Option<&'a [u8]>,
    pub novalues: bool,
}

impl<'a> ScanOpts<'a> {
    pub fn parse(args: &[&'a [u8]], allow_type: bool) -> Result<ScanOpts<'a>, Error> {
        let mut o = ScanOpts { pattern: None, count: 10, type_: None, novalues: false };
        let mut i = 0;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            if eq(args[i], "match") && has_value {
                o.pattern = Some(args[i + 1]);
            } else if eq(args[i], "count") && has_value {
                let n = int(args[i + 1])?;
                if n < 1 {
                    return Err(SYNTAX.into());
                }
                o.count = n as usize;
            } else if eq(args[i], "type") && has_value && allow_type {
                o.type_ = Some(args[i + 1]);
            } else if eq(args[i], "novalues") && !allow_type {
                o.novalues = true;
                i += 1;
                continue;
            } else {
                return Err(SYNTAX.into());
            }
            i += 2;
        }
        Ok(o)
    }

    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob::matches(p, item))
    }
}

fn rename_inner(ctx: &mut Ctx, nx: bool) -> Result<bool, Error> {
    let (db, src, dst) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let ks = ctx.ks();
    if !ks.exists(db, src) {
        return Err(NO_SUCH_KEY.into());
    }
    if src == dst {
        return Ok(!nx);
    }
    if nx && ks.exists(db, dst) {
        return Ok(false);
    }
    let Some(mut entry) = ks.remove(db, src) else { return Err(NO_SUCH_KEY.into()) };
    entry.key = dst.into();
    ks.insert_entry(db, entry);
    Ok(true)
}

fn rename(ctx: &mut Ctx) -> CmdResult {
    rename_inner(ctx, false)?;
    ctx.out.ok();
    Ok(())
}

fn renamenx(ctx: &mut Ctx) -> CmdResult {
    let done = rename_inner(ctx, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

fn clone_entry(e: &Entry, key: &[u8]) -> Box<Entry> {
    Entry::new(key, e.value.clone(), e.expires_at(), e.access())
}

fn copy(ctx: &mut Ctx) -> CmdResult {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    let mut dst_db = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < ctx.argc() {
        if eq(ctx.arg(i), "replace") {
            replace = true;
        } else if eq(ctx.arg(i), "db") && i + 1 < ctx.argc() {
            let n = int(ctx.arg(i + 1))?;
            if n < 0 || n as usize >= ctx.ks().databases() {
                return Err("ERR DB index is out of range".into());
            }
            dst_db = n as usize;
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let db = ctx.db();
    if src == dst && db == dst_db {
        return Err("ERR source and destination objects are the same".into());
    }
    let ks = ctx.ks();
    let Some(copy) = ks.peek(db, src).map(|e| clone_entry(e, dst)) else {
        ctx.out.int(0);
        return Ok(());
    };
    if ks.exists(dst_db, dst) && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    ks.insert_entry(dst_db, copy);
    ctx.out.int(1);
    Ok(())
}

fn move_(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let target = int(ctx.arg(2)).map_err(|_| Error::from("ERR DB index is out of range"))?;
    if target < 0 || target as usize >= ctx.ks().databases() {
        return Err("ERR DB index is out of range".into());
    }
    let target = target as usize;
    if target == db {
        return Err("ERR source and destination objects are the same".into());
    }
    let ks = ctx.ks();
    let moved = ks.exists(db, key) && !ks.exists(target, key);
    if moved && let Some(entry) = ks.remove(db, key) {
        ks.insert_entry(target, entry);
    }
    ctx.out.int(moved as i64);
    Ok(())
}

fn expire_generic(ctx: &mut Ctx, unit_ms: i64, absolute: bool) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let n = int(ctx.arg(2))?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &ctx.args[3..] {
        if eq(a, "nx") {
            nx = true;
        } else if eq(a, "xx") {
            xx = true;
        } else if eq(a, "gt") {
            gt = true;
        } else if eq(a, "lt") {
            lt = true;
        } else {
            return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(a)).into());
        }
    }
    if nx && (xx || gt || lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if gt && lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    let now = ctx.ks().now() as i64;
    let invalid = || Error::from(format!("ERR invalid expire time in '{}' command", ctx.spec.name));
    let at = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute { at } else { at.checked_add(now).ok_or_else(invalid)? };
    let ks = ctx.ks();
    let Some(current) = ks.peek(db, key).map(|e| e.expires_at()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let has_ttl = current != 0;
    let refused = (nx && has_ttl)
        || (xx && !has_ttl)
        || (gt && (!has_ttl || at <= current as i64))
        || (lt && has_ttl && at >= current as i64);
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if at <= now {
        ks.remove(db, key);
    } else if let Some(mut e) = ks.get_mut(db, key) {
        e.set_expires_at(at as u64);
    }
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1000, false)
}

fn pexpire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1, false)
}

fn expireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1000, true)
}

fn pexpireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1, true)
}

/// TTL-style replies: -2 for a missing key, -1 for no expiry, else `f(at, now)`.
fn ttl_generic(ctx: &mut Ctx, f: fn(u64, u64) -> i64) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let now = ctx.ks().now();
    let reply = match ctx.ks().peek(db, key).map(|e| e.expires_at()) {
        None => -2,
        Some(0) => -1,
        Some(at) => f(at, now),
    };
    ctx.out.int(reply);
    Ok(())
}

fn ttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, now| ((at.saturating_sub(now) + 500) / 1000) as i64)
}

fn pttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, now| at.saturating_sub(now) as i64)
}

fn expiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, _| (at / 1000) as i64)
}

fn pexpiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, _| at as i64)
}

fn persist(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let ks = ctx.ks();
    let had_ttl = ks.peek(db, key).is_some_and(|e| e.expires_at() != 0);
    if had_ttl && let Some(mut e) = ks.get_mut(db, key) {
        e.set_expires_at(0);
    }
    ctx.out.int(had_ttl as i64);
    Ok(())
}

fn randomkey(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let key = ctx.ks().random_key(db);
    ctx.out.bulk_opt(key.as_deref());
    Ok(())
}

fn dbsize(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.ks().dbsize(db);
    ctx.out.int(n as i64);
    Ok(())
}

fn flush_mode(ctx: &Ctx) -> CmdResult {
    match ctx.args.get(1) {
        None => Ok(()),
        Some(a) if ctx.argc() == 2 && (eq(a, "async") || eq(a, "sync")) => Ok(()),
        Some(_) => Err(SYNTAX.into()),
    }
}

fn flushdb(ctx: &mut Ctx) -> CmdResult {
    flush_mode(ctx)?;
    let db = ctx.db();
    ctx.ks().flush_db(db);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx) -> CmdResult {
    flush_mode(ctx)?;
    for db in 0..ctx.ks().databases() {
        ctx.ks().flush_db(db);
    }
    ctx.out.ok();
    Ok(())
}

fn swapdb(_ctx: &mut Ctx) -> CmdResult {
    Err("ERR SWAPDB is not supported by this server".into())
}

fn encoding(v: &Value) -> &'static str {
    match v {
        Value::Str(s) if s.len() <= 20 && parse_i64(s).is_some() => "int",
        Value::Str(s) if s.len() <= 44 => "embstr",
        Value::Str(_) => "raw",
        Value::List(l) if l.len() <= 128 => "listpack",
        Value::List(_) => "quicklist",
        Value::Hash(h) if h.len() <= 128 => "listpack",
        Value::Hash(_) => "hashtable",
        Value::Set(s) if s.len() <= 512 && s.iter().all(|m| parse_i64(m).is_some()) => "intset",
        Value::Set(s) if s.len() <= 128 => "listpack",
        Value::Set(_) => "hashtable",
        Value::ZSet(z) if z.len() <= 128 => "listpack",
        Value::ZSet(_) => "skiplist",
    }
}

fn object(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "help") {
        let lines =
            ["OBJECT <subcommand> [<arg> ...]", "ENCODING <key>", "FREQ <key>", "IDLETIME <key>", "REFCOUNT <key>"];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
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
    let (enc, access) = (encoding(&e.value), e.access());
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

fn memory(ctx: &mut Ctx) -> CmdResult {
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
    if eq(sub, "help") {
        ctx.out.array(1);
        ctx.out.simple("MEMORY USAGE <key> [SAMPLES <count>]");
        return Ok(());
    }
    Err(unknown_subcommand(sub, "MEMORY"))
}
