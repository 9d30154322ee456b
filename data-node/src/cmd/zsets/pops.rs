//! Sorted-set pops: ZPOPMIN, ZPOPMAX, ZMPOP and their blocking forms.

use super::ranges::reply_members;
use crate::cmd::Ctx;
use crate::cmd::args::{eq, int, mpop_args, timeout_deadline};
use crate::cmd::error::{CmdResult, Error, NOT_POSITIVE, SYNTAX};
use crate::cmd::typed::{as_zset, write_zset};
use crate::keyspace::{Locked, SmallBytes};

pub(super) fn pop_n(
    ks: &mut Locked<'_>,
    db: usize,
    key: &[u8],
    max: bool,
    n: usize,
) -> Result<Vec<(SmallBytes, f64)>, Error> {
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

pub(super) fn zpop(ctx: &mut Ctx, max: bool) -> CmdResult {
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

pub(super) fn zpopmin(ctx: &mut Ctx) -> CmdResult {
    zpop(ctx, false)
}
pub(super) fn zpopmax(ctx: &mut Ctx) -> CmdResult {
    zpop(ctx, true)
}

pub(super) fn bzpop(ctx: &mut Ctx, max: bool) -> CmdResult {
    let db = ctx.db();
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(ctx.argc() - 1), now)?;
    let keys = &ctx.args[1..ctx.argc() - 1];
    let woken = ctx.session.woken;
    for key in keys {
        let popped = crate::cmd::error::or_still_blocked(pop_n(ctx.ks(), db, key, max, 1), woken, Vec::new())?;
        if let Some((m, s)) = popped.into_iter().next_back() {
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

pub(super) fn bzpopmin(ctx: &mut Ctx) -> CmdResult {
    bzpop(ctx, false)
}
pub(super) fn bzpopmax(ctx: &mut Ctx) -> CmdResult {
    bzpop(ctx, true)
}

/// ZMPOP / BZMPOP: up to `count` members from the first non-empty key,
/// answered as [key, [[member, score], ...]] and replicated as ZPOPMIN/ZPOPMAX.
fn mpop(ctx: &mut Ctx, at: usize, deadline: Option<u64>) -> CmdResult {
    let db = ctx.db();
    let (keys, which, count) = mpop_args(ctx.args, at)?;
    let max = match which {
        w if eq(w, "min") => false,
        w if eq(w, "max") => true,
        _ => return Err(SYNTAX.into()),
    };
    let woken = ctx.session.woken;
    for key in keys {
        let popped = crate::cmd::error::or_still_blocked(pop_n(ctx.ks(), db, key, max, count), woken, Vec::new())?;
        if popped.is_empty() {
            continue;
        }
        let pop = if max { "ZPOPMAX" } else { "ZPOPMIN" };
        ctx.propagate_as = Some(vec![pop.into(), key.to_vec(), popped.len().to_string().into_bytes()]);
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(popped.len());
        for (m, s) in &popped {
            ctx.out.array(2);
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
        return Ok(());
    }
    match deadline {
        Some(deadline) if !ctx.no_block => Err(Error::Block { deadline }),
        _ => {
            ctx.out.null_array();
            Ok(())
        }
    }
}

pub(super) fn zmpop(ctx: &mut Ctx) -> CmdResult {
    mpop(ctx, 1, None)
}

pub(super) fn bzmpop(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(1), now)?;
    mpop(ctx, 2, Some(deadline))
}
