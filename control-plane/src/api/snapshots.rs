//! /v1/snapshots: create (from a cluster or a group), list, describe,
//! delete and copy; restores and final snapshots check through here.
//! Downloads and imports are in `snapshot_transfers`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query, Reader, Writer};
use super::settings;
use crate::backup::source::{self, SourceError};
use crate::clock::to_rfc3339;
use crate::model::{Snapshot, SnapshotSource, SnapshotStatus, source as event_source};
use crate::store::{NewSnapshot, SnapshotFilter, StoreError};
use crate::validate;

/// Snapshots the control plane keeps at most (SnapshotQuotaExceededFault past it).
pub const MAX_SNAPSHOTS: i64 = 200;

#[derive(Debug, Serialize)]
pub struct SnapshotView {
    pub snapshot_name: String,
    pub snapshot_status: &'static str,
    pub snapshot_source: SnapshotSource,
    pub cache_cluster_id: Option<String>,
    pub replication_group_id: Option<String>,
    pub engine: String,
    pub engine_version: String,
    pub cache_node_type: String,
    pub num_cache_nodes: i64,
    pub port: i64,
    pub preferred_maintenance_window: String,
    pub snapshot_retention_limit: i64,
    pub snapshot_window: String,
    pub cache_cluster_create_time: Option<String>,
    pub snapshot_create_time: String,
    pub source_cache_node_id: Option<String>,
    /// What the data took in its node: a restore's node type must hold it.
    pub data_size_bytes: i64,
    /// Bytes of the file written so far (all of it once available).
    pub bytes_written: i64,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub failure_reason: Option<String>,
}

pub fn view(s: Snapshot) -> SnapshotView {
    let c = s.config;
    SnapshotView {
        snapshot_name: s.snapshot_name,
        snapshot_status: s.status.as_str(),
        snapshot_source: s.source,
        cache_cluster_id: s.cache_cluster_id,
        replication_group_id: s.replication_group_id,
        engine: c.engine,
        engine_version: c.engine_version,
        cache_node_type: c.cache_node_type,
        num_cache_nodes: c.num_cache_nodes,
        port: c.port,
        preferred_maintenance_window: c.preferred_maintenance_window,
        snapshot_retention_limit: c.snapshot_retention_limit,
        snapshot_window: c.snapshot_window,
        cache_cluster_create_time: c.source_create_time.map(to_rfc3339),
        snapshot_create_time: to_rfc3339(s.created_at),
        source_cache_node_id: c.source_node_id,
        data_size_bytes: s.data_bytes,
        bytes_written: s.bytes_written,
        size_bytes: s.size_bytes,
        sha256: s.sha256,
        failure_reason: s.failure,
    }
}

pub fn check_name(field: &str, name: &str) -> ApiResult<String> {
    let name = name.to_ascii_lowercase();
    validate::identifier(field, &name, validate::MAX_SNAPSHOT_NAME).map_err(ApiError::InvalidParameterValue)?;
    Ok(name)
}

/// The snapshot a create restores from: it must be available.
pub async fn restorable(state: &AppState, name: &str) -> ApiResult<Snapshot> {
    let snapshot = found(state, &name.to_ascii_lowercase()).await?;
    if snapshot.status != SnapshotStatus::Available {
        return Err(ApiError::InvalidSnapshotState(snapshot.snapshot_name));
    }
    Ok(snapshot)
}

/// A restore's nodes must hold the snapshot's data.
pub fn check_fits(snapshot: &Snapshot, cache_node_type: &str) -> ApiResult<()> {
    let holds = crate::catalogue::node_type(cache_node_type).map_or(0, |t| t.maxmemory_bytes());
    if (snapshot.data_bytes as u64) > holds {
        return Err(ApiError::InvalidParameterCombination(format!(
            "Snapshot {} holds {} bytes of data; cache node type {cache_node_type} holds {holds}. Choose a larger node type (at least {}).",
            snapshot.snapshot_name,
            snapshot.data_bytes,
            crate::catalogue::smallest_holding(snapshot.data_bytes as u64)
        )));
    }
    Ok(())
}

pub async fn found(state: &AppState, name: &str) -> ApiResult<Snapshot> {
    state.store.snapshot(name).await?.ok_or_else(|| ApiError::SnapshotNotFound(name.to_owned()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSnapshot {
    snapshot_name: String,
    cache_cluster_id: Option<String>,
    replication_group_id: Option<String>,
}

pub async fn create(
    _: Writer,
    State(state): State<AppState>,
    Json(input): Json<CreateSnapshot>,
) -> ApiResult<(StatusCode, axum::Json<SnapshotView>)> {
    let name = check_name("snapshot_name", &input.snapshot_name)?;
    let new = match (input.cache_cluster_id, input.replication_group_id) {
        (Some(cluster), None) => {
            of_cluster(&state, &name, &cluster.to_ascii_lowercase(), SnapshotSource::Manual).await?
        }
        (None, Some(group)) => of_group(&state, &name, &group.to_ascii_lowercase(), SnapshotSource::Manual).await?,
        _ => {
            return Err(ApiError::InvalidParameterCombination(
                "Give exactly one of cache_cluster_id and replication_group_id.".into(),
            ));
        }
    };
    insert(&state, &new).await?;
    let from = new.replication_group_id.as_deref().or(new.cache_cluster_id.as_deref()).unwrap_or_default();
    state.store.record_event(event_source::SNAPSHOT, &name, &format!("Snapshot {name} of {from} requested")).await?;
    state.backups.notify_one();
    Ok((StatusCode::CREATED, axum::Json(view(found(&state, &name).await?))))
}

/// A snapshot of a standalone cluster (a group's member is snapshotted
/// through its group, as ElastiCache asks).
pub async fn of_cluster(state: &AppState, name: &str, id: &str, kind: SnapshotSource) -> ApiResult<NewSnapshot> {
    source::of_cluster(&state.store, name, id, kind, crate::clock::now_millis()).await.map_err(source_error)
}

pub async fn of_group(state: &AppState, name: &str, id: &str, kind: SnapshotSource) -> ApiResult<NewSnapshot> {
    source::of_group(&state.store, name, id, kind, crate::clock::now_millis()).await.map_err(source_error)
}

fn source_error(e: SourceError) -> ApiError {
    match e {
        SourceError::ClusterNotFound(id) => ApiError::CacheClusterNotFound(id),
        SourceError::GroupNotFound(id) => ApiError::ReplicationGroupNotFound(id),
        SourceError::GroupMember { cluster, group } => ApiError::InvalidParameterCombination(format!(
            "Cache cluster {cluster} is a member of replication group {group}: snapshot the group (replication_group_id)."
        )),
        SourceError::ClusterState(id) => ApiError::InvalidCacheClusterState(id),
        SourceError::Memcached(id) => super::settings::memcached_refuses(&format!("Snapshots of cache cluster {id}")),
        SourceError::GroupState(id) => ApiError::InvalidReplicationGroupState(id),
        SourceError::Store(e) => e.into(),
    }
}

/// DELETE's `final_snapshot_identifier`: recorded (and the worker woken)
/// before the cluster is marked deleting; its nodes stay until it is written.
pub async fn final_snapshot_of_cluster(state: &AppState, name: &str, id: &str) -> ApiResult<String> {
    let name = check_name("final_snapshot_identifier", name)?;
    insert(state, &of_cluster(state, &name, id, SnapshotSource::Manual).await?).await?;
    state.backups.notify_one();
    Ok(name)
}

pub async fn final_snapshot_of_group(state: &AppState, name: &str, id: &str) -> ApiResult<String> {
    let name = check_name("final_snapshot_identifier", name)?;
    insert(state, &of_group(state, &name, id, SnapshotSource::Manual).await?).await?;
    state.backups.notify_one();
    Ok(name)
}

/// A final snapshot whose delete was refused after all: not taken.
pub async fn withdraw(state: &AppState, name: Option<&str>) {
    if let Some(name) = name {
        let _ = state.store.set_snapshot_failed(name, "the deletion it was for was refused").await;
        let _ = state.store.remove_settled_snapshot(name).await;
    }
}

/// Records a snapshot in `creating` for the backup worker (quota and name checked).
pub async fn insert(state: &AppState, new: &NewSnapshot) -> ApiResult<()> {
    if state.store.count_snapshots().await? >= MAX_SNAPSHOTS {
        return Err(ApiError::SnapshotQuotaExceeded(MAX_SNAPSHOTS));
    }
    state.store.insert_snapshot(new).await.map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::SnapshotAlreadyExists(new.snapshot_name.clone()),
        other => other.into(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    max_records: Option<i64>,
    marker: Option<String>,
    cache_cluster_id: Option<String>,
    replication_group_id: Option<String>,
    snapshot_source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotList {
    snapshots: Vec<SnapshotView>,
    marker: Option<String>,
}

pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<SnapshotList>> {
    let size = settings::page_size(query.max_records)?;
    let source = match query.snapshot_source.as_deref() {
        None => None,
        Some(s) => Some(SnapshotSource::parse(s).ok_or_else(|| {
            ApiError::InvalidParameterValue(format!("Invalid snapshot_source '{s}': it must be manual or automated."))
        })?),
    };
    let filter = SnapshotFilter {
        after: query.marker,
        limit: size + 1,
        cache_cluster_id: query.cache_cluster_id.map(|c| c.to_ascii_lowercase()),
        replication_group_id: query.replication_group_id.map(|g| g.to_ascii_lowercase()),
        source,
    };
    let rows = state.store.snapshots(&filter).await?;
    let (rows, marker) = settings::paginate(rows, size, |s| s.snapshot_name.clone());
    Ok(axum::Json(SnapshotList { snapshots: rows.into_iter().map(view).collect(), marker }))
}

pub async fn describe(
    _: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<SnapshotView>> {
    Ok(axum::Json(view(found(&state, &name.to_ascii_lowercase()).await?)))
}

/// Removes the record and the file; a snapshot being written cannot go.
pub async fn delete(
    _: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<SnapshotView>> {
    let name = name.to_ascii_lowercase();
    let snapshot = found(&state, &name).await?;
    if !state.store.remove_settled_snapshot(&name).await? {
        return Err(ApiError::InvalidSnapshotState(name));
    }
    if let Err(e) = state.snapshots.remove(&name).await {
        tracing::error!("removing the file of snapshot {name}: {e}");
    }
    state.store.record_event(event_source::SNAPSHOT, &name, &format!("Snapshot {name} deleted")).await?;
    let mut shown = view(snapshot);
    shown.snapshot_status = "deleting";
    Ok(axum::Json(shown))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySnapshot {
    target_snapshot_name: String,
}

pub async fn copy(
    _: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(input): Json<CopySnapshot>,
) -> ApiResult<(StatusCode, axum::Json<SnapshotView>)> {
    let name = name.to_ascii_lowercase();
    let target = check_name("target_snapshot_name", &input.target_snapshot_name)?;
    let original = found(&state, &name).await?;
    if original.status != SnapshotStatus::Available {
        return Err(ApiError::InvalidSnapshotState(name));
    }
    let new = NewSnapshot {
        snapshot_name: target.clone(),
        source: SnapshotSource::Manual,
        cache_cluster_id: original.cache_cluster_id,
        replication_group_id: original.replication_group_id,
        config: original.config,
        data_bytes: original.data_bytes,
        copy_of: Some(name.clone()),
        created_at: crate::clock::now_millis(),
    };
    insert(&state, &new).await?;
    state
        .store
        .record_event(event_source::SNAPSHOT, &target, &format!("Snapshot {target} copying from {name}"))
        .await?;
    state.backups.notify_one();
    Ok((StatusCode::CREATED, axum::Json(view(found(&state, &target).await?))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceConfig;

    fn holding(bytes: i64) -> Snapshot {
        Snapshot {
            snapshot_name: "s".into(),
            status: SnapshotStatus::Available,
            source: SnapshotSource::Manual,
            cache_cluster_id: None,
            replication_group_id: None,
            config: SourceConfig {
                engine: "redis".into(),
                engine_version: "7.0".into(),
                cache_node_type: "cache.m7g.large".into(),
                num_cache_nodes: 1,
                port: 6379,
                preferred_maintenance_window: "sun:05:00-sun:06:00".into(),
                snapshot_retention_limit: 0,
                snapshot_window: "03:00-04:00".into(),
                source_node_id: None,
                source_create_time: None,
            },
            data_bytes: bytes,
            bytes_written: 0,
            size_bytes: None,
            sha256: None,
            copy_of: None,
            failure: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_restore_needs_a_node_type_that_holds_the_data() {
        let gib = 1 << 30;
        assert!(check_fits(&holding(gib), "cache.t3.small").is_ok(), "1.37 GiB x 75% holds 1 GiB");
        let refused = check_fits(&holding(gib), "cache.t3.micro").expect_err("0.5 GiB does not");
        assert_eq!(refused.code(), "InvalidParameterCombination");
        assert!(refused.to_string().contains("cache.t3.small"), "it names the smallest that does: {refused}");
        assert!(check_fits(&holding(0), "cache.t3.micro").is_ok());
    }
}
