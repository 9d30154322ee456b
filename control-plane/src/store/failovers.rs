//! The failover journal (`migrations/0002_failovers.sql`): the API records a
//! requested failover, the monitor an automatic one; the monitor fixes the
//! replica it chose before promoting it, and removes the row in the
//! transaction that records the new roles.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Store, StoreResult};
use crate::clock::now_millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    pub replication_group_id: String,
    pub requested: bool,
    pub reason: String,
    pub new_primary: Option<String>,
    /// Times the monitor started on it before this one.
    pub attempts: i64,
}

fn failover(row: &SqliteRow) -> Failover {
    Failover {
        replication_group_id: row.get("replication_group_id"),
        requested: row.get("requested"),
        reason: row.get("reason"),
        new_primary: row.get("new_primary"),
        attempts: row.get("attempts"),
    }
}

impl Store {
    /// Records a failover for the group; `None` when one is already in flight.
    pub async fn begin_failover(
        &self,
        group: &str,
        requested: bool,
        reason: &str,
        new_primary: Option<&str>,
    ) -> StoreResult<Option<Failover>> {
        let inserted = sqlx::query(
            "INSERT INTO failovers (replication_group_id, requested, reason, new_primary, created_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (replication_group_id) DO NOTHING",
        )
        .bind(group)
        .bind(requested)
        .bind(reason)
        .bind(new_primary)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok((inserted.rows_affected() == 1).then(|| Failover {
            replication_group_id: group.to_owned(),
            requested,
            reason: reason.to_owned(),
            new_primary: new_primary.map(str::to_owned),
            attempts: 0,
        }))
    }

    /// Every failover in flight, oldest first.
    pub async fn failovers(&self) -> StoreResult<Vec<Failover>> {
        let rows = sqlx::query(
            "SELECT replication_group_id, requested, reason, new_primary, attempts FROM failovers ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(failover).collect())
    }

    /// The monitor starts (or, after a restart, resumes) work on it.
    pub async fn count_failover_attempt(&self, group: &str) -> StoreResult<()> {
        sqlx::query("UPDATE failovers SET attempts = attempts + 1 WHERE replication_group_id = ?")
            .bind(group)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fixes the member to promote, before it is promoted.
    pub async fn choose_new_primary(&self, group: &str, new_primary: &str) -> StoreResult<()> {
        sqlx::query("UPDATE failovers SET new_primary = ? WHERE replication_group_id = ?")
            .bind(new_primary)
            .bind(group)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The failover did not happen; the group keeps its primary.
    pub async fn abandon_failover(&self, group: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM failovers WHERE replication_group_id = ?").bind(group).execute(&self.pool).await?;
        Ok(())
    }

    /// Records the failover done: `new_primary` is the group's primary, every
    /// other member a replica, and nothing is in flight any more.
    pub async fn finish_failover(&self, group: &str, new_primary: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE cache_clusters SET role = CASE WHEN cache_cluster_id = ?2 THEN 'primary' ELSE 'replica' END
             WHERE replication_group_id = ?1",
        )
        .bind(group)
        .bind(new_primary)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM failovers WHERE replication_group_id = ?").bind(group).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
