//! Strings: GET, SET and its options, counters, ranges, bitmaps.

mod bitfield;
mod bits;
mod counters;
mod lcs;

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int, parse_i64};
use crate::cmd::error::{CmdResult, Error, NOT_INT, SYNTAX, WRONGTYPE};
use crate::cmd::spec::{ALL_KEYS_FROM1, KEY1, Keys, Spec, flag::*, spec};
use crate::keyspace::{Locked, SmallBytes, ValueMut, ValueRef};
pub(crate) use counters::store_keep_ttl;
use counters::{decr, decrby, incr, incrby, incrbyfloat};

const MAX_STRING: usize = 512 * 1024 * 1024;
const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
const PAIRS_FROM1: Keys = Keys::Range { first: 1, last: -1, step: 2 };

pub const COMMANDS: &[Spec] = &[
    spec!("get", 2, READONLY | FAST, KEY1, get),
    spec!("set", -3, WRITE | DENYOOM | RELATIVE_TTL, KEY1, set),
    spec!("setnx", 3, WRITE | DENYOOM | FAST, KEY1, setnx),
    spec!("setex", 4, WRITE | DENYOOM | RELATIVE_TTL, KEY1, setex),
    spec!("psetex", 4, WRITE | DENYOOM | RELATIVE_TTL, KEY1, psetex),
    spec!("getset", 3, WRITE | DENYOOM | FAST, KEY1, getset),
    spec!("getdel", 2, WRITE | FAST, KEY1, getdel),
    spec!("getex", -2, WRITE | FAST | RELATIVE_TTL, KEY1, getex),
    spec!("mget", -2, READONLY | FAST, ALL_KEYS_FROM1, mget),
    spec!("mset", -3, WRITE | DENYOOM, PAIRS_FROM1, mset),
    spec!("msetnx", -3, WRITE | DENYOOM, PAIRS_FROM1, msetnx),
    spec!("incr", 2, WRITE | DENYOOM | FAST, KEY1, incr),
    spec!("decr", 2, WRITE | DENYOOM | FAST, KEY1, decr),
    spec!("incrby", 3, WRITE | DENYOOM | FAST, KEY1, incrby),
    spec!("decrby", 3, WRITE | DENYOOM | FAST, KEY1, decrby),
    spec!("incrbyfloat", 3, WRITE | DENYOOM | FAST, KEY1, incrbyfloat),
    spec!("append", 3, WRITE | DENYOOM | FAST, KEY1, append),
    spec!("strlen", 2, READONLY | FAST, KEY1, strlen),
    spec!("getrange", 4, READONLY, KEY1, getrange),
    spec!("substr", 4, READONLY, KEY1, getrange),
    spec!("setrange", 4, WRITE | DENYOOM, KEY1, setrange),
    spec!("lcs", -3, READONLY, Keys::Range { first: 1, last: 2, step: 1 }, lcs::lcs),
    spec!("setbit", 4, WRITE | DENYOOM, KEY1, bits::setbit),
    spec!("getbit", 3, READONLY | FAST, KEY1, bits::getbit),
    spec!("bitcount", -2, READONLY, KEY1, bits::bitcount),
    spec!("bitpos", -3, READONLY, KEY1, bits::bitpos),
    spec!("bitfield", -2, WRITE | DENYOOM, KEY1, bitfield::bitfield),
    spec!("bitfield_ro", -2, READONLY | FAST, KEY1, bitfield::bitfield_ro),
    spec!("bitop", -4, WRITE | DENYOOM, Keys::Range { first: 2, last: -1, step: 1 }, bits::bitop),
];

/// The string at `key`, None if absent; WRONGTYPE for other types.
pub(crate) fn read_str<'k>(ks: &'k mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<&'k [u8]>, Error> {
    match ks.get(db, key) {
        None => Ok(None),
        Some(e) => match e.value() {
            ValueRef::Str(s) => Ok(Some(s)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// Changes the string at `key` in place through `change`, after padding it
/// with zero bytes to at least `len` (creating it if absent).
pub(crate) fn change_string<R>(
    ks: &mut Locked<'_>,
    db: usize,
    key: &[u8],
    len: usize,
    change: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, Error> {
    let long_enough = read_str(ks, db, key)?.is_some_and(|s| s.len() >= len);
    if long_enough
        && let Some(mut e) = ks.get_mut(db, key)
        && let ValueMut::Str(s) = e.value_mut()
    {
        return Ok(change(s));
    }
    let mut value = read_str(ks, db, key)?.map(<[u8]>::to_vec).unwrap_or_default();
    if value.len() < len {
        value.resize(len, 0);
    }
    let result = change(&mut value);
    store_keep_ttl(ks, db, key, SmallBytes::from_vec(value));
    Ok(result)
}

fn get(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.bulk_opt(read_str(ks, db, key)?);
    Ok(())
}

#[derive(PartialEq)]
enum Cond {
    Always,
    Nx,
    Xx,
}

/// Expiry options shared by SET and GETEX.
#[derive(PartialEq, Clone, Copy)]
enum Ttl {
    Unchanged,
    At(u64),
    Persist,
}

/// Parses EX/PX/EXAT/PXAT `value` at args[i] into an absolute unix ms time.
fn expire_at(unit: &[u8], value: &[u8], now: u64, cmd: &str) -> Result<u64, Error> {
    let n = parse_i64(value).ok_or(Error::from(NOT_INT))?;
    let invalid = || Error::from(format!("ERR invalid expire time in '{cmd}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let at = if eq(unit, "ex") {
        n.checked_mul(1000).and_then(|ms| ms.checked_add(now as i64))
    } else if eq(unit, "px") {
        n.checked_add(now as i64)
    } else if eq(unit, "exat") {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    at.filter(|&at| at > 0).map(|at| at as u64).ok_or_else(invalid)
}

fn set(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let mut cond = Cond::Always;
    let mut ttl = Ttl::Persist;
    let mut keep_ttl = false;
    let mut want_old = false;
    let mut i = 3;
    while i < ctx.argc() {
        let a = ctx.arg(i);
        let has_next = i + 1 < ctx.argc();
        if eq(a, "nx") && cond == Cond::Always {
            cond = Cond::Nx;
        } else if eq(a, "xx") && cond == Cond::Always {
            cond = Cond::Xx;
        } else if eq(a, "get") {
            want_old = true;
        } else if eq(a, "keepttl") && ttl == Ttl::Persist && !keep_ttl {
            keep_ttl = true;
        } else if ["ex", "px", "exat", "pxat"].iter().any(|u| eq(a, u)) && has_next && ttl == Ttl::Persist && !keep_ttl
        {
            // The clock is read only when an expiry needs it: a plain SET is common.
            let now = ctx.ks().now();
            ttl = Ttl::At(expire_at(a, ctx.arg(i + 1), now, "set")?);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let (ks, out) = ctx.parts();
    let old = if want_old { read_str(ks, db, key)?.map(<[u8]>::to_vec) } else { None };
    let exists = |ks: &mut Locked<'_>| if want_old { old.is_some() } else { ks.exists(db, key) };
    let allowed = match cond {
        Cond::Always => true,
        Cond::Nx => !exists(ks),
        Cond::Xx => exists(ks),
    };
    if allowed {
        let at = match ttl {
            Ttl::At(at) => at,
            _ if keep_ttl => ks.peek(db, key).map_or(0, |e| e.expires_at()),
            _ => 0,
        };
        ks.set_str(db, key, &[value], at);
    }
    if want_old {
        out.bulk_opt(old.as_deref());
    } else if allowed {
        out.ok();
    } else {
        out.null();
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    let absent = !ks.exists(db, key);
    if absent {
        ks.set_str(db, key, &[value], 0);
    }
    out.int(absent as i64);
    Ok(())
}

fn set_with_ttl(ctx: &mut Ctx, unit: &str, cmd: &str) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let now = ctx.ks().now();
    let at = expire_at(unit.as_bytes(), ctx.arg(2), now, cmd)?;
    ctx.ks().set_str(db, key, &[value], at);
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx) -> CmdResult {
    set_with_ttl(ctx, "ex", "setex")
}

fn psetex(ctx: &mut Ctx) -> CmdResult {
    set_with_ttl(ctx, "px", "psetex")
}

fn getset(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    let old = read_str(ks, db, key)?.map(<[u8]>::to_vec);
    ks.set_str(db, key, &[value], 0);
    out.bulk_opt(old.as_deref());
    Ok(())
}

fn getdel(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    let old = read_str(ks, db, key)?.map(<[u8]>::to_vec);
    if old.is_some() {
        ks.remove(db, key);
    }
    out.bulk_opt(old.as_deref());
    Ok(())
}

fn getex(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let now = ctx.ks().now();
    let mut ttl = Ttl::Unchanged;
    let mut i = 2;
    while i < ctx.argc() {
        let a = ctx.arg(i);
        if ["ex", "px", "exat", "pxat"].iter().any(|u| eq(a, u)) && i + 1 < ctx.argc() && ttl == Ttl::Unchanged {
            ttl = Ttl::At(expire_at(a, ctx.arg(i + 1), now, "getex")?);
            i += 1;
        } else if eq(a, "persist") && ttl == Ttl::Unchanged {
            ttl = Ttl::Persist;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    let (ks, out) = ctx.parts();
    let value = read_str(ks, db, key)?.map(<[u8]>::to_vec);
    if value.is_some() {
        match ttl {
            Ttl::Unchanged => {}
            Ttl::Persist => {
                if let Some(mut e) = ks.get_mut(db, key) {
                    e.set_expires_at(0)
                }
            }
            Ttl::At(at) if at <= now => {
                ks.remove(db, key);
            }
            Ttl::At(at) => {
                if let Some(mut e) = ks.get_mut(db, key) {
                    e.set_expires_at(at)
                }
            }
        }
    }
    out.bulk_opt(value.as_deref());
    Ok(())
}

fn mget(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let keys = &ctx.args[1..];
    let (ks, out) = ctx.parts();
    out.array(keys.len());
    for key in keys {
        match ks.get(db, key).map(|e| e.value()) {
            Some(ValueRef::Str(s)) => out.bulk(s),
            _ => out.null(),
        }
    }
    Ok(())
}

fn mset(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc().is_multiple_of(2) {
        return Err(super::error::wrong_arity(ctx.spec.name));
    }
    let db = ctx.db();
    for pair in ctx.args[1..].chunks(2) {
        ctx.ks().set_str(db, pair[0], &[pair[1]], 0);
    }
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc().is_multiple_of(2) {
        return Err(super::error::wrong_arity(ctx.spec.name));
    }
    let db = ctx.db();
    let pairs: Vec<&[&[u8]]> = ctx.args[1..].chunks(2).collect();
    let any_exists = pairs.iter().any(|p| ctx.ks().exists(db, p[0]));
    if !any_exists {
        for p in &pairs {
            ctx.ks().set_str(db, p[0], &[p[1]], 0);
        }
    }
    ctx.out.int(!any_exists as i64);
    Ok(())
}

fn append(ctx: &mut Ctx) -> CmdResult {
    let (db, key, tail) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (ks, out) = ctx.parts();
    let mut value = read_str(ks, db, key)?.map(<[u8]>::to_vec).unwrap_or_default();
    if value.len() + tail.len() > MAX_STRING {
        return Err(TOO_BIG.into());
    }
    value.extend_from_slice(tail);
    let len = value.len();
    store_keep_ttl(ks, db, key, SmallBytes::from_vec(value));
    out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.int(read_str(ks, db, key)?.map_or(0, |s| s.len()) as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (start, end) = (int(ctx.arg(2))?, int(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    let s = read_str(ks, db, key)?.unwrap_or(b"");
    // Redis's own clamping, which differs from LRANGE's for negative ends.
    if start < 0 && end < 0 && start > end {
        out.bulk(b"");
        return Ok(());
    }
    let len = s.len() as i64;
    let mut start = if start < 0 { (len + start).max(0) } else { start };
    let mut end = if end < 0 { (len + end).max(0) } else { end };
    if end >= len {
        end = len - 1;
    }
    if len == 0 || start > end {
        start = 0;
        end = -1;
    }
    out.bulk(&s[start as usize..(end + 1) as usize]);
    Ok(())
}

fn setrange(ctx: &mut Ctx) -> CmdResult {
    let (db, key, patch) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let offset = int(ctx.arg(2))?;
    if offset < 0 {
        return Err("ERR offset is out of range".into());
    }
    let offset = offset as usize;
    let (ks, out) = ctx.parts();
    let mut value = read_str(ks, db, key)?.map(<[u8]>::to_vec);
    if patch.is_empty() {
        out.int(value.map_or(0, |v| v.len()) as i64);
        return Ok(());
    }
    if offset + patch.len() > MAX_STRING {
        return Err(TOO_BIG.into());
    }
    let v = value.get_or_insert_with(Vec::new);
    if v.len() < offset + patch.len() {
        v.resize(offset + patch.len(), 0);
    }
    v[offset..offset + patch.len()].copy_from_slice(patch);
    let len = v.len();
    store_keep_ttl(ks, db, key, SmallBytes::from_vec(value.unwrap_or_default()));
    out.int(len as i64);
    Ok(())
}
