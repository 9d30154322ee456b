//! At start, before any pass: remove what the runtime holds under this
//! control plane's name but the store no longer knows (a delete that crashed
//! after forgetting the record, or a node made and never recorded).

use std::collections::HashSet;

use super::Reconciler;
use crate::runtime::{NetworkOwner, NodeKey, NodeRuntime};

impl<R: NodeRuntime> Reconciler<R> {
    pub async fn sweep_orphans(&self) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let clusters: HashSet<String> = self.store.all_cluster_ids().await?.into_iter().collect();
        let mut owners: HashSet<NetworkOwner> = clusters.iter().cloned().map(NetworkOwner::Cluster).collect();
        let groups = self.store.groups(None, i64::MAX).await?.into_iter();
        owners.extend(groups.map(|g| NetworkOwner::Group(g.replication_group_id)));
        let mut known: HashSet<NodeKey> = HashSet::new();
        for cluster in &clusters {
            for node in self.store.nodes(cluster).await? {
                known.insert(NodeKey { cache_cluster_id: node.cache_cluster_id, cache_node_id: node.cache_node_id });
            }
        }
        let mut removed = 0;
        for key in self.runtime.list_nodes().await? {
            if !known.contains(&key) {
                tracing::info!(cluster = %key.cache_cluster_id, node = %key.cache_node_id, "removing an orphaned node");
                self.runtime.remove_node(&key).await?;
                removed += 1;
            }
        }
        for owner in self.runtime.list_networks().await? {
            if !owners.contains(&owner) {
                tracing::info!("removing the orphaned network of {owner}");
                self.runtime.remove_network(&owner).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
