//! Cache clusters and the desired state of their nodes.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{PortRange, Store, StoreError, StoreResult, unique_as_exists};
use crate::clock::now_millis;
use crate::model::{CacheCluster, PendingModifiedValues, Tag, node_id, status};

#[derive(Debug, Clone)]
pub struct NewCluster {
    pub cache_cluster_id: String,
    pub replication_group_id: Option<String>,
    pub role: Option<String>,
    pub engine: String,
    pub engine_version: String,
    pub cache_node_type: String,
    pub num_cache_nodes: i64,
    pub port: i64,
    pub auth_token: Option<String>,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Default, Clone)]
pub struct ClusterFilter {
    /// Clusters whose id sorts after this (the pagination marker).
    pub after: Option<String>,
    pub limit: i64,
    pub replication_group_id: Option<String>,
    pub engine: Option<String>,
    pub not_in_replication_groups: bool,
}

/// Settings a modify changes at once (no node is touched).
#[derive(Debug, Default, Clone)]
pub struct ClusterChange {
    pub preferred_maintenance_window: Option<String>,
    pub snapshot_retention_limit: Option<i64>,
    pub snapshot_window: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub pending_modified_values: Option<PendingModifiedValues>,
    /// Set together with the status this change moves the cluster to.
    pub status: Option<&'static str>,
}

macro_rules! select_clusters {
    ($rest:literal) => {
        concat!(
            "SELECT cache_cluster_id, replication_group_id, role, engine, engine_version, cache_node_type,
                num_cache_nodes, port, auth_token, preferred_maintenance_window, snapshot_retention_limit,
                snapshot_window, tags, status, pending_modified_values, created_at
             FROM cache_clusters ",
            $rest
        )
    };
}

impl Store {
    /// Records a new cluster in `creating`, with its nodes and their host ports.
    pub async fn insert_cluster(&self, cluster: &NewCluster) -> StoreResult<()> {
        let ports = self.ports.lock().await;
        let mut tx = self.pool.begin().await?;
        insert_cluster_in(&mut tx, cluster, *ports).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cluster(&self, id: &str) -> StoreResult<Option<CacheCluster>> {
        const SQL: &str = select_clusters!("WHERE cache_cluster_id = ?");
        let row = sqlx::query(SQL).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| cluster_from_row(&r)).transpose()
    }

    pub async fn clusters(&self, filter: &ClusterFilter) -> StoreResult<Vec<CacheCluster>> {
        const SQL: &str = select_clusters!(
            "WHERE (?1 IS NULL OR cache_cluster_id > ?1) AND (?2 IS NULL OR replication_group_id = ?2)
               AND (?3 IS NULL OR engine = ?3) AND (?4 = 0 OR replication_group_id IS NULL)
             ORDER BY cache_cluster_id LIMIT ?5"
        );
        let rows = sqlx::query(SQL)
            .bind(&filter.after)
            .bind(&filter.replication_group_id)
            .bind(&filter.engine)
            .bind(filter.not_in_replication_groups)
            .bind(filter.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(cluster_from_row).collect()
    }

    /// Ids of the clusters whose status asks the reconciler for work.
    pub async fn clusters_in_progress(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT cache_cluster_id FROM cache_clusters WHERE status IN (?, ?, ?, ?)")
            .bind(status::CREATING)
            .bind(status::MODIFYING)
            .bind(status::REBOOTING)
            .bind(status::DELETING)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn all_cluster_ids(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT cache_cluster_id FROM cache_clusters").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn set_cluster_status(&self, id: &str, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ?")
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a cluster from `available` to `to`, applying `change` in the same
    /// statement; `Ok(false)` when the cluster exists but is not `available`.
    pub async fn change_available_cluster(&self, id: &str, change: &ClusterChange) -> StoreResult<bool> {
        let tags = change.tags.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let pending =
            change.pending_modified_values.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let done = sqlx::query(
            "UPDATE cache_clusters SET
                preferred_maintenance_window = COALESCE(?2, preferred_maintenance_window),
                snapshot_retention_limit = COALESCE(?3, snapshot_retention_limit),
                snapshot_window = COALESCE(?4, snapshot_window),
                tags = COALESCE(?5, tags),
                pending_modified_values = COALESCE(?6, pending_modified_values),
                status = COALESCE(?7, status)
             WHERE cache_cluster_id = ?1 AND status = ?8",
        )
        .bind(id)
        .bind(&change.preferred_maintenance_window)
        .bind(change.snapshot_retention_limit)
        .bind(&change.snapshot_window)
        .bind(tags)
        .bind(pending)
        .bind(change.status)
        .bind(status::AVAILABLE)
        .execute(&self.pool)
        .await?;
        self.changed_or_state(id, done.rows_affected()).await
    }

    /// Applies what a modify held back: the node type becomes current.
    pub async fn settle_cluster_modification(&self, id: &str, cache_node_type: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE cache_clusters SET cache_node_type = ?, pending_modified_values = '{}', status = ?
             WHERE cache_cluster_id = ?",
        )
        .bind(cache_node_type)
        .bind(status::AVAILABLE)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an `available` cluster `deleting`; `Ok(false)` when it is in another state.
    pub async fn delete_available_cluster(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ? AND status IN (?, ?)")
            .bind(status::DELETING)
            .bind(id)
            .bind(status::AVAILABLE)
            .bind(status::CREATE_FAILED)
            .execute(&self.pool)
            .await?;
        self.changed_or_state(id, done.rows_affected()).await
    }

    /// Marks the named nodes for a restart and the cluster `rebooting cluster nodes`.
    pub async fn reboot_available_cluster(&self, id: &str, node_ids: &[String]) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ? AND status = ?")
            .bind(status::REBOOTING)
            .bind(id)
            .bind(status::AVAILABLE)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            for node in node_ids {
                sqlx::query(
                    "UPDATE cache_nodes SET reboot_requested = 1, status = ?
                     WHERE cache_cluster_id = ? AND cache_node_id = ?",
                )
                .bind(status::NODE_REBOOTING)
                .bind(id)
                .bind(node)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.changed_or_state(id, done.rows_affected()).await
    }

    /// The row is removed once the runtime holds nothing of it; its nodes go with it.
    pub async fn remove_cluster(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM cache_clusters WHERE cache_cluster_id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn changed_or_state(&self, id: &str, rows_affected: u64) -> StoreResult<bool> {
        if rows_affected == 1 {
            return Ok(true);
        }
        match self.cluster(id).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }
}

pub(super) async fn insert_cluster_in(
    tx: &mut Transaction<'_, Sqlite>,
    cluster: &NewCluster,
    ports: PortRange,
) -> StoreResult<()> {
    let now = now_millis();
    let tags = serde_json::to_string(&cluster.tags).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO cache_clusters (cache_cluster_id, replication_group_id, role, engine, engine_version,
            cache_node_type, num_cache_nodes, port, auth_token, preferred_maintenance_window,
            snapshot_retention_limit, snapshot_window, tags, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&cluster.cache_cluster_id)
    .bind(&cluster.replication_group_id)
    .bind(&cluster.role)
    .bind(&cluster.engine)
    .bind(&cluster.engine_version)
    .bind(&cluster.cache_node_type)
    .bind(cluster.num_cache_nodes)
    .bind(cluster.port)
    .bind(&cluster.auth_token)
    .bind(&cluster.preferred_maintenance_window)
    .bind(cluster.snapshot_retention_limit)
    .bind(&cluster.snapshot_window)
    .bind(tags)
    .bind(status::CREATING)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(unique_as_exists)?;
    for index in 0..cluster.num_cache_nodes.max(0) as usize {
        let host_port = super::nodes::free_port(tx, ports).await?;
        sqlx::query(
            "INSERT INTO cache_nodes (cache_cluster_id, cache_node_id, status, host_port, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&cluster.cache_cluster_id)
        .bind(node_id(index))
        .bind(status::CREATING)
        .bind(i64::from(host_port))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn cluster_from_row(r: &SqliteRow) -> StoreResult<CacheCluster> {
    let tags: String = r.try_get("tags")?;
    let pending: String = r.try_get("pending_modified_values")?;
    Ok(CacheCluster {
        cache_cluster_id: r.try_get("cache_cluster_id")?,
        replication_group_id: r.try_get("replication_group_id")?,
        role: r.try_get("role")?,
        engine: r.try_get("engine")?,
        engine_version: r.try_get("engine_version")?,
        cache_node_type: r.try_get("cache_node_type")?,
        num_cache_nodes: r.try_get("num_cache_nodes")?,
        port: r.try_get("port")?,
        auth_token: r.try_get("auth_token")?,
        preferred_maintenance_window: r.try_get("preferred_maintenance_window")?,
        snapshot_retention_limit: r.try_get("snapshot_retention_limit")?,
        snapshot_window: r.try_get("snapshot_window")?,
        tags: serde_json::from_str(&tags).map_err(corrupt)?,
        status: r.try_get("status")?,
        pending_modified_values: serde_json::from_str(&pending).map_err(corrupt)?,
        created_at: r.try_get("created_at")?,
    })
}

pub(super) fn corrupt(error: serde_json::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}
