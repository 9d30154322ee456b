//! Sorted-set ranges by rank, score and lex: ZRANGE and its older forms, ZCOUNT, ZLEXCOUNT, ZRANK, ZREMRANGEBY*.

use crate::cmd::Ctx;
use crate::cmd::args::{clamp_range, eq, int, parse_f64};
use crate::cmd::error::{CmdResult, Error, SYNTAX};
use crate::cmd::typed::{as_zset, read_zset, write_zset};
use crate::keyspace::{SmallBytes, ZSet};
use crate::resp::Reply;
use std::ops::Bound;

pub(super) fn score_bound(b: &[u8]) -> Result<Bound<f64>, Error> {
    let bad = || Error::from("ERR min or max is not a float");
    match b.split_first() {
        Some((b'(', rest)) => Ok(Bound::Excluded(parse_f64(rest).ok_or_else(bad)?)),
        _ => Ok(Bound::Included(parse_f64(b).ok_or_else(bad)?)),
    }
}

#[derive(Clone, Copy)]
pub(super) enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

pub(super) fn lex_bound(b: &[u8]) -> Result<Lex<'_>, Error> {
    match b.split_first() {
        Some((b'-', [])) => Ok(Lex::Min),
        Some((b'+', [])) => Ok(Lex::Max),
        Some((b'[', rest)) => Ok(Lex::Incl(rest)),
        Some((b'(', rest)) => Ok(Lex::Excl(rest)),
        _ => Err("ERR min or max not valid string range item".into()),
    }
}

pub(super) fn above_min(m: &[u8], min: Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(v) => m >= v,
        Lex::Excl(v) => m > v,
    }
}

pub(super) fn below_max(m: &[u8], max: Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(v) => m <= v,
        Lex::Excl(v) => m < v,
    }
}

pub(super) fn by_lex<'z>(z: &'z ZSet, min: Lex, max: Lex) -> Vec<(&'z SmallBytes, f64)> {
    z.iter().filter(|(m, _)| above_min(m, min) && below_max(m, max)).collect()
}

pub(super) fn zcount(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (min, max) = (score_bound(ctx.arg(2))?, score_bound(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    out.int(read_zset(ks, db, key)?.map_or(0, |z| z.range_by_score(min, max).len()) as i64);
    Ok(())
}

pub(super) fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (min, max) = (lex_bound(ctx.arg(2))?, lex_bound(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    out.int(read_zset(ks, db, key)?.map_or(0, |z| by_lex(z, min, max).len()) as i64);
    Ok(())
}

pub(super) fn rank(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let (db, key, m) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    let r = read_zset(ks, db, key)?.and_then(|z| z.rank(m).map(|r| if rev { z.len() - 1 - r } else { r }));
    match r {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

pub(super) fn zrank(ctx: &mut Ctx) -> CmdResult {
    rank(ctx, false)
}
pub(super) fn zrevrank(ctx: &mut Ctx) -> CmdResult {
    rank(ctx, true)
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum By {
    Rank,
    Score,
    Lex,
}

pub(super) struct RangeQuery<'a> {
    by: By,
    rev: bool,
    start: &'a [u8],
    stop: &'a [u8],
    limit: Option<(i64, i64)>,
    withscores: bool,
}

/// Parses the options after `key start stop` for ZRANGE and its older forms.
pub(super) fn parse_range<'a>(args: &[&'a [u8]], by: By, rev: bool, allow_by: bool) -> Result<RangeQuery<'a>, Error> {
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
pub(super) fn run_range<'z>(z: &'z ZSet, q: &RangeQuery) -> Result<Vec<(&'z SmallBytes, f64)>, Error> {
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

pub(super) fn reply_members(out: &mut Reply, items: &[(&SmallBytes, f64)], withscores: bool) {
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

pub(super) fn range_generic(ctx: &mut Ctx, by: By, rev: bool, allow_by: bool) -> CmdResult {
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

pub(super) fn zrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Rank, false, true)
}
pub(super) fn zrevrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Rank, true, false)
}
pub(super) fn zrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Score, false, false)
}
pub(super) fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Score, true, false)
}
pub(super) fn zrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Lex, false, false)
}
pub(super) fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, By::Lex, true, false)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub(super) fn zrangestore(ctx: &mut Ctx) -> CmdResult {
    let (db, src, dst) = (ctx.db(), ctx.arg(2), ctx.arg(1));
    let q = parse_range(&ctx.args[1..], By::Rank, false, true)?;
    if q.withscores {
        return Err(SYNTAX.into());
    }
    let mut result = ZSet::default();
    match read_zset(ctx.ks(), db, src)? {
        None => {
            run_range(&ZSet::default(), &q)?;
        }
        Some(z) => {
            for (m, s) in run_range(z, &q)? {
                result.insert(m, s);
            }
        }
    }
    let len = result.len();
    crate::cmd::typed::store_result(ctx, dst, crate::keyspace::Value::ZSet(Box::new(result)), len);
    Ok(())
}

pub(super) fn remrange(ctx: &mut Ctx, by: By) -> CmdResult {
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

pub(super) fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Rank)
}
pub(super) fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Score)
}
pub(super) fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    remrange(ctx, By::Lex)
}
