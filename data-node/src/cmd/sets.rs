//! Sets and their algebra.

use super::Ctx;
use super::args::int;
use super::error::{CmdResult, Error, NOT_POSITIVE};
use super::hashes::pick_random;
use super::keys::{ScanOpts, parse_cursor};
use super::spec::{ALL_KEYS_FROM1, KEY1, KEY12, Keys, Spec, flag::*, spec};
use super::typed::{as_set, create_set, read_set, store_result, write_set};
use crate::keyspace::{Locked, Set, SmallBytes, Value};

pub const COMMANDS: &[Spec] = &[
    spec!("sadd", -3, WRITE | DENYOOM | FAST, KEY1, sadd),
    spec!("srem", -3, WRITE | FAST, KEY1, srem),
    spec!("smembers", 2, READONLY, KEY1, smembers),
    spec!("sismember", 3, READONLY | FAST, KEY1, sismember),
    spec!("smismember", -3, READONLY | FAST, KEY1, smismember),
    spec!("scard", 2, READONLY | FAST, KEY1, scard),
    spec!("spop", -2, WRITE | FAST, KEY1, spop),
    spec!("srandmember", -2, READONLY, KEY1, srandmember),
    spec!("sinter", -2, READONLY, ALL_KEYS_FROM1, sinter),
    spec!("sintercard", -3, READONLY, Keys::NumKeys { at: 1, dest: 0 }, sintercard),
    spec!("sunion", -2, READONLY, ALL_KEYS_FROM1, sunion),
    spec!("sdiff", -2, READONLY, ALL_KEYS_FROM1, sdiff),
    spec!("sinterstore", -3, WRITE | DENYOOM, ALL_KEYS_FROM1, sinterstore),
    spec!("sunionstore", -3, WRITE | DENYOOM, ALL_KEYS_FROM1, sunionstore),
    spec!("sdiffstore", -3, WRITE | DENYOOM, ALL_KEYS_FROM1, sdiffstore),
    spec!("smove", 4, WRITE | FAST, KEY12, smove),
    spec!("sscan", -3, READONLY, KEY1, sscan),
];

fn sadd(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let members = &ctx.args[2..];
    let mut e = create_set(ctx.ks(), db, key)?;
    let s = as_set(&mut e);
    let added = members.iter().filter(|m| s.insert(m)).count();
    drop(e);
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let members = &ctx.args[2..];
    let removed = match write_set(ctx.ks(), db, key)? {
        None => 0,
        Some(mut e) => {
            let s = as_set(&mut e);
            members.iter().filter(|m| s.remove(m)).count()
        }
    };
    ctx.out.int(removed as i64);
    Ok(())
}

fn reply_set<'a>(out: &mut crate::resp::Reply, members: impl ExactSizeIterator<Item = &'a [u8]>) {
    out.set(members.len());
    for m in members {
        out.bulk(m);
    }
}

fn smembers(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    let members: Vec<&[u8]> =
        read_set(ks, db, key)?.map(|s| s.iter().map(|m| m.as_slice()).collect()).unwrap_or_default();
    reply_set(out, members.into_iter());
    Ok(())
}

fn sismember(ctx: &mut Ctx) -> CmdResult {
    let (db, key, m) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    out.int(read_set(ks, db, key)?.is_some_and(|s| s.contains(m)) as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let members = &ctx.args[2..];
    let (ks, out) = ctx.parts();
    let s = read_set(ks, db, key)?;
    out.array(members.len());
    for m in members {
        out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.int(read_set(ks, db, key)?.map_or(0, |s| s.len()) as i64);
    Ok(())
}

fn spop(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(usize::try_from(int(c)?).map_err(|_| Error::from(NOT_POSITIVE))?),
    };
    if ctx.argc() > 3 {
        return Err(super::error::SYNTAX.into());
    }
    let popped: Option<Vec<SmallBytes>> = match write_set(ctx.ks(), db, key)? {
        None => None,
        Some(mut e) => {
            let s = as_set(&mut e);
            let all: Vec<&SmallBytes> = s.iter().collect();
            let chosen: Vec<SmallBytes> = pick_random(&all, count.unwrap_or(1) as i64).into_iter().cloned().collect();
            for m in &chosen {
                s.remove(m);
            }
            Some(chosen)
        }
    };
    // Replicas remove exactly what was popped here, not a random pick of their own.
    let mut srem = vec![b"SREM".to_vec(), key.to_vec()];
    srem.extend(popped.iter().flatten().map(|m| m.to_vec()));
    ctx.propagate_as = Some(if srem.len() > 2 { srem } else { Vec::new() });
    match (popped, count) {
        (None, None) => ctx.out.null(),
        (None, Some(_)) => ctx.out.set(0),
        (Some(v), None) => ctx.out.bulk_opt(v.first().map(|m| m.as_slice())),
        (Some(v), Some(_)) => reply_set(ctx.out, v.iter().map(|m| m.as_slice())),
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(super::args::random_count(c, false)?),
    };
    if ctx.argc() > 3 {
        return Err(super::error::SYNTAX.into());
    }
    let (ks, out) = ctx.parts();
    let all: Vec<&[u8]> = read_set(ks, db, key)?.map(|s| s.iter().map(|m| m.as_slice()).collect()).unwrap_or_default();
    match count {
        None => out.bulk_opt(pick_random(&all, 1).first().copied()),
        Some(c) => out.bulks(pick_random(&all, c).into_iter()),
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes the set operation over `keys`; a missing key is an empty set.
fn combine(ks: &mut Locked<'_>, db: usize, keys: &[&[u8]], op: Op) -> Result<Set, Error> {
    let mut sets: Vec<Option<Set>> = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read_set(ks, db, k)?.cloned());
    }
    let empty = Set::default();
    let first = sets[0].as_ref().unwrap_or(&empty);
    let rest = || sets[1..].iter().map(|s| s.as_ref().unwrap_or(&empty));
    Ok(match op {
        Op::Inter => first.iter().filter(|m| rest().all(|s| s.contains(m))).cloned().collect(),
        Op::Diff => first.iter().filter(|m| !rest().any(|s| s.contains(m))).cloned().collect(),
        Op::Union => sets.iter().flatten().flat_map(|s| s.iter()).cloned().collect(),
    })
}

fn set_op(ctx: &mut Ctx, op: Op) -> CmdResult {
    let db = ctx.db();
    let keys = &ctx.args[1..];
    let result = combine(ctx.ks(), db, keys, op)?;
    reply_set(ctx.out, result.iter().map(|m| m.as_slice()).collect::<Vec<_>>().into_iter());
    Ok(())
}

fn sinter(ctx: &mut Ctx) -> CmdResult {
    set_op(ctx, Op::Inter)
}
fn sunion(ctx: &mut Ctx) -> CmdResult {
    set_op(ctx, Op::Union)
}
fn sdiff(ctx: &mut Ctx) -> CmdResult {
    set_op(ctx, Op::Diff)
}

fn store_op(ctx: &mut Ctx, op: Op) -> CmdResult {
    let (db, dst) = (ctx.db(), ctx.arg(1));
    let keys = &ctx.args[2..];
    let result = combine(ctx.ks(), db, keys, op)?;
    let n = result.len();
    store_result(ctx, dst, Value::Set(Box::new(result)), n);
    Ok(())
}

fn sinterstore(ctx: &mut Ctx) -> CmdResult {
    store_op(ctx, Op::Inter)
}
fn sunionstore(ctx: &mut Ctx) -> CmdResult {
    store_op(ctx, Op::Union)
}
fn sdiffstore(ctx: &mut Ctx) -> CmdResult {
    store_op(ctx, Op::Diff)
}

/// `numkeys key... [LIMIT n]` → (keys, limit); shared with ZINTERCARD.
/// SINTERCARD's and ZINTERCARD's `numkeys key... [LIMIT n]`; their numkeys
/// errors differ, as in Redis.
pub(super) fn parse_intercard<'a>(args: &[&'a [u8]], command: &str) -> Result<(Vec<&'a [u8]>, usize), Error> {
    let n = if command == "zintercard" {
        Some(int(args[1])?)
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::from(format!("ERR at least 1 input key is needed for '{command}' command")))?
    } else {
        int(args[1]).ok().filter(|n| *n > 0).ok_or(Error::from("ERR numkeys should be greater than 0"))?
    } as usize;
    if args.len() < 2 + n {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    let keys = args[2..2 + n].to_vec();
    let limit = match &args[2 + n..] {
        [] => 0,
        [l, v] if super::args::eq(l, "limit") => {
            let limit = int(v).ok().and_then(|n| usize::try_from(n).ok());
            limit.ok_or(Error::from("ERR LIMIT can't be negative"))?
        }
        _ => return Err(super::error::SYNTAX.into()),
    };
    Ok((keys, limit))
}

fn sintercard(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let (keys, limit) = parse_intercard(ctx.args, ctx.spec.name)?;
    let n = combine(ctx.ks(), db, &keys, Op::Inter)?.len();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

fn smove(ctx: &mut Ctx) -> CmdResult {
    let (db, src, dst, m) = (ctx.db(), ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let ks = ctx.ks();
    let present = read_set(ks, db, src)?.is_some_and(|s| s.contains(m));
    // A destination that already holds the member is not written (nor are its watchers told).
    let already_there = read_set(ks, db, dst)?.is_some_and(|s| s.contains(m));
    if present && src != dst {
        if let Some(mut e) = write_set(ks, db, src)? {
            as_set(&mut e).remove(m);
        }
        if !already_there {
            let mut e = create_set(ks, db, dst)?;
            as_set(&mut e).insert(m);
        }
    }
    ctx.out.int(present as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    parse_cursor(ctx.arg(2))?;
    let opts = ScanOpts::parse(&ctx.args[3..], false)?;
    let (ks, out) = ctx.parts();
    let items: Vec<&[u8]> = match read_set(ks, db, key)? {
        None => Vec::new(),
        Some(s) => s.iter().map(|m| m.as_slice()).filter(|m| opts.matches(m)).collect(),
    };
    out.array(2);
    out.bulk(b"0");
    out.bulks(items.into_iter());
    Ok(())
}
