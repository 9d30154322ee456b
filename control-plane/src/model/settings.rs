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
    pub engine: super::Engine,
    pub engine_version: String,
    pub cache_node_type: String,
    pub port: i64,
    pub auth_token: Option<String>,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub tags: Vec<Tag>,
    pub cache_parameter_group_name: String,
}

#[cfg(test)]
impl NodeSettings {
    /// ElastiCache's defaults, for tests that need some settings.
    pub fn example() -> NodeSettings {
        NodeSettings {
            engine: super::Engine::Redis,
            engine_version: "7.0".into(),
            cache_node_type: "cache.t3.micro".into(),
            port: 6379,
            auth_token: None,
            preferred_maintenance_window: "sun:05:00-sun:06:00".into(),
            snapshot_retention_limit: 0,
            snapshot_window: "03:00-04:00".into(),
            tags: Vec::new(),
            cache_parameter_group_name: "default.redis7".into(),
        }
    }
}
