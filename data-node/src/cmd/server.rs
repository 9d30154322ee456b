//! Server commands: INFO, CONFIG, COMMAND, TIME, SLOWLOG, LATENCY, ROLE.

use std::sync::atomic::Ordering;

use super::Ctx;
use super::args::{eq, int};
use super::error::{CmdResult, Error, unknown_subcommand};
use super::spec::{Keys, NO_KEYS, Spec, flag::*, spec};
use crate::{glob, info};

pub const COMMANDS: &[Spec] = &[
    // INFO reads every shard's figures: it holds the keyspace exclusively.
    spec!("info", -1, LOADING | STALE | EXCLUSIVE, NO_KEYS, info),
    spec!("config", -2, ADMIN | NOQUEUE | NOSCRIPT | LOADING | STALE, NO_KEYS, config),
    spec!("command", -1, LOADING | STALE, NO_KEYS, command),
    spec!("time", 1, FAST | LOADING | STALE, NO_KEYS, time),
    spec!("slowlog", -2, ADMIN | LOADING | STALE, NO_KEYS, slowlog),
    spec!("latency", -2, ADMIN | LOADING | STALE, NO_KEYS, latency),
    spec!("lolwut", -1, READONLY | FAST, NO_KEYS, lolwut),
    spec!("cluster", -2, NOSCRIPT | STALE, NO_KEYS, cluster),
    spec!("module", -2, ADMIN | NOSCRIPT, NO_KEYS, module),
];

fn info(ctx: &mut Ctx) -> CmdResult {
    let sections: Vec<String> = ctx.args[1..].iter().map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).collect();
    let server = ctx.server;
    let text = info::render(server, ctx.ks(), &sections);
    ctx.out.verbatim(&text);
    Ok(())
}

fn time(ctx: &mut Ctx) -> CmdResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

fn config(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "get") && ctx.argc() >= 3 {
        let params = crate::params::all(ctx.server);
        let mut matched: Vec<&(&str, String)> = Vec::new();
        for pattern in &ctx.args[2..] {
            for p in &params {
                if glob::matches(&pattern.to_ascii_lowercase(), p.0.as_bytes()) && !matched.iter().any(|m| m.0 == p.0) {
                    matched.push(p);
                }
            }
        }
        ctx.out.map(matched.len());
        for (name, value) in matched {
            ctx.out.bulk(name.as_bytes());
            ctx.out.bulk(value.as_bytes());
        }
    } else if eq(sub, "set") && ctx.argc() >= 4 && ctx.argc().is_multiple_of(2) {
        for pair in ctx.args[2..].chunks(2) {
            crate::params::set(ctx.server, pair[0], pair[1])?;
        }
        ctx.out.ok();
    } else if eq(sub, "resetstat") && ctx.argc() == 2 {
        ctx.server.keyspace().reset_stats();
        ctx.server.command_stats().reset();
        let s = ctx.server.stats();
        for c in [
            &s.connections_received,
            &s.commands_processed,
            &s.rejected_connections,
            &s.net_input_bytes,
            &s.net_output_bytes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        ctx.out.ok();
    } else if eq(sub, "rewrite") && ctx.argc() == 2 {
        return Err("ERR The server is running without a config file".into());
    } else {
        return Err(unknown_subcommand(sub, "CONFIG"));
    }
    Ok(())
}

fn command_info(out: &mut crate::resp::Reply, spec: &Spec) {
    let (first, last, step) = match spec.keys {
        Keys::Range { first, last, step } => (first as i64, last as i64, step as i64),
        Keys::Store => (1, 1, 1),
        _ => (0, 0, 0),
    };
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let flags = spec.flag_names();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(first);
    out.int(last);
    out.int(step);
    out.set(0);
    out.set(0);
    out.array(0);
    out.array(0);
}

fn command(ctx: &mut Ctx) -> CmdResult {
    let all: Vec<&'static Spec> = super::all_commands().collect();
    let Some(sub) = ctx.args.get(1) else {
        ctx.out.array(all.len());
        for s in all {
            command_info(ctx.out, s);
        }
        return Ok(());
    };
    if eq(sub, "count") {
        ctx.out.int(all.len() as i64);
    } else if eq(sub, "info") {
        let names: Vec<&[u8]> =
            if ctx.argc() > 2 { ctx.args[2..].to_vec() } else { all.iter().map(|s| s.name.as_bytes()).collect() };
        ctx.out.array(names.len());
        for n in names {
            match super::lookup(n) {
                Some(s) => command_info(ctx.out, s),
                None => ctx.out.null_array(),
            }
        }
    } else if eq(sub, "docs") {
        let specs: Vec<&Spec> =
            if ctx.argc() > 2 { ctx.args[2..].iter().filter_map(|n| super::lookup(n)).collect() } else { all };
        ctx.out.map(specs.len());
        for s in specs {
            ctx.out.bulk(s.name.as_bytes());
            ctx.out.map(2);
            ctx.out.bulk(b"summary");
            ctx.out.bulk(format!("The {} command", s.name.to_ascii_uppercase()).as_bytes());
            ctx.out.bulk(b"group");
            ctx.out.bulk(b"generic");
        }
    } else if eq(sub, "list") {
        ctx.out.bulks(all.iter().map(|s| s.name.as_bytes()).collect::<Vec<_>>().into_iter());
    } else if eq(sub, "getkeys") && ctx.argc() >= 3 {
        let args = &ctx.args[2..];
        let spec = super::lookup(args[0]).ok_or(Error::from("ERR Invalid command specified"))?;
        let keys: Vec<&[u8]> = spec.key_positions(args).into_iter().map(|i| args[i]).collect();
        if keys.is_empty() {
            return Err("ERR The command has no key arguments".into());
        }
        ctx.out.bulks(keys.into_iter());
    } else {
        return Err(unknown_subcommand(sub, "COMMAND"));
    }
    Ok(())
}

fn slowlog(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    let log = ctx.server.slowlog();
    if eq(sub, "get") && ctx.argc() <= 3 {
        let n = match ctx.args.get(2) {
            None => 10,
            Some(c) => {
                let n = int(c)?;
                if n < -1 {
                    return Err("ERR count should be greater than or equal to -1".into());
                }
                if n == -1 { usize::MAX } else { n as usize }
            }
        };
        let out = &mut *ctx.out;
        log.with_latest(n, |entries| {
            out.array(entries.len());
            for e in entries {
                out.array(6);
                out.int(e.id as i64);
                out.int(e.at_secs as i64);
                out.int(e.micros as i64);
                out.bulks(e.args.iter().map(|a| a.as_slice()));
                out.bulk(e.addr.as_bytes());
                out.bulk(e.name.as_bytes());
            }
        });
    } else if eq(sub, "len") && ctx.argc() == 2 {
        ctx.out.int(log.len() as i64);
    } else if eq(sub, "reset") && ctx.argc() == 2 {
        log.reset();
        ctx.out.ok();
    } else {
        return Err(unknown_subcommand(sub, "SLOWLOG"));
    }
    Ok(())
}

/// LOLWUT [VERSION v]: Redis 7.0 draws no art for its own version, only
/// names it; the art of versions 5 and 6 is not drawn here.
fn lolwut(ctx: &mut Ctx) -> CmdResult {
    let version = match &ctx.args[1..] {
        [] => 7,
        [word, v, ..] if eq(word, "version") => int(v)?,
        _ => 7,
    };
    if version == 5 || version == 6 {
        return Err(format!("ERR LOLWUT VERSION {version} art is not drawn by this server").into());
    }
    ctx.out.verbatim(&format!("Redis ver. {}\n", crate::REDIS_VERSION));
    Ok(())
}

/// CLUSTER: a node started outside cluster mode answers as redis-server
/// does then (clients probe CLUSTER INFO to learn the mode).
fn cluster(_ctx: &mut Ctx) -> CmdResult {
    Err("ERR This instance has cluster support disabled".into())
}

/// MODULE: no modules can be loaded here; LIST answers that none are.
fn module(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "list") && ctx.argc() == 2 {
        ctx.out.array(0);
    } else if (eq(sub, "load") || eq(sub, "loadex")) && ctx.argc() >= 3 {
        return Err("ERR Error loading the extension. Please check the server logs.".into());
    } else if eq(sub, "unload") && ctx.argc() == 3 {
        return Err("ERR Error unloading module: no such module with that name".into());
    } else if eq(sub, "help") {
        ctx.out.help(&["MODULE <subcommand> [<arg> ...]", "LIST", "LOAD <path> [<arg> ...]", "UNLOAD <name>"]);
    } else {
        return Err(unknown_subcommand(sub, "MODULE"));
    }
    Ok(())
}

/// Latency monitoring is off (threshold 0), as in a default redis-server.
fn latency(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "latest") || eq(sub, "history") {
        ctx.out.array(0);
    } else if eq(sub, "reset") {
        ctx.out.int(0);
    } else if eq(sub, "doctor") {
        ctx.out.verbatim("Dave, I have observed no latency spikes in this Redis instance. You don't mind if I go to sleep? (latency-monitor-threshold is 0)\n");
    } else {
        return Err(unknown_subcommand(sub, "LATENCY"));
    }
    Ok(())
}
