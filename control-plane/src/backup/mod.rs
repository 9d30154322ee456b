//! Backups: snapshot files, the worker that writes them, and restores.
//!
//! - `files`: where snapshot files live, written whole and checked by SHA-256
//! - `take`: a snapshot pulled from a node (rdb-only SYNC), or copied
//! - `rdb`: a snapshot's contents read with the data node's RDB code
//! - `restore`: a new node filled from a snapshot
//! - `worker`: the loop that writes `creating` snapshots

pub mod files;
pub mod rdb;
pub mod restore;
pub mod take;
pub mod worker;

pub use files::SnapshotFiles;
pub use worker::BackupWorker;
