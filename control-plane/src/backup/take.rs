//! Writing a snapshot's file: pulled from a node over the replication
//! handshake (the same on Docker and on local processes, and against
//! redis-server), or copied from another snapshot.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::files::{SnapshotFiles, digest_file};
use crate::model::{Role, Snapshot, Status};
use crate::node_client::{NodeClient, NodeError, info_field};
use crate::store::{Store, StoreError};

/// How long a node may take to produce its snapshot before the first byte,
/// and between two pieces of it.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("writing the snapshot file: {0}")]
    File(#[from] std::io::Error),
    #[error("{0}")]
    NoSource(String),
}

/// The node a snapshot is taken from: for a group a replica when one is
/// available (the primary keeps its whole attention for clients), else the
/// primary; for a cluster its node. Returns (address, port, password, node id).
pub async fn source_node(
    store: &Store,
    snapshot: &Snapshot,
) -> Result<(String, u16, Option<String>, String), TakeError> {
    let candidates = match (&snapshot.replication_group_id, &snapshot.cache_cluster_id) {
        (Some(group), _) => {
            let mut members = store.group_members(group).await?;
            members.sort_by_key(|(member, _)| member.role != Some(Role::Replica));
            members
        }
        (None, Some(cluster)) => match store.cluster(cluster).await? {
            Some(c) => vec![(c, store.nodes(cluster).await?)],
            None => vec![],
        },
        (None, None) => vec![],
    };
    for (member, nodes) in candidates {
        for node in nodes {
            if let (Status::Available, Some(address)) = (node.status, node.address) {
                return Ok((address, node.host_port, member.settings.auth_token.clone(), node.cache_node_id));
            }
        }
    }
    Err(TakeError::NoSource(format!(
        "no node of {} is available to take the snapshot from",
        snapshot.replication_group_id.as_deref().or(snapshot.cache_cluster_id.as_deref()).unwrap_or("its source")
    )))
}

/// Pulls the node's snapshot into the snapshot's file, recording progress
/// as it goes. Returns (size, SHA-256, the node's used memory).
pub async fn pull(store: &Store, files: &SnapshotFiles, snapshot: &Snapshot) -> Result<(u64, String, u64), TakeError> {
    let (address, port, password, _) = source_node(store, snapshot).await?;
    let mut info_client = NodeClient::connect(&address, port, password.as_deref()).await?;
    let memory = info_client.info("memory").await?;
    let used = info_field(&memory, "used_memory").and_then(|v| v.parse().ok()).unwrap_or(0);
    drop(info_client);

    let mut client = NodeClient::connect(&address, port, password.as_deref()).await?;
    let partial = files.partial_path(&snapshot.snapshot_name);
    let mut file = tokio::fs::File::create(&partial).await?;
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let name = snapshot.snapshot_name.clone();
    let reporter = {
        let store = store.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let written = *rx.borrow_and_update();
                let _ = store.set_snapshot_progress(&name, written as i64).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let mut report = |written, _| {
        let _ = tx.send(written);
    };
    let result = client.sync_rdb(&mut file, SNAPSHOT_WAIT, &mut report).await;
    drop(tx);
    let _ = reporter.await;
    result?;
    file.flush().await?;
    file.sync_all().await?;
    drop(file);
    finish(files, &snapshot.snapshot_name).await.map(|(size, sha)| (size, sha, used))
}

/// Copies another snapshot's file (checked against its recorded SHA-256).
pub async fn copy(files: &SnapshotFiles, source: &Snapshot, target: &str) -> Result<(u64, String), TakeError> {
    let expected = source.sha256.clone().unwrap_or_default();
    let bytes =
        files.read_verified(&source.snapshot_name, &expected).await.map_err(|e| TakeError::NoSource(e.to_string()))?;
    let partial = files.partial_path(target);
    let mut file = tokio::fs::File::create(&partial).await?;
    file.write_all(&bytes).await?;
    file.sync_all().await?;
    drop(file);
    finish(files, target).await
}

/// The partial file is whole: its digest, then its final name.
async fn finish(files: &SnapshotFiles, name: &str) -> Result<(u64, String), TakeError> {
    let partial = files.partial_path(name);
    let (size, sha) = digest_file(&partial).await?;
    tokio::fs::rename(&partial, files.path(name)).await?;
    Ok((size, sha))
}
