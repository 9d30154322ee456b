//! The snapshot routes that move files: GET .../download (the RDB,
//! streamed, its SHA-256 in a header) and POST /v1/snapshots/import (an
//! uploaded RDB: ElastiCache's "seed a new cluster from an RDB file").

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Query, Reader, Writer};
use super::settings;
use super::snapshots::{SnapshotView, check_name, found, insert, view};
use crate::backup::files::digest_file;
use crate::backup::rdb::Contents;
use crate::model::{SnapshotSource, SourceConfig, source as event_source};
use crate::store::NewSnapshot;

/// The header a download's SHA-256 (hex) comes in.
pub const SHA256_HEADER: &str = "x-snapshot-sha256";

/// The RDB, streamed, with its SHA-256 in `x-snapshot-sha256`.
pub async fn download(_: Reader, State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let name = name.to_ascii_lowercase();
    let snapshot = found(&state, &name).await?;
    let (Some(sha), Some(size)) = (snapshot.sha256, snapshot.size_bytes) else {
        return Err(ApiError::InvalidSnapshotState(name));
    };
    let file = tokio::fs::File::open(state.snapshots.path(&name)).await.map_err(|e| {
        tracing::error!("opening the file of snapshot {name}: {e}");
        ApiError::Internal
    })?;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 1 << 16];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let disposition = format!("attachment; filename=\"{name}.rdb\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static(SHA256_HEADER), sha),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    snapshot_name: String,
}

/// An uploaded RDB (the request body) becomes an `available` snapshot once
/// it reads as one; a file that does not is refused and kept nowhere.
pub async fn import(
    _: Writer,
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<SnapshotView>)> {
    let name = check_name("snapshot_name", &query.snapshot_name)?;
    if state.store.snapshot(&name).await?.is_some() {
        return Err(ApiError::SnapshotAlreadyExists(name));
    }
    let partial = state.snapshots.partial_path(&name);
    let written = receive(&partial, body).await;
    let checked = match written {
        Ok(()) => check_upload(&partial).await,
        Err(e) => Err(e),
    };
    let (size, sha, contents) = match checked {
        Ok(found) => found,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    let new = NewSnapshot {
        snapshot_name: name.clone(),
        source: SnapshotSource::Manual,
        cache_cluster_id: None,
        replication_group_id: None,
        config: SourceConfig {
            engine: "redis".into(),
            engine_version: crate::catalogue::default_engine_version(crate::model::Engine::Redis)
                .unwrap_or("7.0")
                .into(),
            cache_node_type: crate::catalogue::smallest_holding(contents.used_memory()).into(),
            num_cache_nodes: 1,
            port: 6379,
            preferred_maintenance_window: settings::DEFAULT_MAINTENANCE_WINDOW.into(),
            snapshot_retention_limit: 0,
            snapshot_window: settings::DEFAULT_SNAPSHOT_WINDOW.into(),
            source_node_id: None,
            source_create_time: None,
        },
        data_bytes: contents.used_memory() as i64,
        copy_of: None,
        created_at: crate::clock::now_millis(),
    };
    if let Err(e) = insert(&state, &new).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    let moved = tokio::fs::rename(&partial, state.snapshots.path(&name)).await;
    let recorded = match moved {
        Ok(()) => state.store.set_snapshot_available(&name, size as i64, &sha, None).await.map_err(ApiError::from),
        Err(e) => {
            tracing::error!("storing the upload of snapshot {name}: {e}");
            Err(ApiError::Internal)
        }
    };
    if let Err(e) = recorded {
        let _ = state.store.set_snapshot_failed(&name, "the uploaded file could not be stored").await;
        return Err(e);
    }
    let message = format!("Snapshot {name} imported: {} key(s), {size} bytes, SHA-256 {sha}", contents.keys);
    state.store.record_event(event_source::SNAPSHOT, &name, &message).await?;
    Ok((StatusCode::CREATED, axum::Json(view(found(&state, &name).await?))))
}

async fn receive(path: &std::path::Path, body: Body) -> ApiResult<()> {
    let io = |e: std::io::Error| {
        tracing::error!("writing an uploaded snapshot to {}: {e}", path.display());
        ApiError::Internal
    };
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidParameterValue(format!("The upload was cut short: {e}")))?;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.sync_all().await.map_err(io)
}

async fn check_upload(path: &std::path::Path) -> ApiResult<(u64, String, Contents)> {
    let (size, sha) = digest_file(path).await.map_err(|e| {
        tracing::error!("reading an uploaded snapshot: {e}");
        ApiError::Internal
    })?;
    let bytes = tokio::fs::read(path).await.map_err(|_| ApiError::Internal)?;
    let contents = tokio::task::spawn_blocking(move || Contents::read(&bytes))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|why| {
        ApiError::InvalidParameterValue(format!("The uploaded file is not an RDB file this engine can load: {why}"))
    })?;
    Ok((size, sha, contents))
}
