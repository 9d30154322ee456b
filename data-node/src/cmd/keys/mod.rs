//! Generic key commands: existence, deletion, renaming, TTLs, iteration.

mod dump;
mod introspect;
mod scan;
mod sort;
mod ttl;

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error, NO_SUCH_KEY, SYNTAX};
use crate::cmd::spec::{ALL_KEYS_FROM1, KEY1, KEY12, Keys, Spec, flag::*, spec};
use introspect::{memory, object};
pub(super) use scan::{ScanOpts, parse_cursor};
use scan::{keys, scan};
use ttl::{expire, expireat, expiretime, persist, pexpire, pexpireat, pexpiretime, pttl, ttl};

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
    spec!("dump", 2, READONLY, KEY1, dump::dump),
    spec!("restore", -4, WRITE | DENYOOM, KEY1, dump::restore),
    spec!("sort", -2, WRITE | DENYOOM | EXCLUSIVE, Keys::Store, sort::sort_cmd),
    spec!("sort_ro", -2, READONLY | EXCLUSIVE, KEY1, sort::sort_ro),
    spec!("expire", -3, WRITE | FAST | RELATIVE_TTL, KEY1, expire),
    spec!("pexpire", -3, WRITE | FAST | RELATIVE_TTL, KEY1, pexpire),
    spec!("expireat", -3, WRITE | FAST | RELATIVE_TTL, KEY1, expireat),
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
    spec!("swapdb", 3, WRITE | FAST, Keys::All, swapdb),
    spec!("object", -2, READONLY, KEY2, object),
    // MEMORY STATS reads every shard's figures.
    spec!("memory", -2, READONLY | EXCLUSIVE, KEY2, memory),
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
    let name = ctx.ks().peek(db, key).map_or("none", |e| e.value().type_name());
    ctx.out.simple(name);
    Ok(())
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
    let Some(entry) = ks.remove(db, src) else { return Err(NO_SUCH_KEY.into()) };
    ks.insert_entry(db, entry.renamed(dst));
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
    let Some(copy) = ks.peek(db, src).map(|e| e.copied(dst)) else {
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

fn swapdb(ctx: &mut Ctx) -> CmdResult {
    let databases = ctx.ks().databases();
    let index = |arg: &[u8], which: &str| -> Result<usize, Error> {
        let n = int(arg).map_err(|_| Error::from(format!("ERR invalid {which} DB index")))?;
        usize::try_from(n).ok().filter(|n| *n < databases).ok_or(Error::from("ERR DB index is out of range"))
    };
    let (a, b) = (index(ctx.arg(1), "first")?, index(ctx.arg(2), "second")?);
    ctx.ks().swap_dbs(a, b);
    if ctx.server.blocking().any() {
        ctx.server.blocking().signal_db(a);
        ctx.server.blocking().signal_db(b);
    }
    ctx.out.ok();
    Ok(())
}
