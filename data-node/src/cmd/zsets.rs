//! Sorted sets: ranges by rank, score and lex; pops; algebra.

use std::ops::Bound;

use super::Ctx;
use super::args::{clamp_range, eq, float, int, parse_f64, timeout_deadline};
use super::error::{CmdResult, Error, NOT_POSITIVE, SYNTAX, WRONGTYPE};
use super::hashes::pick_random;
use super::keys::{ScanOpts, parse_cursor};
use super::spec::{KEY1, Keys, Spec, flag::*, spec};
use super::typed::{as_zset, create_zset, read_zset, store_result, write_zset};
use crate::keyspace::{Locked, SmallBytes, Value, ZSet};
use crate::resp::Reply;

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
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut i = 2;
    while i < ctx.argc() {
        let a = ctx.arg(i);
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
    let pairs = &ctx.args[i..];
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

fn score_bound(b: &[u8]) -> Result<Bound<f64>, Error> {
    let bad = || Error::from("ERR min or max is not a float");
    match b.split_first() {
        Some((b'(', rest)) => Ok(Bound::Excluded(parse_f64(rest).ok_or_else(bad)?)),
        _ => Ok(Bound::Included(parse_f64(b).ok_or_else(bad)?)),
    }
}

#[derive(Clone, Copy)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn lex_bound(b: &[u8]) -> Result<Lex<'_>, Error> {
    match b.split_first() {
        Some((b'-', [])) => Ok(Lex::Min),
        Some((b'+', [])) => Ok(Lex::Max),
        Some((b'[', rest)) => Ok(Lex::Incl(rest)),
        Some((b'(', rest)) => Ok(Lex::Excl(rest)),
        _ => Err("ERR min or max not valid string range item".into()),
    }
}

fn above_min(m: &[u8], min: Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(v) => m >= v,
        Lex::Excl(v) => m > v,
    }
}

fn below_max(m: &[u8], max: Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(v) => m <= v,
        Lex::Excl(v) => m < v,
    }
}

fn by_lex<'z>(z: &'z ZSet, min: Lex, max: Lex) -> Vec<(&'z SmallBytes, f64)> {
    z.iter().filter(|(m, _)| above_min(m, min) && below_max(m, max)).collect()
}

fn zcount(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (min, max) = (score_bound(ctx.arg(2))?, score_bound(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    out.int(read_zset(ks, db, key)?.map_or(0, |z| z.range_by_score(min, max).len()) as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (min, max) = (lex_bound(ctx.arg(2))?, lex_bound(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    out.int(read_zset(ks, db, key)?.map_or(0, |z| by_lex(z, min, max).len()) as i64);
    Ok(())
}

fn rank(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let (db, key, m) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    let r = read_zset(ks, db, key)?.and_then(|z| z.rank(m).map(|r| if rev { z.len() - 1 - r } else { r }));
    match r {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx) -> CmdResult {
    rank(ctx, false)
}
fn zrevrank(ctx: &mut Ctx) -> CmdResult {
    rank(ctx, true)
}

#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

struct RangeQuery<'a> {
    by: By,
    rev: bool,
    start: &'a [u8],
    stop: &'a [u8],
    limit: Option<(i64, i64)>,
    withscores: bool,
}

/// Parses the options after `key start stop` for ZRANGE and its older forms.
fn parse_range<'a>(args: &[&'a [u8]], by: By, rev: bool, allow_by: bool) -> Result<RangeQuery<'a>, Error> {
    let mut q = RangeQuery { by, rev, start: args[2], stop: args[3], limit: None, withscores: false };
    let mut i = 4;
    while i < args.len() {
        let a = args[i];
        if eq(a, "withscores") {
            q.withscores = true;
        } else if eq(a, "limit") && i + 2 < args.len() {
            q.limit = Some((int(args[i + 1])?, int(args[i + 2])?));
            i += 2;
        } else if allow_by && eq(a, "byscore") && q.by == By::Rank {
            q.by = By::Score;
        } else if allow_by && eq(a, "bylex") && q.by == By::Rank {
            q.by = By::Lex;
        } else if allow_by && eq(a, "rev") {
            q.rev = true;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if q.limit.is_some() && q.by == By::Rank {
        return Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX".into());
    }
    if q.withscores && q.by == By::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    Ok(q)
}

/// Runs a range query: the matching members in reply order.
fn run_range<'z>(z: &'z ZSet, q: &RangeQuery) -> Result<Vec<(&'z SmallBytes, f64)>, Error> {
    // With REV the bounds come as (max, min).
    let (lo, hi) = if q.rev && q.by != By::Rank { (q.stop, q.start) } else { (q.start, q.stop) };
    let mut items = match q.by {
        By::Rank => {
            let (start, stop) = (int(q.start)?, int(q.stop)?);
            let Some((a, b)) = clamp_range(start, stop, z.len()) else { return Ok(Vec::new()) };
            let n = b - a + 1;
            return Ok(if q.rev {
                z.iter().rev().skip(a).take(n).collect()
            } else {
                z.iter().skip(a).take(n).collect()
            });
        }
        By::Score => z.range_by_score(score_bound(lo)?, score_bound(hi)?),
        By::Lex => by_lex(z, lex_bound(lo)?, lex_bound(hi)?),
    };
    if q.rev {
        items.reverse();
    }
    if let Some((offset, count)) = q.limit {
        if offset < 0 {
            return Ok(Vec::new());
        }
        let items = items.into_iter().skip(offset as usize);
        return Ok(if count < 0 { items.collect() } else { items.take(count as usize).collect() });
    }
    Ok(items)
}

fn reply_members(out: &mut Reply, items: &[(&SmallBytes, f64)], withscores: bool) {
    if withscores && out.resp3 {
        out.array(items.len());
        for (m, s) in items {
            out.array(2);
            out.bulk(m);
            out.double(*s);
        }
    } else {
        out.array(items.len() * if withscores { 2 } else { 1 });
        for (m, s) in items {
            out.bulk(m);
            if withscores {
                out.double(*s);
            }
        }
    }
}

fn range_generic(ctx: &mut Ctx, by: By, rev: bool, allow_by: bool) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let q = parse_range(ctx.args, by, rev, allow_by)?;
    let (ks, out) = ctx.parts();
    let items = match read_zset(ks, db, key)? {
        None => {
            // Validate the bounds even when the key is missing, like Redis.
            run_range(&ZSet::default(), &q)?;
            Vec::new()
        }
        Some(z) => run_range(z, &q)?,
    };
    reply_members(out, &items, q.withscores);
    Ok(())
}

fn zrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Rank, false, true)
}
fn zrevrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Rank, true, false)
}
fn zrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Score, false, false)
}
fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Score, true, false)
}
fn zrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Lex, false, false)
}
fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Lex, true, false)
}

fn remrange(ctx: &mut Ctx, by: By) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let q = RangeQuery { by, rev: false, start: ctx.arg(2), stop: ctx.arg(3), limit: None, withscores: false };
    let n = match write_zset(ctx.ks(), db, key)? {
        None => {
            run_range(&ZSet::default(), &q)?;
            0
        }
        Some(mut e) => {
            let z = as_zset(&mut e);
            let doomed: Vec<SmallBytes> = run_range(z, &q)?.into_iter().map(|(m, _)| m.clone()).collect();
            for m in &doomed {
                z.remove(m);
            }
            doomed.len()
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Rank)
}
fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Score)
}
fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Lex)
}

fn pop_n(ks: &mut Locked<'_>, db: usize, key: &[u8], max: bool, n: usize) -> Result<Vec<(SmallBytes, f64)>, Error> {
    let Some(mut e) = write_zset(ks, db, key)? else { return Ok(Vec::new()) };
    let z = as_zset(&mut e);
    let chosen: Vec<(SmallBytes, f64)> = if max {
        z.iter().rev().take(n).map(|(m, s)| (m.clone(), s)).collect()
    } else {
        z.iter().take(n).map(|(m, s)| (m.clone(), s)).collect()
    };
    for (m, _) in &chosen {
        z.remove(m);
    }
    Ok(chosen)
}

fn zpop(ctx: &mut Ctx, max: bool) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(usize::try_from(int(c)?).map_err(|_| Error::from(NOT_POSITIVE))?),
    };
    if ctx.argc() > 3 {
        return Err(SYNTAX.into());
    }
    let popped = pop_n(ctx.ks(), db, key, max, count.unwrap_or(1))?;
    let items: Vec<(&SmallBytes, f64)> = popped.iter().map(|(m, s)| (m, *s)).collect();
    if count.is_some() {
        reply_members(ctx.out, &items, true);
    } else {
        ctx.out.array(items.len() * 2);
        for (m, s) in items {
            ctx.out.bulk(m);
            ctx.out.double(s);
        }
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx) -> CmdResult {
    zpop(ctx, false)
}
fn zpopmax(ctx: &mut Ctx) -> CmdResult {
    zpop(ctx, true)
}

fn bzpop(ctx: &mut Ctx, max: bool) -> CmdResult {
    let db = ctx.db();
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(ctx.argc() - 1), now)?;
    let keys = &ctx.args[1..ctx.argc() - 1];
    for key in keys {
        if let Some((m, s)) = pop_n(ctx.ks(), db, key, max, 1)?.pop() {
            ctx.out.array(3);
            ctx.out.bulk(key);
            ctx.out.bulk(&m);
            ctx.out.double(s);
            return Ok(());
        }
    }
    if ctx.no_block {
        ctx.out.null_array();
        return Ok(());
    }
    Err(Error::Block { deadline })
}

fn bzpopmin(ctx: &mut Ctx) -> CmdResult {
    bzpop(ctx, false)
}
fn bzpopmax(ctx: &mut Ctx) -> CmdResult {
    bzpop(ctx, true)
}

#[derive(Clone, Copy, PartialEq)]
enum Algebra {
    Union,
    Inter,
    Diff,
}

/// Reads a source of ZUNIONSTORE and friends: a sorted set, or a plain set
/// whose members all score 1.
fn read_source(ks: &mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<Vec<(SmallBytes, f64)>>, Error> {
    match ks.get(db, key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z.iter().map(|(m, s)| (m.clone(), s)).collect())),
        Some(Value::Set(s)) => Ok(Some(s.iter().map(|m| (m.clone(), 1.0)).collect())),
        Some(_) => Err(WRONGTYPE.into()),
    }
}

/// `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` from `at`.
fn combine(ctx: &mut Ctx, at: usize, op: Algebra, allow_withscores: bool) -> Result<(ZSet, bool), Error> {
    let db = ctx.db();
    let args = ctx.args;
    let n = int(args[at])?;
    if n <= 0 {
        return Err(format!("ERR at least 1 input key is needed for '{}' command", ctx.spec.name).into());
    }
    let n = n as usize;
    if args.len() < at + 1 + n {
        return Err(SYNTAX.into());
    }
    let keys = &args[at + 1..at + 1 + n];
    let mut weights = vec![1.0; n];
    let mut aggregate = "sum";
    let mut withscores = false;
    let mut i = at + 1 + n;
    while i < args.len() {
        if eq(args[i], "weights") && op != Algebra::Diff && i + n < args.len() {
            for (w, a) in weights.iter_mut().zip(&args[i + 1..i + 1 + n]) {
                *w = parse_f64(a).ok_or(Error::from("ERR weight value is not a float"))?;
            }
            i += n;
        } else if eq(args[i], "aggregate") && op != Algebra::Diff && i + 1 < args.len() {
            let a = args[i + 1];
            aggregate = ["sum", "min", "max"].into_iter().find(|x| eq(a, x)).ok_or(Error::from(SYNTAX))?;
            i += 1;
        } else if eq(args[i], "withscores") && allow_withscores {
            withscores = true;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let mut sources = Vec::with_capacity(n);
    for k in keys {
        sources.push(read_source(ctx.ks(), db, k)?.unwrap_or_default());
    }
    let agg = |a: f64, b: f64| {
        let r = match aggregate {
            "min" => a.min(b),
            "max" => a.max(b),
            _ => a + b,
        };
        if r.is_nan() { 0.0 } else { r }
    };
    let weighted = |s: f64, w: f64| {
        let r = s * w;
        if r.is_nan() { 0.0 } else { r }
    };
    let mut result = ZSet::default();
    match op {
        Algebra::Union => {
            for (src, w) in sources.iter().zip(&weights) {
                for (m, s) in src {
                    let v = weighted(*s, *w);
                    let new = result.score(m).map_or(v, |old| agg(old, v));
                    result.insert(m, new);
                }
            }
        }
        Algebra::Inter => {
            let lookups: Vec<hashbrown::HashMap<&[u8], f64>> =
                sources.iter().map(|src| src.iter().map(|(m, s)| (m.as_slice(), *s)).collect()).collect();
            for (m, s) in &sources[0] {
                let mut acc = weighted(*s, weights[0]);
                let mut everywhere = true;
                for (j, l) in lookups.iter().enumerate().skip(1) {
                    match l.get(m.as_slice()) {
                        Some(&s) => acc = agg(acc, weighted(s, weights[j])),
                        None => {
                            everywhere = false;
                            break;
                        }
                    }
                }
                if everywhere {
                    result.insert(m, acc);
                }
            }
        }
        Algebra::Diff => {
            let others: hashbrown::HashSet<&[u8]> = sources[1..].iter().flatten().map(|(m, _)| m.as_slice()).collect();
            for (m, s) in &sources[0] {
                if !others.contains(m.as_slice()) {
                    result.insert(m, *s);
                }
            }
        }
    }
    Ok((result, withscores))
}

fn store(ctx: &mut Ctx, op: Algebra) -> CmdResult {
    let dst = ctx.arg(1);
    let (result, _) = combine(ctx, 2, op, false)?;
    let n = result.len();
    store_result(ctx, dst, Value::ZSet(Box::new(result)), n);
    Ok(())
}

fn zunionstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Union)
}
fn zinterstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Inter)
}
fn zdiffstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Diff)
}

fn algebra_reply(ctx: &mut Ctx, op: Algebra) -> CmdResult {
    let (result, withscores) = combine(ctx, 1, op, true)?;
    let items: Vec<(&SmallBytes, f64)> = result.iter().collect();
    reply_members(ctx.out, &items, withscores);
    Ok(())
}

fn zunion(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Union)
}
fn zinter(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Inter)
}
fn zdiff(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Diff)
}

fn zintercard(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let (keys, limit) = super::sets::parse_intercard(ctx.args)?;
    let mut sources = Vec::new();
    for k in &keys {
        sources.push(read_source(ctx.ks(), db, k)?.unwrap_or_default());
    }
    let rest: Vec<hashbrown::HashSet<&[u8]>> =
        sources[1..].iter().map(|s| s.iter().map(|(m, _)| m.as_slice()).collect()).collect();
    let n = sources[0].iter().filter(|(m, _)| rest.iter().all(|r| r.contains(m.as_slice()))).count();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(int(c)?),
    };
    let withscores = match ctx.args.get(3) {
        None => false,
        Some(a) if eq(a, "withscores") && ctx.argc() == 4 => true,
        Some(_) => return Err(SYNTAX.into()),
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
        out.bulk(crate::resp::format_double(s).as_bytes());
    }
    Ok(())
}
