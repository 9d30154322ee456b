//! What can be provisioned: ElastiCache's node type names with their memory and
//! vCPUs, and the engine versions the data node speaks.

use serde::Serialize;

use crate::model::Engine;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct NodeType {
    pub cache_node_type: &'static str,
    pub memory_gib: f64,
    pub vcpus: u32,
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// ElastiCache keeps 25% of a node's memory for the engine's own use
/// (`reserved-memory-percent`); the node's `maxmemory` is the rest.
const RESERVED_MEMORY_PERCENT: u64 = 25;

pub const NODE_TYPES: &[NodeType] = &[
    NodeType { cache_node_type: "cache.t3.micro", memory_gib: 0.5, vcpus: 2 },
    NodeType { cache_node_type: "cache.t3.small", memory_gib: 1.37, vcpus: 2 },
    NodeType { cache_node_type: "cache.t3.medium", memory_gib: 3.09, vcpus: 2 },
    NodeType { cache_node_type: "cache.t4g.micro", memory_gib: 0.5, vcpus: 2 },
    NodeType { cache_node_type: "cache.t4g.small", memory_gib: 1.37, vcpus: 2 },
    NodeType { cache_node_type: "cache.t4g.medium", memory_gib: 3.09, vcpus: 2 },
    NodeType { cache_node_type: "cache.m6g.large", memory_gib: 6.38, vcpus: 2 },
    NodeType { cache_node_type: "cache.m6g.xlarge", memory_gib: 12.93, vcpus: 4 },
    NodeType { cache_node_type: "cache.m7g.large", memory_gib: 6.38, vcpus: 2 },
    NodeType { cache_node_type: "cache.m7g.xlarge", memory_gib: 12.93, vcpus: 4 },
    NodeType { cache_node_type: "cache.m7g.2xlarge", memory_gib: 26.04, vcpus: 8 },
    NodeType { cache_node_type: "cache.r6g.large", memory_gib: 13.07, vcpus: 2 },
    NodeType { cache_node_type: "cache.r6g.xlarge", memory_gib: 26.32, vcpus: 4 },
    NodeType { cache_node_type: "cache.r7g.large", memory_gib: 13.07, vcpus: 2 },
    NodeType { cache_node_type: "cache.r7g.xlarge", memory_gib: 26.32, vcpus: 4 },
    NodeType { cache_node_type: "cache.r7g.2xlarge", memory_gib: 52.82, vcpus: 8 },
];

pub fn node_type(name: &str) -> Option<&'static NodeType> {
    NODE_TYPES.iter().find(|t| t.cache_node_type == name)
}

/// The smallest node type whose maxmemory holds `bytes` of data (the
/// largest there is when none does).
pub fn smallest_holding(bytes: u64) -> &'static str {
    let mut types: Vec<&NodeType> = NODE_TYPES.iter().collect();
    types.sort_by_key(|t| t.memory_bytes());
    types.iter().find(|t| t.maxmemory_bytes() >= bytes).or(types.last()).map_or("cache.t3.micro", |t| t.cache_node_type)
}

impl NodeType {
    /// The container's memory limit.
    pub fn memory_bytes(&self) -> u64 {
        (self.memory_gib * GIB) as u64
    }

    /// The node's `--maxmemory` (for memcached, its `-m`).
    pub fn maxmemory_bytes(&self) -> u64 {
        self.memory_bytes() * (100 - RESERVED_MEMORY_PERCENT) / 100
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct EngineVersion {
    pub engine: Engine,
    pub engine_version: &'static str,
    pub cache_parameter_group_family: &'static str,
    pub is_default: bool,
}

/// The data node implements Redis 7.0's commands, and memcached 1.6's
/// protocols with `--protocol memcached`.
pub const ENGINE_VERSIONS: &[EngineVersion] = &[
    EngineVersion {
        engine: Engine::Redis,
        engine_version: "7.0",
        cache_parameter_group_family: "redis7",
        is_default: true,
    },
    EngineVersion {
        engine: Engine::Memcached,
        engine_version: "1.6",
        cache_parameter_group_family: "memcached1.6",
        is_default: true,
    },
];

pub fn default_engine_version(engine: Engine) -> Option<&'static str> {
    ENGINE_VERSIONS.iter().find(|v| v.engine == engine && v.is_default).map(|v| v.engine_version)
}

pub fn is_offered(engine: Engine, version: &str) -> bool {
    ENGINE_VERSIONS.iter().any(|v| v.engine == engine && v.engine_version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_gets_three_quarters_of_half_a_gib() {
        let micro = node_type("cache.t3.micro").expect("listed");
        assert_eq!(micro.memory_bytes(), 512 * 1024 * 1024);
        assert_eq!(micro.maxmemory_bytes(), 384 * 1024 * 1024);
        assert!(node_type("cache.t3.nano").is_none());
    }
}
