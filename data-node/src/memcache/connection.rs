//! One memcached client: read, run every complete request in the buffer,
//! write all their replies at once. A storage command waits for its data
//! block; a refused one has its block skipped as it arrives, never held.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Memcache;
use super::reply;
use super::stats::Counters;

/// A line with no end past this is refused and the connection closed, as
/// memcached does; retrievals, whose keys may be many, get `MAX_GET_LINE`.
const MAX_LINE: usize = 2048;
const MAX_GET_LINE: usize = 8 << 20;
/// Replies are written out mid-batch past this size.
const FLUSH_AT: usize = 64 * 1024;

/// One connection's reply buffer and counts.
#[derive(Default)]
pub struct Conn {
    pub out: Vec<u8>,
    pub counters: Counters,
    /// The request being run said `noreply`: its reply line is not sent.
    pub noreply: bool,
}

impl Conn {
    /// Replies with one line (unless `noreply`); the request is done.
    pub fn say(&mut self, text: &[u8]) -> Next {
        if !self.noreply {
            reply::line(&mut self.out, text);
        }
        self.noreply = false;
        Next::Done(0)
    }
}

/// What a request line needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Done; it used this many bytes after its line (a data block).
    Done(usize),
    /// Its data block, this many bytes after the line, has not all come.
    NeedData(usize),
    /// Refused: skip this many bytes after the line (its data block).
    Swallow(u64),
    Close,
}

pub async fn serve(mc: Arc<Memcache>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let server = mc.server();
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = server.clients().register(peer.to_string(), local);
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut conn = Conn::default();
    let mut swallow: u64 = 0;
    'conn: loop {
        let mut close = false;
        loop {
            if swallow > 0 {
                let n = swallow.min(inbuf.len() as u64);
                inbuf.advance(n as usize);
                swallow -= n;
                if swallow > 0 {
                    break;
                }
            }
            if inbuf.is_empty() {
                break;
            }
            let next = run_request(&mc, &mut conn, &mut inbuf);
            match next {
                Next::Done(used) => inbuf.advance(used),
                Next::NeedData(total) => {
                    inbuf.reserve(total.saturating_sub(inbuf.len()));
                    break;
                }
                Next::Swallow(block) => swallow = block,
                Next::Close => {
                    close = true;
                    break;
                }
            }
            if conn.out.len() >= FLUSH_AT && write_out(&mut stream, &mut conn, &handle).await.is_err() {
                break 'conn;
            }
        }
        mc.totals.publish(&mut conn.counters);
        if write_out(&mut stream, &mut conn, &handle).await.is_err() || close {
            break;
        }
        if inbuf.capacity() - inbuf.len() < 4096 {
            inbuf.reserve(16 * 1024);
        }
        let idle = server.live().timeout.load(Ordering::Relaxed);
        let idle_limit = async {
            match idle {
                0 => std::future::pending::<()>().await,
                secs => tokio::time::sleep(Duration::from_secs(secs)).await,
            }
        };
        tokio::select! {
            read = stream.read_buf(&mut inbuf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => conn.counters.bytes_read += n as u64,
            },
            _ = handle.kill.notified() => break,
            _ = idle_limit => break,
        }
    }
    mc.totals.publish(&mut conn.counters);
    server.clients().unregister(handle.id);
}

/// Runs the request at the start of `inbuf`, text or binary. What it
/// needs next counts from the start of the buffer, except that a refused
/// request's header or line is already gone when it says `Swallow`.
fn run_request(mc: &Arc<Memcache>, conn: &mut Conn, inbuf: &mut BytesMut) -> Next {
    if inbuf[0] == super::binary::REQUEST {
        let next = super::binary::execute(mc, conn, inbuf);
        if let Next::Swallow(_) = next {
            inbuf.advance(super::binary::HEADER);
        }
        return next;
    }
    let Some(newline) = memchr::memchr(b'\n', inbuf) else {
        if inbuf.len() > line_limit(inbuf) {
            reply::line(&mut conn.out, b"CLIENT_ERROR line too long");
            return Next::Close;
        }
        return Next::NeedData(inbuf.len() + 1);
    };
    let end = if newline > 0 && inbuf[newline - 1] == b'\r' { newline - 1 } else { newline };
    let next = super::text::execute(mc, conn, &inbuf[..end], &inbuf[newline + 1..]);
    conn.noreply = false;
    match next {
        Next::Done(used) => Next::Done(newline + 1 + used),
        Next::NeedData(block) => Next::NeedData(newline + 1 + block),
        Next::Swallow(block) => {
            inbuf.advance(newline + 1);
            Next::Swallow(block)
        }
        Next::Close => Next::Close,
    }
}

/// How long a line may grow before its end comes.
fn line_limit(buf: &[u8]) -> usize {
    let start = buf.iter().position(|&b| b != b' ').unwrap_or(0);
    let rest = &buf[start..];
    if rest.starts_with(b"get ")
        || rest.starts_with(b"gets ")
        || rest.starts_with(b"gat ")
        || rest.starts_with(b"gats ")
    {
        MAX_GET_LINE
    } else {
        MAX_LINE
    }
}

async fn write_out(
    stream: &mut TcpStream,
    conn: &mut Conn,
    handle: &crate::clients::ClientHandle,
) -> std::io::Result<()> {
    if conn.out.is_empty() {
        return Ok(());
    }
    tokio::select! {
        written = stream.write_all(&conn.out) => written?,
        _ = handle.kill.notified() => return Err(std::io::ErrorKind::ConnectionAborted.into()),
    }
    conn.counters.bytes_written += conn.out.len() as u64;
    conn.out.clear();
    if conn.out.capacity() > 1 << 20 {
        conn.out.shrink_to(64 * 1024);
    }
    Ok(())
}
