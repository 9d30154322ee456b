//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.
//!
//! EXEC locks the shards of every key its queued commands name (all shards if
//! one of them spans the keyspace) and runs them under that one lock set, so
//! no other client sees a transaction half-done.

use super::error::CmdResult;
use super::spec::{NO_KEYS, Spec, flag::*, spec};
use super::{Ctx, lookup, run_locked, write_error};
use crate::keyspace::Locked;
use crate::server::Server;
use crate::session::Session;

pub const COMMANDS: &[Spec] = &[
    spec!("multi", 1, NOSCRIPT | ALLOW_BUSY | FAST | NOQUEUE, NO_KEYS, multi),
    spec!("exec", 1, NOSCRIPT | NOQUEUE, NO_KEYS, exec),
    spec!("discard", 1, NOSCRIPT | ALLOW_BUSY | FAST | NOQUEUE, NO_KEYS, discard),
    spec!("watch", -2, NOSCRIPT | ALLOW_BUSY | FAST | NOQUEUE, NO_KEYS, watch),
    spec!("unwatch", 1, NOSCRIPT | ALLOW_BUSY | FAST | NOQUEUE, NO_KEYS, unwatch),
];

fn multi(ctx: &mut Ctx) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err("ERR MULTI calls can not be nested".into());
    }
    ctx.session.multi = Some(Vec::new());
    ctx.session.multi_failed = false;
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx) -> CmdResult {
    if ctx.session.multi.is_none() {
        return Err("ERR DISCARD without MULTI".into());
    }
    discard_state(ctx);
    ctx.out.ok();
    Ok(())
}

/// Leaves MULTI and drops all WATCHes.
pub fn discard_state(ctx: &mut Ctx) {
    end_transaction(ctx.server, ctx.session);
}

/// Leaves MULTI (if in it) and forgets every WATCH.
pub fn end_transaction(server: &Server, session: &mut Session) {
    session.multi = None;
    session.multi_failed = false;
    unwatch_all(server, session);
}

fn unwatch_all(server: &Server, session: &mut Session) {
    for (db, key, _, _) in std::mem::take(&mut session.watched) {
        server.keyspace().lock_one(&key).unwatch(db, &key);
    }
}

fn watch(ctx: &mut Ctx) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err("ERR WATCH inside MULTI is not allowed".into());
    }
    let db = ctx.db();
    for key in &ctx.args[1..] {
        if ctx.session.watched.iter().any(|(d, k, _, _)| *d == db && k == key) {
            continue;
        }
        let mut ks = ctx.server.keyspace().lock_one(key);
        let version = ks.watch(db, key);
        let live = ks.exists(db, key) as u64;
        ctx.session.watched.push((db, key.to_vec(), version, live));
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx) -> CmdResult {
    unwatch_all(ctx.server, ctx.session);
    ctx.out.ok();
    Ok(())
}

/// True when a watched key was written, or expired, since WATCH.
fn watch_broken(ks: &mut Locked<'_>, watched: &[(usize, Vec<u8>, u64, u64)]) -> bool {
    watched
        .iter()
        .any(|(db, key, version, live)| ks.watch_version(*db, key) != *version || (*live == 1 && !ks.exists(*db, key)))
}

fn exec(ctx: &mut Ctx) -> CmdResult {
    let Some(queue) = ctx.session.multi.take() else {
        return Err("ERR EXEC without MULTI".into());
    };
    if ctx.session.multi_failed {
        discard_state(ctx);
        return Err("EXECABORT Transaction discarded because of previous errors.".into());
    }
    let server = ctx.server;
    let argvs: Vec<Vec<&[u8]>> = queue.iter().map(|c| c.iter().map(|a| a.as_slice()).collect()).collect();
    let specs: Vec<&'static Spec> = argvs.iter().filter_map(|a| lookup(a[0])).collect();
    let whole = specs.iter().any(|s| s.exclusive());
    let mut keys: Vec<&[u8]> = ctx.session.watched.iter().map(|(_, k, _, _)| k.as_slice()).collect();
    for (spec, args) in specs.iter().zip(&argvs) {
        keys.extend(spec.key_positions(args).into_iter().map(|i| args[i]));
    }
    let mut ks = Some(if whole { server.keyspace().lock_exclusive(keys) } else { server.keyspace().lock_keys(keys) });
    if let Some(locked) = ks.as_mut() {
        locked.for_primary_link(ctx.session.from_primary);
    }
    let broken = ks.as_mut().is_some_and(|ks| watch_broken(ks, &ctx.session.watched));
    if broken {
        drop(ks);
        discard_state(ctx);
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(argvs.len());
    let mut written: Vec<(usize, &[u8])> = Vec::new();
    for (spec, args) in specs.iter().zip(&argvs) {
        let db = ctx.session.db;
        let (result, back) = run_locked(server, ctx.session, ctx.out, spec, args, ks.take(), true);
        ks = back;
        if let Err(e) = result {
            write_error(ctx.out, e);
        }
        if spec.has(WRITE) {
            written.extend(spec.key_positions(args).into_iter().map(|i| (db, args[i])));
        }
    }
    drop(ks);
    discard_state(ctx);
    if server.blocking().any() {
        for (db, key) in written {
            server.blocking().signal(db, key);
        }
    }
    Ok(())
}
