//! The monitor: the one elector. Every interval it checks each node of an
//! available standalone cluster (one that stops answering is restarted in
//! place, `standalone`) and each available
//! replication group over the Redis protocol (a node that does not answer
//! PING is failed, whatever the runtime says). When the primary misses
//! enough checks, and the group has automatic failover, it promotes the
//! reachable replica with the highest replication offset, repoints the other
//! members at it and records the new roles. Replicas that follow anything
//! else (a returning old primary, a replica restarted with its first
//! configuration) are repointed at once: that is the fence.
//!
//! It keeps the primary's replication id in the store: only a replica
//! sharing it holds the group's data and may be promoted, and a primary that
//! answers with another one came back empty (restarted before it missed
//! enough checks) and is replaced. Failovers go through the journal in the
//! store (requested ones are written there by the API), so one that a restart
//! interrupted is finished, not started anew.

mod failover;
mod standalone;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{CacheCluster, CacheNode, ReplicationGroup, Role, Status};
use crate::node_client::{NodeClient, info_field};
use crate::runtime::{NodeKey, NodeRuntime, PrimaryRef};
use crate::store::{Failover, Store};

/// How long a node has to answer one health check. Independent of the
/// interval: a busy machine answering in 150 ms is slow, not dead (a dead
/// node's connection is refused at once).
const PROBE: Duration = Duration::from_secs(1);

/// Endpoint names are checked (a docker inspect per member) every this many
/// rounds; a failover moves them at once.
const NAMES_EVERY: u64 = 10;

pub struct Monitor<R: NodeRuntime> {
    store: Store,
    runtime: Arc<R>,
    /// Wakes the reconciler when the monitor asks it to replace a node.
    reconcile: Arc<tokio::sync::Notify>,
    announcements: crate::sentinel::Announcements,
    interval: Duration,
    misses_allowed: u32,
    misses: HashMap<String, u32>,
    /// Rounds of checks so far.
    rounds: u64,
}

/// A member cluster with its one node.
struct Member {
    cluster: CacheCluster,
    node: CacheNode,
}

impl Member {
    fn name(&self) -> String {
        format!("{}-{}", self.cluster.cache_cluster_id, self.node.cache_node_id)
    }

    fn key(&self) -> NodeKey {
        NodeKey {
            cache_cluster_id: self.cluster.cache_cluster_id.clone(),
            cache_node_id: self.node.cache_node_id.clone(),
        }
    }

    fn primary_ref(&self) -> PrimaryRef {
        PrimaryRef { key: self.key(), host_port: self.node.host_port }
    }

    async fn connect(&self, timeout: Duration) -> Option<NodeClient> {
        let address = self.node.address.as_deref()?;
        let attempt = async {
            let mut client =
                NodeClient::connect(address, self.node.host_port, self.cluster.settings.auth_token.as_deref())
                    .await
                    .ok()?;
            client.ping().await.ok()?;
            Some(client)
        };
        tokio::time::timeout(timeout, attempt).await.ok().flatten()
    }
}

impl<R: NodeRuntime> Monitor<R> {
    /// Has the reconciler restart a member that stopped answering (a replica
    /// comes back as a replica of the current primary); `why` ends the event.
    async fn replace(
        &self,
        group: &ReplicationGroup,
        member: &Member,
        why: &str,
    ) -> Result<(), crate::store::StoreError> {
        let id = &member.cluster.cache_cluster_id;
        if self.store.reboot_available_cluster(id, std::slice::from_ref(&member.node.cache_node_id)).await? {
            let message = format!("Cache node {} stopped answering; {why}", member.name());
            self.store
                .record_warning(crate::model::source::REPLICATION_GROUP, &group.replication_group_id, &message)
                .await?;
            self.reconcile.notify_one();
        }
        Ok(())
    }

    /// Points the group's endpoint names at `members[primary]` and the rest.
    /// A failure is logged, not fatal: the next check tries again.
    async fn name_endpoints(&self, group: &ReplicationGroup, members: &[Member], primary: usize) {
        let replicas: Vec<NodeKey> =
            members.iter().enumerate().filter(|(i, _)| *i != primary).map(|(_, m)| m.key()).collect();
        let primary = members[primary].key();
        if let Err(e) = self.runtime.name_endpoints(&group.replication_group_id, &primary, &replicas).await {
            tracing::warn!(group = %group.replication_group_id, "moving the endpoint names: {e}");
        }
    }

    pub fn new(
        store: Store,
        runtime: Arc<R>,
        reconcile: Arc<tokio::sync::Notify>,
        announcements: crate::sentinel::Announcements,
        interval: Duration,
        misses_allowed: u32,
    ) -> Monitor<R> {
        Monitor {
            store,
            runtime,
            reconcile,
            announcements,
            interval,
            misses_allowed: misses_allowed.max(1),
            misses: HashMap::new(),
            rounds: 0,
        }
    }

    async fn members(&self, group: &str) -> Result<Vec<Member>, crate::store::StoreError> {
        let members = self.store.group_members(group).await?.into_iter();
        Ok(members.filter_map(|(cluster, nodes)| Some(Member { cluster, node: nodes.into_iter().next()? })).collect())
    }

    async fn check_all(&mut self) -> Result<(), crate::store::StoreError> {
        // Requested ones, and any a restart interrupted. A group that is busy
        // (a member being rebooted, say) keeps its failover for a later check.
        let mut in_flight: HashMap<String, Failover> =
            self.store.failovers().await?.into_iter().map(|f| (f.replication_group_id.clone(), f)).collect();
        let groups = self.store.groups(None, i64::MAX).await?;
        let standalone = self.check_standalone().await?;
        // Counts of what no longer exists go.
        self.misses
            .retain(|id, _| standalone.contains(id) || groups.iter().any(|g| id.starts_with(&g.replication_group_id)));
        for group in groups.into_iter().filter(|g| g.status == Status::Available) {
            let members = self.members(&group.replication_group_id).await?;
            if members.iter().any(|m| m.cluster.status != Status::Available) {
                continue; // the reconciler is working on a member
            }
            let Some(primary) = members.iter().position(|m| m.cluster.role == Some(Role::Primary)) else {
                continue;
            };
            if let Some(journal) = in_flight.remove(&group.replication_group_id) {
                self.failover(&group, &members, primary, journal).await?;
                continue;
            }
            if let Some(client) = members[primary].connect(PROBE).await {
                self.misses.remove(&group.replication_group_id);
                self.primary_answered(&group, &members, primary, client).await?;
                continue;
            }
            let misses = self.misses.entry(group.replication_group_id.clone()).or_default();
            *misses += 1;
            if *misses >= self.misses_allowed && group.automatic_failover_enabled {
                let reason = format!("primary {} missed {} health checks", members[primary].name(), *misses);
                self.misses.remove(&group.replication_group_id);
                self.start_automatic_failover(&group, &members, primary, &reason).await?;
            }
        }
        Ok(())
    }

    /// Records an automatic failover in the journal and runs it.
    async fn start_automatic_failover(
        &self,
        group: &ReplicationGroup,
        members: &[Member],
        primary: usize,
        reason: &str,
    ) -> Result<(), crate::store::StoreError> {
        match self.store.begin_failover(&group.replication_group_id, false, reason, None).await? {
            Some(journal) => self.failover(group, members, primary, journal).await,
            None => Ok(()),
        }
    }

    /// The primary answers: it still holds the group's data (its replication
    /// id) and the replicas are fenced; or it is new (the id is recorded); or
    /// it came back empty before it missed enough checks, and a replica that
    /// holds the data takes over.
    async fn primary_answered(
        &mut self,
        group: &ReplicationGroup,
        members: &[Member],
        primary: usize,
        mut client: NodeClient,
    ) -> Result<(), crate::store::StoreError> {
        let info = client.info("replication").await.unwrap_or_default();
        let Some(now) = info_field(&info, "master_replid") else {
            return self.fence(group, members, primary).await;
        };
        match group.replication_id.as_deref() {
            Some(known) if known == now => self.fence(group, members, primary).await,
            Some(_) if group.automatic_failover_enabled => {
                let reason = format!("primary {} came back without the group's data", members[primary].name());
                self.start_automatic_failover(group, members, primary, &reason).await
            }
            _ => self.store.set_replication_id(&group.replication_group_id, now).await,
        }
    }

    /// Repoints every replica that does not follow the current primary, and
    /// has the reconciler restart one that stopped answering.
    async fn fence(
        &mut self,
        group: &ReplicationGroup,
        members: &[Member],
        primary: usize,
    ) -> Result<(), crate::store::StoreError> {
        if self.rounds.is_multiple_of(NAMES_EVERY) {
            self.name_endpoints(group, members, primary).await;
        }
        let (host, port) = self.runtime.primary_address(&members[primary].primary_ref(), group.settings.port as u16);
        for (i, member) in members.iter().enumerate() {
            if i == primary {
                continue;
            }
            let Some(mut client) = member.connect(PROBE).await else {
                let misses = self.misses.entry(member.name()).or_default();
                *misses += 1;
                if *misses >= self.misses_allowed {
                    self.misses.remove(&member.name());
                    self.replace(group, member, "restarting it as a replica").await?;
                }
                continue;
            };
            self.misses.remove(&member.name());
            let Ok(info) = client.info("replication").await else { continue };
            let field = |name| info_field(&info, name);
            let follows = field("role") == Some("slave")
                && field("master_host") == Some(host.as_str())
                && field("master_port").and_then(|p| p.parse::<u16>().ok()) == Some(port);
            if follows {
                continue;
            }
            if client.replicaof(Some((&host, port))).await.is_ok() {
                let message =
                    format!("Cache node {} rejoined as a replica of {}", member.name(), members[primary].name());
                self.store
                    .record_event(crate::model::source::REPLICATION_GROUP, &group.replication_group_id, &message)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Checks every group each interval; a shutdown lets a failover in flight finish.
impl<R: NodeRuntime> crate::worker::Worker for Monitor<R> {
    fn name(&self) -> &'static str {
        "monitor"
    }

    async fn step(&mut self) {
        if let Err(e) = self.check_all().await {
            tracing::error!("monitor: {e}");
        }
        self.rounds += 1;
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.interval).await;
    }
}

#[cfg(test)]
mod tests;
