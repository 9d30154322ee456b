//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their inverses, PUBLISH,
//! SPUBLISH, PUBSUB. Shard channels are a namespace of their own, as in a
//! Redis 7 server outside cluster mode.

use std::sync::atomic::Ordering;

use super::Ctx;
use super::args::eq;
use super::error::{CmdResult, unknown_subcommand};
use super::spec::{NO_KEYS, Spec, flag::*, spec};

pub const COMMANDS: &[Spec] = &[
    spec!("subscribe", -2, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, subscribe),
    spec!("unsubscribe", -1, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, unsubscribe),
    spec!("psubscribe", -2, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, psubscribe),
    spec!("punsubscribe", -1, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, punsubscribe),
    spec!("publish", 3, PUBSUB | FAST | MAY_REPLICATE, NO_KEYS, publish),
    spec!("pubsub", -2, PUBSUB, NO_KEYS, pubsub),
    spec!("ssubscribe", -2, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, ssubscribe),
    spec!("sunsubscribe", -1, NOSCRIPT | PUBSUB | SUBCTX, NO_KEYS, sunsubscribe),
    spec!("spublish", 3, PUBSUB | FAST | MAY_REPLICATE, NO_KEYS, spublish),
];

/// A (un)subscription's reply: its kind, the name, and how many of this
/// namespace (channels and patterns, or shard channels) the client has now.
fn confirm(ctx: &mut Ctx, kind: &[u8], name: Option<&[u8]>) {
    let s = &ctx.session;
    ctx.session.handle.subscriptions.store(s.subscriptions(), Ordering::Relaxed);
    let count = if matches!(kind, b"ssubscribe" | b"sunsubscribe") {
        s.shard_channels.len()
    } else {
        s.channels.len() + s.patterns.len()
    };
    ctx.out.push(3);
    ctx.out.bulk(kind);
    ctx.out.bulk_opt(name);
    ctx.out.int(count as i64);
}

#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: each name joined, each confirmed.
fn join(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    let verb: &[u8] = match kind {
        Kind::Channel => b"subscribe",
        Kind::Pattern => b"psubscribe",
        Kind::Shard => b"ssubscribe",
    };
    let (id, pubsub) = (ctx.session.id(), ctx.server.pubsub());
    for name in &ctx.args[1..] {
        let s = &mut *ctx.session;
        match kind {
            Kind::Channel if s.channels.insert(name.to_vec()) => pubsub.subscribe(name, id, &s.mailbox),
            Kind::Pattern if s.patterns.insert(name.to_vec()) => pubsub.psubscribe(name, id, &s.mailbox),
            Kind::Shard if s.shard_channels.insert(name.to_vec()) => pubsub.ssubscribe(name, id, &s.mailbox),
            _ => {}
        }
        confirm(ctx, verb, Some(name));
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx) -> CmdResult {
    join(ctx, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx) -> CmdResult {
    join(ctx, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx) -> CmdResult {
    join(ctx, Kind::Shard)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or all of this kind.
fn leave(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    let (verb, current) = match kind {
        Kind::Channel => (&b"unsubscribe"[..], &ctx.session.channels),
        Kind::Pattern => (&b"punsubscribe"[..], &ctx.session.patterns),
        Kind::Shard => (&b"sunsubscribe"[..], &ctx.session.shard_channels),
    };
    let names: Vec<Vec<u8>> = if ctx.argc() > 1 {
        ctx.args[1..].iter().map(|c| c.to_vec()).collect()
    } else {
        current.iter().cloned().collect()
    };
    if names.is_empty() {
        confirm(ctx, verb, None);
    }
    let id = ctx.session.id();
    for name in names {
        match kind {
            Kind::Channel => {
                ctx.session.channels.remove(&name);
                ctx.server.pubsub().unsubscribe(&name, id);
            }
            Kind::Pattern => {
                ctx.session.patterns.remove(&name);
                ctx.server.pubsub().punsubscribe(&name, id);
            }
            Kind::Shard => {
                ctx.session.shard_channels.remove(&name);
                ctx.server.pubsub().sunsubscribe(&name, id);
            }
        }
        confirm(ctx, verb, Some(&name));
    }
    Ok(())
}

fn unsubscribe(ctx: &mut Ctx) -> CmdResult {
    leave(ctx, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx) -> CmdResult {
    leave(ctx, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx) -> CmdResult {
    leave(ctx, Kind::Shard)
}

/// Drops every subscription silently (RESET, disconnect).
pub fn unsubscribe_all(ctx: &mut Ctx) {
    let id = ctx.session.id();
    for ch in ctx.session.channels.drain() {
        ctx.server.pubsub().unsubscribe(&ch, id);
    }
    for p in ctx.session.patterns.drain() {
        ctx.server.pubsub().punsubscribe(&p, id);
    }
    for ch in ctx.session.shard_channels.drain() {
        ctx.server.pubsub().sunsubscribe(&ch, id);
    }
    ctx.session.handle.subscriptions.store(0, Ordering::Relaxed);
}

fn publish(ctx: &mut Ctx) -> CmdResult {
    publish_generic(ctx, false)
}

fn spublish(ctx: &mut Ctx) -> CmdResult {
    publish_generic(ctx, true)
}

fn publish_generic(ctx: &mut Ctx, shard: bool) -> CmdResult {
    let mut overflowed = Vec::new();
    let pubsub = ctx.server.pubsub();
    let n = if shard {
        pubsub.spublish(ctx.arg(1), ctx.arg(2), &mut overflowed)
    } else {
        pubsub.publish(ctx.arg(1), ctx.arg(2), &mut overflowed)
    };
    for id in overflowed {
        if let Some(c) = ctx.server.clients().get(id) {
            c.kill();
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn pubsub(ctx: &mut Ctx) -> CmdResult {
    let sub = ctx.arg(1);
    if eq(sub, "channels") && ctx.argc() <= 3 {
        let chans = ctx.server.pubsub().channels(ctx.args.get(2).copied());
        ctx.out.bulks(chans.iter().map(|c| &c[..]));
    } else if eq(sub, "numsub") {
        let chans = &ctx.args[2..];
        // A flat array in RESP3 too, as redis-server 7.0 answers (clients parse it so).
        ctx.out.array(chans.len() * 2);
        for ch in chans {
            ctx.out.bulk(ch);
            ctx.out.int(ctx.server.pubsub().numsub(ch) as i64);
        }
    } else if eq(sub, "shardchannels") && ctx.argc() <= 3 {
        let chans = ctx.server.pubsub().shard_channels(ctx.args.get(2).copied());
        ctx.out.bulks(chans.iter().map(|c| &c[..]));
    } else if eq(sub, "shardnumsub") {
        let chans = &ctx.args[2..];
        ctx.out.array(chans.len() * 2);
        for ch in chans {
            ctx.out.bulk(ch);
            ctx.out.int(ctx.server.pubsub().shard_numsub(ch) as i64);
        }
    } else if eq(sub, "numpat") && ctx.argc() == 2 {
        ctx.out.int(ctx.server.pubsub().numpat() as i64);
    } else {
        return Err(unknown_subcommand(sub, "PUBSUB"));
    }
    Ok(())
}
