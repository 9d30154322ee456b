//! The event log: one row per state change or action.

use sqlx::Row;

use super::{Store, StoreResult};
use crate::clock::now_millis;
use crate::model::Event;

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub source_type: Option<String>,
    pub source_identifier: Option<String>,
    pub start: i64,
    pub end: i64,
    /// Events with an id above this (the pagination marker).
    pub after_id: i64,
    pub limit: i64,
}

impl Store {
    pub async fn record_event(&self, source_type: &str, source_identifier: &str, message: &str) -> StoreResult<()> {
        tracing::info!(source_type, source_identifier, "{message}");
        self.insert_event(source_type, source_identifier, message).await
    }

    /// An event that reports a failure: logged at WARN.
    pub async fn record_warning(&self, source_type: &str, source_identifier: &str, message: &str) -> StoreResult<()> {
        tracing::warn!(source_type, source_identifier, "{message}");
        self.insert_event(source_type, source_identifier, message).await
    }

    async fn insert_event(&self, source_type: &str, source_identifier: &str, message: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO events (source_type, source_identifier, message, date) VALUES (?, ?, ?, ?)")
            .bind(source_type)
            .bind(source_identifier)
            .bind(message)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn events(&self, filter: &EventFilter) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, source_type, source_identifier, message, date FROM events
             WHERE (?1 IS NULL OR source_type = ?1) AND (?2 IS NULL OR source_identifier = ?2)
               AND date >= ?3 AND date <= ?4 AND id > ?5
             ORDER BY id LIMIT ?6",
        )
        .bind(&filter.source_type)
        .bind(&filter.source_identifier)
        .bind(filter.start)
        .bind(filter.end)
        .bind(filter.after_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Event {
                id: r.get(0),
                source_type: r.get(1),
                source_identifier: r.get(2),
                message: r.get(3),
                date: r.get(4),
            })
            .collect())
    }
}
