//! Where nodes run. `NodeRuntime` is what the reconciler needs of a driver;
//! `docker` runs each node as a container, `process` as a local child process.
//! Every step is idempotent: calling it again after a crash finds and adopts
//! what the first call made instead of making a second one.

pub mod docker;
pub mod image;
pub mod process;

use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub engine: crate::model::Engine,
    pub cache_cluster_id: String,
    pub cache_node_id: String,
    pub replication_group_id: Option<String>,
    pub role: Option<crate::model::Role>,
    /// The engine port inside the node's network.
    pub port: u16,
    /// The port published on the host (the endpoint clients use).
    pub host_port: u16,
    pub maxmemory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub vcpus: u32,
    pub password: Option<String>,
    /// For a replica: the node it replicates from.
    pub primary: Option<PrimaryRef>,
    /// Parameter values it starts with (those that differ from the defaults).
    pub parameters: crate::model::Parameters,
}

/// Where a replica finds its primary; each runtime turns it into an address
/// (docker: the primary's container name on the group network; process: the
/// loopback and its host port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryRef {
    pub key: NodeKey,
    pub host_port: u16,
}

/// The address clients reach a node at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub address: String,
    pub port: u16,
}

/// What a network's nodes share: a standalone cluster, or a replication group.
/// Cluster and group ids are apart, so a cluster and a group may share a name;
/// their networks may not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetworkOwner {
    Cluster(String),
    Group(String),
}

impl NetworkOwner {
    pub fn id(&self) -> &str {
        match self {
            NetworkOwner::Cluster(id) | NetworkOwner::Group(id) => id,
        }
    }
}

impl std::fmt::Display for NetworkOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkOwner::Cluster(id) => write!(f, "cache cluster {id}"),
            NetworkOwner::Group(id) => write!(f, "replication group {id}"),
        }
    }
}

/// A node the runtime holds, as its labels name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeKey {
    pub cache_cluster_id: String,
    pub cache_node_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("docker {call}: {source}")]
    Docker { call: &'static str, source: bollard::errors::Error },
    #[error("{0}")]
    Image(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// A call that did not answer in time (the engine is stuck or slow).
    #[error("{call} {name} timed out")]
    Timeout { call: &'static str, name: String },
    /// The node's process ended before it was ready (its port taken, say).
    #[error("the data node exited ({status}): {last_log}")]
    NodeExited { status: String, last_log: String },
    /// A container or network of ours by name that another control plane made.
    #[error("{what} exists but belongs to another control plane")]
    NotOurs { what: String },
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

pub trait NodeRuntime: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Makes the node exist and run; returns its endpoint.
    fn ensure_node(&self, spec: &NodeSpec) -> impl Future<Output = RuntimeResult<Endpoint>> + Send;

    /// Stops and starts the node again (its data dir or volume stays).
    fn restart_node(&self, spec: &NodeSpec) -> impl Future<Output = RuntimeResult<Endpoint>> + Send;

    /// Applies a node type's memory and CPU limits to a running node.
    fn resize_node(&self, spec: &NodeSpec) -> impl Future<Output = RuntimeResult<()>> + Send;

    /// Removes the node and its data; nothing to remove is not an error.
    fn remove_node(&self, key: &NodeKey) -> impl Future<Output = RuntimeResult<()>> + Send;

    /// Removes what the nodes of a standalone cluster or of a replication
    /// group share (the docker network), named after that owner.
    fn remove_network(&self, owner: &NetworkOwner) -> impl Future<Output = RuntimeResult<()>> + Send;

    /// Every node this control plane's runtime holds, to find orphans.
    fn list_nodes(&self) -> impl Future<Output = RuntimeResult<Vec<NodeKey>>> + Send;

    /// The owners of every shared network, to find orphans.
    fn list_networks(&self) -> impl Future<Output = RuntimeResult<Vec<NetworkOwner>>> + Send;

    /// The address a replica uses to reach `primary`, whose nodes listen on `port`.
    fn primary_address(&self, primary: &PrimaryRef, port: u16) -> (String, u16);

    /// Gives a group's members their endpoint names, `<group>-primary` for the
    /// primary and `<group>-reader` for every replica, moving them when the
    /// roles have changed. Only docker has names; elsewhere clients find the
    /// primary through describe or the Sentinel port.
    fn name_endpoints(
        &self,
        group: &str,
        primary: &NodeKey,
        replicas: &[NodeKey],
    ) -> impl Future<Output = RuntimeResult<()>> + Send;
}

impl NodeSpec {
    /// A group's members share one network (replicas reach their primary on
    /// it); a standalone cluster has its own.
    pub fn network_owner(&self) -> NetworkOwner {
        match &self.replication_group_id {
            Some(group) => NetworkOwner::Group(group.clone()),
            None => NetworkOwner::Cluster(self.cache_cluster_id.clone()),
        }
    }

    /// The data node's flags but `--dir`: the engine's protocol and memory
    /// limit, where it listens, its threads, its parameters.
    pub fn data_node_args(&self, port: u16, bind: &str, threads: u32) -> Vec<String> {
        let memory = match self.engine {
            crate::model::Engine::Redis => ["--maxmemory".to_owned(), self.maxmemory_bytes.to_string()],
            crate::model::Engine::Memcached => ["--memory-limit".to_owned(), (self.maxmemory_bytes >> 20).to_string()],
        };
        let mut args = vec!["--protocol".to_owned(), self.engine.as_str().to_owned()];
        args.extend(memory);
        args.extend(["--port".to_owned(), port.to_string(), "--bind".to_owned(), bind.to_owned()]);
        args.extend(["--threads".to_owned(), threads.to_string()]);
        args.extend(crate::parameters::start_args(crate::parameters::catalogue::family(self.engine), &self.parameters));
        args
    }

    pub fn key(&self) -> NodeKey {
        NodeKey { cache_cluster_id: self.cache_cluster_id.clone(), cache_node_id: self.cache_node_id.clone() }
    }
}
