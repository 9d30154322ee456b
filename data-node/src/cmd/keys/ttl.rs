//! Key expiry: EXPIRE and its forms, TTL and its forms, PERSIST.

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error};

pub(super) fn expire_generic(ctx: &mut Ctx, unit_ms: i64, absolute: bool) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let n = int(ctx.arg(2))?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &ctx.args[3..] {
        if eq(a, "nx") {
            nx = true;
        } else if eq(a, "xx") {
            xx = true;
        } else if eq(a, "gt") {
            gt = true;
        } else if eq(a, "lt") {
            lt = true;
        } else {
            return Err(format!("ERR Unsupported option {}", String::from_utf8_lossy(a)).into());
        }
    }
    if nx && (xx || gt || lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if gt && lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    let now = ctx.ks().now() as i64;
    let invalid = || Error::from(format!("ERR invalid expire time in '{}' command", ctx.spec.name));
    let at = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute { at } else { at.checked_add(now).ok_or_else(invalid)? };
    let ks = ctx.ks();
    let Some(current) = ks.peek(db, key).map(|e| e.expires_at()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let has_ttl = current != 0;
    let refused = (nx && has_ttl)
        || (xx && !has_ttl)
        || (gt && (!has_ttl || at <= current as i64))
        || (lt && has_ttl && at >= current as i64);
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if at <= now {
        ks.remove(db, key);
    } else if let Some(mut e) = ks.get_mut(db, key) {
        e.set_expires_at(at as u64);
    }
    ctx.out.int(1);
    Ok(())
}

pub(super) fn expire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1000, false)
}

pub(super) fn pexpire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1, false)
}

pub(super) fn expireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1000, true)
}

pub(super) fn pexpireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, 1, true)
}

/// TTL-style replies: -2 for a missing key, -1 for no expiry, else `f(at, now)`.
pub(super) fn ttl_generic(ctx: &mut Ctx, f: fn(u64, u64) -> i64) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let now = ctx.ks().now();
    let reply = match ctx.ks().peek(db, key).map(|e| e.expires_at()) {
        None => -2,
        Some(0) => -1,
        Some(at) => f(at, now),
    };
    ctx.out.int(reply);
    Ok(())
}

pub(super) fn ttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, now| ((at.saturating_sub(now) + 500) / 1000) as i64)
}

pub(super) fn pttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, now| at.saturating_sub(now) as i64)
}

pub(super) fn expiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, _| (at / 1000) as i64)
}

pub(super) fn pexpiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, |at, _| at as i64)
}

pub(super) fn persist(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let ks = ctx.ks();
    let had_ttl = ks.peek(db, key).is_some_and(|e| e.expires_at() != 0);
    if had_ttl && let Some(mut e) = ks.get_mut(db, key) {
        e.set_expires_at(0);
    }
    ctx.out.int(had_ttl as i64);
    Ok(())
}
