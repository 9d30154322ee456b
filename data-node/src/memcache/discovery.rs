//! ElastiCache Auto Discovery: `config get cluster` tells a cluster client
//! every node of the cluster and a version that changes with membership.
//! The control plane sets it on each node with `config set cluster`.

use super::Memcache;
use super::connection::{Conn, Next};
use super::line::{self, Words};
use super::reply::{self, push_u64};
use super::text::data_block;
use crate::sync;
use std::sync::RwLock;

/// The membership a node reports: (version, "host|ip|port ...").
pub struct Discovery {
    config: RwLock<Option<(u64, String)>>,
    bind: String,
}

impl Discovery {
    pub fn new(bind: &str) -> Discovery {
        Discovery { config: RwLock::new(None), bind: bind.to_owned() }
    }

    /// Until the control plane says otherwise a node is a cluster of one.
    fn current(&self, port: usize) -> (u64, String) {
        sync::read(&self.config).clone().unwrap_or_else(|| {
            let host = match self.bind.as_str() {
                "0.0.0.0" | "::" | "" => "127.0.0.1",
                b => b,
            };
            (1, format!("{host}|{host}|{port}"))
        })
    }
}

/// Parses a membership payload: a version line, then `host|ip|port` nodes.
pub fn parse(payload: &[u8]) -> Option<(u64, String)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut lines = text.trim_end_matches(['\r', '\n']).splitn(2, '\n');
    let version: u64 = lines.next()?.trim().parse().ok()?;
    let nodes: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    for node in &nodes {
        let parts: Vec<&str> = node.split('|').collect();
        let [host, _ip, port] = parts.as_slice() else { return None };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return None;
        }
    }
    Some((version, nodes.join(" ")))
}

/// `config get cluster`, and `config set cluster <flags> <bytes>` with its block.
pub fn execute(mc: &Memcache, conn: &mut Conn, line: &[u8], after: &[u8]) -> Next {
    let words = Words::split(line);
    match words.as_slice() {
        [_, b"get", b"cluster"] => {
            let port = mc.server().live().port.load(std::sync::atomic::Ordering::Relaxed);
            let (version, nodes) = mc.discovery.current(port);
            let body = format!("{version}\n{nodes}\n");
            conn.out.extend_from_slice(b"CONFIG cluster 0 ");
            push_u64(&mut conn.out, body.len() as u64);
            conn.out.extend_from_slice(b"\r\n");
            conn.out.extend_from_slice(body.as_bytes());
            conn.out.extend_from_slice(b"\r\nEND\r\n");
            Next::Done(0)
        }
        [_, b"set", b"cluster", _flags, len] => {
            let Some(len) = line::number::<usize>(len).filter(|&n| n <= 1 << 20) else {
                return conn.say(b"CLIENT_ERROR bad command line format");
            };
            let block = len + 2;
            if after.len() < block {
                return Next::NeedData(block);
            }
            let parsed = data_block(after, block).and_then(parse);
            match parsed {
                Some(config) => {
                    *sync::write(&mc.discovery.config) = Some(config);
                    reply::line(&mut conn.out, b"STORED");
                }
                None => reply::line(&mut conn.out, b"CLIENT_ERROR bad cluster configuration"),
            }
            Next::Done(block)
        }
        _ => conn.say(b"ERROR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_parses_as_elasticache_writes_it() {
        let (v, nodes) = parse(b"12\nmc-0001|10.0.0.1|11211 mc-0002|10.0.0.2|11212\n").expect("valid");
        assert_eq!(v, 12);
        assert_eq!(nodes, "mc-0001|10.0.0.1|11211 mc-0002|10.0.0.2|11212");
        assert!(parse(b"x\na|b|1\n").is_none());
        assert!(parse(b"1\na|b\n").is_none());
        assert!(parse(b"1\na|b|99999\n").is_none());
        assert_eq!(parse(b"3\n").map(|c| c.1), Some(String::new()));
    }
}
