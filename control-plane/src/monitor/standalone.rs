//! Health checks of the nodes of standalone clusters (not in a group): one
//! that misses enough checks is restarted in place by the reconciler, from
//! whatever snapshot its data dir or volume holds.

use futures_util::future::join_all;

use super::{Member, Monitor, PROBE};
use crate::model::{Status, source};
use crate::runtime::NodeRuntime;
use crate::store::{ClusterFilter, StoreError};

impl<R: NodeRuntime> Monitor<R> {
    /// Probes every node of every available standalone cluster side by side
    /// (a frozen node takes the whole probe timeout), then counts the misses.
    pub(super) async fn check_standalone(&mut self) -> Result<Vec<String>, StoreError> {
        let filter = ClusterFilter { limit: i64::MAX, not_in_replication_groups: true, ..Default::default() };
        let nodes: Vec<Member> = self
            .store
            .clusters_with_nodes(&filter)
            .await?
            .into_iter()
            .filter(|(cluster, _)| cluster.status == Status::Available)
            .flat_map(|(cluster, nodes)| nodes.into_iter().map(move |node| Member { cluster: cluster.clone(), node }))
            .collect();
        let answers = join_all(nodes.iter().map(|node| node.connect(PROBE))).await;
        for (node, answer) in nodes.iter().zip(answers) {
            if answer.is_some() {
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
        Ok(nodes.iter().map(Member::name).collect())
    }

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
