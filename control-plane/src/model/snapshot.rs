//! A backup of a cluster or a group: its lifecycle, where it came from, and
//! what the source was when it was taken.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum SnapshotStatus {
    /// Being written (taken from a node, copied, or uploaded).
    Creating,
    Available,
    /// Could not be written; the record says why and waits to be deleted.
    Failed,
}

impl SnapshotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Creating => "creating",
            SnapshotStatus::Available => "available",
            SnapshotStatus::Failed => "failed",
        }
    }
}

/// Who asked for it, as ElastiCache's `SnapshotSource` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum SnapshotSource {
    Manual,
    Automated,
}

impl SnapshotSource {
    pub fn parse(s: &str) -> Option<SnapshotSource> {
        match s {
            "manual" => Some(SnapshotSource::Manual),
            "automated" => Some(SnapshotSource::Automated),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub snapshot_name: String,
    pub status: SnapshotStatus,
    pub source: SnapshotSource,
    pub cache_cluster_id: Option<String>,
    pub replication_group_id: Option<String>,
    pub config: SourceConfig,
    /// The source's used memory when taken: a restore's nodes must hold it.
    pub data_bytes: i64,
    pub bytes_written: i64,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    /// A copy waiting to be made: the snapshot it copies.
    pub copy_of: Option<String>,
    pub failure: Option<String>,
    pub created_at: i64,
}

/// The source's configuration at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    pub engine: String,
    pub engine_version: String,
    pub cache_node_type: String,
    pub num_cache_nodes: i64,
    pub port: i64,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub source_node_id: Option<String>,
    pub source_create_time: Option<i64>,
}
