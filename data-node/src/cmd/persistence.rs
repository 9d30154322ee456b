//! Snapshots on demand: SAVE, BGSAVE, LASTSAVE.

use std::sync::atomic::Ordering;

use super::Ctx;
use super::error::{CmdResult, Error};
use super::spec::{NO_KEYS, Spec, flag::*, spec};

pub const COMMANDS: &[Spec] = &[
    spec!("save", 1, ADMIN | NOQUEUE, NO_KEYS, save),
    spec!("bgsave", -1, ADMIN | NOQUEUE, NO_KEYS, bgsave),
    spec!("lastsave", 1, FAST | LOADING | STALE, NO_KEYS, lastsave),
];

fn save(ctx: &mut Ctx) -> CmdResult {
    let p = &ctx.server.persistence;
    if p.bgsave_in_progress.load(Ordering::Relaxed) {
        return Err(Error::Reply("ERR Background save already in progress".into()));
    }
    match p.save(ctx.server) {
        Ok(_) => {
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            eprintln!("data-node: SAVE failed: {e}");
            Err(Error::Reply("ERR".into()))
        }
    }
}

/// Writes the snapshot on a thread of its own; shards are locked one at a
/// time, so clients keep being served meanwhile.
fn bgsave(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() > 2 || (ctx.argc() == 2 && !super::args::eq(ctx.arg(1), "schedule")) {
        return Err(Error::Reply("ERR syntax error".into()));
    }
    let p = &ctx.server.persistence;
    if p.bgsave_in_progress.swap(true, Ordering::AcqRel) {
        return Err(Error::Reply("ERR Background save already in progress".into()));
    }
    let server = ctx.server.clone();
    let started = std::thread::Builder::new().name("bgsave".into()).spawn(move || {
        if let Err(e) = server.persistence.save(&server) {
            eprintln!("data-node: BGSAVE failed: {e}");
        }
        server.persistence.bgsave_in_progress.store(false, Ordering::Release);
    });
    if started.is_err() {
        p.bgsave_in_progress.store(false, Ordering::Release);
        return Err(Error::Reply("ERR could not start a background save".into()));
    }
    ctx.out.simple("Background saving started");
    Ok(())
}

fn lastsave(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.server.persistence.last_save.load(Ordering::Relaxed) as i64);
    Ok(())
}
