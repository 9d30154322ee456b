//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use std::sync::atomic::Ordering;

use super::Ctx;
use super::args::{eq, int};
use super::error::{CmdResult, Error, SYNTAX, unknown_subcommand};
use super::spec::{NO_KEYS, Spec, flag::*, spec};

pub const COMMANDS: &[Spec] = &[
    spec!("ping", -1, FAST | SUBCTX | STALE, NO_KEYS, ping),
    spec!("echo", 2, FAST, NO_KEYS, echo),
    spec!("hello", -1, NOSCRIPT | ALLOW_BUSY | NOAUTH | FAST | NOQUEUE | STALE, NO_KEYS, hello),
    spec!("auth", -2, NOSCRIPT | ALLOW_BUSY | NOAUTH | FAST | NOQUEUE | STALE, NO_KEYS, auth),
    spec!("select", 2, FAST | LOADING | STALE, NO_KEYS, select),
    spec!("quit", -1, NOSCRIPT | ALLOW_BUSY | NOAUTH | FAST | NOQUEUE | SUBCTX, NO_KEYS, quit),
    spec!("reset", 1, NOSCRIPT | NOAUTH | FAST | NOQUEUE | SUBCTX, NO_KEYS, reset),
    spec!("client", -2, NOSCRIPT | ADMIN, NO_KEYS, client),
];

fn ping(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() > 2 {
        return Err(super::error::wrong_arity("ping"));
    }
    let in_sub = ctx.session.subscriptions() > 0 && !ctx.out.resp3;
    match (ctx.args.get(1), in_sub) {
        (None, false) => ctx.out.simple("PONG"),
        (Some(msg), false) => ctx.out.bulk(msg),
        (msg, true) => {
            ctx.out.array(2);
            ctx.out.bulk(b"pong");
            ctx.out.bulk(msg.copied().unwrap_or(b""));
        }
    }
    Ok(())
}

fn echo(ctx: &mut Ctx) -> CmdResult {
    ctx.out.bulk(ctx.arg(1));
    Ok(())
}

/// Checks a password for `user`; only the default user exists for now.
fn check_password(ctx: &mut Ctx, user: &[u8], pass: &[u8]) -> CmdResult {
    let Some(expected) = ctx.server.live().requirepass() else {
        if ctx.argc() == 2 {
            return Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".into());
        }
        // With no password set the default user accepts any password.
        if user == b"default" {
            ctx.session.authenticated = true;
            return Ok(());
        }
        return Err("WRONGPASS invalid username-password pair or user is disabled.".into());
    };
    if user == b"default" && constant_time_eq(pass, &expected) {
        ctx.session.authenticated = true;
        Ok(())
    } else {
        Err("WRONGPASS invalid username-password pair or user is disabled.".into())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn auth(ctx: &mut Ctx) -> CmdResult {
    let (user, pass) = match ctx.argc() {
        2 => (&b"default"[..], ctx.arg(1)),
        3 => (ctx.arg(1), ctx.arg(2)),
        _ => return Err(SYNTAX.into()),
    };
    check_password(ctx, user, pass)?;
    ctx.out.ok();
    Ok(())
}

fn hello(ctx: &mut Ctx) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if let Some(v) = ctx.args.get(1) {
        let v = int(v).map_err(|_| Error::from("ERR Protocol version is not an integer or out of range"))?;
        if v != 2 && v != 3 {
            return Err("NOPROTO unsupported protocol version".into());
        }
        proto = Some(v);
        i = 2;
    }
    let mut name = None;
    while i < ctx.argc() {
        if eq(ctx.arg(i), "auth") && i + 2 < ctx.argc() {
            check_password(ctx, ctx.arg(i + 1), ctx.arg(i + 2))?;
            i += 3;
        } else if eq(ctx.arg(i), "setname") && i + 1 < ctx.argc() {
            name = Some(valid_name(ctx.arg(i + 1))?);
            i += 2;
        } else {
            return Err(format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(ctx.arg(i))).into());
        }
    }
    if !ctx.session.authenticated && ctx.server.live().requirepass().is_some() {
        return Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
    }
    if let Some(name) = name {
        ctx.session.handle.set_name(Some(name));
    }
    if let Some(p) = proto {
        ctx.out.resp3 = p == 3;
        ctx.session.handle.resp3.store(p == 3, Ordering::Relaxed);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.session.id() as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx) -> CmdResult {
    let db = int(ctx.arg(1))?;
    if db < 0 || db as usize >= ctx.server.live().databases {
        return Err("ERR DB index is out of range".into());
    }
    ctx.session.db = db as usize;
    ctx.session.handle.db.store(db as usize, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx) -> CmdResult {
    ctx.session.closing = true;
    ctx.out.ok();
    Ok(())
}

fn reset(ctx: &mut Ctx) -> CmdResult {
    super::transactions::discard_state(ctx);
    super::pubsub::unsubscribe_all(ctx);
    ctx.session.db = 0;
    ctx.session.handle.db.store(0, Ordering::Relaxed);
    ctx.out.resp3 = false;
    ctx.session.handle.resp3.store(false, Ordering::Relaxed);
    ctx.session.authenticated = ctx.server.live().requirepass().is_none();
    ctx.session.handle.set_name(None);
    ctx.out.simple("RESET");
    Ok(())
}

fn valid_name(b: &[u8]) -> Result<String, Error> {
    if b.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err("ERR Client names cannot contain spaces, newlines or special characters.".into());
    }
    Ok(String::from_utf8_lossy(b).into_owned())
}

fn client(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    let argc = ctx.argc();
    if eq(sub, "id") && argc == 2 {
        ctx.out.int(ctx.session.id() as i64);
    } else if eq(sub, "setname") && argc == 3 {
        let name = valid_name(ctx.arg(2))?;
        ctx.session.handle.set_name((!name.is_empty()).then_some(name));
        ctx.out.ok();
    } else if eq(sub, "getname") && argc == 2 {
        let name = ctx.session.handle.name();
        ctx.out.bulk_opt(name.as_deref().map(str::as_bytes));
    } else if eq(sub, "list") {
        client_list(ctx)?;
    } else if eq(sub, "info") && argc == 2 {
        ctx.session.handle.set_last_cmd("client|info");
        let text = ctx.session.handle.describe() + "\n";
        ctx.out.verbatim(&text);
    } else if eq(sub, "kill") && argc >= 3 {
        client_kill(ctx)?;
    } else if eq(sub, "unblock") && (argc == 3 || argc == 4) {
        client_unblock(ctx)?;
    } else if eq(sub, "pause") && (argc == 3 || argc == 4) {
        client_pause(ctx)?;
    } else if eq(sub, "unpause") && argc == 2 {
        ctx.server.pause().stop();
        ctx.server.keyspace().hold_expiry_until(0);
        ctx.out.ok();
    } else if (eq(sub, "setinfo") && argc == 4)
        || (eq(sub, "no-evict") && argc == 3)
        || (eq(sub, "no-touch") && argc == 3)
    {
        ctx.out.ok();
    } else if eq(sub, "help") {
        let lines = [
            "CLIENT <subcommand> [<arg> ...]",
            "ID",
            "SETNAME <name>",
            "GETNAME",
            "INFO",
            "KILL <ip:port> | ID <id> | ADDR <ip:port> | LADDR <ip:port> | USER <name> | SKIPME yes|no",
            "LIST [ID <id> [<id> ...]]",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "PAUSE <timeout> [WRITE|ALL]",
            "UNPAUSE",
        ];
        ctx.out.help(&lines);
    } else {
        return Err(unknown_subcommand(sub, "CLIENT"));
    }
    Ok(())
}

/// CLIENT LIST [ID id ...]: every client, or those of these ids, in order.
fn client_list(ctx: &mut Ctx) -> CmdResult {
    // The caller's own line names the command it is running, as Redis's does.
    ctx.session.handle.set_last_cmd("client|list");
    let clients = ctx.server.clients().list();
    let text: String = match &ctx.args[2..] {
        [] => clients.iter().map(|c| c.describe() + "\n").collect(),
        [word, ids @ ..] if eq(word, "id") && !ids.is_empty() => {
            let mut wanted = Vec::with_capacity(ids.len());
            for id in ids {
                wanted.push(int(id).map_err(|_| Error::from("ERR Invalid client ID"))?);
            }
            wanted
                .iter()
                .filter_map(|id| clients.iter().find(|c| c.id as i64 == *id))
                .map(|c| c.describe() + "\n")
                .collect()
        }
        _ => return Err(SYNTAX.into()),
    };
    ctx.out.verbatim(&text);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was blocked.
fn client_unblock(ctx: &mut Ctx) -> CmdResult {
    let id = int(ctx.arg(2))?;
    let with_error = match ctx.args.get(3) {
        None => false,
        Some(mode) if eq(mode, "timeout") => false,
        Some(mode) if eq(mode, "error") => true,
        Some(_) => return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into()),
    };
    let unblocked =
        u64::try_from(id).ok().and_then(|id| ctx.server.clients().get(id)).is_some_and(|c| c.unblock(with_error));
    ctx.out.int(unblocked as i64);
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]: ALL unless told.
fn client_pause(ctx: &mut Ctx) -> CmdResult {
    let all = match ctx.args.get(3) {
        None => true,
        Some(mode) if eq(mode, "all") => true,
        Some(mode) if eq(mode, "write") => false,
        Some(_) => return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into()),
    };
    let timeout = int(ctx.arg(2)).map_err(|_| Error::from("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    let until = ctx.server.now_ms().saturating_add(timeout as u64);
    ctx.server.pause().start(until, all);
    // Keys expire in no one's sight meanwhile: the data (and a replica's
    // offset) stands still, as with redis-server's pause.
    ctx.server.keyspace().hold_expiry_until(ctx.server.pause().until());
    ctx.out.ok();
    Ok(())
}

fn client_kill(ctx: &mut Ctx) -> CmdResult {
    let clients = ctx.server.clients().list();
    if ctx.argc() == 3 {
        let addr = ctx.arg(2);
        let target = clients.iter().find(|c| c.addr.as_bytes() == addr).ok_or(Error::from("ERR No such client"))?;
        target.kill();
        ctx.out.ok();
        return Ok(());
    }
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    for pair in ctx.args[2..].chunks(2) {
        let [k, v] = pair else { return Err(SYNTAX.into()) };
        if eq(k, "id") {
            let n = int(v).ok().filter(|n| *n > 0);
            id = Some(n.ok_or(Error::from("ERR client-id should be greater than 0"))? as u64);
        } else if eq(k, "addr") {
            addr = Some(*v);
        } else if eq(k, "laddr") {
            laddr = Some(*v);
        } else if eq(k, "skipme") {
            skipme = match v {
                v if eq(v, "yes") => true,
                v if eq(v, "no") => false,
                _ => return Err(SYNTAX.into()),
            };
        } else if eq(k, "user") {
            // Every client is the default user until ACLs arrive.
            if !eq(v, "default") {
                return Err(format!("ERR No such user '{}'", String::from_utf8_lossy(v)).into());
            }
        } else {
            return Err(SYNTAX.into());
        }
    }
    let me = ctx.session.id();
    let mut killed = 0;
    for c in clients {
        if id.is_some_and(|id| id != c.id)
            || addr.is_some_and(|a| a != c.addr.as_bytes())
            || laddr.is_some_and(|a| a != c.laddr.as_bytes())
            || (skipme && c.id == me)
        {
            continue;
        }
        c.kill();
        killed += 1;
    }
    ctx.out.int(killed);
    Ok(())
}
