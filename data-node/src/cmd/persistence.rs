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
            Err(Error::Reply(format!("ERR Saving the snapshot failed: {e}").into()))
        }
    }
}

/// Writes the snapshot on a thread of its own while clients are served.
/// A replica's full sync taking its snapshot is our "other child": BGSAVE
/// SCHEDULE then starts the save once it ends.
fn bgsave(ctx: &mut Ctx) -> CmdResult {
    let schedule = match ctx.argc() {
        1 => false,
        2 if super::args::eq(ctx.arg(1), "schedule") => true,
        _ => return Err(Error::Reply("ERR syntax error".into())),
    };
    let p = ctx.server.persistence();
    if p.background_in_progress() {
        return Err(Error::Reply("ERR Background save already in progress".into()));
    }
    if ctx.server.keyspace().snapshot_under_way() {
        if !schedule {
            return Err(Error::Reply("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.".into()));
        }
        p.schedule();
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    ctx.server.background_save().map_err(|e| Error::Reply(e.into()))?;
    ctx.out.simple("Background saving started");
    Ok(())
}

fn lastsave(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.server.persistence().last_save_secs() as i64);
    Ok(())
}
