//! A modify's `num_cache_nodes` and `cache_node_ids_to_remove`: a memcached
//! cluster grows by new nodes and shrinks by the nodes named; a redis cache
//! cluster keeps its one node.

use super::error::{ApiError, ApiResult};
use crate::model::{CacheCluster, CacheNode, Engine};

/// ElastiCache's limit of nodes in a memcached cluster.
pub const MAX_MEMCACHED_NODES: i64 = 40;

/// The node count a memcached cluster may be created with.
pub fn check_count(engine: Engine, count: i64) -> ApiResult<i64> {
    match engine {
        Engine::Redis if count != 1 => Err(ApiError::InvalidParameterValue(format!(
            "Invalid num_cache_nodes {count}: a redis cache cluster has exactly 1 node; use a replication group for replicas."
        ))),
        Engine::Memcached if !(1..=MAX_MEMCACHED_NODES).contains(&count) => Err(ApiError::InvalidParameterValue(
            format!("Invalid num_cache_nodes {count}: a memcached cluster has 1-{MAX_MEMCACHED_NODES} nodes."),
        )),
        _ => Ok(count),
    }
}

/// The new node count and the nodes it removes, when the request changes
/// the membership; `None` when it leaves it as it is.
pub fn requested(
    cluster: &CacheCluster,
    nodes: &[CacheNode],
    count: Option<i64>,
    remove: Option<Vec<String>>,
) -> ApiResult<Option<(i64, Vec<String>)>> {
    let remove = remove.unwrap_or_default();
    let Some(count) = count else {
        if remove.is_empty() {
            return Ok(None);
        }
        return Err(ApiError::InvalidParameterCombination(
            "cache_node_ids_to_remove needs num_cache_nodes: the number of nodes left after the removal.".into(),
        ));
    };
    let current = cluster.num_cache_nodes;
    if count == current && remove.is_empty() {
        return Ok(None);
    }
    check_count(cluster.settings.engine, count)?;
    if count > current {
        if !remove.is_empty() {
            return Err(ApiError::InvalidParameterCombination(format!(
                "num_cache_nodes {count} adds nodes to the {current} there are; cache_node_ids_to_remove is for a smaller count."
            )));
        }
        return Ok(Some((count, Vec::new())));
    }
    let mut ids = remove.clone();
    ids.sort();
    ids.dedup();
    if ids.len() != remove.len() {
        return Err(ApiError::InvalidParameterValue("cache_node_ids_to_remove names a node twice.".into()));
    }
    let id = &cluster.cache_cluster_id;
    if let Some(unknown) = ids.iter().find(|wanted| !nodes.iter().any(|n| &n.cache_node_id == *wanted)) {
        return Err(ApiError::InvalidParameterValue(format!("Cache cluster {id} has no node {unknown}.")));
    }
    let leaving = current - count;
    if ids.len() as i64 != leaving {
        return Err(ApiError::InvalidParameterCombination(format!(
            "Going from {current} to {count} node(s) removes {leaving}: cache_node_ids_to_remove must name exactly {leaving} (it names {}).",
            ids.len()
        )));
    }
    Ok(Some((count, ids)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeSettings, PendingModifiedValues, Status, node_id};

    fn cluster(engine: Engine, nodes: usize) -> (CacheCluster, Vec<CacheNode>) {
        let settings = NodeSettings { engine, ..NodeSettings::example() };
        let cluster = CacheCluster {
            cache_cluster_id: "c".into(),
            replication_group_id: None,
            role: None,
            num_cache_nodes: nodes as i64,
            settings,
            status: Status::Available,
            pending_modified_values: PendingModifiedValues::default(),
            created_at: 0,
            config_version: 1,
            parameters: Default::default(),
            group_parameters: Default::default(),
        };
        let nodes = (0..nodes)
            .map(|i| CacheNode {
                cache_cluster_id: "c".into(),
                cache_node_id: node_id(i),
                status: Status::Available,
                host_port: 20000 + i as u16,
                address: Some("127.0.0.1".into()),
                reboot_requested: false,
                created_at: 0,
            })
            .collect();
        (cluster, nodes)
    }

    fn ids(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    fn code(result: ApiResult<Option<(i64, Vec<String>)>>) -> &'static str {
        match result {
            Err(ApiError::InvalidParameterValue(_)) => "value",
            Err(ApiError::InvalidParameterCombination(_)) => "combination",
            Err(_) => "other",
            Ok(_) => "ok",
        }
    }

    #[test]
    fn memcached_grows_and_shrinks_by_the_nodes_named() {
        let (c, nodes) = cluster(Engine::Memcached, 3);
        assert_eq!(requested(&c, &nodes, Some(5), None).ok(), Some(Some((5, Vec::new()))));
        assert_eq!(requested(&c, &nodes, Some(3), None).ok(), Some(None));
        assert_eq!(requested(&c, &nodes, None, None).ok(), Some(None));
        let shrunk = requested(&c, &nodes, Some(1), ids(&["0003", "0001"])).ok();
        assert_eq!(shrunk, Some(Some((1, vec!["0001".to_owned(), "0003".to_owned()]))));
    }

    #[test]
    fn memcached_refuses_a_removal_that_does_not_add_up() {
        let (c, nodes) = cluster(Engine::Memcached, 3);
        assert_eq!(code(requested(&c, &nodes, Some(2), None)), "combination");
        assert_eq!(code(requested(&c, &nodes, Some(2), ids(&["0001", "0002"]))), "combination");
        assert_eq!(code(requested(&c, &nodes, Some(2), ids(&["0009"]))), "value");
        assert_eq!(code(requested(&c, &nodes, Some(1), ids(&["0001", "0001"]))), "value");
        assert_eq!(code(requested(&c, &nodes, Some(4), ids(&["0001"]))), "combination");
        assert_eq!(code(requested(&c, &nodes, None, ids(&["0001"]))), "combination");
        assert_eq!(code(requested(&c, &nodes, Some(41), None)), "value");
        assert_eq!(code(requested(&c, &nodes, Some(0), ids(&["0001", "0002", "0003"]))), "value");
    }

    #[test]
    fn redis_keeps_its_one_node() {
        let (c, nodes) = cluster(Engine::Redis, 1);
        assert_eq!(requested(&c, &nodes, Some(1), None).ok(), Some(None));
        assert_eq!(code(requested(&c, &nodes, Some(2), None)), "value");
        assert_eq!(code(check_count(Engine::Redis, 3).map(|_| None)), "value");
        assert_eq!(code(check_count(Engine::Memcached, 40).map(|_| None)), "ok");
    }
}
