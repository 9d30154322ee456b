//! Applies immediate parameter changes to running nodes: every available
//! redis cluster whose group's values differ from what its nodes run with
//! gets them with CONFIG SET on every node, checked with CONFIG GET, and
//! records them once every node has them. Now and then it also checks that
//! every node still has what it was given (a node its runtime restarted on
//! its own comes back with the values it was created with) and sets again
//! what it lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Drift, catalogue};
use crate::model::{CacheCluster, CacheNode, Engine, Parameters, Status, source};
use crate::node_client::{NodeClient, NodeError};
use crate::repeats::Repeats;
use crate::store::{ClusterFilter, Store, StoreError};

const PASS: Duration = Duration::from_secs(1);
/// Every this many passes the values nodes were given are checked.
const CHECK_EVERY: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("node {node} has no address yet")]
    NoAddress { node: String },
    #[error("node {node} reports {name} = {found:?} after CONFIG SET {name} {wanted}")]
    NotApplied { node: String, name: String, wanted: String, found: Option<String> },
}

pub struct ParameterSync {
    store: Store,
    wake: Arc<Notify>,
    passes: u64,
    failures: Repeats,
}

impl ParameterSync {
    pub fn new(store: Store, wake: Arc<Notify>) -> ParameterSync {
        ParameterSync { store, wake, passes: 0, failures: Repeats::default() }
    }

    /// Applies what is pending on every cluster; on a checking pass, also
    /// sets again what a node lost. Returns the clusters it changed.
    pub async fn run(&mut self, check: bool) -> Result<Vec<String>, StoreError> {
        let filter =
            ClusterFilter { limit: i64::MAX, engine: Some(Engine::Redis.as_str().into()), ..Default::default() };
        let mut changed = Vec::new();
        for (cluster, nodes) in self.store.clusters_with_nodes(&filter).await? {
            if cluster.status != Status::Available {
                continue;
            }
            let drift = Drift::of(&cluster);
            let outcome = if !drift.immediate.is_empty() {
                self.apply(&cluster, &nodes, &drift.immediate).await.map(|()| true)
            } else if check {
                self.restore_lost(&cluster, &nodes).await
            } else {
                continue;
            };
            let id = &cluster.cache_cluster_id;
            match outcome {
                Ok(did) => {
                    self.failures.ended(id);
                    if did {
                        changed.push(id.clone());
                    }
                }
                Err(SyncError::Store(e)) => return Err(e),
                Err(e) => {
                    let message = format!(
                        "Applying parameter group {} failed (tried again): {e}",
                        cluster.settings.cache_parameter_group_name
                    );
                    if self.failures.is_new(id, &message) {
                        self.store.record_warning(source::CACHE_CLUSTER, id, &message).await?;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Sets `values` on every node, then records them as what the nodes run with.
    async fn apply(
        &self,
        cluster: &CacheCluster,
        nodes: &[CacheNode],
        values: &[(String, String)],
    ) -> Result<(), SyncError> {
        for node in nodes.iter().filter(|n| n.status == Status::Available) {
            let mut client = connect(cluster, node).await?;
            set_checked(&mut client, node, values).await?;
        }
        let mut running = cluster.parameters.clone();
        for (name, _) in values {
            match cluster.group_parameters.get(name) {
                Some(value) => running.insert(name.clone(), value.clone()),
                None => running.remove(name),
            };
        }
        let group = &cluster.settings.cache_parameter_group_name;
        if self.store.set_cluster_parameters(&cluster.cache_cluster_id, group, &running).await? {
            let said: Vec<String> = values.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let message = format!("Parameter group {group} applied to every node: {}", said.join(", "));
            self.store.record_event(source::CACHE_CLUSTER, &cluster.cache_cluster_id, &message).await?;
        }
        Ok(())
    }

    /// Sets again, on any node that lost them, the immediate values its cluster runs with.
    async fn restore_lost(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> Result<bool, SyncError> {
        let family = catalogue::family(cluster.settings.engine);
        let given = immediate_values(family, &cluster.parameters);
        if given.is_empty() {
            return Ok(false);
        }
        let mut restored = false;
        for node in nodes.iter().filter(|n| n.status == Status::Available) {
            let mut client = connect(cluster, node).await?;
            let mut lost = Vec::new();
            for (name, value) in &given {
                if client.config_get(name).await?.as_deref() != Some(value.as_str()) {
                    lost.push((name.clone(), value.clone()));
                }
            }
            if lost.is_empty() {
                continue;
            }
            set_checked(&mut client, node, &lost).await?;
            let said: Vec<String> = lost.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let message =
                format!("Cache node {} had lost parameter values; set again: {}", node.cache_node_id, said.join(", "));
            self.store.record_warning(source::CACHE_CLUSTER, &cluster.cache_cluster_id, &message).await?;
            restored = true;
        }
        Ok(restored)
    }
}

fn immediate_values(family: &str, values: &Parameters) -> Vec<(String, String)> {
    values
        .iter()
        .filter(|(name, _)| {
            catalogue::find(family, name).is_some_and(|p| p.change_type == catalogue::ChangeType::Immediate)
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

async fn connect(cluster: &CacheCluster, node: &CacheNode) -> Result<NodeClient, SyncError> {
    let address = node.address.as_deref().ok_or_else(|| SyncError::NoAddress { node: node.cache_node_id.clone() })?;
    Ok(NodeClient::connect(address, node.host_port, cluster.settings.auth_token.as_deref()).await?)
}

/// CONFIG SET each value, then CONFIG GET it back.
async fn set_checked(client: &mut NodeClient, node: &CacheNode, values: &[(String, String)]) -> Result<(), SyncError> {
    for (name, value) in values {
        client.config_set(name, value).await?;
        let found = client.config_get(name).await?;
        if found.as_deref() != Some(value.as_str()) {
            return Err(SyncError::NotApplied {
                node: node.cache_node_id.clone(),
                name: name.clone(),
                wanted: value.clone(),
                found,
            });
        }
    }
    Ok(())
}

impl crate::worker::Worker for ParameterSync {
    fn name(&self) -> &'static str {
        "parameters"
    }

    async fn step(&mut self) {
        self.passes += 1;
        let check = self.passes.is_multiple_of(CHECK_EVERY);
        if let Err(e) = self.run(check).await {
            tracing::error!("parameter sync: {e}");
        }
    }

    async fn wait(&mut self) {
        tokio::select! {
            () = tokio::time::sleep(PASS) => {}
            () = self.wake.notified() => {}
        }
    }
}
