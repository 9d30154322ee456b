//! Cache clusters and the desired state of their nodes.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::nodes::node_from_row;
use super::{PortRange, Store, StoreError, StoreResult, unique_as_exists};
use crate::clock::now_millis;
use crate::model::{
    CacheCluster, CacheNode, NodeSettings, Parameters, PendingModifiedValues, Role, Status, Tag, node_id,
};

#[derive(Debug, Clone)]
pub struct NewCluster {
    pub cache_cluster_id: String,
    pub replication_group_id: Option<String>,
    pub role: Option<Role>,
    pub num_cache_nodes: i64,
    pub settings: NodeSettings,
    /// The host port its node must have (a standalone cluster created with
    /// `port`); otherwise one from the pool.
    pub host_port: Option<u16>,
    /// The snapshot its node is filled from once it runs (a restore).
    pub restore_from: Option<String>,
    /// Its parameter group's values: its nodes start with them.
    pub parameters: Parameters,
}

#[derive(Debug, Default, Clone)]
pub struct ClusterFilter {
    /// Clusters whose id sorts after this (the pagination marker).
    pub after: Option<String>,
    pub limit: i64,
    pub replication_group_id: Option<String>,
    /// Members of any of these groups.
    pub replication_group_ids: Option<Vec<String>>,
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
    /// Its nodes take their parameters from this group from now on.
    pub cache_parameter_group_name: Option<String>,
    pub pending_modified_values: Option<PendingModifiedValues>,
    /// Set together with the status this change moves the cluster to.
    pub status: Option<Status>,
    /// A memcached cluster's new membership, which the reconciler makes real.
    pub membership: Option<MembershipChange>,
    /// Only if what is pending is still this (a scheduler's change must not
    /// undo a modify made since it looked).
    pub if_pending: Option<PendingModifiedValues>,
}

impl ClusterChange {
    /// Applies `pending` now, as `apply_immediately` or a maintenance window
    /// does: a new node count becomes nodes to add and remove, a node type
    /// stays pending until the reconciler has applied it, and the cluster
    /// goes `modifying`.
    pub fn applying(mut self, mut pending: PendingModifiedValues, current_nodes: i64) -> ClusterChange {
        if let Some(count) = pending.num_cache_nodes.take() {
            let remove = std::mem::take(&mut pending.cache_node_ids_to_remove);
            let add = usize::try_from(count - current_nodes).unwrap_or(0);
            self.membership = Some(MembershipChange { add, remove });
        }
        self.pending_modified_values = Some(pending);
        self.status = Some(Status::Modifying);
        self
    }
}

/// Nodes to add (new ids after the highest there is) and nodes to remove;
/// either bumps the cluster's Auto Discovery version.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    pub add: usize,
    pub remove: Vec<String>,
}

/// The values of the cluster's parameter group, as a JSON object.
macro_rules! group_parameters {
    ($table:literal) => {
        concat!(
            "(SELECT json_group_object(p.parameter_name, p.parameter_value) FROM cache_parameters p
              WHERE p.cache_parameter_group_name = ",
            $table,
            ".cache_parameter_group_name) AS group_parameters"
        )
    };
}

macro_rules! select_clusters {
    ($rest:literal) => {
        concat!(
            "SELECT cache_cluster_id, replication_group_id, role, engine, engine_version, cache_node_type,
                num_cache_nodes, port, auth_token, preferred_maintenance_window, snapshot_retention_limit,
                snapshot_window, tags, status, pending_modified_values, created_at, config_version,
                cache_parameter_group_name, parameters, ",
            group_parameters!("cache_clusters"),
            " FROM cache_clusters ",
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
        Ok(self.clusters_with_nodes(filter).await?.into_iter().map(|(cluster, _)| cluster).collect())
    }

    /// A page of clusters, each with its nodes, in one query.
    pub async fn clusters_with_nodes(
        &self,
        filter: &ClusterFilter,
    ) -> StoreResult<Vec<(CacheCluster, Vec<CacheNode>)>> {
        const SQL: &str = concat!(
            "WITH page AS (
                SELECT * FROM cache_clusters
                WHERE (?1 IS NULL OR cache_cluster_id > ?1) AND (?2 IS NULL OR replication_group_id = ?2)
                  AND (?3 IS NULL OR engine = ?3) AND (?4 = 0 OR replication_group_id IS NULL)
                  AND (?6 IS NULL OR replication_group_id IN (SELECT value FROM json_each(?6)))
                ORDER BY cache_cluster_id LIMIT ?5
            )
            SELECT page.*, n.cache_node_id, n.status AS node_status, n.host_port, n.address, n.reboot_requested,
                n.created_at AS node_created_at, ",
            group_parameters!("page"),
            " FROM page LEFT JOIN cache_nodes n ON n.cache_cluster_id = page.cache_cluster_id
            ORDER BY page.cache_cluster_id, n.cache_node_id"
        );
        let groups = filter.replication_group_ids.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let rows = sqlx::query(SQL)
            .bind(&filter.after)
            .bind(&filter.replication_group_id)
            .bind(&filter.engine)
            .bind(filter.not_in_replication_groups)
            .bind(filter.limit)
            .bind(groups)
            .fetch_all(&self.pool)
            .await?;
        let mut page: Vec<(CacheCluster, Vec<CacheNode>)> = Vec::new();
        for row in &rows {
            let id: String = row.try_get("cache_cluster_id")?;
            if page.last().is_none_or(|(cluster, _)| cluster.cache_cluster_id != id) {
                page.push((cluster_from_row(row)?, Vec::new()));
            }
            let has_node: Option<String> = row.try_get("cache_node_id")?;
            if has_node.is_some()
                && let Some((_, nodes)) = page.last_mut()
            {
                nodes.push(node_from_row(row)?);
            }
        }
        Ok(page)
    }

    /// Ids of the clusters whose status asks the reconciler for work.
    pub async fn clusters_in_progress(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT cache_cluster_id FROM cache_clusters WHERE status IN (?, ?, ?, ?)")
            .bind(Status::Creating)
            .bind(Status::Modifying)
            .bind(Status::RebootingClusterNodes)
            .bind(Status::Deleting)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn all_cluster_ids(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT cache_cluster_id FROM cache_clusters").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn set_cluster_status(&self, id: &str, status: Status) -> StoreResult<()> {
        sqlx::query("UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ?")
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a cluster from `available` to `to`, applying `change` in the same
    /// transaction; `Ok(false)` when the cluster exists but is not `available`.
    pub async fn change_available_cluster(&self, id: &str, change: &ClusterChange) -> StoreResult<bool> {
        let tags = change.tags.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let pending =
            change.pending_modified_values.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let if_pending = change.if_pending.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
        let ports = self.ports.lock().await;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE cache_clusters SET
                preferred_maintenance_window = COALESCE(?2, preferred_maintenance_window),
                snapshot_retention_limit = COALESCE(?3, snapshot_retention_limit),
                snapshot_window = COALESCE(?4, snapshot_window),
                tags = COALESCE(?5, tags),
                pending_modified_values = COALESCE(?6, pending_modified_values),
                status = COALESCE(?7, status),
                cache_parameter_group_name = COALESCE(?10, cache_parameter_group_name)
             WHERE cache_cluster_id = ?1 AND status = ?8 AND (?9 IS NULL OR pending_modified_values = ?9)",
        )
        .bind(id)
        .bind(&change.preferred_maintenance_window)
        .bind(change.snapshot_retention_limit)
        .bind(&change.snapshot_window)
        .bind(tags)
        .bind(pending)
        .bind(change.status)
        .bind(Status::Available)
        .bind(if_pending)
        .bind(&change.cache_parameter_group_name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1
            && let Some(membership) = &change.membership
        {
            change_membership(&mut tx, id, membership, *ports).await?;
        }
        tx.commit().await?;
        drop(ports);
        self.changed_or_state(id, done.rows_affected()).await
    }

    /// Forgets a node the runtime no longer holds.
    pub async fn remove_node(&self, cluster_id: &str, node_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM cache_nodes WHERE cache_cluster_id = ? AND cache_node_id = ?")
            .bind(cluster_id)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies what a modify held back: the node type becomes current.
    pub async fn settle_cluster_modification(&self, id: &str, cache_node_type: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE cache_clusters SET cache_node_type = ?, pending_modified_values = '{}', status = ?
             WHERE cache_cluster_id = ?",
        )
        .bind(cache_node_type)
        .bind(Status::Available)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an `available` cluster `deleting`; `Ok(false)` when it is in another state.
    pub async fn delete_available_cluster(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE cache_clusters SET status = ? WHERE cache_cluster_id = ? AND status IN (?, ?)")
            .bind(Status::Deleting)
            .bind(id)
            .bind(Status::Available)
            .bind(Status::CreateFailed)
            .execute(&self.pool)
            .await?;
        self.changed_or_state(id, done.rows_affected()).await
    }

    /// Marks the named nodes for a restart and the cluster `rebooting cluster nodes`.
    pub async fn reboot_available_cluster(&self, id: &str, node_ids: &[String]) -> StoreResult<bool> {
        self.reboot_available_cluster_with(id, node_ids, None).await
    }

    /// A reboot whose nodes start with `parameters` (recorded in the same
    /// statement, so a reboot that applies pending parameters is asked once).
    pub async fn reboot_available_cluster_with(
        &self,
        id: &str,
        node_ids: &[String],
        parameters: Option<&Parameters>,
    ) -> StoreResult<bool> {
        let parameters = parameters.map(serde_json::to_string).transpose().map_err(corrupt)?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE cache_clusters SET status = ?, parameters = COALESCE(?, parameters)
             WHERE cache_cluster_id = ? AND status = ?",
        )
        .bind(Status::RebootingClusterNodes)
        .bind(parameters)
        .bind(id)
        .bind(Status::Available)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            for node in node_ids {
                sqlx::query(
                    "UPDATE cache_nodes SET reboot_requested = 1, status = ?
                     WHERE cache_cluster_id = ? AND cache_node_id = ?",
                )
                .bind(Status::Rebooting)
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
    let s = &cluster.settings;
    let tags = serde_json::to_string(&s.tags).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO cache_clusters (cache_cluster_id, replication_group_id, role, engine, engine_version,
            cache_node_type, num_cache_nodes, port, auth_token, preferred_maintenance_window,
            snapshot_retention_limit, snapshot_window, tags, status, created_at, cache_parameter_group_name,
            parameters)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&cluster.cache_cluster_id)
    .bind(&cluster.replication_group_id)
    .bind(cluster.role)
    .bind(s.engine)
    .bind(&s.engine_version)
    .bind(&s.cache_node_type)
    .bind(cluster.num_cache_nodes)
    .bind(s.port)
    .bind(&s.auth_token)
    .bind(&s.preferred_maintenance_window)
    .bind(s.snapshot_retention_limit)
    .bind(&s.snapshot_window)
    .bind(tags)
    .bind(Status::Creating)
    .bind(now)
    .bind(&s.cache_parameter_group_name)
    .bind(serde_json::to_string(&cluster.parameters).map_err(corrupt)?)
    .execute(&mut **tx)
    .await
    .map_err(unique_as_exists)?;
    for index in 0..cluster.num_cache_nodes.max(0) as usize {
        let host_port = match cluster.host_port {
            Some(port) => super::nodes::claim_port(tx, port).await?,
            None => super::nodes::free_port(tx, ports).await?,
        };
        insert_node(tx, &cluster.cache_cluster_id, &node_id(index), host_port, now).await?;
    }
    if let Some(snapshot) = &cluster.restore_from {
        sqlx::query("INSERT INTO pending_restores (cache_cluster_id, snapshot_name) VALUES (?, ?)")
            .bind(&cluster.cache_cluster_id)
            .bind(snapshot)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn insert_node(
    tx: &mut Transaction<'_, Sqlite>,
    cluster_id: &str,
    node_id: &str,
    host_port: u16,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO cache_nodes (cache_cluster_id, cache_node_id, status, host_port, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(cluster_id)
    .bind(node_id)
    .bind(Status::Creating)
    .bind(i64::from(host_port))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// New nodes in `creating`, removed ones in `deleting`, the node count and
/// the Auto Discovery version to match.
async fn change_membership(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    change: &MembershipChange,
    ports: PortRange,
) -> StoreResult<()> {
    let now = now_millis();
    let highest: Option<String> =
        sqlx::query_scalar("SELECT MAX(cache_node_id) FROM cache_nodes WHERE cache_cluster_id = ?")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    let first = highest.and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    for index in first..first + change.add {
        let host_port = super::nodes::free_port(tx, ports).await?;
        insert_node(tx, id, &node_id(index), host_port, now).await?;
    }
    for node in &change.remove {
        sqlx::query("UPDATE cache_nodes SET status = ? WHERE cache_cluster_id = ? AND cache_node_id = ?")
            .bind(Status::Deleting)
            .bind(id)
            .bind(node)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "UPDATE cache_clusters SET config_version = config_version + 1,
            num_cache_nodes = (SELECT COUNT(*) FROM cache_nodes WHERE cache_cluster_id = ?1 AND status != ?2)
         WHERE cache_cluster_id = ?1",
    )
    .bind(id)
    .bind(Status::Deleting)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn cluster_from_row(r: &SqliteRow) -> StoreResult<CacheCluster> {
    let pending: String = r.try_get("pending_modified_values")?;
    let parameters: String = r.try_get("parameters")?;
    let group_parameters: Option<String> = r.try_get("group_parameters")?;
    Ok(CacheCluster {
        cache_cluster_id: r.try_get("cache_cluster_id")?,
        replication_group_id: r.try_get("replication_group_id")?,
        role: r.try_get("role")?,
        num_cache_nodes: r.try_get("num_cache_nodes")?,
        settings: settings_from_row(r)?,
        status: r.try_get("status")?,
        pending_modified_values: serde_json::from_str(&pending).map_err(corrupt)?,
        created_at: r.try_get("created_at")?,
        config_version: r.try_get("config_version")?,
        parameters: serde_json::from_str(&parameters).map_err(corrupt)?,
        group_parameters: serde_json::from_str(group_parameters.as_deref().unwrap_or("{}")).map_err(corrupt)?,
    })
}

/// The node settings columns, which clusters and groups share.
pub(super) fn settings_from_row(r: &SqliteRow) -> StoreResult<NodeSettings> {
    let tags: String = r.try_get("tags")?;
    Ok(NodeSettings {
        engine: r.try_get("engine")?,
        engine_version: r.try_get("engine_version")?,
        cache_node_type: r.try_get("cache_node_type")?,
        port: r.try_get("port")?,
        auth_token: r.try_get("auth_token")?,
        preferred_maintenance_window: r.try_get("preferred_maintenance_window")?,
        snapshot_retention_limit: r.try_get("snapshot_retention_limit")?,
        snapshot_window: r.try_get("snapshot_window")?,
        tags: serde_json::from_str(&tags).map_err(corrupt)?,
        cache_parameter_group_name: r.try_get("cache_parameter_group_name")?,
    })
}

pub(super) fn corrupt(error: serde_json::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}
