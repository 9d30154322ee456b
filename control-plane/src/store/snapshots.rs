//! Snapshots' records, and the clusters waiting to be filled from one.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Store, StoreResult, unique_as_exists};
use crate::model::{Snapshot, SnapshotSource, SnapshotStatus, SourceConfig};

/// A snapshot to record in `creating`.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub snapshot_name: String,
    pub source: SnapshotSource,
    pub cache_cluster_id: Option<String>,
    pub replication_group_id: Option<String>,
    pub config: SourceConfig,
    pub data_bytes: i64,
    pub copy_of: Option<String>,
    /// Unix ms (by the caller's clock: the schedulers' may be a test's).
    pub created_at: i64,
}

#[derive(Debug, Default, Clone)]
pub struct SnapshotFilter {
    /// Snapshots whose name sorts after this (the pagination marker).
    pub after: Option<String>,
    pub limit: i64,
    pub cache_cluster_id: Option<String>,
    pub replication_group_id: Option<String>,
    pub source: Option<SnapshotSource>,
}

macro_rules! select_snapshots {
    ($rest:literal) => {
        concat!(
            "SELECT snapshot_name, snapshot_status, snapshot_source, cache_cluster_id, replication_group_id,
                engine, engine_version, cache_node_type, num_cache_nodes, port, preferred_maintenance_window,
                snapshot_retention_limit, snapshot_window, source_node_id, source_create_time, data_bytes,
                bytes_written, size_bytes, sha256, copy_of, failure, created_at
             FROM snapshots ",
            $rest
        )
    };
}

impl Store {
    /// Records a new snapshot in `creating`; `AlreadyExists` if the name is taken.
    pub async fn insert_snapshot(&self, new: &NewSnapshot) -> StoreResult<()> {
        let c = &new.config;
        sqlx::query(
            "INSERT INTO snapshots (snapshot_name, snapshot_status, snapshot_source, cache_cluster_id,
                replication_group_id, engine, engine_version, cache_node_type, num_cache_nodes, port,
                preferred_maintenance_window, snapshot_retention_limit, snapshot_window, source_node_id,
                source_create_time, data_bytes, copy_of, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.snapshot_name)
        .bind(SnapshotStatus::Creating)
        .bind(new.source)
        .bind(&new.cache_cluster_id)
        .bind(&new.replication_group_id)
        .bind(&c.engine)
        .bind(&c.engine_version)
        .bind(&c.cache_node_type)
        .bind(c.num_cache_nodes)
        .bind(c.port)
        .bind(&c.preferred_maintenance_window)
        .bind(c.snapshot_retention_limit)
        .bind(&c.snapshot_window)
        .bind(&c.source_node_id)
        .bind(c.source_create_time)
        .bind(new.data_bytes)
        .bind(&new.copy_of)
        .bind(new.created_at)
        .execute(&self.pool)
        .await
        .map_err(unique_as_exists)?;
        Ok(())
    }

    pub async fn snapshot(&self, name: &str) -> StoreResult<Option<Snapshot>> {
        let row =
            sqlx::query(select_snapshots!("WHERE snapshot_name = ?")).bind(name).fetch_optional(&self.pool).await?;
        row.map(|r| snapshot_from_row(&r)).transpose()
    }

    pub async fn snapshots(&self, filter: &SnapshotFilter) -> StoreResult<Vec<Snapshot>> {
        const SQL: &str = select_snapshots!(
            "WHERE (?1 IS NULL OR snapshot_name > ?1) AND (?2 IS NULL OR cache_cluster_id = ?2)
               AND (?3 IS NULL OR replication_group_id = ?3) AND (?4 IS NULL OR snapshot_source = ?4)
             ORDER BY snapshot_name LIMIT ?5"
        );
        let rows = sqlx::query(SQL)
            .bind(&filter.after)
            .bind(&filter.cache_cluster_id)
            .bind(&filter.replication_group_id)
            .bind(filter.source)
            .bind(filter.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(snapshot_from_row).collect()
    }

    pub async fn count_snapshots(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM snapshots").fetch_one(&self.pool).await?.get(0))
    }

    /// Names of the snapshots still being written, oldest first.
    pub async fn snapshots_creating(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT snapshot_name FROM snapshots WHERE snapshot_status = ? ORDER BY created_at")
            .bind(SnapshotStatus::Creating)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Whether a snapshot of cluster `cluster` (or of its group) is being
    /// written: its nodes must stay until it is.
    pub async fn snapshot_creating_of(&self, cluster: &str, group: Option<&str>) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM snapshots WHERE snapshot_status = ? AND copy_of IS NULL
               AND (cache_cluster_id = ? OR (? IS NOT NULL AND replication_group_id = ?)) LIMIT 1",
        )
        .bind(SnapshotStatus::Creating)
        .bind(cluster)
        .bind(group)
        .bind(group)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub async fn set_snapshot_progress(&self, name: &str, bytes_written: i64) -> StoreResult<()> {
        sqlx::query("UPDATE snapshots SET bytes_written = ? WHERE snapshot_name = ?")
            .bind(bytes_written)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The file is whole: its size and SHA-256, and the snapshot is `available`.
    /// `data_bytes`, when given, is what the data takes in a node.
    pub async fn set_snapshot_available(
        &self,
        name: &str,
        size: i64,
        sha256: &str,
        data_bytes: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE snapshots SET snapshot_status = ?, size_bytes = ?, bytes_written = ?, sha256 = ?, failure = NULL,
                data_bytes = COALESCE(?, data_bytes)
             WHERE snapshot_name = ?",
        )
        .bind(SnapshotStatus::Available)
        .bind(size)
        .bind(size)
        .bind(sha256)
        .bind(data_bytes)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_snapshot_failed(&self, name: &str, why: &str) -> StoreResult<()> {
        sqlx::query("UPDATE snapshots SET snapshot_status = ?, failure = ? WHERE snapshot_name = ?")
            .bind(SnapshotStatus::Failed)
            .bind(why)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes a snapshot that is not being written; `Ok(false)` if it is
    /// (or is gone).
    pub async fn remove_settled_snapshot(&self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM snapshots WHERE snapshot_name = ? AND snapshot_status != ?")
            .bind(name)
            .bind(SnapshotStatus::Creating)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The snapshot a cluster's node waits to be filled from.
    pub async fn pending_restore(&self, cache_cluster_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT snapshot_name FROM pending_restores WHERE cache_cluster_id = ?")
            .bind(cache_cluster_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn finish_restore(&self, cache_cluster_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM pending_restores WHERE cache_cluster_id = ?")
            .bind(cache_cluster_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn snapshot_from_row(r: &SqliteRow) -> StoreResult<Snapshot> {
    Ok(Snapshot {
        snapshot_name: r.try_get("snapshot_name")?,
        status: r.try_get("snapshot_status")?,
        source: r.try_get("snapshot_source")?,
        cache_cluster_id: r.try_get("cache_cluster_id")?,
        replication_group_id: r.try_get("replication_group_id")?,
        config: SourceConfig {
            engine: r.try_get("engine")?,
            engine_version: r.try_get("engine_version")?,
            cache_node_type: r.try_get("cache_node_type")?,
            num_cache_nodes: r.try_get("num_cache_nodes")?,
            port: r.try_get("port")?,
            preferred_maintenance_window: r.try_get("preferred_maintenance_window")?,
            snapshot_retention_limit: r.try_get("snapshot_retention_limit")?,
            snapshot_window: r.try_get("snapshot_window")?,
            source_node_id: r.try_get("source_node_id")?,
            source_create_time: r.try_get("source_create_time")?,
        },
        data_bytes: r.try_get("data_bytes")?,
        bytes_written: r.try_get("bytes_written")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        copy_of: r.try_get("copy_of")?,
        failure: r.try_get("failure")?,
        created_at: r.try_get("created_at")?,
    })
}
