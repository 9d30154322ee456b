//! A Sentinel-compatible discovery port, so clients with Sentinel support
//! (redis-py's `Sentinel`, the `redis` crate's sentinel client) find a
//! group's primary and follow a failover with no change of configuration.
//! The monitor is the only elector; this port reports what the store says,
//! announces each failover as `+switch-master` to subscribers, and records a
//! `SENTINEL FAILOVER` in the journal for the monitor to run.
//!
//! - `resp`: the RESP2 this port speaks.

mod resp;

use std::sync::Arc;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

use crate::model::{CacheCluster, CacheNode, Role, Status};
use crate::store::Store;
use resp::{Out, read_request};

/// Failovers as Sentinel announces them: `<group> <old ip> <old port> <new ip> <new port>`.
#[derive(Clone)]
pub struct Announcements(broadcast::Sender<String>);

impl Default for Announcements {
    fn default() -> Announcements {
        Announcements(broadcast::channel(64).0)
    }
}

impl Announcements {
    pub fn switch_master(&self, group: &str, old: (&str, u16), new: (&str, u16)) {
        let _ = self.0.send(format!("{group} {} {} {} {}", old.0, old.1, new.0, new.1));
    }
}

pub async fn serve(listener: TcpListener, store: Store, announcements: Announcements) {
    let id = crate::auth::random_hex(20).unwrap_or_default();
    let shared = Arc::new((store, announcements, id));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let (store, announcements, id) = &*shared;
            if let Err(e) = session(stream, store, announcements, id).await {
                tracing::debug!("sentinel client: {e}");
            }
        });
    }
}

/// A group's members with their first node, primary first.
async fn topology(store: &Store, group: &str) -> Option<Vec<(CacheCluster, CacheNode)>> {
    let mut members: Vec<(CacheCluster, CacheNode)> = store
        .group_members(&group.to_ascii_lowercase())
        .await
        .ok()?
        .into_iter()
        .filter_map(|(cluster, nodes)| Some((cluster, nodes.into_iter().next()?)))
        .collect();
    members.sort_by_key(|(c, _)| c.role != Some(Role::Primary));
    let primary_known = members.first().is_some_and(|(c, n)| c.role == Some(Role::Primary) && n.address.is_some());
    primary_known.then_some(members)
}

fn master_fields(name: &str, members: &[(CacheCluster, CacheNode)]) -> Vec<(&'static str, String)> {
    let (_, node) = &members[0];
    vec![
        ("name", name.to_owned()),
        ("ip", node.address.clone().unwrap_or_default()),
        ("port", node.host_port.to_string()),
        ("runid", String::new()),
        ("flags", "master".into()),
        ("link-pending-commands", "0".into()),
        ("link-refcount", "1".into()),
        ("last-ping-sent", "0".into()),
        ("last-ok-ping-reply", "0".into()),
        ("last-ping-reply", "0".into()),
        ("down-after-milliseconds", "1500".into()),
        ("role-reported", "master".into()),
        ("num-slaves", (members.len() - 1).to_string()),
        ("num-other-sentinels", "0".into()),
        ("quorum", "1".into()),
        ("parallel-syncs", "1".into()),
    ]
}

fn replica_fields(members: &[(CacheCluster, CacheNode)]) -> Vec<Vec<(&'static str, String)>> {
    let (_, primary) = &members[0];
    members[1..]
        .iter()
        .filter(|(c, n)| c.status == Status::Available && n.address.is_some())
        .map(|(_, node)| {
            let ip = node.address.clone().unwrap_or_default();
            vec![
                ("name", format!("{ip}:{}", node.host_port)),
                ("ip", ip),
                ("port", node.host_port.to_string()),
                ("runid", String::new()),
                ("flags", "slave".into()),
                ("role-reported", "slave".into()),
                ("master-link-status", "ok".into()),
                ("master-host", primary.address.clone().unwrap_or_default()),
                ("master-port", primary.host_port.to_string()),
            ]
        })
        .collect()
}

async fn sentinel(store: &Store, id: &str, args: &[String], out: &mut Out) {
    let sub = args.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let name = args.get(2).map(String::as_str).unwrap_or("");
    match sub.as_str() {
        "get-master-addr-by-name" => match topology(store, name).await {
            Some(members) => {
                out.array(2);
                out.bulk(members[0].1.address.as_deref().unwrap_or(""));
                out.bulk(&members[0].1.host_port.to_string());
            }
            None => out.null_array(),
        },
        "masters" => {
            let groups = store.groups(None, i64::MAX).await.unwrap_or_default();
            let mut all = Vec::new();
            for g in groups {
                if let Some(members) = topology(store, &g.replication_group_id).await {
                    all.push(master_fields(&g.replication_group_id, &members));
                }
            }
            out.array(all.len());
            all.iter().for_each(|f| out.fields(f));
        }
        "master" => match topology(store, name).await {
            Some(members) => out.fields(&master_fields(name, &members)),
            None => out.error("ERR No such master with that name"),
        },
        "replicas" | "slaves" => match topology(store, name).await {
            Some(members) => {
                let replicas = replica_fields(&members);
                out.array(replicas.len());
                replicas.iter().for_each(|f| out.fields(f));
            }
            None => out.error("ERR No such master with that name"),
        },
        "sentinels" => match topology(store, name).await {
            // This port is the only sentinel: it has no peers.
            Some(_) => out.array(0),
            None => out.error("ERR No such master with that name"),
        },
        "failover" => failover(store, name, out).await,
        "myid" => out.bulk(id),
        _ => out.error(&format!("ERR Unknown sentinel subcommand '{sub}'")),
    }
}

/// SENTINEL FAILOVER <group>: a requested failover, recorded in the journal
/// for the monitor like a test-failover; answered as Sentinel does.
async fn failover(store: &Store, name: &str, out: &mut Out) {
    let id = name.to_ascii_lowercase();
    let Some(members) = topology(store, &id).await else {
        return out.error("ERR No such master with that name");
    };
    if members.len() < 2 {
        return out.error("NOGOODSLAVE No suitable replica to promote");
    }
    match store.group(&id).await {
        Ok(Some(group)) if group.status == crate::model::Status::Available => {}
        _ => return out.error(&format!("ERR Replication group {id} is not in available state")),
    }
    let reason = "failover requested through the Sentinel port";
    match store.begin_failover(&id, true, reason, None).await {
        Ok(Some(_)) => out.simple("OK"),
        Ok(None) => out.error("INPROG Failover already in progress"),
        Err(e) => {
            tracing::error!("sentinel: {e}");
            out.error("ERR internal error")
        }
    }
}

/// The Redis version clients see in HELLO (Sentinel reports the server's).
fn crate_version() -> &'static str {
    "7.0.15"
}

async fn session(stream: TcpStream, store: &Store, announcements: &Announcements, id: &str) -> Result<(), String> {
    let (read, mut write) = stream.into_split();
    let mut input = BufReader::new(read);
    let mut switches: Option<broadcast::Receiver<String>> = None;
    let mut subscribed = 0usize;
    let mut resp3 = false;
    loop {
        let request = match &mut switches {
            None => read_request(&mut input).await,
            Some(rx) => tokio::select! {
                request = read_request(&mut input) => request,
                switched = rx.recv() => {
                    if let Ok(payload) = switched {
                        let mut out = Out::new(resp3);
                        out.push(3);
                        out.bulk("message");
                        out.bulk("+switch-master");
                        out.bulk(&payload);
                        write.write_all(&out.0).await.map_err(|e| e.to_string())?;
                    }
                    continue;
                }
            },
        };
        let mut out = Out::new(resp3);
        let args = match request {
            Ok(Some(args)) if !args.is_empty() => args,
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(()),
            Err(e) => {
                out.error(&format!("ERR {e}"));
                let _ = write.write_all(&out.0).await;
                return Err(e);
            }
        };
        match args[0].to_ascii_lowercase().as_str() {
            "ping" => out.simple("PONG"),
            "sentinel" => sentinel(store, id, &args, &mut out).await,
            "hello" => {
                let version = args.get(1).map_or(Ok(2), |v| v.parse::<u8>());
                match version {
                    Ok(v @ (2 | 3)) => {
                        resp3 = v == 3;
                        out.1 = resp3;
                        out.map(7);
                        for (name, value) in [("server", "redis"), ("version", crate_version()), ("mode", "sentinel")] {
                            out.bulk(name);
                            out.bulk(value);
                        }
                        out.bulk("proto");
                        out.int(i64::from(v));
                        out.bulk("id");
                        out.int(1);
                        out.bulk("role");
                        out.bulk("master");
                        out.bulk("modules");
                        out.array(0);
                    }
                    _ => out.error("NOPROTO unsupported protocol version"),
                }
            }
            "subscribe" => {
                for channel in &args[1..] {
                    subscribed += 1;
                    out.push(3);
                    out.bulk("subscribe");
                    out.bulk(channel);
                    out.int(subscribed as i64);
                }
                switches.get_or_insert_with(|| announcements.0.subscribe());
            }
            // Clients introduce themselves; there is nothing to check here.
            "client" | "auth" | "select" => out.simple("OK"),
            "quit" => {
                out.simple("OK");
                let _ = write.write_all(&out.0).await;
                return Ok(());
            }
            other => out.error(&format!("ERR unknown command '{other}'")),
        }
        write.write_all(&out.0).await.map_err(|e| e.to_string())?;
    }
}
