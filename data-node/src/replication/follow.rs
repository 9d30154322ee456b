//! The replica's side: connect to the primary, hand-shake as redis-server
//! does (PING, AUTH, REPLCONF, PSYNC), load the snapshot of a full sync, then
//! apply the stream through the command table as the primary's own client,
//! acknowledging the offset every second and whenever asked (GETACK).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::Role;
use super::feed::encode;
use crate::cmd;
use crate::resp::{Limits, Parsed, Reply, parse_request};
use crate::server::Server;
use crate::session::Session;

const RETRY: Duration = Duration::from_millis(250);
const ACK_EVERY: Duration = Duration::from_secs(1);

type Result<T> = std::result::Result<T, String>;

/// Follows `host:port` until a later REPLICAOF supersedes this `epoch`.
pub async fn follow(server: Arc<Server>, host: String, port: u16, epoch: u64) {
    while server.replication.current_epoch() == epoch {
        if let Err(e) = sync_and_stream(&server, &host, port, epoch).await {
            eprintln!("data-node: replication from {host}:{port}: {e}");
        }
        set_link(&server, epoch, |of| {
            of.link_up = false;
            of.sync_in_progress = false;
        });
        tokio::time::sleep(RETRY).await;
    }
}

fn set_link(server: &Server, epoch: u64, f: impl FnOnce(&mut super::ReplicaOf)) {
    if server.replication.current_epoch() != epoch {
        return;
    }
    server.replication.with_role(|role| {
        if let Role::Replica(of) = role {
            f(of)
        }
    });
}

struct Primary {
    stream: TcpStream,
    buf: BytesMut,
    /// `repl-timeout`: this long without a byte and the link is lost.
    timeout: Duration,
    last_data: Instant,
}

impl Primary {
    async fn fill(&mut self) -> Result<()> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err(self.silent()),
            Ok(Ok(0)) => Err("the primary closed the connection".into()),
            Ok(Ok(_)) => {
                self.last_data = Instant::now();
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
        }
    }

    fn silent(&self) -> String {
        format!("timeout: nothing from the primary for {:?} (repl-timeout)", self.timeout)
    }

    /// One reply line, skipping the bare newlines a primary sends as keepalives.
    async fn line(&mut self) -> Result<String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.advance(end + 2);
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<String> {
        let mut frame = Vec::new();
        encode(args, &mut frame);
        self.stream.write_all(&frame).await.map_err(|e| e.to_string())?;
        self.line().await
    }

    async fn expect_ok(&mut self, args: &[&[u8]]) -> Result<()> {
        match self.command(args).await? {
            line if line.starts_with('+') => Ok(()),
            other => Err(format!("{} answered {other}", String::from_utf8_lossy(args[0]))),
        }
    }

    /// The snapshot of a full sync: `$<len>` then the bytes, or (diskless)
    /// `$EOF:<40-byte mark>` then the bytes then the mark.
    async fn snapshot(&mut self) -> Result<Vec<u8>> {
        let header = self.line().await?;
        let Some(spec) = header.strip_prefix('$') else { return Err(format!("expected the snapshot, got {header}")) };
        if let Some(mark) = spec.strip_prefix("EOF:") {
            let mark = mark.as_bytes().to_vec();
            loop {
                if self.buf.len() >= mark.len() && self.buf.ends_with(&mark) {
                    let body = self.buf.split_to(self.buf.len() - mark.len()).to_vec();
                    self.buf.clear();
                    return Ok(body);
                }
                self.fill().await?;
            }
        }
        let len: usize = spec.parse().map_err(|_| format!("bad snapshot length {spec}"))?;
        while self.buf.len() < len {
            self.fill().await?;
        }
        Ok(self.buf.split_to(len).to_vec())
    }
}

async fn sync_and_stream(server: &Arc<Server>, host: &str, port: u16, epoch: u64) -> Result<()> {
    let timeout = Duration::from_secs(server.live.repl_timeout.load(Ordering::Relaxed).max(1));
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| format!("connecting: no answer within {timeout:?} (repl-timeout)"))?
        .map_err(|e| format!("connecting: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut primary = Primary { stream, buf: BytesMut::with_capacity(64 * 1024), timeout, last_data: Instant::now() };
    let pong = primary.command(&[b"PING"]).await?;
    let masterauth = server.replication.masterauth.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(password) = masterauth {
        primary.expect_ok(&[b"AUTH", password.as_bytes()]).await?;
    } else if pong.starts_with("-NOAUTH") {
        return Err("the primary needs a password: set masterauth".into());
    }
    let our_port = server.live.port.load(Ordering::Relaxed).to_string();
    primary.expect_ok(&[b"REPLCONF", b"listening-port", our_port.as_bytes()]).await?;
    primary.expect_ok(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]).await?;

    let (replid, offset) = server.replication.with_role(|role| match role {
        Role::Replica(of) => (of.master_replid.clone(), of.offset),
        Role::Primary => ("?".into(), 0),
    });
    let from = if replid == "?" { "-1".to_owned() } else { (offset + 1).to_string() };
    set_link(server, epoch, |of| of.sync_in_progress = true);
    let answer = primary.command(&[b"PSYNC", replid.as_bytes(), from.as_bytes()]).await?;
    let mut words = answer.split_whitespace();
    let mut offset = match words.next() {
        Some("+FULLRESYNC") => {
            let replid = words.next().unwrap_or("?").to_owned();
            let offset: u64 = words.next().and_then(|o| o.parse().ok()).ok_or("FULLRESYNC without an offset")?;
            let rdb = primary.snapshot().await?;
            load_snapshot(server, &rdb)?;
            set_link(server, epoch, |of| of.master_replid = replid);
            offset
        }
        Some("+CONTINUE") => {
            if let Some(new_id) = words.next() {
                set_link(server, epoch, |of| of.master_replid = new_id.to_owned());
            }
            offset
        }
        _ => return Err(format!("PSYNC answered {answer}")),
    };
    set_link(server, epoch, |of| {
        of.sync_in_progress = false;
        of.link_up = true;
        of.offset = offset;
        of.last_io = Instant::now();
    });
    eprintln!("data-node: replicating from {host}:{port} at offset {offset}");

    // The primary's commands run as its own client: authenticated, allowed to
    // write on a replica, never blocked.
    let handle = server.register_client(format!("{host}:{port}"), String::new());
    let _listed = Unregister(server, handle.id);
    let (tx, _mailbox) = mpsc::channel(1);
    let mut session = Session::new(handle, tx, true);
    session.is_primary = true;
    apply_stream(server, &mut primary, &mut session, &mut offset, epoch).await
}

/// Takes the primary's client out of CLIENT LIST however the link ends
/// (including the task being aborted by a new REPLICAOF).
struct Unregister<'a>(&'a Server, u64);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.0.unregister_client(self.1);
    }
}

fn load_snapshot(server: &Server, rdb: &[u8]) -> Result<()> {
    let mut all = server.keyspace.lock_all();
    for db in 0..server.keyspace.databases() {
        all.flush_db(db);
    }
    drop(all);
    crate::rdb::load_bytes(&server.keyspace, rdb).map(|_| ()).map_err(|e| format!("loading the snapshot: {e}"))
}

async fn apply_stream(
    server: &Arc<Server>,
    primary: &mut Primary,
    session: &mut Session,
    offset: &mut u64,
    epoch: u64,
) -> Result<()> {
    let limits = Limits::default();
    let mut spans = Vec::new();
    let mut out = Reply::new();
    let mut ack_timer = tokio::time::interval(ACK_EVERY);
    loop {
        if server.replication.current_epoch() != epoch {
            return Ok(());
        }
        loop {
            let consumed = match parse_request(&primary.buf, &mut spans, &limits).map_err(|e| e.0)? {
                Parsed::Incomplete => break,
                Parsed::Multibulk { consumed } => consumed,
                // Inline requests are not part of a replication stream.
                Parsed::Inline { consumed, .. } => consumed,
            };
            let args: Vec<&[u8]> = spans.iter().map(|r| &primary.buf[r.clone()]).collect();
            let getack =
                args.len() >= 2 && args[0].eq_ignore_ascii_case(b"REPLCONF") && args[1].eq_ignore_ascii_case(b"GETACK");
            if getack {
                record_offset(server, epoch, *offset);
                send_ack(&mut primary.stream, *offset).await?;
            } else if !args.is_empty() {
                let _ = cmd::execute(server, session, &mut out, &args, true);
                if out.buf.first() == Some(&b'-') {
                    // The primary ran it; we could not: the data sets now differ.
                    let name = String::from_utf8_lossy(args[0]);
                    let error = String::from_utf8_lossy(&out.buf[1..]);
                    eprintln!("data-node: the primary's {name} failed here: {}", error.trim_end());
                }
                out.buf.clear();
            }
            primary.buf.advance(consumed);
            *offset += consumed as u64;
            // Recorded before any await: a stop between two commands leaves
            // the recorded offset exactly at the data applied.
            record_offset(server, epoch, *offset);
        }
        set_link(server, epoch, |of| {
            of.offset = *offset;
            of.last_io = primary.last_data;
        });
        tokio::select! {
            filled = primary.fill() => filled?,
            _ = ack_timer.tick() => {
                // fill() starts its timeout afresh after every ACK: the idle time counts here.
                if primary.last_data.elapsed() >= primary.timeout {
                    return Err(primary.silent());
                }
                send_ack(&mut primary.stream, *offset).await?
            }
        }
    }
}

fn record_offset(server: &Server, epoch: u64, offset: u64) {
    set_link(server, epoch, |of| of.offset = offset);
}

async fn send_ack(stream: &mut TcpStream, offset: u64) -> Result<()> {
    let mut frame = Vec::new();
    encode(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()], &mut frame);
    stream.write_all(&frame).await.map_err(|e| e.to_string())
}
