//! /v1/engine-versions and /v1/cache-node-types.

use serde_json::{Value, json};

use super::extract::Reader;
use crate::catalogue::{ENGINE_VERSIONS, NODE_TYPES};

pub async fn engine_versions(_: Reader) -> axum::Json<Value> {
    axum::Json(json!({ "engine_versions": ENGINE_VERSIONS }))
}

pub async fn cache_node_types(_: Reader) -> axum::Json<Value> {
    let types: Vec<Value> = NODE_TYPES
        .iter()
        .map(|t| {
            json!({
                "cache_node_type": t.cache_node_type,
                "memory_gib": t.memory_gib,
                "vcpus": t.vcpus,
                "maxmemory_bytes": t.maxmemory_bytes(),
            })
        })
        .collect();
    axum::Json(json!({ "cache_node_types": types }))
}
