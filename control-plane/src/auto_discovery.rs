//! ElastiCache Auto Discovery for memcached clusters: every node answers
//! `config get cluster` with the cluster's membership version and its
//! nodes (`host|ip|port`), so a cluster client given any one endpoint finds
//! the rest. The control plane writes it to each node whenever the
//! membership changes and whenever a node comes back (a restarted node
//! knows only itself).

use std::net::IpAddr;

use crate::memcached_client::MemcachedClient;
use crate::model::{CacheCluster, CacheNode, Status};
use crate::node_client::NodeError;

/// What a health check of a memcached node found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Answered,
    /// It answered with another membership (it restarted) and was told the cluster's.
    Reminded,
    Silent,
}

/// The nodes a client should use: those that serve and are not leaving.
fn serving(node: &&CacheNode) -> bool {
    node.status != Status::Deleting && node.address.is_some()
}

/// The membership line: `address|ip|port` of every serving node, in id order.
pub async fn membership(nodes: &[CacheNode]) -> String {
    let mut entries = Vec::new();
    for node in nodes.iter().filter(serving) {
        let address = node.address.as_deref().unwrap_or_default();
        let ip = resolve(address, node.host_port).await;
        entries.push(format!("{address}|{ip}|{}", node.host_port));
    }
    entries.join(" ")
}

/// The address's IP, as Auto Discovery lists it next to the name (empty
/// when the name does not resolve: clients then use the name).
async fn resolve(host: &str, port: u16) -> String {
    if host.parse::<IpAddr>().is_ok() {
        return host.to_owned();
    }
    let found = tokio::net::lookup_host((host, port)).await.ok().and_then(|mut addrs| addrs.next());
    found.map(|addr| addr.ip().to_string()).unwrap_or_default()
}

fn version(cluster: &CacheCluster) -> u64 {
    u64::try_from(cluster.config_version).unwrap_or(1)
}

/// Writes the cluster's membership to every serving node.
pub async fn publish(cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<(), NodeError> {
    let members = membership(nodes).await;
    for node in nodes.iter().filter(serving) {
        tell(node, version(cluster), &members).await?;
    }
    Ok(())
}

async fn tell(node: &CacheNode, version: u64, members: &str) -> Result<(), NodeError> {
    let mut client = MemcachedClient::connect(node.address.as_deref().unwrap_or_default(), node.host_port).await?;
    client.set_cluster_config(version, members).await
}

/// Checks that `node` answers and holds the cluster's membership; one
/// that answers with another is told the cluster's.
pub async fn probe(cluster: &CacheCluster, nodes: &[CacheNode], node: &CacheNode) -> Probe {
    let Some(address) = node.address.as_deref() else { return Probe::Silent };
    let Ok(mut client) = MemcachedClient::connect(address, node.host_port).await else { return Probe::Silent };
    let Ok(held) = client.cluster_config().await else { return Probe::Silent };
    // A restarted node says version 1 and itself: the version alone would
    // not tell it from a cluster that never changed.
    let members = membership(nodes).await;
    if held == (version(cluster), members.clone()) {
        return Probe::Answered;
    }
    match client.set_cluster_config(version(cluster), &members).await {
        Ok(()) => Probe::Reminded,
        Err(_) => Probe::Silent,
    }
}
