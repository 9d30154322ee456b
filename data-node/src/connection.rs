//! One client connection: read bytes, parse requests, run them, write the
//! replies of a whole batch of pipelined commands with one write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::blocking::Blocked;
use crate::clients::ClientHandle;
use crate::cmd::{self, Flow};
use crate::pubsub::{MAILBOX, Message};
use crate::resp::{Limits, Parsed, Reply, parse_request};
use crate::server::Server;
use crate::session::Session;

/// Replies are flushed mid-batch past this size, so a pipeline of large
/// replies waits for the client to read instead of growing without bound.
const FLUSH_AT: usize = 64 * 1024;
/// Like Redis's client-query-buffer-limit.
const MAX_QUERY_BUFFER: usize = 1024 * 1024 * 1024;

pub async fn serve(server: Arc<Server>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = server.clients().register(peer.to_string(), local);
    let (tx, mut rx) = mpsc::channel(MAILBOX);
    let authenticated = server.live().requirepass().is_none();
    let mut session = Session::new(handle.clone(), tx, authenticated);
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = Reply::new();
    let mut spans = Vec::new();
    let limits = Limits::default();

    'conn: loop {
        // Run every complete request in the buffer, then write all replies.
        loop {
            let parsed = match parse_request(&inbuf, &mut spans, &limits) {
                Ok(p) => p,
                Err(e) => {
                    out.error(&e.0);
                    let _ = flush(&server, &mut stream, &mut out, &handle).await;
                    break 'conn;
                }
            };
            let (consumed, owned) = match parsed {
                Parsed::Incomplete => break,
                Parsed::Multibulk { consumed } => (consumed, None),
                Parsed::Inline { consumed, args } => (consumed, Some(args)),
            };
            {
                // Most commands have few arguments: keep their slices on the stack.
                let mut small: [&[u8]; 8] = [&[]; 8];
                let large: Vec<&[u8]>;
                let argv: &[&[u8]] = match &owned {
                    None if spans.len() <= small.len() => {
                        for (slot, r) in small.iter_mut().zip(&spans) {
                            *slot = &inbuf[r.clone()];
                        }
                        &small[..spans.len()]
                    }
                    None => {
                        large = spans.iter().map(|r| &inbuf[r.clone()]).collect();
                        &large
                    }
                    Some(args) => {
                        large = args.iter().map(|a| a.as_slice()).collect();
                        &large
                    }
                };
                // Most commands answer at once: only the others need the await.
                let flow = cmd::execute(&server, &mut session, &mut out, argv, false);
                if !matches!(flow, Flow::Continue)
                    && !follow_flow(&server, &mut session, &mut out, argv, &mut stream, flow).await
                {
                    break 'conn;
                }
            }
            inbuf.advance(consumed);
            if session.closing || handle.killed.load(Ordering::Relaxed) {
                let _ = flush(&server, &mut stream, &mut out, &handle).await;
                break 'conn;
            }
            if out.buf.len() >= FLUSH_AT && flush(&server, &mut stream, &mut out, &handle).await.is_err() {
                break 'conn;
            }
        }
        report(&server, &mut session);
        if !out.buf.is_empty() && flush(&server, &mut stream, &mut out, &handle).await.is_err() {
            break;
        }
        if inbuf.len() > MAX_QUERY_BUFFER {
            break;
        }
        // The end of the batch's last command: a clock read saved per batch.
        handle.touch(session.clock);
        let idle = server.live().timeout.load(Ordering::Relaxed);
        let idle_limit = async {
            match idle {
                0 => std::future::pending::<()>().await,
                // Subscribers are exempt from the idle timeout, as in Redis.
                secs if session.subscriptions() == 0 => tokio::time::sleep(Duration::from_secs(secs)).await,
                _ => std::future::pending::<()>().await,
            }
        };
        if inbuf.capacity() - inbuf.len() < 4096 {
            inbuf.reserve(16 * 1024);
        }
        tokio::select! {
            ready = stream.readable() => {
                if ready.is_err() {
                    break;
                }
                match read_some(&stream, &mut inbuf) {
                    Ok(0) => break,
                    Ok(n) => {
                        server.stats().net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        session.clock = Instant::now();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            },
            Some(msg) = rx.recv() => {
                // A delivery counts as activity (CLIENT LIST's idle), as in Redis.
                session.clock = Instant::now();
                write_message(&mut out, msg);
                while let Ok(msg) = rx.try_recv() {
                    write_message(&mut out, msg);
                }
            }
            _ = handle.kill.notified() => break,
            _ = idle_limit => break,
        }
    }
    cleanup(&server, &mut session);
}

/// Does what a command said to do next (block, wait for replicas, carry the
/// replication stream, wait out a pause), running it again where it must.
/// False when the connection should close.
async fn follow_flow(
    server: &Arc<Server>,
    session: &mut Session,
    out: &mut Reply,
    argv: &[&[u8]],
    wr: &mut TcpStream,
    first: Flow,
) -> bool {
    let mut no_block = false;
    let mut flow = first;
    loop {
        match flow {
            Flow::Continue => return true,
            Flow::FullSync(sync) => {
                let s = server.clone();
                let Ok((preamble, attached)) = tokio::task::spawn_blocking(move || sync.run(&s)).await else {
                    return false;
                };
                out.buf.extend_from_slice(&preamble);
                match attached {
                    Some(attached) => flow = Flow::Replica(attached),
                    None => {
                        let _ = flush(server, wr, out, &session.handle).await;
                        return false;
                    }
                }
                continue;
            }
            Flow::Replica(attached) => {
                if flush(server, wr, out, &session.handle).await.is_ok() {
                    crate::replica_link::serve(server, &session.handle, wr, attached).await;
                }
                return false;
            }
            Flow::Paused => {
                if flush(server, wr, out, &session.handle).await.is_err() {
                    return false;
                }
                tokio::select! {
                    _ = server.pause().wait_counted() => {}
                    _ = session.handle.kill.notified() => return false,
                    _ = hung_up(wr) => return false,
                }
                session.clock = Instant::now();
            }
            Flow::ScriptRunning { busy_at } => {
                if flush(server, wr, out, &session.handle).await.is_err() {
                    return false;
                }
                tokio::select! {
                    _ = server.scripts().ended() => {}
                    _ = tokio::time::sleep_until(busy_at.into()) => {}
                    _ = session.handle.kill.notified() => return false,
                    _ = hung_up(wr) => return false,
                }
                session.clock = Instant::now();
            }
            Flow::Wait { offset, needed, deadline } => {
                if flush(server, wr, out, &session.handle).await.is_err() {
                    return false;
                }
                let Some(acked) = wait_for_acks(server, session, wr, offset, needed, deadline).await else {
                    return false;
                };
                out.int(acked as i64);
                session.clock = Instant::now();
                return true;
            }
            Flow::Block => {
                let Some(blocked) = session.blocked.take() else { return true };
                if flush(server, wr, out, &session.handle).await.is_err() {
                    end_block(server, &blocked);
                    return false;
                }
                let wait = async {
                    if blocked.deadline == 0 {
                        std::future::pending::<()>().await
                    } else {
                        let left = blocked.deadline.saturating_sub(server.now_ms());
                        tokio::time::sleep(Duration::from_millis(left)).await
                    }
                };
                let (mut killed, mut unblocked) = (false, false);
                let handle = &session.handle;
                let unblock = handle.unblock.notified();
                handle.blocked.store(true, Ordering::Relaxed);
                tokio::select! {
                    _ = blocked.waiter.notified() => session.woken = true,
                    _ = wait => no_block = true,
                    _ = unblock => unblocked = true,
                    _ = handle.kill.notified() => killed = true,
                    _ = hung_up(wr) => killed = true,
                }
                handle.blocked.store(false, Ordering::Relaxed);
                // Time spent blocked is not the command's own time.
                session.clock = Instant::now();
                if killed {
                    end_block(server, &blocked);
                    return false;
                }
                if unblocked && handle.unblock_error.load(Ordering::Relaxed) {
                    end_block(server, &blocked);
                    out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    return true;
                }
                no_block |= unblocked;
                session.blocked = Some(blocked);
            }
        }
        flow = cmd::execute(server, session, out, argv, no_block);
        session.woken = false;
        if let Some(blocked) = &session.blocked {
            if matches!(flow, Flow::Block) {
                pass_on(server, blocked);
            } else if let Some(blocked) = session.blocked.take() {
                end_block(server, &blocked);
            }
        }
    }
}

/// A blocked command is over (served, timed out or its client gone): it
/// leaves the line, and whoever is next gets the wake-up it may have had.
fn end_block(server: &Server, blocked: &Blocked) {
    server.blocking().unregister(blocked);
    pass_on(server, blocked);
}

fn pass_on(server: &Server, blocked: &Blocked) {
    server.blocking().pass_on(blocked, |key| server.keyspace().lock_one(key).exists(blocked.db, key));
}

/// WAIT: how many replicas acknowledged `offset`, once `needed` have or the
/// deadline passes; None if the client went away meanwhile.
async fn wait_for_acks(
    server: &Server,
    session: &Session,
    wr: &TcpStream,
    offset: u64,
    needed: usize,
    deadline: u64,
) -> Option<usize> {
    let repl = server.replication();
    let acked = || repl.with_feed(|feed| feed.acked(offset));
    loop {
        // Registered before counting, so an ACK between the two still wakes us.
        let woken = repl.next_ack();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let count = acked();
        let now = server.now_ms();
        if count >= needed || (deadline != 0 && now >= deadline) {
            return Some(count);
        }
        let sleep = async {
            match deadline {
                0 => std::future::pending::<()>().await,
                d => tokio::time::sleep(Duration::from_millis(d - now)).await,
            }
        };
        tokio::select! {
            _ = &mut woken => {}
            _ = sleep => {}
            _ = session.handle.kill.notified() => return None,
            _ = hung_up(wr) => return None,
        }
    }
}

/// Resolves when a blocked client goes away. Pipelined commands sent while
/// blocked stay unread in the socket until the blocking command finishes.
async fn hung_up(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

/// One read. A short read means the socket was drained, so readiness is
/// cleared at once instead of paying for a second read that would only say
/// EAGAIN (epoll is edge-triggered: data arriving later still wakes us).
fn read_some(stream: &TcpStream, buf: &mut BytesMut) -> std::io::Result<usize> {
    let spare = buf.capacity() - buf.len();
    let mut got = None;
    let result = stream.try_io(Interest::READABLE, || {
        let n = stream.try_read_buf(buf)?;
        got = Some(n);
        if n > 0 && n < spare { Err(std::io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
    });
    // The WouldBlock we return for a short read still carries the bytes read.
    got.map_or(result, Ok)
}

/// Writes the pending replies. A client that doesn't read makes this wait
/// (so it stops being served, and nothing piles up), until it is killed.
async fn flush(server: &Server, wr: &mut TcpStream, out: &mut Reply, client: &ClientHandle) -> std::io::Result<()> {
    if out.buf.is_empty() {
        return Ok(());
    }
    // Usually the socket takes it all at once: no waiting, so nothing to
    // select on (and no waiter registered for the kill signal).
    let sent = match wr.try_write(&out.buf) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if sent < out.buf.len() {
        tokio::select! {
            written = wr.write_all(&out.buf[sent..]) => written?,
            _ = client.kill.notified() => return Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
    }
    server.stats().net_output_bytes.fetch_add(out.buf.len() as u64, Ordering::Relaxed);
    out.buf.clear();
    if out.buf.capacity() > 1024 * 1024 {
        out.buf.shrink_to(64 * 1024);
    }
    Ok(())
}

fn write_message(out: &mut Reply, msg: Message) {
    match msg {
        Message::Message { channel, payload } => {
            out.push(3);
            out.bulk(b"message");
            out.bulk(&channel);
            out.bulk(&payload);
        }
        Message::PMessage { pattern, channel, payload } => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(&pattern);
            out.bulk(&channel);
            out.bulk(&payload);
        }
        Message::SMessage { channel, payload } => {
            out.push(3);
            out.bulk(b"smessage");
            out.bulk(&channel);
            out.bulk(&payload);
        }
    }
}

/// Publishes a batch's counters: once per batch, not per command, so
/// pipelined commands don't contend on shared cache lines.
fn report(server: &Server, session: &mut Session) {
    session.flush_calls(server);
    if session.commands > 0 {
        server.stats().commands_processed.fetch_add(session.commands, Ordering::Relaxed);
        session.commands = 0;
        // Under a lock CLIENT LIST reads: taken only when the name changed.
        if !std::ptr::eq(session.last_cmd, session.reported_cmd) {
            session.handle.set_last_cmd(session.last_cmd);
            session.reported_cmd = session.last_cmd;
        }
    }
}

fn cleanup(server: &Arc<Server>, session: &mut Session) {
    report(server, session);
    let id = session.id();
    for ch in session.channels.drain() {
        server.pubsub().unsubscribe(&ch, id);
    }
    for p in session.patterns.drain() {
        server.pubsub().punsubscribe(&p, id);
    }
    for ch in session.shard_channels.drain() {
        server.pubsub().sunsubscribe(&ch, id);
    }
    for (db, key, _, _) in std::mem::take(&mut session.watched) {
        server.keyspace().lock_one(&key).unwatch(db, &key);
    }
    server.clients().unregister(id);
}
