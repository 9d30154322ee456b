//! The backup worker: runs the automated-backup schedule, then writes every
//! snapshot in `creating` (pulled from its source's node, or copied) and
//! marks it `available`, or `failed` saying why. A snapshot cut short by a
//! restart is simply written again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::files::SnapshotFiles;
use super::schedule::AutomatedBackups;
use super::take::{self, TakeError};
use crate::clock::Clock;
use crate::model::{Snapshot, source};
use crate::store::Store;
use crate::worker::Worker;

const IDLE_PASS: Duration = Duration::from_secs(1);

pub struct BackupWorker {
    store: Store,
    files: Arc<SnapshotFiles>,
    wake: Arc<Notify>,
    schedule: AutomatedBackups,
}

impl BackupWorker {
    pub fn new(store: Store, files: Arc<SnapshotFiles>, wake: Arc<Notify>, clock: Clock) -> BackupWorker {
        let schedule = AutomatedBackups::new(store.clone(), Arc::clone(&files), clock);
        BackupWorker { store, files, wake, schedule }
    }

    /// Records the automated snapshots due, then writes every snapshot
    /// waiting to be written.
    pub async fn pass(&self) {
        if let Err(e) = self.schedule.run().await {
            tracing::error!("backups: automated snapshots: {e}");
        }
        let names = match self.store.snapshots_creating().await {
            Ok(names) => names,
            Err(e) => {
                tracing::error!("backups: listing snapshots: {e}");
                return;
            }
        };
        for name in names {
            match self.store.snapshot(&name).await {
                Ok(Some(snapshot)) => self.write(&snapshot).await,
                Ok(None) => {}
                Err(e) => tracing::error!("backups: reading snapshot {name}: {e}"),
            }
        }
    }

    async fn write(&self, snapshot: &Snapshot) {
        let name = &snapshot.snapshot_name;
        let written = match &snapshot.copy_of {
            Some(source) => self.copy(snapshot, source).await,
            None => self.pull(snapshot).await,
        };
        let outcome = match written {
            Ok((size, sha, data_bytes)) => {
                let saved = self.store.set_snapshot_available(name, size as i64, &sha, data_bytes).await;
                saved.map(|()| format!("Snapshot {name} created: {size} bytes, SHA-256 {sha}"))
            }
            Err(e) => {
                let _ = self.files.remove(name).await;
                let why = e.to_string();
                let failed = self.store.set_snapshot_failed(name, &why).await;
                let _ =
                    self.store.record_warning(source::SNAPSHOT, name, &format!("Snapshot {name} failed: {why}")).await;
                failed.map(|()| String::new())
            }
        };
        match outcome {
            Ok(message) if !message.is_empty() => {
                let _ = self.store.record_event(source::SNAPSHOT, name, &message).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!("backups: recording snapshot {name}: {e}"),
        }
    }

    async fn pull(&self, snapshot: &Snapshot) -> Result<(u64, String, Option<i64>), TakeError> {
        let name = &snapshot.snapshot_name;
        let (_, _, _, node) = take::source_node(&self.store, snapshot).await?;
        let from = snapshot.replication_group_id.as_deref().or(snapshot.cache_cluster_id.as_deref()).unwrap_or("?");
        let message = format!("Snapshot {name} is being taken from node {node} of {from}");
        let _ = self.store.record_event(source::SNAPSHOT, name, &message).await;
        let (size, sha, used) = take::pull(&self.store, &self.files, snapshot).await?;
        Ok((size, sha, Some(used as i64)))
    }

    async fn copy(&self, snapshot: &Snapshot, source: &str) -> Result<(u64, String, Option<i64>), TakeError> {
        let Some(original) = self.store.snapshot(source).await? else {
            return Err(TakeError::NoSource(format!("snapshot {source}, the copy's source, is gone")));
        };
        let (size, sha) = take::copy(&self.files, &original, &snapshot.snapshot_name).await?;
        Ok((size, sha, None))
    }
}

impl Worker for BackupWorker {
    fn name(&self) -> &'static str {
        "backups"
    }

    async fn step(&mut self) {
        self.pass().await;
    }

    async fn wait(&mut self) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(IDLE_PASS) => {}
        }
    }
}
