//! The records the store keeps.
//!
//! - `status`: `Status` and `Role`, ElastiCache's strings at the edges
//! - `settings`: `NodeSettings`, what a node runs with
//! - `snapshot`: backups and their lifecycle

mod settings;
mod snapshot;
mod status;

use serde::{Deserialize, Serialize};

pub use settings::{NodeSettings, Tag};
pub use snapshot::{Snapshot, SnapshotSource, SnapshotStatus, SourceConfig};
pub use status::{Engine, Role, Status};

/// Event source types, as ElastiCache names them.
pub mod source {
    pub const CACHE_CLUSTER: &str = "cache-cluster";
    pub const REPLICATION_GROUP: &str = "replication-group";
    pub const SNAPSHOT: &str = "snapshot";
}

/// Settings that take effect on the nodes themselves, held back until applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingModifiedValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_node_type: Option<String>,
    /// A memcached cluster's node count after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_cache_nodes: Option<i64>,
    /// The nodes a smaller `num_cache_nodes` removes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_node_ids_to_remove: Vec<String>,
}

impl PendingModifiedValues {
    pub fn is_empty(&self) -> bool {
        self.cache_node_type.is_none() && self.num_cache_nodes.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct CacheCluster {
    pub cache_cluster_id: String,
    pub replication_group_id: Option<String>,
    /// Its role inside a replication group.
    pub role: Option<Role>,
    pub num_cache_nodes: i64,
    pub settings: NodeSettings,
    pub status: Status,
    pub pending_modified_values: PendingModifiedValues,
    pub created_at: i64,
    /// A memcached cluster's Auto Discovery version (migration 0005).
    pub config_version: i64,
    /// The parameter values its nodes run with where they differ from the
    /// defaults: its parameter group's, once applied (migration 0006).
    pub parameters: Parameters,
    /// Its parameter group's values as they are now (read with it, never written through it).
    pub group_parameters: Parameters,
}

/// Parameter values by name.
pub type Parameters = std::collections::BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroup {
    pub cache_parameter_group_name: String,
    pub cache_parameter_group_family: String,
    pub description: String,
    /// The values a user set; the others have the family's defaults.
    pub values: Parameters,
}

#[derive(Debug, Clone)]
pub struct CacheNode {
    pub cache_cluster_id: String,
    pub cache_node_id: String,
    pub status: Status,
    pub host_port: u16,
    /// Known once the node has answered.
    pub address: Option<String>,
    pub reboot_requested: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct ReplicationGroup {
    pub replication_group_id: String,
    pub description: String,
    pub status: Status,
    pub settings: NodeSettings,
    pub automatic_failover_enabled: bool,
    pub multi_az_enabled: bool,
    pub created_at: i64,
    /// The primary's replication id as the monitor last saw it (migration 0002).
    pub replication_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(skip)]
    pub id: i64,
    pub source_type: String,
    pub source_identifier: String,
    pub message: String,
    #[serde(skip)]
    pub date: i64,
}

/// What an event says of a change of a memcached cluster's node count.
pub fn describe_node_count(current: i64, count: i64, remove: &[String]) -> String {
    if remove.is_empty() {
        format!("Node count change from {current} to {count}")
    } else {
        format!("Node count change from {current} to {count}, removing node(s) {}", remove.join(", "))
    }
}

/// Node ids are ElastiCache's: `0001`, `0002`, ...
pub fn node_id(index: usize) -> String {
    format!("{:04}", index + 1)
}

/// Member clusters of a group: `<group>-001`, `<group>-002`, ...
pub fn member_cluster_id(group: &str, index: usize) -> String {
    format!("{group}-{:03}", index + 1)
}
