//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. The
//! sketches are strings in redis-server's own format (`sketch`), so they
//! move between us and redis-server by RDB, DUMP/RESTORE and replication.

mod sketch;

use std::sync::atomic::Ordering;

use crate::cmd::Ctx;
use crate::cmd::args::eq;
use crate::cmd::error::{CmdResult, Error, unknown_subcommand};
use crate::cmd::spec::{ALL_KEYS_FROM1, KEY1, Keys, NO_KEYS, Spec, flag::*, spec};
use crate::cmd::strings::{change_string, read_str, store_keep_ttl};
use crate::keyspace::{Locked, SmallBytes};
use sketch::{Corrupt, NotHll, REGISTERS};

pub const COMMANDS: &[Spec] = &[
    spec!("pfadd", -2, WRITE | DENYOOM | FAST, KEY1, pfadd),
    spec!("pfcount", -2, READONLY | MAY_REPLICATE, ALL_KEYS_FROM1, pfcount),
    spec!("pfmerge", -2, WRITE | DENYOOM, ALL_KEYS_FROM1, pfmerge),
    spec!("pfdebug", 3, WRITE | DENYOOM | ADMIN, Keys::Range { first: 2, last: 2, step: 1 }, pfdebug),
    spec!("pfselftest", 1, ADMIN, NO_KEYS, pfselftest),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";

impl From<NotHll> for Error {
    fn from(_: NotHll) -> Error {
        NOT_HLL.into()
    }
}

impl From<Corrupt> for Error {
    fn from(_: Corrupt) -> Error {
        INVALID.into()
    }
}

/// The HyperLogLog at `key`; None when absent.
fn read<'k>(ks: &'k mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<&'k [u8]>, Error> {
    let value = read_str(ks, db, key)?;
    if let Some(bytes) = value {
        sketch::check(bytes)?;
    }
    Ok(value)
}

/// Replaces the bytes at `key`, keeping its TTL; creates it if absent.
fn store(ks: &mut Locked<'_>, db: usize, key: &[u8], hll: Vec<u8>) {
    store_keep_ttl(ks, db, key, SmallBytes::from_vec(hll));
}

/// The bytes at `key` to change in place (the caller checked it is a HyperLogLog).
fn in_place(ks: &mut Locked<'_>, db: usize, key: &[u8], change: impl FnOnce(&mut [u8])) -> Result<(), Error> {
    change_string(ks, db, key, 0, change)
}

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.server.live().hll_sparse_max_bytes.load(Ordering::Relaxed) as usize
}

fn pfadd(ctx: &mut Ctx) -> CmdResult {
    let (db, key, elements) = (ctx.db(), ctx.arg(1), &ctx.args[2..]);
    let sparse_max = sparse_max(ctx);
    let ks = ctx.ks();
    let updated = match read(ks, db, key)? {
        None => {
            let mut hll = sketch::new_sparse();
            for element in elements {
                sketch::add(&mut hll, element, sparse_max)?;
            }
            store(ks, db, key, hll);
            true
        }
        Some(dense) if sketch::is_dense(dense) => {
            // Registers only ever grow: look first, write (and wake watchers) only on growth.
            let patterns: Vec<(usize, u8)> = elements.iter().map(|e| sketch::pattern(e)).collect();
            let grows = patterns.iter().any(|&(i, count)| count > sketch::dense_register(dense, i));
            if grows {
                in_place(ks, db, key, |hll| {
                    for (i, count) in patterns {
                        sketch::dense_raise_in_place(hll, i, count);
                    }
                })?;
            }
            grows
        }
        Some(sparse) => {
            let mut hll = sparse.to_vec();
            let mut updated = false;
            for element in elements {
                updated |= sketch::add(&mut hll, element, sparse_max)?;
            }
            if updated {
                store(ks, db, key, hll);
            }
            updated
        }
    };
    ctx.out.int(updated as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    if ctx.argc() > 2 {
        let mut union = vec![0u8; REGISTERS];
        for key in &ctx.args[1..] {
            if let Some(hll) = read(ctx.ks(), db, key)? {
                sketch::merge_into(&mut union, hll)?;
            }
        }
        ctx.out.int(sketch::count_registers(&union) as i64);
        return Ok(());
    }
    let key = ctx.arg(1);
    let ks = ctx.ks();
    let card = match read(ks, db, key)? {
        None => 0,
        Some(hll) => match sketch::cached(hll) {
            Some(card) => card,
            None => {
                let card = sketch::count(hll)?;
                in_place(ks, db, key, |hll| sketch::set_cache(hll, card))?;
                card
            }
        },
    };
    ctx.out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx) -> CmdResult {
    let (db, dst) = (ctx.db(), ctx.arg(1));
    let sparse_max = sparse_max(ctx);
    let mut union = vec![0u8; REGISTERS];
    let mut any_dense = false;
    for key in &ctx.args[1..] {
        if let Some(hll) = read(ctx.ks(), db, key)? {
            any_dense |= sketch::is_dense(hll);
            sketch::merge_into(&mut union, hll)?;
        }
    }
    let ks = ctx.ks();
    let mut hll = read(ks, db, dst)?.map_or_else(sketch::new_sparse, <[u8]>::to_vec);
    if any_dense {
        sketch::to_dense(&mut hll)?;
    }
    for (i, &count) in union.iter().enumerate().filter(|(_, c)| **c > 0) {
        sketch::raise(&mut hll, i, count, sparse_max)?;
    }
    sketch::invalidate_cache(&mut hll);
    store(ks, db, dst, hll);
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key, as redis-server answers.
fn pfdebug(ctx: &mut Ctx) -> CmdResult {
    let (sub, db, key) = (ctx.arg(1), ctx.db(), ctx.arg(2));
    let ks = ctx.ks();
    let Some(hll) = read(ks, db, key)? else { return Err("ERR The specified key does not exist".into()) };
    let dense = sketch::is_dense(hll);
    if eq(sub, "getreg") {
        let mut hll = hll.to_vec();
        sketch::to_dense(&mut hll)?;
        let registers = sketch::registers(&hll)?;
        if !dense {
            store(ks, db, key, hll);
        }
        ctx.out.array(registers.len());
        registers.iter().for_each(|&r| ctx.out.int(i64::from(r)));
    } else if eq(sub, "decode") {
        if dense {
            return Err("ERR HLL encoding is not sparse".into());
        }
        let text = sketch::decode(hll);
        ctx.out.bulk(text.as_bytes());
    } else if eq(sub, "encoding") {
        ctx.out.simple(if dense { "dense" } else { "sparse" });
    } else if eq(sub, "todense") {
        if !dense {
            let mut hll = hll.to_vec();
            sketch::to_dense(&mut hll)?;
            store(ks, db, key, hll);
        }
        ctx.out.int(i64::from(!dense));
    } else {
        return Err(unknown_subcommand(sub, "PFDEBUG"));
    }
    Ok(())
}

/// Redis's self test: dense registers keep what is stored in them, and
/// sparse and dense sketches agree, within the expected error, from 1 to
/// 10 million elements.
fn pfselftest(ctx: &mut Ctx) -> CmdResult {
    let sparse_max = sparse_max(ctx);
    match selftest(sparse_max) {
        Ok(()) => ctx.out.ok(),
        Err(why) => ctx.out.error(&format!("TESTFAILED {why}")),
    }
    Ok(())
}

fn selftest(sparse_max: usize) -> Result<(), String> {
    let mut seed = crate::rand::next_u64() | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut dense = sketch::new_sparse();
    sketch::to_dense(&mut dense).map_err(|_| "dense conversion failed".to_string())?;
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expected.iter_mut().enumerate() {
            *e = (next() & 63) as u8;
            sketch::dense_set(&mut dense[sketch::HEADER..], i, *e);
        }
        for (i, e) in expected.iter().enumerate() {
            let got = sketch::dense_register(&dense, i);
            if got != *e {
                return Err(format!("Register error, counter {i} should be {e} but is {got}"));
            }
        }
    }
    dense[sketch::HEADER..].fill(0);
    let mut sparse = sketch::new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let salt = next();
    let mut checkpoint = 1u64;
    for j in 1..=10_000_000u64 {
        let element = (j ^ salt).to_le_bytes();
        let (i, count) = sketch::pattern(&element);
        sketch::dense_raise_in_place(&mut dense, i, count);
        sketch::add(&mut sparse, &element, sparse_max).map_err(|_| "sparse corrupted".to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < sparse_max as u64 / 2 && sketch::is_dense(&sparse) {
            return Err("sparse encoding not used".into());
        }
        let card = sketch::count(&dense).map_err(|_| "dense corrupted".to_string())?;
        if sketch::count(&sparse).ok() != Some(card) {
            return Err("dense/sparse disagree".into());
        }
        let max_error = if j == 10 { 1 } else { (relative_error * 6.0 * j as f64).ceil() as u64 };
        if card.abs_diff(j) > max_error {
            return Err(format!("Too big error. card:{card} abserr:{}", card.abs_diff(j)));
        }
        checkpoint *= 10;
    }
    Ok(())
}
