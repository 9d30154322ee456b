//! Moves between lists and the pops that may block: LMOVE, BLMOVE, RPOPLPUSH, BLPOP, BRPOP, LMPOP, BLMPOP.

use super::{End, parse_end, pop_n};
use crate::cmd::Ctx;
use crate::cmd::args::{mpop_args, timeout_deadline};
use crate::cmd::error::{CmdResult, Error};
use crate::cmd::typed::{as_list, create_list, read_list};
use crate::keyspace::{Locked, SmallBytes};

/// Moves one element; None when the source is empty. The destination's type
/// is checked before anything is popped.
pub(super) fn move_one(
    ks: &mut Locked<'_>,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<SmallBytes>, Error> {
    if read_list(ks, db, src)?.is_none() {
        return Ok(None);
    }
    read_list(ks, db, dst)?;
    let Some(v) = pop_n(ks, db, src, from, 1)?.and_then(|mut v| v.pop()) else { return Ok(None) };
    let mut e = create_list(ks, db, dst)?;
    let l = as_list(&mut e);
    match to {
        End::Left => l.push_front(&v),
        End::Right => l.push_back(&v),
    }
    Ok(Some(v))
}

pub(super) fn lmove_generic(ctx: &mut Ctx, from: End, to: End, deadline: Option<u64>) -> CmdResult {
    let (db, src, dst) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let moved = move_one(ctx.ks(), db, src, dst, from, to)?;
    match (moved, deadline) {
        (Some(v), _) => ctx.out.bulk(&v),
        (None, Some(deadline)) if !ctx.no_block => return Err(Error::Block { deadline }),
        (None, _) => ctx.out.null(),
    }
    Ok(())
}

pub(super) fn lmove(ctx: &mut Ctx) -> CmdResult {
    let (from, to) = (parse_end(ctx.arg(3))?, parse_end(ctx.arg(4))?);
    lmove_generic(ctx, from, to, None)
}

pub(super) fn rpoplpush(ctx: &mut Ctx) -> CmdResult {
    lmove_generic(ctx, End::Right, End::Left, None)
}

pub(super) fn blmove(ctx: &mut Ctx) -> CmdResult {
    let (from, to) = (parse_end(ctx.arg(3))?, parse_end(ctx.arg(4))?);
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(5), now)?;
    lmove_generic(ctx, from, to, Some(deadline))
}

pub(super) fn brpoplpush(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(3), now)?;
    lmove_generic(ctx, End::Right, End::Left, Some(deadline))
}

pub(super) fn bpop(ctx: &mut Ctx, end: End) -> CmdResult {
    let db = ctx.db();
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(ctx.argc() - 1), now)?;
    let keys = &ctx.args[1..ctx.argc() - 1];
    let woken = ctx.session.woken;
    for key in keys {
        let popped = crate::cmd::error::or_still_blocked(pop_n(ctx.ks(), db, key, end, 1), woken, None)?;
        if let Some(v) = popped.and_then(|mut v| v.pop()) {
            ctx.out.array(2);
            ctx.out.bulk(key);
            ctx.out.bulk(&v);
            return Ok(());
        }
    }
    if ctx.no_block {
        ctx.out.null_array();
        return Ok(());
    }
    Err(Error::Block { deadline })
}

pub(super) fn blpop(ctx: &mut Ctx) -> CmdResult {
    bpop(ctx, End::Left)
}
pub(super) fn brpop(ctx: &mut Ctx) -> CmdResult {
    bpop(ctx, End::Right)
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at `at`.
pub(super) fn mpop(ctx: &mut Ctx, at: usize, deadline: Option<u64>) -> CmdResult {
    let db = ctx.db();
    let (keys, which, count) = mpop_args(ctx.args, at)?;
    let end = parse_end(which)?;
    let woken = ctx.session.woken;
    for key in keys {
        if let Some(v) = crate::cmd::error::or_still_blocked(pop_n(ctx.ks(), db, key, end, count), woken, None)?
            && !v.is_empty()
        {
            ctx.out.array(2);
            ctx.out.bulk(key);
            ctx.out.bulks(v.iter().map(|v| v.as_slice()));
            return Ok(());
        }
    }
    match deadline {
        Some(deadline) if !ctx.no_block => Err(Error::Block { deadline }),
        _ => {
            ctx.out.null_array();
            Ok(())
        }
    }
}

pub(super) fn lmpop(ctx: &mut Ctx) -> CmdResult {
    mpop(ctx, 1, None)
}

pub(super) fn blmpop(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.ks().now();
    let deadline = timeout_deadline(ctx.arg(1), now)?;
    mpop(ctx, 2, Some(deadline))
}
