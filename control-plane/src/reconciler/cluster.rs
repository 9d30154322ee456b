//! Driving one cache cluster: create its nodes, reboot, apply a new node
//! type, or remove everything it holds.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::Reconciler;
use crate::auto_discovery;
use crate::catalogue;
use crate::memcached_client::MemcachedClient;
use crate::model::{CacheCluster, CacheNode, Engine, Role, Status, source};
use crate::node_client::{NodeClient, NodeError, info_field};
use crate::runtime::{Endpoint, NetworkOwner, NodeKey, NodeRuntime, NodeSpec, PrimaryRef, RuntimeError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("unknown cache node type {0}")]
    NodeType(String),
    #[error("the replica did not finish its initial sync from the primary within {0:?}")]
    NotInSync(Duration),
}

type Result<T> = std::result::Result<T, ReconcileError>;

/// A node that answered, in its engine's protocol.
enum Ready {
    Redis(NodeClient),
    /// Nothing more is asked of it over this connection.
    Memcached,
}

pub fn node_spec(
    cluster: &CacheCluster,
    node: &CacheNode,
    cache_node_type: &str,
    primary: Option<PrimaryRef>,
) -> Result<NodeSpec> {
    let node_type =
        catalogue::node_type(cache_node_type).ok_or_else(|| ReconcileError::NodeType(cache_node_type.into()))?;
    Ok(NodeSpec {
        engine: cluster.settings.engine,
        cache_cluster_id: cluster.cache_cluster_id.clone(),
        cache_node_id: node.cache_node_id.clone(),
        replication_group_id: cluster.replication_group_id.clone(),
        role: cluster.role,
        port: u16::try_from(cluster.settings.port).unwrap_or(6379),
        host_port: node.host_port,
        maxmemory_bytes: node_type.maxmemory_bytes(),
        memory_limit_bytes: node_type.memory_bytes(),
        vcpus: node_type.vcpus,
        password: cluster.settings.auth_token.clone(),
        primary,
        parameters: cluster.parameters.clone(),
    })
}

impl<R: NodeRuntime> Reconciler<R> {
    pub(super) async fn converge_cluster(&self, id: &str) -> Result<()> {
        let Some(cluster) = self.store.cluster(id).await? else { return Ok(()) };
        let nodes = self.store.nodes(id).await?;
        match cluster.status {
            Status::Creating => self.create(&cluster, &nodes).await,
            Status::RebootingClusterNodes => self.reboot(&cluster, &nodes).await,
            Status::Modifying => self.modify(&cluster, &nodes).await,
            Status::Deleting => self.delete(&cluster, &nodes).await,
            _ => Ok(()),
        }
    }

    /// A failed create is final: the cluster is `create-failed` with an event
    /// saying why, and waits to be deleted.
    async fn create(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<()> {
        let id = &cluster.cache_cluster_id;
        let started = join_all(nodes.iter().map(|node| self.start_node(cluster, node, false))).await;
        let mut clients = Vec::new();
        for result in started {
            match result {
                Ok(client) => clients.push(client),
                Err(error) => return self.create_failed(id, &error.to_string()).await,
            }
        }
        let mut restored = String::new();
        if let (Some(snapshot), Some(Ready::Redis(client))) =
            (self.store.pending_restore(id).await?, clients.first_mut())
        {
            match crate::backup::restore::restore(&self.store, &self.snapshots, &snapshot, client).await {
                Ok(keys) => restored = format!(", holding the {keys} key(s) of snapshot {snapshot}"),
                Err(why) => return self.create_failed(id, &why).await,
            }
            self.store.finish_restore(id).await?;
        }
        self.publish_membership(cluster).await?;
        self.store.set_cluster_status(id, Status::Available).await?;
        let message = format!("Cache cluster created on the {} runtime{restored}", self.runtime.name());
        self.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
        Ok(())
    }

    /// A memcached cluster's nodes learn its membership (a redis cluster has none to learn).
    async fn publish_membership(&self, cluster: &CacheCluster) -> Result<()> {
        if cluster.settings.engine == Engine::Memcached {
            let nodes = self.store.nodes(&cluster.cache_cluster_id).await?;
            auto_discovery::publish(cluster, &nodes).await?;
        }
        Ok(())
    }

    async fn create_failed(&self, id: &str, why: &str) -> Result<()> {
        self.store.set_cluster_status(id, Status::CreateFailed).await?;
        let message = format!("Cache cluster creation failed: {why}");
        self.store.record_warning(source::CACHE_CLUSTER, id, &message).await?;
        Ok(())
    }

    async fn reboot(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<()> {
        let id = &cluster.cache_cluster_id;
        let asked: Vec<&CacheNode> = nodes.iter().filter(|n| n.reboot_requested).collect();
        let mut data = Vec::new();
        for (node, result) in asked.iter().zip(join_all(asked.iter().map(|n| self.start_node(cluster, n, true))).await)
        {
            match result? {
                // A group member's data comes from its primary; a standalone node has only its snapshot.
                Ready::Redis(mut client) if cluster.replication_group_id.is_none() => {
                    data.push(loaded_from_snapshot(&node.cache_node_id, &mut client).await);
                }
                Ready::Redis(_) => {}
                Ready::Memcached => data.push(format!("node {} restarted empty", node.cache_node_id)),
            }
        }
        self.publish_membership(cluster).await?;
        self.store.set_cluster_status(id, Status::Available).await?;
        let names: Vec<&str> = asked.iter().map(|n| n.cache_node_id.as_str()).collect();
        let mut message = format!("Cache node(s) {} rebooted", names.join(", "));
        for said in data {
            message.push_str("; ");
            message.push_str(&said);
        }
        self.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
        Ok(())
    }

    /// The node a replica member of a group replicates from: the first node of
    /// the group's primary member.
    async fn primary_of(&self, cluster: &CacheCluster) -> Result<Option<PrimaryRef>> {
        let (Some(group), Some(Role::Replica)) = (&cluster.replication_group_id, cluster.role) else {
            return Ok(None);
        };
        let members = self.store.group_members(group).await?;
        let primary = members.into_iter().find(|(member, _)| member.role == Some(Role::Primary));
        Ok(primary.and_then(|(member, nodes)| {
            let node = nodes.into_iter().next()?;
            let key = NodeKey { cache_cluster_id: member.cache_cluster_id, cache_node_id: node.cache_node_id };
            Some(PrimaryRef { key, host_port: node.host_port })
        }))
    }

    /// Makes the node run (restarting it when asked) and waits until it
    /// answers and, for a replica, until its initial sync is done.
    async fn start_node(&self, cluster: &CacheCluster, node: &CacheNode, restart: bool) -> Result<Ready> {
        let primary = self.primary_of(cluster).await?;
        if let Some(primary) = &primary {
            self.wait_for_primary(primary).await;
        }
        let spec = node_spec(cluster, node, &cluster.settings.cache_node_type, primary)?;
        let endpoint =
            if restart { self.runtime.restart_node(&spec).await? } else { self.runtime.ensure_node(&spec).await? };
        let mut ready = match spec.engine {
            Engine::Redis => Ready::Redis(self.wait_redis(&endpoint, spec.password.as_deref()).await?),
            Engine::Memcached => {
                self.wait_memcached(&endpoint).await?;
                Ready::Memcached
            }
        };
        if let (Some(primary), Ready::Redis(client)) = (&spec.primary, &mut ready) {
            // Whatever the node started as (a container keeps the environment
            // it was created with), it follows the group's primary of now.
            let (host, port) = self.runtime.primary_address(primary, spec.port);
            client.replicaof(Some((&host, port))).await?;
            self.wait_in_sync(client).await?;
        }
        self.store.set_node_available(&cluster.cache_cluster_id, &node.cache_node_id, &endpoint.address).await?;
        Ok(ready)
    }

    async fn wait_redis(&self, endpoint: &Endpoint, password: Option<&str>) -> Result<NodeClient> {
        self.wait_ready(|| async move {
            let mut client = NodeClient::connect(&endpoint.address, endpoint.port, password).await?;
            client.ping().await?;
            Ok(client)
        })
        .await
    }

    async fn wait_memcached(&self, endpoint: &Endpoint) -> Result<MemcachedClient> {
        self.wait_ready(|| async move {
            let mut client = MemcachedClient::connect(&endpoint.address, endpoint.port).await?;
            client.version().await?;
            Ok(client)
        })
        .await
    }

    /// Tries `connect` until it succeeds or the node's time to get ready is up.
    async fn wait_ready<C, Attempt>(&self, connect: impl Fn() -> Attempt) -> Result<C>
    where
        Attempt: Future<Output = std::result::Result<C, NodeError>>,
    {
        let deadline = Instant::now() + self.node_ready_timeout;
        loop {
            match connect().await {
                Ok(client) => return Ok(client),
                Err(e) if Instant::now() >= deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// A replica started before its primary answers spends its first attempts
    /// on an address that does not resolve yet; starting it once the primary
    /// is up is faster. Gives up quietly: the replica retries on its own.
    async fn wait_for_primary(&self, primary: &PrimaryRef) {
        let deadline = Instant::now() + self.node_ready_timeout;
        while Instant::now() < deadline {
            let nodes = self.store.nodes(&primary.key.cache_cluster_id).await.unwrap_or_default();
            if nodes.iter().any(|n| n.cache_node_id == primary.key.cache_node_id && n.status == Status::Available) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A replica is in sync once its link to the primary is up (its initial
    /// synchronisation loaded).
    async fn wait_in_sync(&self, client: &mut NodeClient) -> Result<()> {
        let deadline = Instant::now() + self.node_ready_timeout;
        loop {
            let info = client.info("replication").await?;
            if info_field(&info, "master_link_status") == Some("up") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ReconcileError::NotInSync(self.node_ready_timeout));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A memcached cluster's new membership first (nodes added, nodes
    /// removed), then a new node type on the running nodes: the container's
    /// limits and the node's memory limit, in the order that never leaves the
    /// engine's limit above the container's.
    async fn modify(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<()> {
        let id = &cluster.cache_cluster_id;
        self.change_membership(cluster, nodes).await?;
        let Some(new_type) = cluster.pending_modified_values.cache_node_type.clone() else {
            self.store.set_cluster_status(id, Status::Available).await?;
            return Ok(());
        };
        let shrinking = match (catalogue::node_type(&new_type), catalogue::node_type(&cluster.settings.cache_node_type))
        {
            (Some(new), Some(old)) => new.memory_bytes() < old.memory_bytes(),
            _ => return Err(ReconcileError::NodeType(new_type)),
        };
        for node in self.store.nodes(id).await? {
            let spec = node_spec(cluster, &node, &new_type, None)?;
            let endpoint = Endpoint { address: node.address.clone().unwrap_or_default(), port: node.host_port };
            if !shrinking {
                self.runtime.resize_node(&spec).await?;
            }
            match spec.engine {
                Engine::Redis => {
                    let mut client = self.wait_redis(&endpoint, spec.password.as_deref()).await?;
                    client.config_set("maxmemory", &spec.maxmemory_bytes.to_string()).await?;
                }
                Engine::Memcached => {
                    let mut client = self.wait_memcached(&endpoint).await?;
                    client.set_memory_limit(spec.maxmemory_bytes >> 20).await?;
                }
            }
            if shrinking {
                self.runtime.resize_node(&spec).await?;
            }
        }
        self.store.settle_cluster_modification(id, &new_type).await?;
        let message = format!("Cache node type changed to {new_type}");
        self.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
        Ok(())
    }

    /// Starts the nodes a modify added, tells every node the new membership,
    /// then removes the nodes it took out (clients learn they are gone
    /// before they go).
    async fn change_membership(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<()> {
        let id = &cluster.cache_cluster_id;
        let added: Vec<&CacheNode> = nodes.iter().filter(|n| n.status == Status::Creating).collect();
        let removed: Vec<&CacheNode> = nodes.iter().filter(|n| n.status == Status::Deleting).collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        for started in join_all(added.iter().map(|node| self.start_node(cluster, node, false))).await {
            started?;
        }
        self.publish_membership(cluster).await?;
        for node in &removed {
            let spec = node_spec(cluster, node, &cluster.settings.cache_node_type, None)?;
            self.runtime.remove_node(&spec.key()).await?;
            self.store.remove_node(id, &node.cache_node_id).await?;
        }
        let names =
            |nodes: &[&CacheNode]| nodes.iter().map(|n| n.cache_node_id.as_str()).collect::<Vec<_>>().join(", ");
        let mut message = Vec::new();
        if !added.is_empty() {
            message.push(format!("Added cache node(s) {}", names(&added)));
        }
        if !removed.is_empty() {
            message.push(format!("Removed cache node(s) {}", names(&removed)));
        }
        let message = format!("{}; Auto Discovery version {}", message.join("; "), cluster.config_version);
        self.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
        Ok(())
    }

    async fn delete(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<()> {
        let id = &cluster.cache_cluster_id;
        // A final snapshot (or any other) is read from the nodes: they stay
        // until it is written; the next pass looks again.
        if self.store.snapshot_creating_of(id, cluster.replication_group_id.as_deref()).await? {
            return Ok(());
        }
        for node in nodes {
            let spec = node_spec(cluster, node, &cluster.settings.cache_node_type, None)?;
            self.runtime.remove_node(&spec.key()).await?;
        }
        if cluster.replication_group_id.is_none() {
            self.runtime.remove_network(&NetworkOwner::Cluster(id.clone())).await?;
        }
        self.store.remove_cluster(id).await?;
        self.store.record_event(source::CACHE_CLUSTER, id, "Cache cluster deleted").await?;
        Ok(())
    }
}

/// What a restarted node came back with: the keys of the snapshot its data
/// dir or volume held (saved at its last clean stop, or by SAVE/BGSAVE).
async fn loaded_from_snapshot(node_id: &str, client: &mut NodeClient) -> String {
    let info = client.info("persistence").await.unwrap_or_default();
    match info_field(&info, "rdb_last_load_keys_loaded").and_then(|n| n.parse::<u64>().ok()) {
        Some(0) => format!("node {node_id} restarted empty (no saved snapshot held data)"),
        Some(keys) => format!("node {node_id} restarted with the {keys} key(s) of its last saved snapshot"),
        None => format!("node {node_id} restarted (it does not say what data it loaded)"),
    }
}
