//! Lua scripting: EVAL & co with SCRIPT, and functions (FUNCTION, FCALL).
//! - `vm`: one Lua 5.1 VM per worker thread, sandboxed as Redis's
//! - `run`: running a script or a function, holding the keyspace exclusively
//! - `watch`: the hook that hands a long script's worker off or stops it
//! - `handoff`: when a long script gives its worker thread away
//! - `call`: `redis.call`/`redis.pcall` from a script
//! - `convert`: replies ⇄ Lua values
//! - `library`: function libraries (FUNCTION LOAD, and the first FCALL here)

mod bit;
mod call;
mod cjson;
mod cmsgpack;
mod convert;
mod functions;
mod handoff;
mod library;
mod run;
mod structlib;
mod vm;
mod watch;

use std::sync::Arc;

use super::Ctx;
use super::args::eq;
use super::error::{CmdResult, Error, unknown_subcommand};
use super::spec::{Keys, NO_KEYS, Spec, flag::*, spec};
pub use library::{Restore, install};
use run::{Target, keys_and_args};

/// The declared keys: numkeys at 2, then the keys.
const DECLARED: Keys = Keys::NumKeys { at: 2, dest: 0 };
/// Scripts hold the keyspace exclusively: they may touch keys they did not
/// declare. They take it once their Lua call is set up (`run`).
const SCRIPT: u32 = NOSCRIPT | STALE | EXCLUSIVE | LOCKS_ITSELF;

pub const COMMANDS: &[Spec] = &[
    spec!("eval", -3, SCRIPT | MAY_REPLICATE, DECLARED, eval),
    spec!("evalsha", -3, SCRIPT | MAY_REPLICATE, DECLARED, evalsha),
    spec!("eval_ro", -3, SCRIPT | READONLY, DECLARED, eval_ro),
    spec!("evalsha_ro", -3, SCRIPT | READONLY, DECLARED, evalsha_ro),
    spec!("fcall", -3, SCRIPT | MAY_REPLICATE, DECLARED, fcall),
    spec!("fcall_ro", -3, SCRIPT | READONLY, DECLARED, fcall_ro),
    spec!("script", -2, NOSCRIPT | ALLOW_BUSY | STALE, NO_KEYS, script),
    spec!("function", -2, NOSCRIPT | ALLOW_BUSY | STALE, NO_KEYS, function),
];

/// Whether a command may run while a script is busy: SCRIPT KILL,
/// FUNCTION KILL and FUNCTION STATS among the ones that name a subcommand.
pub fn allowed_while_busy(spec: &Spec, args: &[&[u8]]) -> bool {
    if !spec.has(ALLOW_BUSY) {
        return false;
    }
    match spec.name {
        "script" => args.get(1).is_some_and(|sub| eq(sub, "kill")),
        "function" => args.get(1).is_some_and(|sub| eq(sub, "kill") || eq(sub, "stats")),
        _ => true,
    }
}

/// Whether EVAL, EVALSHA or FCALL runs a script or function declared
/// `no-writes` (then CLIENT PAUSE WRITE lets it through, as Redis does).
pub fn declares_no_writes(server: &crate::server::Server, spec: &Spec, args: &[&[u8]]) -> bool {
    let no_writes = |flags: &[String]| declares(flags, "no-writes");
    let Some(&target) = args.get(1) else { return false };
    match spec.name {
        "eval" => script_flags(target).ok().flatten().is_some_and(|f| no_writes(&f)),
        "evalsha" => server
            .scripts()
            .body(&String::from_utf8_lossy(target).to_ascii_lowercase())
            .and_then(|body| script_flags(&body).ok().flatten())
            .is_some_and(|f| no_writes(&f)),
        "fcall" => server
            .scripts()
            .library_of(&String::from_utf8_lossy(target))
            .is_some_and(|(_, function)| no_writes(&function.flags)),
        _ => false,
    }
}

/// Whether a script's or function's flags include `flag`.
fn declares(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f == flag)
}

/// The flags a script's `#!lua flags=...` line declares; None without one.
fn script_flags(body: &[u8]) -> Result<Option<Vec<String>>, Error> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let (Some(line), _) = vm::shebang(body) else { return Ok(None) };
    let mut parts = line[2..].split_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        return Err(format!("ERR Unexpected engine in script shebang: #!{engine}").into());
    }
    let mut flags = Vec::new();
    for part in parts {
        let Some(("flags", list)) = part.split_once('=') else {
            return Err(format!("ERR Unknown lua shebang option: {}", part.split('=').next().unwrap_or(part)).into());
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            if !library::FLAGS.contains(&flag) {
                return Err(format!("ERR Unexpected flag in script shebang: {flag}").into());
            }
            flags.push(flag.to_owned());
        }
    }
    Ok(Some(flags))
}

/// What a script's or function's declared flags make of it before it runs,
/// as Redis turns them into command flags: one not declared `no-writes` is
/// a write (refused on a replica or without enough good replicas), one
/// without `allow-oom` or `no-writes` is refused over maxmemory, one without
/// `allow-stale` is refused by a replica whose link is down.
fn refuse_by_flags(ctx: &Ctx, flags: &[String]) -> CmdResult {
    let has = |name: &str| declares(flags, name);
    let (server, session) = (ctx.server, &*ctx.session);
    if !has("allow-oom") && !has("no-writes") && session.out_of_memory {
        return Err(super::OUT_OF_MEMORY.into());
    }
    if !has("no-writes")
        && let Some(why) = super::write_refused(server, session)
    {
        return Err(why.into());
    }
    if !has("allow-stale")
        && let Some(why) = super::stale_refused(server, session)
    {
        return Err(why.into());
    }
    Ok(())
}

fn run_body(ctx: &mut Ctx, sha: String, body: Arc<Vec<u8>>, read_only: bool) -> CmdResult {
    let flags = script_flags(&body)?;
    if let Some(flags) = &flags {
        refuse_by_flags(ctx, flags)?;
    }
    let no_writes = flags.as_ref().is_some_and(|f| declares(f, "no-writes"));
    if read_only && flags.is_some() && !no_writes {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    let (keys, argv) = keys_and_args(ctx.args, 2, "ERR value is not an integer or out of range")?;
    run::run(ctx, Target::Script { sha, body }, &keys, &argv, read_only || no_writes)
}

fn eval_body(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let body = ctx.arg(1);
    let sha = ctx.server.scripts().remember(body);
    let body = ctx.server.scripts().body(&sha).ok_or("ERR script cache changed")?;
    run_body(ctx, sha, body, read_only)
}

fn evalsha_body(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let sha = String::from_utf8_lossy(ctx.arg(1)).to_ascii_lowercase();
    let Some(body) = ctx.server.scripts().body(&sha) else {
        return Err("NOSCRIPT No matching script. Please use EVAL.".into());
    };
    run_body(ctx, sha, body, read_only)
}

fn eval(ctx: &mut Ctx) -> CmdResult {
    eval_body(ctx, false)
}

fn eval_ro(ctx: &mut Ctx) -> CmdResult {
    eval_body(ctx, true)
}

fn evalsha(ctx: &mut Ctx) -> CmdResult {
    evalsha_body(ctx, false)
}

fn evalsha_ro(ctx: &mut Ctx) -> CmdResult {
    evalsha_body(ctx, true)
}

fn fcall_body(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let name = String::from_utf8_lossy(ctx.arg(1)).into_owned();
    let Some((_, function)) = ctx.server.scripts().library_of(&name) else {
        return Err("ERR Function not found".into());
    };
    refuse_by_flags(ctx, &function.flags)?;
    let no_writes = declares(&function.flags, "no-writes");
    if read_only && !no_writes {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    let (keys, argv) = keys_and_args(ctx.args, 2, "ERR Bad number of keys provided")?;
    run::run(ctx, Target::Function { name }, &keys, &argv, read_only || no_writes)
}

fn fcall(ctx: &mut Ctx) -> CmdResult {
    fcall_body(ctx, false)
}

fn fcall_ro(ctx: &mut Ctx) -> CmdResult {
    fcall_body(ctx, true)
}

fn script(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    let scripts = ctx.server.scripts();
    if eq(sub, "load") && ctx.argc() == 3 {
        let body = ctx.arg(2);
        script_flags(body)?;
        vm::with_vm(scripts, |vm| vm::compile(&vm.lua, body, "@user_script").map(drop))?
            .map_err(|e| Error::from(format!("ERR Error compiling script (new function): {e}")))?;
        let sha = scripts.remember(body);
        ctx.out.bulk(sha.as_bytes());
    } else if eq(sub, "exists") && ctx.argc() >= 3 {
        let shas = &ctx.args[2..];
        ctx.out.array(shas.len());
        for sha in shas {
            ctx.out.int(i64::from(scripts.body(&String::from_utf8_lossy(sha)).is_some()));
        }
    } else if eq(sub, "flush") && ctx.argc() <= 3 {
        if let Some(mode) = ctx.args.get(2)
            && !eq(mode, "async")
            && !eq(mode, "sync")
        {
            return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option".into());
        }
        scripts.flush_cache();
        ctx.out.ok();
    } else if eq(sub, "kill") && ctx.argc() == 2 {
        scripts.request_kill(false)?;
        ctx.out.ok();
    } else if eq(sub, "help") && ctx.argc() == 2 {
        let lines = [
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EXISTS <sha1> [<sha1> ...]",
            "FLUSH [ASYNC|SYNC]",
            "KILL",
            "LOAD <script>",
            "HELP",
        ];
        ctx.out.help(&lines);
    } else {
        return Err(unknown_subcommand(sub, "SCRIPT"));
    }
    Ok(())
}

fn function(ctx: &mut Ctx) -> CmdResult {
    functions::function(ctx)
}
