//! Sorted-set algebra: ZUNION, ZINTER, ZDIFF (and their STORE forms), ZINTERCARD.

use super::ranges::reply_members;
use crate::cmd::Ctx;
use crate::cmd::args::{eq, int, parse_f64};
use crate::cmd::error::{CmdResult, Error, SYNTAX, WRONGTYPE};
use crate::cmd::typed::store_result;
use crate::keyspace::{Locked, SmallBytes, Value, ValueRef, ZSet};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Algebra {
    Union,
    Inter,
    Diff,
}

/// Reads a source of ZUNIONSTORE and friends: a sorted set, or a plain set
/// whose members all score 1.
pub(super) fn read_source(ks: &mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<Vec<(SmallBytes, f64)>>, Error> {
    match ks.get(db, key).map(|e| e.value()) {
        None => Ok(None),
        Some(ValueRef::ZSet(z)) => Ok(Some(z.iter().map(|(m, s)| (m.clone(), s)).collect())),
        Some(ValueRef::Set(s)) => Ok(Some(s.iter().map(|m| (m.clone(), 1.0)).collect())),
        Some(_) => Err(WRONGTYPE.into()),
    }
}

/// `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` from `at`.
pub(super) fn combine(ctx: &mut Ctx, at: usize, op: Algebra, allow_withscores: bool) -> Result<(ZSet, bool), Error> {
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

pub(super) fn store(ctx: &mut Ctx, op: Algebra) -> CmdResult {
    let dst = ctx.arg(1);
    let (result, _) = combine(ctx, 2, op, false)?;
    let n = result.len();
    store_result(ctx, dst, Value::ZSet(Box::new(result)), n);
    Ok(())
}

pub(super) fn zunionstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Union)
}
pub(super) fn zinterstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Inter)
}
pub(super) fn zdiffstore(ctx: &mut Ctx) -> CmdResult {
    store(ctx, Algebra::Diff)
}

pub(super) fn algebra_reply(ctx: &mut Ctx, op: Algebra) -> CmdResult {
    let (result, withscores) = combine(ctx, 1, op, true)?;
    let items: Vec<(&SmallBytes, f64)> = result.iter().collect();
    reply_members(ctx.out, &items, withscores);
    Ok(())
}

pub(super) fn zunion(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Union)
}
pub(super) fn zinter(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Inter)
}
pub(super) fn zdiff(ctx: &mut Ctx) -> CmdResult {
    algebra_reply(ctx, Algebra::Diff)
}

pub(super) fn zintercard(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let (keys, limit) = crate::cmd::sets::parse_intercard(ctx.args, ctx.spec.name)?;
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
