//! One failover: choose the replica to promote, promote it, repoint the
//! rest, record the new roles. The order matters: the new primary takes
//! writes only once it is no longer a replica; the others follow it before
//! the store says it is the primary, so a describe never names a primary
//! that nobody replicates from.

use std::time::Instant;

use super::{Member, Monitor, PROBE};
use crate::model::{ReplicationGroup, source};
use crate::node_client::info_field;
use crate::runtime::NodeRuntime;
use crate::store::StoreError;

impl<R: NodeRuntime> Monitor<R> {
    pub(super) async fn failover(
        &self,
        group: &ReplicationGroup,
        members: &[Member],
        primary: usize,
        reason: &str,
        target: Option<&str>,
    ) -> Result<(), StoreError> {
        let id = &group.replication_group_id;
        let started = Instant::now();
        let old = members[primary].name();
        self.store.record_event(source::REPLICATION_GROUP, id, &format!("FailoverStarted: {reason}")).await?;

        // The reachable replica that has seen the most of the stream. A member
        // that already reports itself primary was promoted by a failover that
        // a crash interrupted: finishing that one beats starting another.
        let mut best: Option<(usize, (bool, u64))> = None;
        for (i, member) in members.iter().enumerate() {
            if i == primary || target.is_some_and(|t| t != member.cluster.cache_cluster_id) {
                continue;
            }
            let Some(mut client) = member.connect(PROBE).await else { continue };
            let Ok(info) = client.info("replication").await else { continue };
            let field = |name| info_field(&info, name);
            let rank = match field("role") {
                Some("slave") => (false, field("slave_repl_offset").and_then(|o| o.parse().ok()).unwrap_or(0)),
                Some("master") => (true, field("master_repl_offset").and_then(|o| o.parse().ok()).unwrap_or(0)),
                _ => continue,
            };
            if best.is_none_or(|(_, r)| rank > r) {
                best = Some((i, rank));
            }
        }
        let Some((chosen, (_, offset))) = best else {
            let message = format!("Failover from master node {old} failed: no replica answered");
            return self.store.record_event(source::REPLICATION_GROUP, id, &message).await;
        };
        let new = &members[chosen];
        let promoted = match new.connect(PROBE).await {
            Some(mut client) => client.replicaof(None).await.is_ok(),
            None => false,
        };
        if !promoted {
            let message = format!("Failover from master node {old} failed: {} could not be promoted", new.name());
            return self.store.record_event(source::REPLICATION_GROUP, id, &message).await;
        }
        let (host, port) = self.runtime.primary_address(&new.primary_ref(), group.port as u16);
        for (i, member) in members.iter().enumerate() {
            if i == chosen {
                continue;
            }
            // The old primary is usually down: the fence repoints it when it returns.
            if let Some(mut client) = member.connect(PROBE).await {
                let _ = client.replicaof(Some((&host, port))).await;
            }
        }
        self.store.set_group_primary(id, &new.cluster.cache_cluster_id).await?;
        let was = &members[primary].node;
        self.announcements.switch_master(
            id,
            (was.address.as_deref().unwrap_or(""), was.host_port),
            (new.node.address.as_deref().unwrap_or(""), new.node.host_port),
        );
        let message = format!(
            "Failover from master node {old} to replica node {} completed in {} ms (replication offset {offset})",
            new.name(),
            started.elapsed().as_millis()
        );
        self.store.record_event(source::REPLICATION_GROUP, id, &message).await
    }
}
