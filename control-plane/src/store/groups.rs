//! Replication groups; their member clusters are ordinary cache clusters.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::clusters::{corrupt, insert_cluster_in, settings_from_row};
use super::{ClusterFilter, NewCluster, Store, StoreError, StoreResult, unique_as_exists};
use crate::clock::now_millis;
use crate::model::{CacheCluster, CacheNode, ReplicationGroup, Status};

/// A group with its member clusters, each with its nodes.
pub type GroupWithMembers = (ReplicationGroup, Vec<(CacheCluster, Vec<CacheNode>)>);

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub group: ReplicationGroup,
    pub members: Vec<NewCluster>,
}

macro_rules! select_groups {
    ($rest:literal) => {
        concat!(
            "SELECT replication_group_id, description, status, engine, engine_version, cache_node_type, port,
                automatic_failover_enabled, multi_az_enabled, auth_token, preferred_maintenance_window,
                snapshot_retention_limit, snapshot_window, tags, created_at, replication_id,
                cache_parameter_group_name
             FROM replication_groups ",
            $rest
        )
    };
}

impl Store {
    /// Records a group in `creating` with its member clusters, in one transaction.
    pub async fn insert_group(&self, new: &NewGroup) -> StoreResult<()> {
        let g = &new.group;
        let s = &g.settings;
        let ports = self.ports.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO replication_groups (replication_group_id, description, status, engine, engine_version,
                cache_node_type, port, automatic_failover_enabled, multi_az_enabled, auth_token,
                preferred_maintenance_window, snapshot_retention_limit, snapshot_window, tags, created_at,
                cache_parameter_group_name)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.replication_group_id)
        .bind(&g.description)
        .bind(Status::Creating)
        .bind(s.engine)
        .bind(&s.engine_version)
        .bind(&s.cache_node_type)
        .bind(s.port)
        .bind(g.automatic_failover_enabled)
        .bind(g.multi_az_enabled)
        .bind(&s.auth_token)
        .bind(&s.preferred_maintenance_window)
        .bind(s.snapshot_retention_limit)
        .bind(&s.snapshot_window)
        .bind(serde_json::to_string(&s.tags).map_err(corrupt)?)
        .bind(now_millis())
        .bind(&s.cache_parameter_group_name)
        .execute(&mut *tx)
        .await
        .map_err(unique_as_exists)?;
        for member in &new.members {
            insert_cluster_in(&mut tx, member, *ports).await.map_err(|e| match e {
                // A member's name is taken by a standalone cluster.
                StoreError::AlreadyExists => StoreError::MemberClusterExists(member.cache_cluster_id.clone()),
                other => other,
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn group(&self, id: &str) -> StoreResult<Option<ReplicationGroup>> {
        let row =
            sqlx::query(select_groups!("WHERE replication_group_id = ?")).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| group_from_row(&r)).transpose()
    }

    /// A group's member clusters, each with its nodes, in member order.
    pub async fn group_members(&self, id: &str) -> StoreResult<Vec<(CacheCluster, Vec<CacheNode>)>> {
        let filter = ClusterFilter { replication_group_id: Some(id.to_owned()), limit: i64::MAX, ..Default::default() };
        self.clusters_with_nodes(&filter).await
    }

    /// A page of groups, each with its members and their nodes: two queries
    /// whatever the page's size.
    pub async fn groups_with_members(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<GroupWithMembers>> {
        let groups = self.groups(after, limit).await?;
        let ids = groups.iter().map(|g| g.replication_group_id.clone()).collect();
        let filter = ClusterFilter { replication_group_ids: Some(ids), limit: i64::MAX, ..Default::default() };
        let mut members: HashMap<String, Vec<(CacheCluster, Vec<CacheNode>)>> = HashMap::new();
        for (cluster, nodes) in self.clusters_with_nodes(&filter).await? {
            let group = cluster.replication_group_id.clone().unwrap_or_default();
            members.entry(group).or_default().push((cluster, nodes));
        }
        Ok(groups
            .into_iter()
            .map(|group| {
                let mine = members.remove(&group.replication_group_id).unwrap_or_default();
                (group, mine)
            })
            .collect())
    }

    pub async fn groups(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<ReplicationGroup>> {
        let rows = sqlx::query(select_groups!(
            "WHERE (?1 IS NULL OR replication_group_id > ?1) ORDER BY replication_group_id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    pub async fn groups_in_progress(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT replication_group_id FROM replication_groups WHERE status != ?")
            .bind(Status::Available)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn set_group_status(&self, id: &str, status: Status) -> StoreResult<()> {
        sqlx::query("UPDATE replication_groups SET status = ? WHERE replication_group_id = ?")
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies settings that take effect at once to an `available` group and
    /// its members; `Ok(false)` when the group is in another state.
    pub async fn change_available_group(&self, id: &str, change: &GroupChange) -> StoreResult<bool> {
        let tags = change.tags.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE replication_groups SET
                description = COALESCE(?2, description),
                automatic_failover_enabled = COALESCE(?3, automatic_failover_enabled),
                multi_az_enabled = COALESCE(?4, multi_az_enabled),
                preferred_maintenance_window = COALESCE(?5, preferred_maintenance_window),
                snapshot_retention_limit = COALESCE(?6, snapshot_retention_limit),
                snapshot_window = COALESCE(?7, snapshot_window),
                tags = COALESCE(?8, tags),
                cache_parameter_group_name = COALESCE(?10, cache_parameter_group_name)
             WHERE replication_group_id = ?1 AND status = ?9",
        )
        .bind(id)
        .bind(&change.description)
        .bind(change.automatic_failover_enabled)
        .bind(change.multi_az_enabled)
        .bind(&change.preferred_maintenance_window)
        .bind(change.snapshot_retention_limit)
        .bind(&change.snapshot_window)
        .bind(tags)
        .bind(Status::Available)
        .bind(&change.cache_parameter_group_name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query(
                "UPDATE cache_clusters SET
                    preferred_maintenance_window = COALESCE(?2, preferred_maintenance_window),
                    snapshot_retention_limit = COALESCE(?3, snapshot_retention_limit),
                    snapshot_window = COALESCE(?4, snapshot_window),
                    cache_parameter_group_name = COALESCE(?5, cache_parameter_group_name)
                 WHERE replication_group_id = ?1",
            )
            .bind(id)
            .bind(&change.preferred_maintenance_window)
            .bind(change.snapshot_retention_limit)
            .bind(&change.snapshot_window)
            .bind(&change.cache_parameter_group_name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.group_changed_or_state(id, done.rows_affected()).await
    }

    /// Marks an `available` (or `create-failed`) group and all its members `deleting`.
    pub async fn delete_available_group(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE replication_groups SET status = ?1 WHERE replication_group_id = ?2 AND status IN (?3, ?4)",
        )
        .bind(Status::Deleting)
        .bind(id)
        .bind(Status::Available)
        .bind(Status::CreateFailed)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query("UPDATE cache_clusters SET status = ? WHERE replication_group_id = ?")
                .bind(Status::Deleting)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.group_changed_or_state(id, done.rows_affected()).await
    }

    /// Moves an `available` group to `modifying` and records new replica
    /// members in `creating`; `Ok(false)` when the group is in another state.
    pub async fn add_replicas(&self, id: &str, members: &[NewCluster]) -> StoreResult<bool> {
        let ports = self.ports.lock().await;
        let mut tx = self.pool.begin().await?;
        let modifying = mark_modifying(&mut tx, id).await?;
        if modifying {
            for member in members {
                insert_cluster_in(&mut tx, member, *ports).await.map_err(|e| match e {
                    StoreError::AlreadyExists => StoreError::MemberClusterExists(member.cache_cluster_id.clone()),
                    other => other,
                })?;
            }
        }
        tx.commit().await?;
        drop(ports);
        self.group_changed_or_state(id, u64::from(modifying)).await
    }

    /// Moves an `available` group to `modifying` and marks these replica
    /// members `deleting`; `Ok(false)` when the group is in another state.
    pub async fn remove_replicas(&self, id: &str, members: &[String]) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let modifying = mark_modifying(&mut tx, id).await?;
        if modifying {
            for member in members {
                sqlx::query(
                    "UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ? AND replication_group_id = ?",
                )
                .bind(Status::Deleting)
                .bind(member)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.group_changed_or_state(id, u64::from(modifying)).await
    }

    /// Records the replication id the group's primary reports.
    pub async fn set_replication_id(&self, id: &str, replication_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE replication_groups SET replication_id = ? WHERE replication_group_id = ?")
            .bind(replication_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn remove_group(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM replication_groups WHERE replication_group_id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn group_changed_or_state(&self, id: &str, rows_affected: u64) -> StoreResult<bool> {
        if rows_affected == 1 {
            return Ok(true);
        }
        match self.group(id).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct GroupChange {
    pub description: Option<String>,
    pub automatic_failover_enabled: Option<bool>,
    pub multi_az_enabled: Option<bool>,
    pub preferred_maintenance_window: Option<String>,
    pub snapshot_retention_limit: Option<i64>,
    pub snapshot_window: Option<String>,
    pub tags: Option<Vec<crate::model::Tag>>,
    /// The group and its members take their parameters from this group from now on.
    pub cache_parameter_group_name: Option<String>,
}

/// `available` → `modifying` inside `tx`; false when the group is in another state.
async fn mark_modifying(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE replication_groups SET status = ? WHERE replication_group_id = ? AND status = ?")
        .bind(Status::Modifying)
        .bind(id)
        .bind(Status::Available)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn group_from_row(r: &SqliteRow) -> StoreResult<ReplicationGroup> {
    Ok(ReplicationGroup {
        replication_group_id: r.try_get("replication_group_id")?,
        description: r.try_get("description")?,
        status: r.try_get("status")?,
        settings: settings_from_row(r)?,
        automatic_failover_enabled: r.try_get("automatic_failover_enabled")?,
        multi_az_enabled: r.try_get("multi_az_enabled")?,
        created_at: r.try_get("created_at")?,
        replication_id: r.try_get("replication_id")?,
    })
}
