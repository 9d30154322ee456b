//! FUNCTION LOAD | DELETE | FLUSH | LIST | STATS | KILL | HELP. Changes to
//! the libraries replicate as the command itself.

use super::library;
use crate::cmd::Ctx;
use crate::cmd::args::eq;
use crate::cmd::error::{CmdResult, unknown_subcommand};
use crate::glob;

pub fn function(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    let scripts = ctx.server.scripts();
    if eq(sub, "load") && ctx.argc() >= 3 {
        let options = &ctx.args[2..ctx.argc() - 1];
        if let Some(unknown) = options.iter().find(|o| !eq(o, "replace")) {
            return Err(format!("ERR Unknown option given: {}", String::from_utf8_lossy(unknown)).into());
        }
        let replace = !options.is_empty();
        let loaded = library::check(ctx.arg(ctx.argc() - 1))?;
        let name = loaded.name.clone();
        let mut libraries = scripts.library_map();
        library::add(&mut libraries, loaded, replace)?;
        scripts.set_libraries(libraries);
        replicate(ctx);
        ctx.out.bulk(name.as_bytes());
    } else if eq(sub, "delete") && ctx.argc() == 3 {
        let mut libraries = scripts.library_map();
        if libraries.remove(&*String::from_utf8_lossy(ctx.arg(2))).is_none() {
            return Err("ERR Library not found".into());
        }
        scripts.set_libraries(libraries);
        replicate(ctx);
        ctx.out.ok();
    } else if eq(sub, "flush") && ctx.argc() <= 3 {
        if let Some(mode) = ctx.args.get(2)
            && !eq(mode, "async")
            && !eq(mode, "sync")
        {
            return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into());
        }
        scripts.set_libraries(Default::default());
        replicate(ctx);
        ctx.out.ok();
    } else if eq(sub, "list") {
        list(ctx)?;
    } else if eq(sub, "stats") && ctx.argc() == 2 {
        stats(ctx);
    } else if eq(sub, "kill") && ctx.argc() == 2 {
        scripts.request_kill(true)?;
        ctx.out.ok();
    } else if eq(sub, "dump") && ctx.argc() == 2 {
        ctx.out.bulk(&crate::rdb::function_payload(&scripts.library_codes()));
    } else if eq(sub, "restore") && (3..=4).contains(&ctx.argc()) {
        let policy = match ctx.args.get(3) {
            None => library::Restore::Append,
            Some(p) if eq(p, "append") => library::Restore::Append,
            Some(p) if eq(p, "replace") => library::Restore::Replace,
            Some(p) if eq(p, "flush") => library::Restore::Flush,
            Some(_) => {
                return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.".into());
            }
        };
        let codes = crate::rdb::read_function_payload(ctx.arg(2)).map_err(|e| format!("ERR {e}"))?;
        library::install(scripts, &codes, policy)?;
        replicate(ctx);
        ctx.out.ok();
    } else if eq(sub, "help") && ctx.argc() == 2 {
        let lines = [
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "DELETE <LIBRARY NAME>",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "FLUSH [ASYNC|SYNC]",
            "STATS",
            "KILL",
            "HELP",
        ];
        ctx.out.help(&lines);
    } else {
        return Err(unknown_subcommand(sub, "FUNCTION"));
    }
    Ok(())
}

/// Replicas (and their replicas) get the libraries as they changed here.
fn replicate(ctx: &Ctx) {
    let replication = ctx.server.replication();
    if replication.feeding() {
        replication.propagate(ctx.session.db, ctx.args);
    }
}

fn list(ctx: &mut Ctx) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < ctx.argc() {
        let arg = ctx.arg(i);
        if eq(arg, "withcode") && !with_code {
            with_code = true;
        } else if eq(arg, "libraryname") && pattern.is_none() && i + 1 < ctx.argc() {
            pattern = Some(ctx.arg(i + 1).to_vec());
            i += 1;
        } else if eq(arg, "libraryname") && pattern.is_none() {
            return Err("ERR library name argument was not given".into());
        } else {
            return Err(format!("ERR Unknown argument {}", String::from_utf8_lossy(arg)).into());
        }
        i += 1;
    }
    let libraries: Vec<_> = ctx
        .server
        .scripts()
        .libraries()
        .into_iter()
        .filter(|l| pattern.as_ref().is_none_or(|p| glob::matches(p, l.name.as_bytes())))
        .collect();
    let out = &mut *ctx.out;
    out.array(libraries.len());
    for library in libraries {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(library.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(library.engine.as_bytes());
        out.bulk(b"functions");
        out.array(library.functions.len());
        for f in &library.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            out.bulk_opt(f.description.as_deref().map(str::as_bytes));
            out.bulk(b"flags");
            out.set(f.flags.len());
            for flag in &f.flags {
                out.bulk(flag.as_bytes());
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&library.code);
        }
    }
    Ok(())
}

fn stats(ctx: &mut Ctx) {
    let scripts = ctx.server.scripts();
    let libraries = scripts.libraries();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match scripts.running_info() {
        Some((name, command, ms)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for arg in &command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(ms as i64);
        }
        None => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries.len() as i64);
    out.bulk(b"functions_count");
    out.int(libraries.iter().map(|l| l.functions.len()).sum::<usize>() as i64);
}
