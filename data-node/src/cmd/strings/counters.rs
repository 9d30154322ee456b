//! Counters: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.

use super::read_str;
use crate::cmd::Ctx;
use crate::cmd::args::{float, int, parse_i64};
use crate::cmd::error::{CmdResult, Error, NOT_INT, OVERFLOW};
use crate::keyspace::{Locked, SmallBytes, Value};
use crate::resp::format_double;

/// Replaces the string at `key`, keeping its TTL; creates it if absent.
pub(crate) fn store_keep_ttl(ks: &mut Locked<'_>, db: usize, key: &[u8], value: SmallBytes) {
    if !ks.exists(db, key) {
        ks.set(db, key, Value::Str(value), 0);
    } else if let Some(mut e) = ks.get_mut(db, key) {
        e.set_value(Value::Str(value));
    }
}

pub(super) fn incr_by(ctx: &mut Ctx, delta: i64) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    let current = match read_str(ks, db, key)? {
        None => 0,
        Some(s) => parse_i64(s).ok_or(Error::from(NOT_INT))?,
    };
    let next = current.checked_add(delta).ok_or(Error::from(OVERFLOW))?;
    let mut buf = Vec::with_capacity(20);
    buf.extend_from_slice(next.to_string().as_bytes());
    store_keep_ttl(ks, db, key, SmallBytes::from_vec(buf));
    out.int(next);
    Ok(())
}

pub(super) fn incr(ctx: &mut Ctx) -> CmdResult {
    incr_by(ctx, 1)
}

pub(super) fn decr(ctx: &mut Ctx) -> CmdResult {
    incr_by(ctx, -1)
}

pub(super) fn incrby(ctx: &mut Ctx) -> CmdResult {
    let d = int(ctx.arg(2))?;
    incr_by(ctx, d)
}

pub(super) fn decrby(ctx: &mut Ctx) -> CmdResult {
    let d = int(ctx.arg(2))?;
    if d == i64::MIN {
        return Err("ERR decrement would overflow".into());
    }
    incr_by(ctx, -d)
}

pub(super) fn incrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let delta = float(ctx.arg(2))?;
    let (ks, out) = ctx.parts();
    let current = match read_str(ks, db, key)? {
        None => 0.0,
        Some(s) => crate::cmd::args::parse_f64(s).ok_or(Error::from(crate::cmd::error::NOT_FLOAT))?,
    };
    let next = current + delta;
    if !next.is_finite() {
        return Err("ERR increment would produce NaN or Infinity".into());
    }
    let text = format_double(next);
    store_keep_ttl(ks, db, key, SmallBytes::new(text.as_bytes()));
    out.bulk(text.as_bytes());
    Ok(())
}
