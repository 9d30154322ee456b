//! What a snapshot of a cluster or a group records of its source, and
//! whether the source can be snapshotted now.

use crate::model::{Engine, NodeSettings, Role, SnapshotSource, SourceConfig, Status, node_id};
use crate::store::{NewSnapshot, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cache cluster {0} not found")]
    ClusterNotFound(String),
    #[error("replication group {0} not found")]
    GroupNotFound(String),
    /// A group's member is snapshotted through its group, as ElastiCache asks.
    #[error("cache cluster {cluster} is a member of replication group {group}")]
    GroupMember { cluster: String, group: String },
    #[error("cache cluster {0} is not available")]
    ClusterState(String),
    /// Memcached keeps nothing on disk: there is nothing to snapshot.
    #[error("cache cluster {0} runs memcached, which has no snapshots")]
    Memcached(String),
    #[error("replication group {0} is not available")]
    GroupState(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A snapshot of the standalone cluster `id`, as it stands now.
/// `now`: the snapshot's creation time (unix ms).
pub async fn of_cluster(
    store: &Store,
    name: &str,
    id: &str,
    kind: SnapshotSource,
    now: i64,
) -> Result<NewSnapshot, SourceError> {
    let cluster = store.cluster(id).await?.ok_or_else(|| SourceError::ClusterNotFound(id.to_owned()))?;
    if let Some(group) = cluster.replication_group_id {
        return Err(SourceError::GroupMember { cluster: id.to_owned(), group });
    }
    if cluster.settings.engine == Engine::Memcached {
        return Err(SourceError::Memcached(id.to_owned()));
    }
    if cluster.status != Status::Available {
        return Err(SourceError::ClusterState(id.to_owned()));
    }
    let s = cluster.settings;
    Ok(NewSnapshot {
        snapshot_name: name.to_owned(),
        source: kind,
        cache_cluster_id: Some(id.to_owned()),
        replication_group_id: None,
        config: config_of(s, cluster.num_cache_nodes, cluster.created_at),
        data_bytes: 0,
        copy_of: None,
        created_at: now,
    })
}

/// A snapshot of group `id`, taken from a replica when it has one.
pub async fn of_group(
    store: &Store,
    name: &str,
    id: &str,
    kind: SnapshotSource,
    now: i64,
) -> Result<NewSnapshot, SourceError> {
    let group = store.group(id).await?.ok_or_else(|| SourceError::GroupNotFound(id.to_owned()))?;
    if group.status != Status::Available {
        return Err(SourceError::GroupState(id.to_owned()));
    }
    let members = store.group_members(id).await?;
    let from = members
        .iter()
        .find(|(m, _)| m.role == Some(Role::Replica))
        .or_else(|| members.first())
        .map(|(m, _)| m.cache_cluster_id.clone());
    let s = group.settings;
    Ok(NewSnapshot {
        snapshot_name: name.to_owned(),
        source: kind,
        cache_cluster_id: from,
        replication_group_id: Some(id.to_owned()),
        config: config_of(s, members.len() as i64, group.created_at),
        data_bytes: 0,
        copy_of: None,
        created_at: now,
    })
}

/// What a snapshot records of its source's settings.
fn config_of(s: NodeSettings, num_cache_nodes: i64, created_at: i64) -> SourceConfig {
    SourceConfig {
        engine: s.engine.as_str().to_owned(),
        engine_version: s.engine_version,
        cache_node_type: s.cache_node_type,
        num_cache_nodes,
        port: s.port,
        preferred_maintenance_window: s.preferred_maintenance_window,
        snapshot_retention_limit: s.snapshot_retention_limit,
        snapshot_window: s.snapshot_window,
        source_node_id: Some(node_id(0)),
        source_create_time: Some(created_at),
    }
}
