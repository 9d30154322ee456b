//! Health checks of the nodes of standalone clusters (not in a group): one
//! that misses enough checks is restarted in place by the reconciler, from
//! whatever snapshot its data dir or volume holds (a memcached node comes
//! back empty, and is given its cluster's Auto Discovery membership).

use futures_util::future::join_all;

use super::{Member, Monitor, PROBE};
use crate::auto_discovery::{self, Probe};
use crate::model::{CacheCluster, CacheNode, Engine, Status, source};
use crate::runtime::NodeRuntime;
use crate::store::{ClusterFilter, StoreError};

impl<R: NodeRuntime> Monitor<R> {
    /// Probes every node of every available standalone cluster side by side
    /// (a frozen node takes the whole probe timeout), then counts the misses.
    pub(super) async fn check_standalone(&mut self) -> Result<Vec<String>, StoreError> {
        let filter = ClusterFilter { limit: i64::MAX, not_in_replication_groups: true, ..Default::default() };
        let clusters: Vec<(CacheCluster, Vec<CacheNode>)> = self
            .store
            .clusters_with_nodes(&filter)
            .await?
            .into_iter()
            .filter(|(cluster, _)| cluster.status == Status::Available)
            .collect();
        let nodes: Vec<(Member, &[CacheNode])> = clusters
            .iter()
            .flat_map(|(cluster, nodes)| {
                nodes.iter().map(|node| (Member { cluster: cluster.clone(), node: node.clone() }, nodes.as_slice()))
            })
            .collect();
        let answers = join_all(nodes.iter().map(|(node, all)| node.probe(all))).await;
        for ((node, _), answer) in nodes.iter().zip(answers) {
            if answer == Probe::Reminded {
                let message = format!(
                    "Cache node {} answered Auto Discovery with another membership (a restart forgets it); it was sent version {}",
                    node.node.cache_node_id, node.cluster.config_version
                );
                self.store.record_event(source::CACHE_CLUSTER, &node.cluster.cache_cluster_id, &message).await?;
            }
            if answer != Probe::Silent {
                self.misses.remove(&node.name());
                continue;
            }
            let misses = self.misses.entry(node.name()).or_default();
            *misses += 1;
            if *misses >= self.misses_allowed {
                let missed = *misses;
                self.misses.remove(&node.name());
                self.restart_in_place(node, missed).await?;
            }
        }
        Ok(nodes.iter().map(|(node, _)| node.name()).collect())
    }
}

impl Member {
    /// A health check in the node's engine's protocol (a memcached node is
    /// also given its cluster's membership if it lost it).
    async fn probe(&self, cluster_nodes: &[CacheNode]) -> Probe {
        match self.cluster.settings.engine {
            Engine::Redis => match self.connect(PROBE).await {
                Some(_) => Probe::Answered,
                None => Probe::Silent,
            },
            Engine::Memcached => {
                let check = auto_discovery::probe(&self.cluster, cluster_nodes, &self.node);
                tokio::time::timeout(PROBE, check).await.unwrap_or(Probe::Silent)
            }
        }
    }
}

impl<R: NodeRuntime> Monitor<R> {
    /// Marks the node rebooting and wakes the reconciler, which restarts it
    /// (and says what data it came back with).
    async fn restart_in_place(&self, node: &Member, missed: u32) -> Result<(), StoreError> {
        let id = &node.cluster.cache_cluster_id;
        if self.store.reboot_available_cluster(id, std::slice::from_ref(&node.node.cache_node_id)).await? {
            let message = format!(
                "Cache node {} failed: it missed {missed} health checks; restarting it in place",
                node.node.cache_node_id
            );
            self.store.record_warning(source::CACHE_CLUSTER, id, &message).await?;
            self.reconcile.notify_one();
        }
        Ok(())
    }
}
