//! Hashes: field → value maps.

use super::Ctx;
use super::args::{eq, int, parse_f64, parse_i64};
use super::error::{CmdResult, Error, OVERFLOW, SYNTAX};
use super::keys::{ScanOpts, parse_cursor};
use super::spec::{KEY1, Spec, flag::*, spec};
use super::typed::{as_hash, create_hash, read_hash, write_hash};
use crate::rand;
use crate::resp::format_double;

pub const COMMANDS: &[Spec] = &[
    spec!("hset", -4, WRITE | DENYOOM | FAST, KEY1, hset),
    spec!("hmset", -4, WRITE | DENYOOM | FAST, KEY1, hmset),
    spec!("hsetnx", 4, WRITE | DENYOOM | FAST, KEY1, hsetnx),
    spec!("hget", 3, READONLY | FAST, KEY1, hget),
    spec!("hmget", -3, READONLY | FAST, KEY1, hmget),
    spec!("hgetall", 2, READONLY, KEY1, hgetall),
    spec!("hdel", -3, WRITE | FAST, KEY1, hdel),
    spec!("hexists", 3, READONLY | FAST, KEY1, hexists),
    spec!("hlen", 2, READONLY | FAST, KEY1, hlen),
    spec!("hkeys", 2, READONLY, KEY1, hkeys),
    spec!("hvals", 2, READONLY, KEY1, hvals),
    spec!("hincrby", 4, WRITE | DENYOOM | FAST, KEY1, hincrby),
    spec!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, KEY1, hincrbyfloat),
    spec!("hstrlen", 3, READONLY | FAST, KEY1, hstrlen),
    spec!("hscan", -3, READONLY, KEY1, hscan),
    spec!("hrandfield", -2, READONLY, KEY1, hrandfield),
];

fn set_pairs(ctx: &mut Ctx) -> Result<i64, Error> {
    if !ctx.argc().is_multiple_of(2) {
        return Err(super::error::wrong_arity(ctx.spec.name));
    }
    let (db, key) = (ctx.db(), ctx.arg(1));
    let pairs = &ctx.args[2..];
    let mut e = create_hash(ctx.ks(), db, key)?;
    let h = as_hash(&mut e);
    Ok(pairs.chunks(2).map(|p| h.insert(p[0], p[1]) as i64).sum())
}

fn hset(ctx: &mut Ctx) -> CmdResult {
    let added = set_pairs(ctx)?;
    ctx.out.int(added);
    Ok(())
}

fn hmset(ctx: &mut Ctx) -> CmdResult {
    set_pairs(ctx)?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field, value) = (ctx.db(), ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let mut e = create_hash(ctx.ks(), db, key)?;
    let h = as_hash(&mut e);
    let added = h.get(field).is_none() && h.insert(field, value);
    drop(e);
    ctx.out.int(added as i64);
    Ok(())
}

fn hget(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    out.bulk_opt(read_hash(ks, db, key)?.and_then(|h| h.get(field)).map(|v| v.as_slice()));
    Ok(())
}

fn hmget(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let fields = &ctx.args[2..];
    let (ks, out) = ctx.parts();
    let h = read_hash(ks, db, key)?;
    out.array(fields.len());
    for f in fields {
        out.bulk_opt(h.and_then(|h| h.get(f)).map(|v| v.as_slice()));
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    match read_hash(ks, db, key)? {
        None => out.map(0),
        Some(h) => {
            out.map(h.len());
            for (f, v) in h.iter() {
                out.bulk(f);
                out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let fields = &ctx.args[2..];
    let removed = match write_hash(ctx.ks(), db, key)? {
        None => 0,
        Some(mut e) => {
            let h = as_hash(&mut e);
            fields.iter().filter(|f| h.remove(f)).count()
        }
    };
    ctx.out.int(removed as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    out.int(read_hash(ks, db, key)?.is_some_and(|h| h.get(field).is_some()) as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.int(read_hash(ks, db, key)?.map_or(0, |h| h.len()) as i64);
    Ok(())
}

fn hkeys(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    match read_hash(ks, db, key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(f, _)| f.as_slice()).collect::<Vec<_>>().into_iter()),
    }
    Ok(())
}

fn hvals(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    match read_hash(ks, db, key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(_, v)| v.as_slice()).collect::<Vec<_>>().into_iter()),
    }
    Ok(())
}

fn hincrby(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let delta = int(ctx.arg(3))?;
    let mut e = create_hash(ctx.ks(), db, key)?;
    let h = as_hash(&mut e);
    let current = match h.get(field) {
        None => 0,
        Some(v) => parse_i64(v).ok_or(Error::from("ERR hash value is not an integer"))?,
    };
    let next = current.checked_add(delta).ok_or(Error::from(OVERFLOW))?;
    h.insert(field, next.to_string().as_bytes());
    drop(e);
    ctx.out.int(next);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let delta = super::args::float(ctx.arg(3))?;
    if !delta.is_finite() {
        return Err("ERR value is NaN or Infinity".into());
    }
    let mut e = create_hash(ctx.ks(), db, key)?;
    let h = as_hash(&mut e);
    let current = match h.get(field) {
        None => 0.0,
        Some(v) => parse_f64(v).ok_or(Error::from("ERR hash value is not a float"))?,
    };
    let next = current + delta;
    if !next.is_finite() {
        return Err("ERR increment would produce NaN or Infinity".into());
    }
    let text = format_double(next);
    h.insert(field, text.as_bytes());
    drop(e);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

fn hstrlen(ctx: &mut Ctx) -> CmdResult {
    let (db, key, field) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    out.int(read_hash(ks, db, key)?.and_then(|h| h.get(field)).map_or(0, |v| v.len()) as i64);
    Ok(())
}

/// HSCAN answers in one call (cursor 0): Redis does the same for small hashes,
/// and clients loop until the cursor is 0 either way.
fn hscan(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    parse_cursor(ctx.arg(2))?;
    let opts = ScanOpts::parse(&ctx.args[3..], false)?;
    let (ks, out) = ctx.parts();
    let items: Vec<(&[u8], &[u8])> = match read_hash(ks, db, key)? {
        None => Vec::new(),
        Some(h) => h.iter().filter(|(f, _)| opts.matches(f)).map(|(f, v)| (f.as_slice(), v.as_slice())).collect(),
    };
    out.array(2);
    out.bulk(b"0");
    out.array(items.len() * if opts.novalues { 1 } else { 2 });
    for (f, v) in items {
        out.bulk(f);
        if !opts.novalues {
            out.bulk(v);
        }
    }
    Ok(())
}

fn hrandfield(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let with_values = match ctx.args.get(3) {
        None => false,
        Some(a) if eq(a, "withvalues") && ctx.argc() == 4 => true,
        Some(_) => return Err(SYNTAX.into()),
    };
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(super::args::random_count(c, with_values)?),
    };
    let (ks, out) = ctx.parts();
    let h = read_hash(ks, db, key)?;
    let items: Vec<(&[u8], &[u8])> =
        h.map(|h| h.iter().map(|(f, v)| (f.as_slice(), v.as_slice())).collect()).unwrap_or_default();
    let Some(count) = count else {
        let pick = (!items.is_empty()).then(|| items[rand::below(items.len())].0);
        out.bulk_opt(pick);
        return Ok(());
    };
    let picked = pick_random(&items, count);
    if with_values && out.resp3 {
        out.array(picked.len());
        for (f, v) in picked {
            out.array(2);
            out.bulk(f);
            out.bulk(v);
        }
    } else {
        out.array(picked.len() * if with_values { 2 } else { 1 });
        for (f, v) in picked {
            out.bulk(f);
            if with_values {
                out.bulk(v);
            }
        }
    }
    Ok(())
}

/// Redis's RAND* count rule: a positive count gives distinct items (at most
/// all of them), a negative one gives |count| items that may repeat.
pub(super) fn pick_random<T: Copy>(items: &[T], count: i64) -> Vec<T> {
    if items.is_empty() || count == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs().min(10_000_000) as usize;
        return (0..n).map(|_| items[rand::below(items.len())]).collect();
    }
    let mut pool: Vec<T> = items.to_vec();
    let n = (count as usize).min(pool.len());
    for i in 0..n {
        let j = i + rand::below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(n);
    pool
}
