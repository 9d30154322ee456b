//! SQLite through sqlx: the control plane's only SQL. Plain async functions per
//! resource over one `Store` (WAL, foreign keys on, migrations embedded).

mod clusters;
mod events;
mod failovers;
mod groups;
mod nodes;
mod parameter_groups;
mod settings;
mod snapshots;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use clusters::{ClusterChange, ClusterFilter, MembershipChange, NewCluster};
pub use events::EventFilter;
pub use failovers::Failover;
pub use groups::{GroupChange, NewGroup};
pub use parameter_groups::DeleteRefused;
pub use snapshots::{NewSnapshot, SnapshotFilter};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists")]
    AlreadyExists,
    #[error("cache cluster {0} already exists")]
    MemberClusterExists(String),
    #[error("not found")]
    NotFound,
    #[error("no free host port for a node")]
    NoFreePort,
    /// A requested host port another node, or another program, holds.
    #[error("host port {port} is taken")]
    PortTaken { port: u16, by: Option<String> },
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Maps a unique-constraint violation to `AlreadyExists`: SQLite decides, so
/// two racing creates cannot both succeed.
fn unique_as_exists(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AlreadyExists,
        _ => StoreError::Database(error),
    }
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Serialises host-port allocation with the insert that claims the ports.
    ports: std::sync::Arc<tokio::sync::Mutex<PortRange>>,
}

/// Host ports nodes are published on, inclusive. Kept out of the kernel's
/// ephemeral range (32768-60999 by default) so that no outgoing connection
/// can take a port between its allocation and the node binding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl Store {
    pub async fn open(path: &Path, ports: PortRange) -> StoreResult<Store> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        Ok(Store { pool, ports: std::sync::Arc::new(tokio::sync::Mutex::new(ports)) })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod temporary;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub use temporary::{TemporaryStore, free_ports};
