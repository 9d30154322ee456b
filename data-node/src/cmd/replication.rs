//! Replication commands: REPLICAOF (SLAVEOF), ROLE, REPLCONF, PSYNC, SYNC, WAIT.

use super::args::{eq, int};
use super::error::{CmdResult, Error};
use super::spec::{NO_KEYS, Spec, flag::*, spec};
use super::{Ctx, Flow};
use crate::replication::Role;

pub const COMMANDS: &[Spec] = &[
    spec!("replicaof", 3, NOSCRIPT | ADMIN | NOQUEUE | STALE, NO_KEYS, replicaof),
    spec!("slaveof", 3, NOSCRIPT | ADMIN | NOQUEUE | STALE, NO_KEYS, replicaof),
    spec!("role", 1, FAST | LOADING | STALE, NO_KEYS, role),
    spec!("replconf", -1, NOSCRIPT | ADMIN | NOQUEUE | LOADING | STALE, NO_KEYS, replconf),
    spec!("psync", -3, NOSCRIPT | ADMIN | NOQUEUE, NO_KEYS, psync),
    spec!("sync", 1, NOSCRIPT | ADMIN | NOQUEUE, NO_KEYS, sync),
    spec!("wait", 3, NOSCRIPT | NOQUEUE | MAY_REPLICATE, NO_KEYS, wait),
];

fn replicaof(ctx: &mut Ctx) -> CmdResult {
    let server = ctx.server;
    let repl = server.replication();
    if eq(ctx.arg(1), "no") && eq(ctx.arg(2), "one") {
        repl.promote(server.keyspace());
        ctx.out.ok();
        return Ok(());
    }
    let port = int(ctx.arg(2))?;
    let port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| Error::from("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(ctx.arg(1)).into_owned();
    let same = repl.with_role(|role| matches!(role, Role::Replica(of) if of.host == host && of.port == port));
    if same {
        ctx.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    let was_primary = !repl.is_replica();
    repl.follow(server.keyspace(), host, port);
    if was_primary {
        // A demoted primary drops its clients, so they reconnect and find the
        // new primary at once instead of meeting -READONLY one write at a time.
        server.clients().kill_all_but(ctx.session.id());
    }
    ctx.out.ok();
    Ok(())
}

fn role(ctx: &mut Ctx) -> CmdResult {
    let repl = ctx.server.replication();
    let replica = repl.with_role(|role| match role {
        Role::Primary => None,
        Role::Replica(of) => {
            let state = match (of.link_up, of.sync_in_progress) {
                (true, _) => "connected",
                (false, true) => "sync",
                (false, false) => "connect",
            };
            Some((of.host.clone(), of.port, state, of.offset))
        }
    });
    if let Some((host, port, state, offset)) = replica {
        ctx.out.array(5);
        ctx.out.bulk(b"slave");
        ctx.out.bulk(host.as_bytes());
        ctx.out.int(i64::from(port));
        ctx.out.bulk(state.as_bytes());
        ctx.out.int(offset as i64);
        return Ok(());
    }
    let out = &mut *ctx.out;
    repl.with_feed(|feed| {
        out.array(3);
        out.bulk(b"master");
        out.int(feed.offset as i64);
        out.array(feed.links().len());
        for link in feed.links() {
            let ip = link.addr.rsplit_once(':').map_or(link.addr.as_str(), |(ip, _)| ip);
            out.array(3);
            out.bulk(ip.as_bytes());
            out.bulk(link.listening_port.to_string().as_bytes());
            out.bulk(link.ack.load(std::sync::atomic::Ordering::Relaxed).to_string().as_bytes());
        }
    });
    Ok(())
}

/// The handshake's settings. ACKs arrive on an attached replica's link and
/// are read there, not here.
fn replconf(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc().is_multiple_of(2) {
        return Err(super::error::SYNTAX.into());
    }
    let mut i = 1;
    while i + 1 < ctx.argc() {
        let (name, value) = (ctx.arg(i), ctx.arg(i + 1));
        if eq(name, "listening-port") {
            let port = int(value)?;
            ctx.session.listening_port = u16::try_from(port).map_err(|_| Error::from("ERR invalid port"))?;
        } else if eq(name, "rdb-only") {
            // redis-cli --rdb and our control plane's backups: the snapshot
            // alone, then the connection closes.
            ctx.session.rdb_only = match value {
                b"1" => true,
                b"0" => false,
                _ => return Err("ERR rdb-only must be 0 or 1".into()),
            };
        } else if eq(name, "ack") || eq(name, "getack") {
            // Only meaningful on a replication link: no reply, as in Redis.
            return Ok(());
        } else if !(eq(name, "capa") || eq(name, "ip-address") || eq(name, "rdb-filter-only")) {
            return Err(format!("ERR Unrecognized REPLCONF option: {}", String::from_utf8_lossy(name)).into());
        }
        i += 2;
    }
    ctx.out.ok();
    Ok(())
}

fn attach(ctx: &mut Ctx, replid: Option<&[u8]>, from: Option<&[u8]>, announce: bool) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err("ERR Replica can't sync inside MULTI".into());
    }
    let server = ctx.server.clone();
    let id = ctx.session.id();
    let addr = ctx.session.handle.addr.clone();
    let port = ctx.session.listening_port;
    let partial = match (replid, from.and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok())) {
        (Some(replid), Some(from)) => server.replication().attach_partial(
            &String::from_utf8_lossy(replid),
            from,
            id,
            addr.clone(),
            port,
            server.now_ms(),
        ),
        _ => None,
    };
    match partial {
        Some((preamble, attached)) => {
            ctx.out.buf.extend_from_slice(&preamble);
            ctx.flow = Some(Flow::Replica(attached));
        }
        None => {
            let rdb_only = ctx.session.rdb_only;
            ctx.flow = Some(Flow::FullSync(FullSync { id, addr, port, announce, rdb_only }));
        }
    }
    Ok(())
}

/// A full resynchronisation to run off the async workers: it lasts as long
/// as the snapshot takes to write.
pub struct FullSync {
    id: u64,
    addr: String,
    port: u16,
    /// PSYNC's +FULLRESYNC line; SYNC has none.
    announce: bool,
    /// The snapshot alone: no stream, the connection closes after it.
    pub rdb_only: bool,
}

impl FullSync {
    /// The bytes to send first, and the replica's place in the stream
    /// (None for an rdb-only sync).
    pub fn run(self, server: &crate::server::Server) -> (Vec<u8>, Option<crate::replication::feed::Attached>) {
        let functions = server.scripts().library_codes();
        if self.rdb_only {
            let rdb = crate::rdb::snapshot_bytes(server.keyspace(), &functions, || {});
            let mut preamble = if self.announce {
                let (replid, offset) = server.replication().with_feed(|f| (f.replid.clone(), f.offset));
                format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes()
            } else {
                Vec::new()
            };
            preamble.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
            preamble.extend_from_slice(&rdb);
            return (preamble, None);
        }
        let (mut preamble, attached) =
            server.replication().attach_full(server.keyspace(), &functions, self.id, self.addr, self.port);
        if !self.announce {
            // SYNC: the snapshot without the +FULLRESYNC line.
            let line = preamble.iter().position(|b| *b == b'\n').map_or(0, |p| p + 1);
            preamble.drain(..line);
        }
        (preamble, Some(attached))
    }
}

fn psync(ctx: &mut Ctx) -> CmdResult {
    let (replid, from) = (ctx.arg(1), ctx.arg(2));
    attach(ctx, Some(replid), Some(from), true)
}

fn sync(ctx: &mut Ctx) -> CmdResult {
    attach(ctx, None, None, false)
}

fn wait(ctx: &mut Ctx) -> CmdResult {
    if ctx.server.replication().is_replica() {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let needed = usize::try_from(int(ctx.arg(1))?).unwrap_or(0);
    let timeout = int(ctx.arg(2))?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    let acked = ctx.server.replication().with_feed(|feed| {
        let offset = feed.offset;
        let acked = feed.acked(offset);
        if acked < needed {
            feed.request_acks();
        }
        (offset, acked)
    });
    let (offset, acked) = acked;
    if acked >= needed {
        ctx.out.int(acked as i64);
        return Ok(());
    }
    let deadline = if timeout == 0 { 0 } else { ctx.server.now_ms() + timeout as u64 };
    ctx.flow = Some(Flow::Wait { offset, needed, deadline });
    Ok(())
}
