//! Cache nodes: what the reconciler observed of each, and host-port allocation.

use std::collections::HashSet;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{PortRange, Store, StoreError, StoreResult};
use crate::model::{CacheNode, Status};

impl Store {
    pub async fn nodes(&self, cluster_id: &str) -> StoreResult<Vec<CacheNode>> {
        let rows = sqlx::query(
            "SELECT cache_cluster_id, cache_node_id, status AS node_status, host_port, address, reboot_requested,
                created_at AS node_created_at
             FROM cache_nodes WHERE cache_cluster_id = ? ORDER BY cache_node_id",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(node_from_row).collect()
    }

    /// Records a node as serving at `address` (the reboot it was asked for, if any, is done).
    pub async fn set_node_available(&self, cluster_id: &str, node_id: &str, address: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE cache_nodes SET status = 'available', address = ?, reboot_requested = 0
             WHERE cache_cluster_id = ? AND cache_node_id = ?",
        )
        .bind(address)
        .bind(cluster_id)
        .bind(node_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_node_status(&self, cluster_id: &str, node_id: &str, status: Status) -> StoreResult<()> {
        sqlx::query("UPDATE cache_nodes SET status = ? WHERE cache_cluster_id = ? AND cache_node_id = ?")
            .bind(status)
            .bind(cluster_id)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A host port in `range` no node holds yet and that nothing else is bound to right now.
pub(super) async fn free_port(tx: &mut Transaction<'_, Sqlite>, range: PortRange) -> StoreResult<u16> {
    let rows = sqlx::query("SELECT host_port FROM cache_nodes WHERE host_port BETWEEN ? AND ?")
        .bind(i64::from(range.low))
        .bind(i64::from(range.high))
        .fetch_all(&mut **tx)
        .await?;
    let taken: HashSet<i64> = rows.iter().map(|r| r.get(0)).collect();
    (range.low..=range.high)
        .find(|port| !taken.contains(&i64::from(*port)) && bindable(*port))
        .ok_or(StoreError::NoFreePort)
}

/// `port` itself, if no node holds it and nothing else is bound to it.
pub(super) async fn claim_port(tx: &mut Transaction<'_, Sqlite>, port: u16) -> StoreResult<u16> {
    let held = sqlx::query("SELECT cache_cluster_id FROM cache_nodes WHERE host_port = ?")
        .bind(i64::from(port))
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = held {
        return Err(StoreError::PortTaken { port, by: Some(row.try_get("cache_cluster_id")?) });
    }
    if !bindable(port) {
        return Err(StoreError::PortTaken { port, by: None });
    }
    Ok(port)
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A node's columns, with its status and creation time named `node_status`
/// and `node_created_at` (so a join with its cluster's row can carry both).
pub(super) fn node_from_row(r: &SqliteRow) -> StoreResult<CacheNode> {
    let port: i64 = r.try_get("host_port")?;
    Ok(CacheNode {
        cache_cluster_id: r.try_get("cache_cluster_id")?,
        cache_node_id: r.try_get("cache_node_id")?,
        status: r.try_get("node_status")?,
        host_port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("host port {port}")))?,
        address: r.try_get("address")?,
        reboot_requested: r.try_get("reboot_requested")?,
        created_at: r.try_get("node_created_at")?,
    })
}
