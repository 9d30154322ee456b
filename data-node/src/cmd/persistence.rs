//! Snapshots on demand: SAVE, BGSAVE, LASTSAVE.

use super::Ctx;
use super::error::{CmdResult, Error};
use super::spec::{NO_KEYS, Spec, flag::*, spec};

pub const COMMANDS: &[Spec] = &[
    spec!("save", 1, ADMIN | NOQUEUE | NOSCRIPT, NO_KEYS, save),
    spec!("bgsave", -1, ADMIN | NOQUEUE | NOSCRIPT, NO_KEYS, bgsave),
    spec!("lastsave", 1, FAST | LOADING | STALE, NO_KEYS, lastsave),
];

fn save(ctx: &mut Ctx) -> CmdResult {
    if ctx.server.persistence().background_in_progress() {
        return Err(Error::Reply("ERR Background save already in progress".into()));
    }
    match ctx.server.save() {
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
    let p = ctx.server.persistence();
    if !p.start_background() {
        return Err(Error::Reply("ERR Background save already in progress".into()));
    }
    let server = ctx.server.clone();
    let started = std::thread::Builder::new().name("bgsave".into()).spawn(move || {
        if let Err(e) = server.save() {
            eprintln!("data-node: BGSAVE failed: {e}");
        }
        server.persistence().end_background();
    });
    if started.is_err() {
        p.end_background();
        return Err(Error::Reply("ERR could not start a background save".into()));
    }
    ctx.out.simple("Background saving started");
    Ok(())
}

fn lastsave(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.server.persistence().last_save_secs() as i64);
    Ok(())
}
