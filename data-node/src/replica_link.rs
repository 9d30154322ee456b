//! An attached replica's connection, on the primary: the stream goes out,
//! `REPLCONF ACK <offset>` comes back.

use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::clients::ClientHandle;
use crate::replication::feed::Attached;
use crate::resp::{Limits, Parsed, parse_request};
use crate::server::Server;

pub async fn serve(server: &Server, client: &ClientHandle, stream: &mut TcpStream, mut attached: Attached) {
    let mut inbuf = BytesMut::with_capacity(4096);
    let mut spans = Vec::new();
    let limits = Limits::default();
    loop {
        tokio::select! {
            next = attached.stream.recv() => {
                let Some(bytes) = next else { break };
                let mut batch = bytes.to_vec();
                while let Ok(more) = attached.stream.try_recv() {
                    batch.extend_from_slice(&more);
                }
                if stream.write_all(&batch).await.is_err() {
                    break;
                }
                server.stats().net_output_bytes.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            ready = stream.readable() => {
                if ready.is_err() {
                    break;
                }
                match stream.try_read_buf(&mut inbuf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => break,
                }
                while let Ok(Parsed::Multibulk { consumed }) = parse_request(&inbuf, &mut spans, &limits) {
                    let args: Vec<&[u8]> = spans.iter().map(|r| &inbuf[r.clone()]).collect();
                    let ack = args.len() == 3
                        && args[0].eq_ignore_ascii_case(b"REPLCONF")
                        && args[1].eq_ignore_ascii_case(b"ACK");
                    if ack && let Some(offset) = std::str::from_utf8(args[2]).ok().and_then(|o| o.parse().ok()) {
                        server.replication().record_ack(&attached, offset, server.keyspace().now_ms());
                    }
                    inbuf.advance(consumed);
                }
                if inbuf.len() > 1 << 20 {
                    break;
                }
            }
            _ = client.kill.notified() => break,
        }
    }
    server.replication().detach(attached.id);
}
