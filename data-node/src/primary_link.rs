//! The link to our primary, on a replica: it follows the target that
//! REPLICAOF (or `--replicaof`) sets in the replication state. For each
//! target it connects, hand-shakes as redis-server does (PING, AUTH,
//! REPLCONF, PSYNC), loads the snapshot of a full sync, then applies the
//! stream through the command table as the primary's own client,
//! acknowledging the offset every second and whenever asked (GETACK).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::cmd;
use crate::replication::feed::encode;
use crate::replication::{Role, Target};
use crate::resp::{Limits, Parsed, Reply, parse_request};
use crate::server::Server;
use crate::session::Session;

const RETRY: Duration = Duration::from_millis(250);
const ACK_EVERY: Duration = Duration::from_secs(1);

/// Why a link to the primary ended; it is tried again after `RETRY`.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connecting: no answer within {0:?} (repl-timeout)")]
    ConnectTimeout(Duration),
    #[error("connecting: {0}")]
    Connect(std::io::Error),
    #[error("timeout: nothing from the primary for {0:?} (repl-timeout)")]
    Silent(Duration),
    #[error("the primary closed the connection")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the primary needs a password: set masterauth")]
    NeedsPassword,
    #[error("{command} answered {answer}")]
    Refused { command: String, answer: String },
    #[error("the snapshot's function libraries: {0}")]
    Libraries(String),
    #[error("bad snapshot header {0}")]
    BadSnapshot(String),
    #[error("loading the snapshot: {0}")]
    Load(crate::rdb::RdbError),
    #[error("{0}")]
    Protocol(String),
}

type Result<T> = std::result::Result<T, LinkError>;

/// Follows whatever primary the replication state names, for as long as the
/// server runs; started once by `serve`.
pub async fn run(server: Arc<Server>) {
    let mut target = server.replication().watch_target();
    loop {
        let current = target.borrow_and_update().clone();
        if let Some(t) = current {
            tokio::select! {
                _ = follow(&server, &t) => {}
                // A new target: the link to the old one is dropped here.
                _ = target.changed() => continue,
            }
        }
        if target.changed().await.is_err() {
            return;
        }
    }
}

/// Follows one target until its epoch is superseded.
async fn follow(server: &Arc<Server>, target: &Target) {
    while server.replication().current_epoch() == target.epoch {
        if let Err(e) = sync_and_stream(server, target).await {
            eprintln!("data-node: replication from {}:{}: {e}", target.host, target.port);
        }
        server.replication().update_link(target.epoch, |of| {
            of.link_up = false;
            of.sync_in_progress = false;
        });
        tokio::time::sleep(RETRY).await;
    }
}

/// Our connection to the primary, with what it sent that we have not read.
struct PrimaryConnection {
    stream: TcpStream,
    buf: BytesMut,
    /// `repl-timeout`: this long without a byte and the link is lost.
    timeout: Duration,
    last_data: Instant,
}

impl PrimaryConnection {
    async fn fill(&mut self) -> Result<()> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err(LinkError::Silent(self.timeout)),
            Ok(Ok(0)) => Err(LinkError::Closed),
            Ok(Ok(_)) => {
                self.last_data = Instant::now();
                Ok(())
            }
            Ok(Err(e)) => Err(e.into()),
        }
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
        self.stream.write_all(&frame).await?;
        self.line().await
    }

    async fn expect_ok(&mut self, args: &[&[u8]]) -> Result<()> {
        match self.command(args).await? {
            line if line.starts_with('+') => Ok(()),
            answer => Err(LinkError::Refused { command: String::from_utf8_lossy(args[0]).into_owned(), answer }),
        }
    }

    /// The snapshot of a full sync: `$<len>` then the bytes, or (diskless)
    /// `$EOF:<40-byte mark>` then the bytes then the mark.
    async fn snapshot(&mut self) -> Result<Vec<u8>> {
        let header = self.line().await?;
        let Some(spec) = header.strip_prefix('$') else { return Err(LinkError::BadSnapshot(header)) };
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
        let Ok(len) = spec.parse::<usize>() else { return Err(LinkError::BadSnapshot(header)) };
        while self.buf.len() < len {
            self.fill().await?;
        }
        Ok(self.buf.split_to(len).to_vec())
    }
}

async fn connect(server: &Server, target: &Target) -> Result<PrimaryConnection> {
    let timeout = Duration::from_secs(server.live().repl_timeout.load(Ordering::Relaxed).max(1));
    let stream = tokio::time::timeout(timeout, TcpStream::connect((target.host.as_str(), target.port)))
        .await
        .map_err(|_| LinkError::ConnectTimeout(timeout))?
        .map_err(LinkError::Connect)?;
    let _ = stream.set_nodelay(true);
    Ok(PrimaryConnection { stream, buf: BytesMut::with_capacity(64 * 1024), timeout, last_data: Instant::now() })
}

async fn sync_and_stream(server: &Arc<Server>, target: &Target) -> Result<()> {
    let repl = server.replication();
    let epoch = target.epoch;
    let mut primary = connect(server, target).await?;
    let pong = primary.command(&[b"PING"]).await?;
    if let Some(password) = repl.masterauth() {
        primary.expect_ok(&[b"AUTH", password.as_bytes()]).await?;
    } else if pong.starts_with("-NOAUTH") {
        return Err(LinkError::NeedsPassword);
    }
    let our_port = server.live().port.load(Ordering::Relaxed).to_string();
    primary.expect_ok(&[b"REPLCONF", b"listening-port", our_port.as_bytes()]).await?;
    primary.expect_ok(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]).await?;

    let history = repl.with_role(|role| match role {
        Role::Replica(of) => of.history.clone().map(|id| (id, of.offset)),
        Role::Primary => None,
    });
    // PSYNC ? -1 asks for everything.
    let (replid, from) = match &history {
        Some((id, offset)) => (id.clone(), (offset + 1).to_string()),
        None => ("?".to_owned(), "-1".to_owned()),
    };
    repl.update_link(epoch, |of| of.sync_in_progress = true);
    let answer = primary.command(&[b"PSYNC", replid.as_bytes(), from.as_bytes()]).await?;
    let mut words = answer.split_whitespace();
    let mut offset = match words.next() {
        Some("+FULLRESYNC") => {
            let (Some(replid), Some(offset)) = (words.next(), words.next().and_then(|o| o.parse().ok())) else {
                return Err(LinkError::Protocol(format!("PSYNC answered {answer}")));
            };
            let rdb = primary.snapshot().await?;
            load_snapshot(server, &rdb)?;
            repl.update_link(epoch, |of| of.history = Some(replid.to_owned()));
            offset
        }
        Some("+CONTINUE") => {
            if let Some(new_id) = words.next() {
                repl.update_link(epoch, |of| of.history = Some(new_id.to_owned()));
            }
            history.map_or(0, |(_, offset)| offset)
        }
        _ => return Err(LinkError::Protocol(format!("PSYNC answered {answer}"))),
    };
    repl.update_link(epoch, |of| {
        of.sync_in_progress = false;
        of.link_up = true;
        of.offset = offset;
        of.last_io = Instant::now();
    });
    eprintln!("data-node: replicating from {}:{} at offset {offset}", target.host, target.port);

    // The primary's commands run as its own client: authenticated, allowed to
    // write on a replica, never blocked.
    let handle = server.clients().register(format!("{}:{}", target.host, target.port), String::new());
    let _listed = Unregister(server, handle.id);
    let (tx, _mailbox) = mpsc::channel(1);
    let mut session = Session::new(handle, tx, true);
    session.from_primary = true;
    apply_stream(server, &mut primary, &mut session, &mut offset, epoch).await
}

/// Takes the primary's client out of CLIENT LIST however the link ends
/// (including its future being dropped for a new target).
struct Unregister<'a>(&'a Server, u64);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.0.clients().unregister(self.1);
    }
}

fn load_snapshot(server: &Server, rdb: &[u8]) -> Result<()> {
    let mut all = server.keyspace().lock_all();
    for db in 0..server.keyspace().databases() {
        all.flush_db(db);
    }
    drop(all);
    let loaded = crate::rdb::load_bytes(server.keyspace(), rdb).map_err(LinkError::Load)?;
    crate::cmd::scripting::install(server.scripts(), &loaded.functions, crate::cmd::scripting::Restore::Flush)
        .map_err(LinkError::Libraries)
}

async fn apply_stream(
    server: &Arc<Server>,
    primary: &mut PrimaryConnection,
    session: &mut Session,
    offset: &mut u64,
    epoch: u64,
) -> Result<()> {
    let repl = server.replication();
    let limits = Limits::default();
    let mut spans = Vec::new();
    let mut out = Reply::new();
    let mut ack_timer = tokio::time::interval(ACK_EVERY);
    loop {
        // A GETACK's length: it is answered once the batch before it is
        // applied, and counted in the offset only after the answer, as Redis does.
        let mut getack = None;
        {
            let Some(_applying) = repl.start_applying(epoch) else { return Ok(()) };
            loop {
                let consumed = match parse_request(&primary.buf, &mut spans, &limits) {
                    Err(e) => return Err(LinkError::Protocol(e.0)),
                    Ok(Parsed::Incomplete) => break,
                    Ok(Parsed::Multibulk { consumed }) => consumed,
                    // Inline requests are not part of a replication stream.
                    Ok(Parsed::Inline { consumed, .. }) => consumed,
                };
                let args: Vec<&[u8]> = spans.iter().map(|r| &primary.buf[r.clone()]).collect();
                if is_getack(&args) {
                    getack = Some(consumed);
                    break;
                }
                if !args.is_empty() {
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
                // Recorded as each command is applied: a stop between two
                // commands leaves the recorded offset exactly at the data applied.
                repl.update_link(epoch, |of| of.offset = *offset);
            }
            repl.update_link(epoch, |of| of.last_io = primary.last_data);
        }
        if let Some(consumed) = getack {
            send_ack(&mut primary.stream, *offset).await?;
            primary.buf.advance(consumed);
            *offset += consumed as u64;
            repl.update_link(epoch, |of| of.offset = *offset);
            continue;
        }
        tokio::select! {
            filled = primary.fill() => filled?,
            _ = ack_timer.tick() => {
                // fill() starts its timeout afresh after every ACK: the idle time counts here.
                if primary.last_data.elapsed() >= primary.timeout {
                    return Err(LinkError::Silent(primary.timeout));
                }
                send_ack(&mut primary.stream, *offset).await?
            }
        }
    }
}

fn is_getack(args: &[&[u8]]) -> bool {
    args.len() >= 2 && args[0].eq_ignore_ascii_case(b"REPLCONF") && args[1].eq_ignore_ascii_case(b"GETACK")
}

async fn send_ack(stream: &mut TcpStream, offset: u64) -> Result<()> {
    let mut frame = Vec::new();
    encode(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()], &mut frame);
    Ok(stream.write_all(&frame).await?)
}
