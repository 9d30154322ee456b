//! What a key is made of: OBJECT and MEMORY.

use crate::cmd::Ctx;
use crate::cmd::args::{eq, parse_i64};
use crate::cmd::error::{CmdResult, SYNTAX, unknown_subcommand};
use crate::keyspace::Value;

pub(super) fn encoding(v: &Value) -> &'static str {
    match v {
        Value::Str(s) if s.len() <= 20 && parse_i64(s).is_some() => "int",
        Value::Str(s) if s.len() <= 44 => "embstr",
        Value::Str(_) => "raw",
        Value::List(l) if l.len() <= 128 => "listpack",
        Value::List(_) => "quicklist",
        Value::Hash(h) if h.is_compact() => "listpack",
        Value::Hash(_) => "hashtable",
        Value::Set(s) if s.len() <= 512 && s.iter().all(|m| parse_i64(m).is_some()) => "intset",
        Value::Set(s) if s.len() <= 128 => "listpack",
        Value::Set(_) => "hashtable",
        Value::ZSet(z) if z.len() <= 128 => "listpack",
        Value::ZSet(_) => "skiplist",
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
    if eq(sub, "help") {
        ctx.out.array(1);
        ctx.out.simple("MEMORY USAGE <key> [SAMPLES <count>]");
        return Ok(());
    }
    Err(unknown_subcommand(sub, "MEMORY"))
}
