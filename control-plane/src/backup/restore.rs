//! Filling a new cluster's node from a snapshot: the file is checked
//! against its recorded SHA-256, read, and its keys restored into the node
//! with RESTORE ... ABSTTL (its replicas get them through replication).

use super::files::SnapshotFiles;
use super::rdb::{Contents, RestoreCursor};
use crate::node_client::{NodeClient, info_field};
use crate::store::Store;

/// Commands sent per round trip.
const BATCH: usize = 1000;
/// How long the replicas have to acknowledge the restored data.
const REPLICA_WAIT_MS: u64 = 60_000;

/// Restores snapshot `name` into the node `client` talks to; Err says why
/// not, in words for an event. Returns the keys restored.
pub async fn restore(
    store: &Store,
    files: &SnapshotFiles,
    name: &str,
    client: &mut NodeClient,
) -> Result<usize, String> {
    let snapshot = store
        .snapshot(name)
        .await
        .map_err(|e| format!("reading snapshot {name}: {e}"))?
        .ok_or_else(|| format!("snapshot {name} no longer exists"))?;
    let sha = snapshot.sha256.clone().ok_or_else(|| format!("snapshot {name} is not available"))?;
    let bytes = files.read_verified(name, &sha).await.map_err(|e| e.to_string())?;
    let contents = tokio::task::spawn_blocking(move || Contents::read(&bytes))
        .await
        .map_err(|e| format!("reading snapshot {name}: {e}"))?
        .map_err(|e| format!("snapshot {name} cannot be read: {e}"))?;
    client.pipeline_ok(&[vec![b"FLUSHALL".to_vec()]]).await.map_err(|e| e.to_string())?;
    let mut cursor = RestoreCursor::default();
    while let Some(batch) = contents.next_batch(&mut cursor, BATCH) {
        client.pipeline_ok(&batch).await.map_err(|e| format!("restoring snapshot {name}: {e}"))?;
    }
    // Replicas attached by now have the data before the cluster is
    // available (one attaching later gets it with its full sync).
    let info = client.info("replication").await.map_err(|e| e.to_string())?;
    let replicas = info_field(&info, "connected_slaves").and_then(|n| n.parse().ok()).unwrap_or(0);
    if replicas > 0 {
        let acked = client.wait_replicas(replicas, REPLICA_WAIT_MS).await.map_err(|e| e.to_string())?;
        if acked < replicas {
            return Err(format!(
                "{acked} of {replicas} replicas acknowledged the restored data within {REPLICA_WAIT_MS} ms"
            ));
        }
    }
    Ok(contents.keys)
}
