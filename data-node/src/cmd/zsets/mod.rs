//! Sorted sets: ranges by rank, score and lex; pops; algebra.

mod algebra;
mod pops;
mod ranges;

use crate::cmd::Ctx;
use crate::cmd::args::{eq, float};
use crate::cmd::error::{CmdResult, SYNTAX};
use crate::cmd::hashes::pick_random;
use crate::cmd::keys::{ScanOpts, parse_cursor};
use crate::cmd::spec::{KEY1, Keys, Spec, flag::*, spec};
use crate::cmd::typed::{as_zset, create_zset, read_zset, write_zset};
use crate::keyspace::SmallBytes;
use crate::resp::Reply;
use algebra::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};
use pops::{bzmpop, bzpopmax, bzpopmin, zmpop, zpopmax, zpopmin};
use ranges::{
    reply_members, zcount, zlexcount, zrange, zrangebylex, zrangebyscore, zrank, zremrangebylex, zremrangebyrank,
    zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore, zrevrank,
};

const BLOCK_KEYS: Keys = Keys::Range { first: 1, last: -2, step: 1 };
const STORE: Keys = Keys::NumKeys { at: 2, dest: 1 };
const NUMKEYS: Keys = Keys::NumKeys { at: 1, dest: 0 };

pub const COMMANDS: &[Spec] = &[
    spec!("zadd", -4, WRITE | DENYOOM | FAST, KEY1, zadd),
    spec!("zincrby", 4, WRITE | DENYOOM | FAST, KEY1, zincrby),
    spec!("zrem", -3, WRITE | FAST, KEY1, zrem),
    spec!("zscore", 3, READONLY | FAST, KEY1, zscore),
    spec!("zmscore", -3, READONLY | FAST, KEY1, zmscore),
    spec!("zcard", 2, READONLY | FAST, KEY1, zcard),
    spec!("zcount", 4, READONLY | FAST, KEY1, zcount),
    spec!("zlexcount", 4, READONLY | FAST, KEY1, zlexcount),
    spec!("zrank", 3, READONLY | FAST, KEY1, zrank),
    spec!("zrevrank", 3, READONLY | FAST, KEY1, zrevrank),
    spec!("zrange", -4, READONLY, KEY1, zrange),
    spec!("zrevrange", -4, READONLY, KEY1, zrevrange),
    spec!("zrangestore", -5, WRITE | DENYOOM, Keys::Range { first: 1, last: 2, step: 1 }, ranges::zrangestore),
    spec!("zrangebyscore", -4, READONLY, KEY1, zrangebyscore),
    spec!("zrevrangebyscore", -4, READONLY, KEY1, zrevrangebyscore),
    spec!("zrangebylex", -4, READONLY, KEY1, zrangebylex),
    spec!("zrevrangebylex", -4, READONLY, KEY1, zrevrangebylex),
    spec!("zremrangebyrank", 4, WRITE, KEY1, zremrangebyrank),
    spec!("zremrangebyscore", 4, WRITE, KEY1, zremrangebyscore),
    spec!("zremrangebylex", 4, WRITE, KEY1, zremrangebylex),
    spec!("zpopmin", -2, WRITE | FAST, KEY1, zpopmin),
    spec!("zpopmax", -2, WRITE | FAST, KEY1, zpopmax),
    spec!("bzpopmin", -3, WRITE | FAST | BLOCKING, BLOCK_KEYS, bzpopmin),
    spec!("bzpopmax", -3, WRITE | FAST | BLOCKING, BLOCK_KEYS, bzpopmax),
    spec!("zmpop", -4, WRITE, NUMKEYS, zmpop),
    spec!("bzmpop", -5, WRITE | BLOCKING, Keys::NumKeys { at: 2, dest: 0 }, bzmpop),
    spec!("zunionstore", -4, WRITE | DENYOOM, STORE, zunionstore),
    spec!("zinterstore", -4, WRITE | DENYOOM, STORE, zinterstore),
    spec!("zdiffstore", -4, WRITE | DENYOOM, STORE, zdiffstore),
    spec!("zunion", -3, READONLY, NUMKEYS, zunion),
    spec!("zinter", -3, READONLY, NUMKEYS, zinter),
    spec!("zdiff", -3, READONLY, NUMKEYS, zdiff),
    spec!("zintercard", -3, READONLY, NUMKEYS, zintercard),
    spec!("zrandmember", -2, READONLY, KEY1, zrandmember),
    spec!("zscan", -3, READONLY, KEY1, zscan),
];

fn zadd(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    zadd_with(ctx, args)
}

/// ZADD with these arguments (GEOADD passes the scores it computed).
pub(crate) fn zadd_with(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (db, key) = (ctx.db(), args[1]);
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        match () {
            _ if eq(a, "nx") => nx = true,
            _ if eq(a, "xx") => xx = true,
            _ if eq(a, "gt") => gt = true,
            _ if eq(a, "lt") => lt = true,
            _ if eq(a, "ch") => ch = true,
            _ if eq(a, "incr") => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(SYNTAX.into());
    }
    if nx && xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if [gt, lt, nx].iter().filter(|f| **f).count() > 1 {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if incr && pairs.len() > 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let scores: Vec<f64> = pairs.chunks(2).map(|p| float(p[0])).collect::<Result<_, _>>()?;
    let ks = ctx.ks();
    if xx && read_zset(ks, db, key)?.is_none() {
        if incr {
            ctx.out.null();
        } else {
            ctx.out.int(0);
        }
        return Ok(());
    }
    let mut e = create_zset(ks, db, key)?;
    let z = as_zset(&mut e);
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (pair, &score) in pairs.chunks(2).zip(&scores) {
        let member = pair[1];
        let current = z.score(member);
        if (nx && current.is_some()) || (xx && current.is_none()) {
            continue;
        }
        let new = match (incr, current) {
            (true, Some(c)) => c + score,
            _ => score,
        };
        if new.is_nan() {
            return Err("ERR resulting score is not a number (NaN)".into());
        }
        if let Some(c) = current {
            if (gt && new <= c) || (lt && new >= c) {
                continue;
            }
            if c != new {
                changed += 1;
            }
        } else {
            added += 1;
        }
        z.insert(member, new);
        incr_result = Some(new);
    }
    drop(e);
    if incr {
        match incr_result {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

fn zincrby(ctx: &mut Ctx) -> CmdResult {
    let (db, key, member) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let delta = float(ctx.arg(2))?;
    let mut e = create_zset(ctx.ks(), db, key)?;
    let z = as_zset(&mut e);
    let new = z.score(member).unwrap_or(0.0) + delta;
    if new.is_nan() {
        return Err("ERR resulting score is not a number (NaN)".into());
    }
    z.insert(member, new);
    drop(e);
    ctx.out.double(new);
    Ok(())
}

fn zrem(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let members = &ctx.args[2..];
    let n = match write_zset(ctx.ks(), db, key)? {
        None => 0,
        Some(mut e) => {
            let z = as_zset(&mut e);
            members.iter().filter(|m| z.remove(m)).count()
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn reply_score(out: &mut Reply, s: Option<f64>) {
    match s {
        Some(s) => out.double(s),
        None => out.null(),
    }
}

fn zscore(ctx: &mut Ctx) -> CmdResult {
    let (db, key, m) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    reply_score(out, read_zset(ks, db, key)?.and_then(|z| z.score(m)));
    Ok(())
}

fn zmscore(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let members = &ctx.args[2..];
    let (ks, out) = ctx.parts();
    let z = read_zset(ks, db, key)?;
    out.array(members.len());
    for m in members {
        reply_score(out, z.and_then(|z| z.score(m)));
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.int(read_zset(ks, db, key)?.map_or(0, |z| z.len()) as i64);
    Ok(())
}

fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let withscores = match ctx.args.get(3) {
        None => false,
        Some(a) if eq(a, "withscores") && ctx.argc() == 4 => true,
        Some(_) => return Err(SYNTAX.into()),
    };
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(super::args::random_count(c, withscores)?),
    };
    let (ks, out) = ctx.parts();
    let all: Vec<(&SmallBytes, f64)> = read_zset(ks, db, key)?.map(|z| z.iter().collect()).unwrap_or_default();
    match count {
        None => out.bulk_opt(pick_random(&all, 1).first().map(|(m, _)| m.as_slice())),
        Some(c) => reply_members(out, &pick_random(&all, c), withscores),
    }
    Ok(())
}

fn zscan(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    parse_cursor(ctx.arg(2))?;
    let opts = ScanOpts::parse(&ctx.args[3..], false)?;
    let (ks, out) = ctx.parts();
    let items: Vec<(&SmallBytes, f64)> = match read_zset(ks, db, key)? {
        None => Vec::new(),
        Some(z) => z.iter().filter(|(m, _)| opts.matches(m)).collect(),
    };
    out.array(2);
    out.bulk(b"0");
    out.array(items.len() * 2);
    for (m, s) in items {
        out.bulk(m);
        out.bulk(crate::resp::format_score(s).as_bytes());
    }
    Ok(())
}
