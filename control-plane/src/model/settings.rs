//! The settings a node runs with: one type from the API's checked input,
//! through the records, to the store's columns, for clusters and groups alike.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    pub engine: String,
    pub engine_version: String,
    pub cache_node_type: String,
    pub port: i64,
    pub auth_token: Option<String>,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub tags: Vec<Tag>,
}
