//! A replication group's status follows its members: `available` once every
//! member is (after a create, or replicas added or removed), `create-failed`
//! if one failed, gone once the last member is.

use super::Reconciler;
use crate::model::{Status, source};
use crate::runtime::{NetworkOwner, NodeRuntime};
use crate::store::ClusterFilter;

impl<R: NodeRuntime> Reconciler<R> {
    pub(super) async fn settle_groups(&self) {
        let _one_at_a_time = self.settling_groups.lock().await;
        if let Err(e) = self.try_settle_groups().await {
            tracing::error!("reconciler: settling groups: {e}");
        }
    }

    async fn try_settle_groups(&self) -> Result<(), crate::store::StoreError> {
        for id in self.store.groups_in_progress().await? {
            let Some(group) = self.store.group(&id).await? else { continue };
            let filter = ClusterFilter { replication_group_id: Some(id.clone()), limit: 100, ..Default::default() };
            let members = self.store.clusters(&filter).await?;
            let all = |wanted: Status| members.iter().all(|m| m.status == wanted);
            match group.status {
                Status::Creating if members.iter().any(|m| m.status == Status::CreateFailed) => {
                    self.store.set_group_status(&id, Status::CreateFailed).await?;
                    let failed: Vec<&str> = members
                        .iter()
                        .filter(|m| m.status == Status::CreateFailed)
                        .map(|m| m.cache_cluster_id.as_str())
                        .collect();
                    let message = format!("Replication group creation failed: member(s) {} failed", failed.join(", "));
                    self.store.record_warning(source::REPLICATION_GROUP, &id, &message).await?;
                }
                Status::Creating if all(Status::Available) => {
                    self.store.set_group_status(&id, Status::Available).await?;
                    self.store.record_event(source::REPLICATION_GROUP, &id, "Replication group created").await?;
                }
                Status::Modifying if members.iter().any(|m| m.status == Status::CreateFailed) => {
                    self.store.set_group_status(&id, Status::Available).await?;
                    let message = "Replica count increase failed: a new replica could not be created (see its events)";
                    self.store.record_warning(source::REPLICATION_GROUP, &id, message).await?;
                }
                // Replicas added or removed: done once no member is on its way in or out.
                Status::Modifying if all(Status::Available) => {
                    self.store.set_group_status(&id, Status::Available).await?;
                    let message = format!("Replication group now has {} replica(s)", members.len().saturating_sub(1));
                    self.store.record_event(source::REPLICATION_GROUP, &id, &message).await?;
                }
                Status::Deleting if members.is_empty() => {
                    if let Err(e) = self.runtime.remove_network(&NetworkOwner::Group(id.clone())).await {
                        let message = format!("Replication group deletion is waiting: removing its network: {e}");
                        self.say_failure(source::REPLICATION_GROUP, &id, &message).await;
                        continue;
                    }
                    self.said_done(source::REPLICATION_GROUP, &id);
                    self.store.remove_group(&id).await?;
                    self.store.record_event(source::REPLICATION_GROUP, &id, "Replication group deleted").await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
