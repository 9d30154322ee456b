//! Backups: snapshot files, the worker that writes them, and restores.
//!
//! - `files`: where snapshot files live, written whole and checked by SHA-256
//! - `take`: a snapshot pulled from a node (rdb-only SYNC), or copied
//! - `rdb`: a snapshot's contents read with the data node's RDB code
//! - `restore`: a new node filled from a snapshot
//! - `source`: what a snapshot records of the cluster or group it is of
//! - `schedule`: automated backups in each source's window, and retention
//! - `worker`: the loop that runs the schedule and writes `creating` snapshots

pub mod files;
pub mod rdb;
pub mod restore;
pub mod schedule;
pub mod source;
pub mod take;
pub mod worker;

pub use files::SnapshotFiles;
pub use worker::BackupWorker;
