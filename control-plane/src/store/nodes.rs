//! Cache nodes: what the reconciler observed of each, and host-port allocation.

use sqlx::{Row, Sqlite, Transaction};

use super::{PortRange, Store, StoreError, StoreResult};
use crate::model::CacheNode;

impl Store {
    pub async fn nodes(&self, cluster_id: &str) -> StoreResult<Vec<CacheNode>> {
        let rows = sqlx::query(
            "SELECT cache_cluster_id, cache_node_id, status, host_port, address, reboot_requested, created_at
             FROM cache_nodes WHERE cache_cluster_id = ? ORDER BY cache_node_id",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let port: i64 = r.try_get("host_port")?;
                Ok(CacheNode {
                    cache_cluster_id: r.try_get("cache_cluster_id")?,
                    cache_node_id: r.try_get("cache_node_id")?,
                    status: r.try_get("status")?,
                    host_port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("host port {port}")))?,
                    address: r.try_get("address")?,
                    reboot_requested: r.try_get("reboot_requested")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
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

    pub async fn set_node_status(&self, cluster_id: &str, node_id: &str, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE cache_nodes SET status = ? WHERE cache_cluster_id = ? AND cache_node_id = ?")
            .bind(status)
            .bind(cluster_id)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A host port no node holds yet and that nothing else is bound to right now.
pub(super) async fn free_port(tx: &mut Transaction<'_, Sqlite>, range: PortRange) -> StoreResult<u16> {
    match range {
        PortRange::Ephemeral => {
            for _ in 0..64 {
                let Some(port) = kernel_free_port() else { break };
                if !taken(tx, port).await? {
                    return Ok(port);
                }
            }
        }
        PortRange::Between(low, high) => {
            for port in low..=high {
                if bindable(port) && !taken(tx, port).await? {
                    return Ok(port);
                }
            }
        }
    }
    Err(StoreError::NoFreePort)
}

async fn taken(tx: &mut Transaction<'_, Sqlite>, port: u16) -> StoreResult<bool> {
    let row = sqlx::query("SELECT 1 FROM cache_nodes WHERE host_port = ?")
        .bind(i64::from(port))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

fn kernel_free_port() -> Option<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0)).ok()?.local_addr().ok().map(|a| a.port())
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}
