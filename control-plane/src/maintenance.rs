//! Maintenance windows: what a modify held back in a cache cluster's
//! `pending_modified_values` (a node type, a memcached node count) is
//! applied in its `preferred_maintenance_window`, as `apply_immediately`
//! would apply it, and the reconciler does the rest; so are the parameters
//! of its parameter group that need a restart (every node is rebooted).
//!
//! Whether there is work is the pending values themselves: applying clears
//! them in the same statement that makes the cluster `modifying`, so a
//! window is served once across restarts, and a window the control plane
//! was down for leaves the change pending for the next.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::model::{CacheCluster, CacheNode, PendingModifiedValues, Status, describe_node_count, source};
use crate::parameters::{Drift, after_restart};
use crate::store::{ClusterChange, ClusterFilter, Store, StoreResult};
use crate::validate::maintenance_window_minutes;

const MINUTE_MS: i64 = 60_000;
const WEEK_MINUTES: i64 = 7 * 24 * 60;
/// Unix time began on a Thursday: 4 days after a week's Sunday 00:00.
const EPOCH_WEEK_MINUTE: i64 = 4 * 24 * 60;
const PASS: Duration = Duration::from_secs(5);

/// The start (unix ms) of the window `now` falls in, if it falls in one.
pub fn window_start(window: &str, now: i64) -> Option<i64> {
    let (start, length) = maintenance_window_minutes(window)?;
    let minute = now.div_euclid(MINUTE_MS);
    let into = (minute + EPOCH_WEEK_MINUTE - start).rem_euclid(WEEK_MINUTES);
    (into < length).then_some((minute - into) * MINUTE_MS)
}

/// When what is pending applies: the start of the next window, or `now`
/// when one is open (the scheduler's next pass takes it).
pub fn next_application(window: &str, now: i64) -> Option<i64> {
    if window_start(window, now).is_some() {
        return Some(now);
    }
    let (start, _) = maintenance_window_minutes(window)?;
    let minute = now.div_euclid(MINUTE_MS);
    let until = (start - (minute + EPOCH_WEEK_MINUTE)).rem_euclid(WEEK_MINUTES);
    Some((minute + until) * MINUTE_MS)
}

/// What an event says is being applied.
fn describe(pending: &PendingModifiedValues, nodes: i64) -> String {
    let mut what = Vec::new();
    if let Some(node_type) = &pending.cache_node_type {
        what.push(format!("cache node type {node_type}"));
    }
    if let Some(count) = pending.num_cache_nodes {
        what.push(describe_node_count(nodes, count, &pending.cache_node_ids_to_remove));
    }
    what.join("; ")
}

pub struct MaintenanceWindows {
    store: Store,
    clock: Clock,
    /// Wakes the reconciler when a cluster has work.
    reconcile: Arc<Notify>,
}

impl MaintenanceWindows {
    pub fn new(store: Store, clock: Clock, reconcile: Arc<Notify>) -> MaintenanceWindows {
        MaintenanceWindows { store, clock, reconcile }
    }

    /// Starts applying what is pending on every available cluster whose
    /// window is open now; returns those clusters' ids.
    pub async fn run(&self) -> StoreResult<Vec<String>> {
        let now = self.clock.now_millis();
        let filter = ClusterFilter { limit: i64::MAX, not_in_replication_groups: true, ..ClusterFilter::default() };
        let mut started = Vec::new();
        for (cluster, nodes) in self.store.clusters_with_nodes(&filter).await? {
            if cluster.status != Status::Available
                || window_start(&cluster.settings.preferred_maintenance_window, now).is_none()
            {
                continue;
            }
            let started_now = if !cluster.pending_modified_values.is_empty() {
                self.apply(&cluster).await?
            } else {
                self.reboot_for_parameters(&cluster, &nodes).await?
            };
            if started_now {
                started.push(cluster.cache_cluster_id);
            }
        }
        if !started.is_empty() {
            self.reconcile.notify_one();
        }
        Ok(started)
    }

    async fn apply(&self, cluster: &CacheCluster) -> StoreResult<bool> {
        let pending = cluster.pending_modified_values.clone();
        let change = ClusterChange { if_pending: Some(pending.clone()), ..ClusterChange::default() };
        let change = change.applying(pending.clone(), cluster.num_cache_nodes);
        if !self.store.change_available_cluster(&cluster.cache_cluster_id, &change).await? {
            return Ok(false); // modified or busy since it was read: the next pass looks again
        }
        let message = format!(
            "Applying pending changes in maintenance window {}: {}",
            cluster.settings.preferred_maintenance_window,
            describe(&pending, cluster.num_cache_nodes)
        );
        self.store.record_event(source::CACHE_CLUSTER, &cluster.cache_cluster_id, &message).await?;
        Ok(true)
    }
}

impl MaintenanceWindows {
    /// Parameters that need a restart: every node is rebooted with them.
    /// (What a node type change leaves pending goes first; these follow in
    /// the next pass, the window still open.)
    async fn reboot_for_parameters(&self, cluster: &CacheCluster, nodes: &[CacheNode]) -> StoreResult<bool> {
        let pending = Drift::of(cluster).requires_reboot;
        if pending.is_empty() {
            return Ok(false);
        }
        let id = &cluster.cache_cluster_id;
        let node_ids: Vec<String> = nodes.iter().map(|n| n.cache_node_id.clone()).collect();
        let parameters = after_restart(cluster);
        // Once: the parameters are recorded with the reboot, so the next pass finds none pending.
        if !self.store.reboot_available_cluster_with(id, &node_ids, Some(&parameters)).await? {
            return Ok(false);
        }
        let message = format!(
            "Rebooting every node in maintenance window {} to apply parameters {}",
            cluster.settings.preferred_maintenance_window,
            pending.join(", ")
        );
        self.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
        Ok(true)
    }
}

impl crate::worker::Worker for MaintenanceWindows {
    fn name(&self) -> &'static str {
        "maintenance"
    }

    async fn step(&mut self) {
        if let Err(e) = self.run().await {
            tracing::error!("maintenance windows: {e}");
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(PASS).await;
    }
}

#[cfg(test)]
#[path = "maintenance_tests.rs"]
mod tests;
