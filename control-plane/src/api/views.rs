//! How records look on the wire: ElastiCache's field names in snake_case,
//! endpoints as `{"address", "port"}`, times in RFC 3339.

use serde::Serialize;

use crate::clock::to_rfc3339;
use crate::model::{
    CacheCluster, CacheNode, Engine, NodeSettings, PendingModifiedValues, ReplicationGroup, Role, Status, Tag,
};

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub address: String,
    pub port: u16,
}

#[derive(Debug, Serialize)]
pub struct CacheNodeView {
    pub cache_node_id: String,
    pub cache_node_status: Status,
    pub cache_node_create_time: String,
    pub endpoint: Option<Endpoint>,
}

/// The node settings clusters and groups show alike (the port is in the
/// endpoints, the token only as whether there is one).
#[derive(Debug, Serialize)]
pub struct NodeSettingsView {
    pub engine: Engine,
    pub engine_version: String,
    pub cache_node_type: String,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub auth_token_enabled: bool,
    pub tags: Vec<Tag>,
}

impl From<NodeSettings> for NodeSettingsView {
    fn from(s: NodeSettings) -> NodeSettingsView {
        NodeSettingsView {
            engine: s.engine,
            engine_version: s.engine_version,
            cache_node_type: s.cache_node_type,
            preferred_maintenance_window: s.preferred_maintenance_window,
            snapshot_retention_limit: s.snapshot_retention_limit,
            snapshot_window: s.snapshot_window,
            auth_token_enabled: s.auth_token.is_some(),
            tags: s.tags,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CacheClusterView {
    pub cache_cluster_id: String,
    pub status: Status,
    #[serde(flatten)]
    pub settings: NodeSettingsView,
    pub num_cache_nodes: i64,
    pub replication_group_id: Option<String>,
    pub pending_modified_values: PendingModifiedValues,
    /// When the maintenance window applies what is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_apply_time: Option<String>,
    pub cache_cluster_create_time: String,
    pub cache_parameter_group: CacheParameterGroupStatus,
    /// A memcached cluster's: any node answers Auto Discovery's `config get cluster`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_endpoint: Option<Endpoint>,
    pub cache_nodes: Vec<CacheNodeView>,
}

/// Which parameter group a cluster's nodes take their parameters from, and
/// whether they run with its values yet.
#[derive(Debug, Serialize)]
pub struct CacheParameterGroupStatus {
    pub cache_parameter_group_name: String,
    /// `in-sync`, `applying` (immediate values being set on the nodes) or
    /// `pending-reboot` (values that take a reboot or the maintenance window).
    pub parameter_apply_status: &'static str,
    /// The parameters waiting for a reboot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_reboot_parameters: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_node_ids_to_reboot: Vec<String>,
}

fn parameter_group_status(cluster: &CacheCluster, nodes: &[CacheNode]) -> CacheParameterGroupStatus {
    let drift = crate::parameters::Drift::of(cluster);
    let cache_node_ids_to_reboot = match drift.requires_reboot.is_empty() {
        true => Vec::new(),
        false => nodes.iter().map(|n| n.cache_node_id.clone()).collect(),
    };
    CacheParameterGroupStatus {
        cache_parameter_group_name: cluster.settings.cache_parameter_group_name.clone(),
        parameter_apply_status: drift.apply_status(),
        pending_reboot_parameters: drift.requires_reboot,
        cache_node_ids_to_reboot,
    }
}

pub fn endpoint(node: &CacheNode) -> Option<Endpoint> {
    node.address.as_ref().map(|address| Endpoint { address: address.clone(), port: node.host_port })
}

pub fn cache_cluster(cluster: CacheCluster, nodes: &[CacheNode]) -> CacheClusterView {
    let configuration_endpoint = match cluster.settings.engine {
        Engine::Memcached => nodes.iter().filter(|n| n.status == Status::Available).find_map(endpoint),
        Engine::Redis => None,
    };
    let waits = !cluster.pending_modified_values.is_empty()
        || (cluster.replication_group_id.is_none()
            && !crate::parameters::Drift::of(&cluster).requires_reboot.is_empty());
    let pending_apply_time = if !waits || cluster.status != Status::Available {
        None
    } else {
        let window = &cluster.settings.preferred_maintenance_window;
        crate::maintenance::next_application(window, crate::clock::now_millis()).map(to_rfc3339)
    };
    CacheClusterView {
        cache_parameter_group: parameter_group_status(&cluster, nodes),
        configuration_endpoint,
        pending_apply_time,
        cache_cluster_id: cluster.cache_cluster_id,
        status: cluster.status,
        settings: cluster.settings.into(),
        num_cache_nodes: cluster.num_cache_nodes,
        replication_group_id: cluster.replication_group_id,
        pending_modified_values: cluster.pending_modified_values,
        cache_cluster_create_time: to_rfc3339(cluster.created_at),
        cache_nodes: nodes
            .iter()
            .map(|n| CacheNodeView {
                cache_node_id: n.cache_node_id.clone(),
                cache_node_status: n.status,
                cache_node_create_time: to_rfc3339(n.created_at),
                endpoint: endpoint(n),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
pub struct NodeGroupMember {
    pub cache_cluster_id: String,
    pub cache_node_id: String,
    pub current_role: Role,
    pub read_endpoint: Option<Endpoint>,
}

#[derive(Debug, Serialize)]
pub struct NodeGroup {
    pub node_group_id: String,
    pub status: Status,
    pub primary_endpoint: Option<Endpoint>,
    pub reader_endpoint: Option<Endpoint>,
    pub node_group_members: Vec<NodeGroupMember>,
}

#[derive(Debug, Serialize)]
pub struct ReplicationGroupView {
    pub replication_group_id: String,
    pub replication_group_description: String,
    pub status: Status,
    #[serde(flatten)]
    pub settings: NodeSettingsView,
    pub cache_parameter_group_name: String,
    pub member_clusters: Vec<String>,
    pub node_groups: Vec<NodeGroup>,
    pub automatic_failover: &'static str,
    pub multi_az: &'static str,
    pub replication_group_create_time: String,
}

fn enabled(on: bool) -> &'static str {
    if on { "enabled" } else { "disabled" }
}

/// `members` are the group's clusters with their nodes, in member order.
pub fn replication_group(group: ReplicationGroup, members: &[(CacheCluster, Vec<CacheNode>)]) -> ReplicationGroupView {
    let node_group_members: Vec<NodeGroupMember> = members
        .iter()
        .flat_map(|(cluster, nodes)| {
            nodes.iter().map(move |node| NodeGroupMember {
                cache_cluster_id: cluster.cache_cluster_id.clone(),
                cache_node_id: node.cache_node_id.clone(),
                current_role: cluster.role.unwrap_or(Role::Primary),
                read_endpoint: endpoint(node),
            })
        })
        .collect();
    let primary_endpoint =
        node_group_members.iter().find(|m| m.current_role == Role::Primary).and_then(|m| m.read_endpoint.clone());
    // Until a load-balancing reader endpoint exists, readers go to the first replica.
    let reader_endpoint = node_group_members
        .iter()
        .find(|m| m.current_role == Role::Replica)
        .and_then(|m| m.read_endpoint.clone())
        .or_else(|| primary_endpoint.clone());
    ReplicationGroupView {
        replication_group_id: group.replication_group_id,
        replication_group_description: group.description,
        status: group.status,
        cache_parameter_group_name: group.settings.cache_parameter_group_name.clone(),
        settings: group.settings.into(),
        member_clusters: members.iter().map(|(c, _)| c.cache_cluster_id.clone()).collect(),
        node_groups: vec![NodeGroup {
            node_group_id: "0001".into(),
            status: group.status,
            primary_endpoint,
            reader_endpoint,
            node_group_members,
        }],
        automatic_failover: enabled(group.automatic_failover_enabled),
        multi_az: enabled(group.multi_az_enabled),
        replication_group_create_time: to_rfc3339(group.created_at),
    }
}
