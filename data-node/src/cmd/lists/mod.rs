//! Lists, including the blocking pops.

mod blocking;

use crate::cmd::Ctx;
use crate::cmd::args::{clamp_range, eq, int};
use crate::cmd::error::{CmdResult, Error, NO_SUCH_KEY, NOT_POSITIVE, OUT_OF_RANGE, SYNTAX};
use crate::cmd::spec::{KEY1, KEY12, Keys, Spec, flag::*, spec};
use crate::cmd::typed::{as_list, create_list, read_list, write_list};
use crate::keyspace::{Locked, SmallBytes};
use blocking::{blmove, blmpop, blpop, brpop, brpoplpush, lmove, lmpop, rpoplpush};

const BLOCK_KEYS: Keys = Keys::Range { first: 1, last: -2, step: 1 };

pub const COMMANDS: &[Spec] = &[
    spec!("lpush", -3, WRITE | DENYOOM | FAST, KEY1, lpush),
    spec!("rpush", -3, WRITE | DENYOOM | FAST, KEY1, rpush),
    spec!("lpushx", -3, WRITE | DENYOOM | FAST, KEY1, lpushx),
    spec!("rpushx", -3, WRITE | DENYOOM | FAST, KEY1, rpushx),
    spec!("lpop", -2, WRITE | FAST, KEY1, lpop),
    spec!("rpop", -2, WRITE | FAST, KEY1, rpop),
    spec!("llen", 2, READONLY | FAST, KEY1, llen),
    spec!("lrange", 4, READONLY, KEY1, lrange),
    spec!("lindex", 3, READONLY, KEY1, lindex),
    spec!("lset", 4, WRITE | DENYOOM, KEY1, lset),
    spec!("linsert", 5, WRITE | DENYOOM, KEY1, linsert),
    spec!("lrem", 4, WRITE, KEY1, lrem),
    spec!("ltrim", 4, WRITE, KEY1, ltrim),
    spec!("lpos", -3, READONLY, KEY1, lpos),
    spec!("lmove", 5, WRITE | DENYOOM, KEY12, lmove),
    spec!("rpoplpush", 3, WRITE | DENYOOM, KEY12, rpoplpush),
    spec!("lmpop", -4, WRITE, Keys::NumKeys { at: 1, dest: 0 }, lmpop),
    spec!("blpop", -3, WRITE | BLOCKING, BLOCK_KEYS, blpop),
    spec!("brpop", -3, WRITE | BLOCKING, BLOCK_KEYS, brpop),
    spec!("blmove", 6, WRITE | DENYOOM | BLOCKING, KEY12, blmove),
    spec!("brpoplpush", 4, WRITE | DENYOOM | BLOCKING, KEY12, brpoplpush),
    spec!("blmpop", -5, WRITE | BLOCKING, Keys::NumKeys { at: 2, dest: 0 }, blmpop),
];

#[derive(Clone, Copy, PartialEq)]
enum End {
    Left,
    Right,
}

fn parse_end(b: &[u8]) -> Result<End, Error> {
    if eq(b, "left") {
        Ok(End::Left)
    } else if eq(b, "right") {
        Ok(End::Right)
    } else {
        Err(SYNTAX.into())
    }
}

fn push(ctx: &mut Ctx, end: End, only_existing: bool) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let values = &ctx.args[2..];
    let len = {
        let ks = ctx.ks();
        let entry = if only_existing { write_list(ks, db, key)? } else { Some(create_list(ks, db, key)?) };
        match entry {
            None => 0,
            Some(mut e) => {
                let l = as_list(&mut e);
                for v in values {
                    match end {
                        End::Left => l.push_front(v),
                        End::Right => l.push_back(v),
                    }
                }
                l.len()
            }
        }
    };
    ctx.out.int(len as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Left, false)
}
fn rpush(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Right, false)
}
fn lpushx(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Left, true)
}
fn rpushx(ctx: &mut Ctx) -> CmdResult {
    push(ctx, End::Right, true)
}

/// Pops up to `n` elements; None when the key is absent.
fn pop_n(ks: &mut Locked<'_>, db: usize, key: &[u8], end: End, n: usize) -> Result<Option<Vec<SmallBytes>>, Error> {
    let Some(mut e) = write_list(ks, db, key)? else { return Ok(None) };
    let l = as_list(&mut e);
    let mut out = Vec::with_capacity(n.min(l.len()));
    while out.len() < n {
        let v = match end {
            End::Left => l.pop_front(),
            End::Right => l.pop_back(),
        };
        match v {
            Some(v) => out.push(v),
            None => break,
        }
    }
    Ok(Some(out))
}

fn pop(ctx: &mut Ctx, end: End) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let count = match ctx.args.get(2) {
        None => None,
        Some(c) => Some(usize::try_from(int(c)?).map_err(|_| Error::from(NOT_POSITIVE))?),
    };
    if ctx.argc() > 3 {
        return Err(super::error::wrong_arity(ctx.spec.name));
    }
    let popped = pop_n(ctx.ks(), db, key, end, count.unwrap_or(1))?;
    let out = &mut *ctx.out;
    match (popped, count) {
        (None, None) => out.null(),
        (None, Some(_)) => out.null_array(),
        (Some(v), None) => out.bulk_opt(v.first().map(|v| v.as_slice())),
        (Some(v), Some(_)) => out.bulks(v.iter().map(|v| v.as_slice())),
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx) -> CmdResult {
    pop(ctx, End::Left)
}
fn rpop(ctx: &mut Ctx) -> CmdResult {
    pop(ctx, End::Right)
}

fn llen(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (ks, out) = ctx.parts();
    out.int(read_list(ks, db, key)?.map_or(0, |l| l.len()) as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (start, end) = (int(ctx.arg(2))?, int(ctx.arg(3))?);
    let (ks, out) = ctx.parts();
    let Some(l) = read_list(ks, db, key)? else {
        out.array(0);
        return Ok(());
    };
    match clamp_range(start, end, l.len()) {
        None => out.array(0),
        Some((a, b)) => out.bulks(l.iter().skip(a).take(b - a + 1).map(|v| v.as_slice())),
    }
    Ok(())
}

fn index_of(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let i = int(ctx.arg(2))?;
    let (ks, out) = ctx.parts();
    let v = read_list(ks, db, key)?.and_then(|l| index_of(i, l.len()).and_then(|i| l.get(i)));
    out.bulk_opt(v.map(|v| v.as_slice()));
    Ok(())
}

fn lset(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let i = int(ctx.arg(2))?;
    let Some(mut e) = write_list(ctx.ks(), db, key)? else { return Err(NO_SUCH_KEY.into()) };
    let l = as_list(&mut e);
    let i = index_of(i, l.len()).ok_or(Error::from(OUT_OF_RANGE))?;
    l.set(i, value);
    drop(e);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx) -> CmdResult {
    let (db, key, pivot, value) = (ctx.db(), ctx.arg(1), ctx.arg(3), ctx.arg(4));
    let after = if eq(ctx.arg(2), "after") {
        true
    } else if eq(ctx.arg(2), "before") {
        false
    } else {
        return Err(SYNTAX.into());
    };
    let n = match write_list(ctx.ks(), db, key)? {
        None => 0,
        Some(mut e) => {
            let l = as_list(&mut e);
            let pos = l.iter().position(|v| v.as_slice() == pivot);
            match pos {
                None => -1,
                Some(i) => {
                    l.insert(if after { i + 1 } else { i }, value);
                    l.len() as i64
                }
            }
        }
    };
    ctx.out.int(n);
    Ok(())
}

fn lrem(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let count = int(ctx.arg(2))?;
    let removed = match write_list(ctx.ks(), db, key)? {
        None => 0,
        Some(mut e) => {
            let l = as_list(&mut e);
            let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
            let mut hits: Vec<usize> =
                l.iter().enumerate().filter(|(_, v)| v.as_slice() == value).map(|(i, _)| i).collect();
            if count < 0 {
                hits.reverse();
            }
            hits.truncate(limit);
            hits.sort_unstable_by(|a, b| b.cmp(a));
            for i in &hits {
                l.remove(*i);
            }
            hits.len()
        }
    };
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let (start, end) = (int(ctx.arg(2))?, int(ctx.arg(3))?);
    if let Some(mut e) = write_list(ctx.ks(), db, key)? {
        let l = as_list(&mut e);
        match clamp_range(start, end, l.len()) {
            Some((a, b)) => l.retain_range(a, b),
            None => l.retain_range(1, 0),
        }
    }
    ctx.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx) -> CmdResult {
    let (db, key, value) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < ctx.argc() {
        let Some(v) = ctx.args.get(i + 1) else { return Err(SYNTAX.into()) };
        let n = int(v)?;
        let opt = ctx.arg(i);
        if eq(opt, "rank") {
            if n == 0 || n == i64::MIN {
                return Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list".into());
            }
            rank = n;
        } else if eq(opt, "count") {
            if n < 0 {
                return Err("ERR COUNT can't be negative".into());
            }
            count = Some(n as usize);
        } else if eq(opt, "maxlen") {
            if n < 0 {
                return Err("ERR MAXLEN can't be negative".into());
            }
            maxlen = n as usize;
        } else {
            return Err(SYNTAX.into());
        }
        i += 2;
    }
    let (ks, out) = ctx.parts();
    let l = read_list(ks, db, key)?;
    let mut found = Vec::new();
    if let Some(l) = l {
        let len = l.len();
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        let want = match count {
            Some(0) => usize::MAX,
            Some(c) => c,
            None => 1,
        };
        let mut skip = rank.unsigned_abs() as usize - 1;
        let positions: Box<dyn Iterator<Item = (usize, &SmallBytes)>> = if rank > 0 {
            Box::new(l.iter().enumerate().take(limit))
        } else {
            Box::new(l.iter().enumerate().rev().take(limit))
        };
        for (pos, v) in positions {
            if v.as_slice() == value {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                found.push(pos as i64);
                if found.len() >= want {
                    break;
                }
            }
        }
    }
    match count {
        None => match found.first() {
            Some(p) => out.int(*p),
            None => out.null(),
        },
        Some(_) => {
            out.array(found.len());
            for p in found {
                out.int(p);
            }
        }
    }
    Ok(())
}
