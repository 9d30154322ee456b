//! /v1/cache-clusters: create, list, describe, modify, delete, reboot.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query, Reader, Writer};
use super::membership;
use super::parameter_groups;
use super::settings::{self, TagInput, node_settings_input};
use super::views::{self, CacheClusterView};
use crate::model::{CacheCluster, CacheNode, Engine, source};
use crate::store::{ClusterChange, ClusterFilter, NewCluster};
use crate::validate;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCacheCluster {
    cache_cluster_id: String,
    engine: Option<String>,
    engine_version: Option<String>,
    cache_node_type: Option<String>,
    num_cache_nodes: Option<i64>,
    port: Option<i64>,
    preferred_maintenance_window: Option<String>,
    snapshot_retention_limit: Option<i64>,
    snapshot_window: Option<String>,
    auth_token: Option<String>,
    tags: Option<Vec<TagInput>>,
    cache_parameter_group_name: Option<String>,
    /// Restore: the new cluster holds this snapshot's data.
    snapshot_name: Option<String>,
}

impl CreateCacheCluster {
    /// The cluster to record, or why the request is refused.
    fn check(self) -> ApiResult<NewCluster> {
        let id = self.cache_cluster_id.to_ascii_lowercase();
        validate::identifier("cache_cluster_id", &id, validate::MAX_CLUSTER_ID)
            .map_err(ApiError::InvalidParameterValue)?;
        let settings = node_settings_input!(self).check()?;
        let num_cache_nodes = membership::check_count(settings.engine, self.num_cache_nodes.unwrap_or(1))?;
        let host_port = match (settings.engine, self.port) {
            // A standalone redis cluster's one node is published on the port asked for.
            (Engine::Redis, Some(port)) => Some(validate::host_port(port).map_err(ApiError::InvalidParameterValue)?),
            // Memcached nodes listen on `port` inside their network, each
            // published on a host port of its own, as a group's members are.
            _ => None,
        };
        Ok(NewCluster {
            cache_cluster_id: id,
            replication_group_id: None,
            role: None,
            num_cache_nodes,
            settings,
            host_port,
            restore_from: None,
            parameters: Default::default(),
        })
    }
}

pub async fn create(
    _: Writer,
    State(state): State<AppState>,
    Json(mut input): Json<CreateCacheCluster>,
) -> ApiResult<(StatusCode, axum::Json<CacheClusterView>)> {
    if input.snapshot_name.is_some() && input.engine.as_deref().and_then(Engine::parse) == Some(Engine::Memcached) {
        return Err(settings::memcached_refuses("snapshot_name"));
    }
    let snapshot = match input.snapshot_name.take() {
        Some(name) => Some(super::snapshots::restorable(&state, &name).await?),
        None => None,
    };
    if let Some(snapshot) = &snapshot {
        input.cache_node_type.get_or_insert_with(|| snapshot.config.cache_node_type.clone());
    }
    let mut new = input.check()?;
    if let Some(snapshot) = snapshot {
        super::snapshots::check_fits(&snapshot, &new.settings.cache_node_type)?;
        new.restore_from = Some(snapshot.snapshot_name);
    }
    let settings = &new.settings;
    new.parameters =
        parameter_groups::for_engine(&state, &settings.cache_parameter_group_name, settings.engine).await?.values;
    let id = new.cache_cluster_id.clone();
    state.store.insert_cluster(&new).await.map_err(|e| match e {
        crate::store::StoreError::AlreadyExists => ApiError::CacheClusterAlreadyExists(id.clone()),
        other => other.into(),
    })?;
    let message = match &new.restore_from {
        Some(snapshot) => format!("Cache cluster creation requested, restoring snapshot {snapshot}"),
        None => "Cache cluster creation requested".to_owned(),
    };
    state.store.record_event(source::CACHE_CLUSTER, &id, &message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::CREATED, axum::Json(view(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    max_records: Option<i64>,
    marker: Option<String>,
    engine: Option<String>,
    replication_group_id: Option<String>,
    show_cache_clusters_not_in_replication_groups: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct ClusterList {
    cache_clusters: Vec<CacheClusterView>,
    marker: Option<String>,
}

pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<ClusterList>> {
    let size = settings::page_size(query.max_records)?;
    let filter = ClusterFilter {
        after: query.marker,
        limit: size + 1,
        replication_group_id: query.replication_group_id.map(|g| g.to_ascii_lowercase()),
        engine: query.engine,
        not_in_replication_groups: query.show_cache_clusters_not_in_replication_groups.unwrap_or(false),
        ..ClusterFilter::default()
    };
    let rows = state.store.clusters_with_nodes(&filter).await?;
    let (rows, marker) = settings::paginate(rows, size, |(c, _)| c.cache_cluster_id.clone());
    let cache_clusters = rows.into_iter().map(|(cluster, nodes)| views::cache_cluster(cluster, &nodes)).collect();
    Ok(axum::Json(ClusterList { cache_clusters, marker }))
}

pub async fn describe(
    _: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CacheClusterView>> {
    Ok(axum::Json(view(&state, &id.to_ascii_lowercase()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyCacheCluster {
    cache_node_type: Option<String>,
    num_cache_nodes: Option<i64>,
    cache_node_ids_to_remove: Option<Vec<String>>,
    preferred_maintenance_window: Option<String>,
    snapshot_retention_limit: Option<i64>,
    snapshot_window: Option<String>,
    tags: Option<Vec<TagInput>>,
    cache_parameter_group_name: Option<String>,
    apply_immediately: Option<bool>,
}

impl ModifyCacheCluster {
    /// The change to record and the event that says what it is, or why the
    /// request is refused.
    fn check(self, cluster: &CacheCluster, nodes: &[CacheNode]) -> ApiResult<(ClusterChange, String)> {
        let id = &cluster.cache_cluster_id;
        if let Some(group) = &cluster.replication_group_id {
            return Err(ApiError::InvalidParameterCombination(format!(
                "Cache cluster {id} is a member of replication group {group}; modify the replication group."
            )));
        }
        let snapshots = self.snapshot_retention_limit.is_some_and(|days| days > 0) || self.snapshot_window.is_some();
        if cluster.settings.engine == Engine::Memcached && snapshots {
            return Err(settings::memcached_refuses("snapshot_retention_limit and snapshot_window"));
        }
        let membership = membership::requested(cluster, nodes, self.num_cache_nodes, self.cache_node_ids_to_remove)?;
        let maintenance = settings::check_optional_windows(
            &cluster.settings,
            self.preferred_maintenance_window,
            self.snapshot_retention_limit,
            self.snapshot_window.as_deref(),
        )?;
        let mut change = ClusterChange {
            preferred_maintenance_window: maintenance,
            snapshot_retention_limit: self.snapshot_retention_limit,
            snapshot_window: self.snapshot_window,
            tags: self.tags.map(settings::check_tags).transpose()?,
            ..ClusterChange::default()
        };
        let mut pending = cluster.pending_modified_values.clone();
        let mut asked = Vec::new();
        if let Some(node_type) = self.cache_node_type.filter(|t| *t != cluster.settings.cache_node_type) {
            settings::check_node_type(&node_type)?;
            asked.push(format!("Cache node type change to {node_type}"));
            pending.cache_node_type = Some(node_type);
        }
        if let Some((count, remove)) = membership {
            asked.push(crate::model::describe_node_count(cluster.num_cache_nodes, count, &remove));
            pending.num_cache_nodes = Some(count);
            pending.cache_node_ids_to_remove = remove;
        }
        let apply_now = self.apply_immediately.unwrap_or(false);
        if asked.is_empty() && (pending.is_empty() || !apply_now) {
            return Ok((change, "Cache cluster modified".to_owned()));
        }
        let mut message = if asked.is_empty() { "Pending changes".to_owned() } else { asked.join("; ") };
        if apply_now {
            // ElastiCache applies what was held back along with what is asked.
            message.push_str(" requested");
            return Ok((change.applying(pending, cluster.num_cache_nodes), message));
        }
        message.push_str(" requested for the next maintenance window");
        change.pending_modified_values = Some(pending);
        Ok((change, message))
    }
}

/// Windows, retention and tags change at once. A new node type is applied to
/// the running nodes at once with `apply_immediately` (status `modifying`), or
/// else held in `pending_modified_values` for the maintenance window.
pub async fn modify(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(mut input): Json<ModifyCacheCluster>,
) -> ApiResult<(StatusCode, axum::Json<CacheClusterView>)> {
    let id = id.to_ascii_lowercase();
    let cluster = state.store.cluster(&id).await?.ok_or_else(|| ApiError::CacheClusterNotFound(id.clone()))?;
    let nodes = state.store.nodes(&id).await?;
    let apply_now = input.apply_immediately.unwrap_or(false);
    let parameter_group = match input.cache_parameter_group_name.take().map(|n| n.to_ascii_lowercase()) {
        Some(name) if name != cluster.settings.cache_parameter_group_name => {
            Some(parameter_groups::for_engine(&state, &name, cluster.settings.engine).await?.cache_parameter_group_name)
        }
        _ => None,
    };
    let (mut change, mut message) = input.check(&cluster, &nodes)?;
    if let Some(name) = &parameter_group {
        message.push_str(&format!("; cache parameter group changed to {name}"));
        change.cache_parameter_group_name = parameter_group.clone();
    }
    if !state.store.change_available_cluster(&id, &change).await? {
        return Err(ApiError::InvalidCacheClusterState(id));
    }
    state.store.record_event(source::CACHE_CLUSTER, &id, &message).await?;
    let mut accepted = change.status.is_some();
    if apply_now && !accepted {
        accepted = reboot_for_parameters(&state, &id).await?;
    }
    state.reconcile.notify_one();
    state.parameters.notify_one();
    let code = if accepted { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((code, axum::Json(view(&state, &id).await?)))
}

/// `apply_immediately`: parameters that need a restart are applied by
/// rebooting every node now; returns whether a reboot was asked.
async fn reboot_for_parameters(state: &AppState, id: &str) -> ApiResult<bool> {
    let Some(cluster) = state.store.cluster(id).await? else { return Ok(false) };
    let pending = crate::parameters::Drift::of(&cluster).requires_reboot;
    if pending.is_empty() {
        return Ok(false);
    }
    let nodes: Vec<String> = state.store.nodes(id).await?.into_iter().map(|n| n.cache_node_id).collect();
    let parameters = crate::parameters::after_restart(&cluster);
    if !state.store.reboot_available_cluster_with(id, &nodes, Some(&parameters)).await? {
        return Ok(false);
    }
    let message = format!("Reboot of every node requested to apply parameters {}", pending.join(", "));
    state.store.record_event(source::CACHE_CLUSTER, id, &message).await?;
    Ok(true)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// A last manual snapshot, written before the nodes go.
    final_snapshot_identifier: Option<String>,
}

impl DeleteQuery {
    pub fn final_snapshot(&self) -> Option<&str> {
        self.final_snapshot_identifier.as_deref()
    }
}

pub async fn delete(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> ApiResult<(StatusCode, axum::Json<CacheClusterView>)> {
    let id = id.to_ascii_lowercase();
    let cluster = state.store.cluster(&id).await?.ok_or_else(|| ApiError::CacheClusterNotFound(id.clone()))?;
    if let Some(group) = &cluster.replication_group_id {
        return Err(ApiError::InvalidParameterCombination(format!(
            "Cache cluster {id} is a member of replication group {group}; delete the replication group."
        )));
    }
    let final_snapshot = match query.final_snapshot() {
        Some(name) => Some(super::snapshots::final_snapshot_of_cluster(&state, name, &id).await?),
        None => None,
    };
    if !state.store.delete_available_cluster(&id).await.map_err(|e| not_found(e, &id))? {
        super::snapshots::withdraw(&state, final_snapshot.as_deref()).await;
        return Err(ApiError::InvalidCacheClusterState(id));
    }
    // Read before waking the reconciler, which may remove the record at once.
    let deleting = view(&state, &id).await?;
    let message = match &final_snapshot {
        Some(name) => format!("Cache cluster deletion requested, after final snapshot {name}"),
        None => "Cache cluster deletion requested".to_owned(),
    };
    state.store.record_event(source::CACHE_CLUSTER, &id, &message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::ACCEPTED, axum::Json(deleting)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebootCacheCluster {
    cache_node_ids_to_reboot: Vec<String>,
}

pub async fn reboot(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<RebootCacheCluster>,
) -> ApiResult<(StatusCode, axum::Json<CacheClusterView>)> {
    let id = id.to_ascii_lowercase();
    let Some(cluster) = state.store.cluster(&id).await? else {
        return Err(ApiError::CacheClusterNotFound(id));
    };
    if input.cache_node_ids_to_reboot.is_empty() {
        return Err(ApiError::InvalidParameterValue("cache_node_ids_to_reboot must name at least one node.".into()));
    }
    let nodes = state.store.nodes(&id).await?;
    if let Some(unknown) =
        input.cache_node_ids_to_reboot.iter().find(|wanted| !nodes.iter().any(|n| &n.cache_node_id == *wanted))
    {
        return Err(ApiError::InvalidParameterValue(format!("Cache cluster {id} has no node {unknown}.")));
    }
    // Rebooting every node applies the parameters that wait for a restart, as ElastiCache does.
    let every_node = nodes.iter().all(|n| input.cache_node_ids_to_reboot.contains(&n.cache_node_id));
    let pending = crate::parameters::Drift::of(&cluster).requires_reboot;
    let parameters = (every_node && !pending.is_empty()).then(|| crate::parameters::after_restart(&cluster));
    if !state
        .store
        .reboot_available_cluster_with(&id, &input.cache_node_ids_to_reboot, parameters.as_ref())
        .await
        .map_err(|e| not_found(e, &id))?
    {
        return Err(ApiError::InvalidCacheClusterState(id));
    }
    let mut message = format!("Reboot of cache nodes {} requested", input.cache_node_ids_to_reboot.join(", "));
    if parameters.is_some() {
        message.push_str(&format!(", applying parameters {}", pending.join(", ")));
    }
    state.store.record_event(source::CACHE_CLUSTER, &id, &message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::ACCEPTED, axum::Json(view(&state, &id).await?)))
}

fn not_found(error: crate::store::StoreError, id: &str) -> ApiError {
    match error {
        crate::store::StoreError::NotFound => ApiError::CacheClusterNotFound(id.to_owned()),
        other => other.into(),
    }
}

async fn view(state: &AppState, id: &str) -> ApiResult<CacheClusterView> {
    let cluster = state.store.cluster(id).await?.ok_or_else(|| ApiError::CacheClusterNotFound(id.to_owned()))?;
    let nodes = state.store.nodes(id).await?;
    Ok(views::cache_cluster(cluster, &nodes))
}
