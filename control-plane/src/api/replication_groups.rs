//! /v1/replication-groups: a primary and up to five replicas, each a member
//! cache cluster named `<group>-00N`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query, Reader, Writer};
use super::settings::{self, TagInput, node_settings_input};
use super::views::{self, ReplicationGroupView};
use crate::model::{Engine, ReplicationGroup, Role, Status, member_cluster_id, source};
use crate::store::{ClusterFilter, GroupChange, NewCluster, NewGroup, StoreError};
use crate::validate;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateReplicationGroup {
    replication_group_id: String,
    replication_group_description: String,
    num_cache_clusters: Option<i64>,
    replicas_per_node_group: Option<i64>,
    automatic_failover_enabled: Option<bool>,
    multi_az_enabled: Option<bool>,
    engine: Option<String>,
    engine_version: Option<String>,
    cache_node_type: Option<String>,
    port: Option<i64>,
    auth_token: Option<String>,
    preferred_maintenance_window: Option<String>,
    snapshot_retention_limit: Option<i64>,
    snapshot_window: Option<String>,
    tags: Option<Vec<TagInput>>,
    cache_parameter_group_name: Option<String>,
    /// Restore: the new group holds this snapshot's data.
    snapshot_name: Option<String>,
}

impl CreateReplicationGroup {
    /// The group and its member clusters to record, or why the request is refused.
    fn check(self) -> ApiResult<NewGroup> {
        let id = self.replication_group_id.to_ascii_lowercase();
        validate::identifier("replication_group_id", &id, validate::MAX_GROUP_ID)
            .map_err(ApiError::InvalidParameterValue)?;
        if self.replication_group_description.trim().is_empty() {
            return Err(ApiError::InvalidParameterValue("replication_group_description must not be empty.".into()));
        }
        let clusters = match (self.num_cache_clusters, self.replicas_per_node_group) {
            (Some(_), Some(_)) => {
                return Err(ApiError::InvalidParameterCombination(
                    "Give num_cache_clusters or replicas_per_node_group, not both.".into(),
                ));
            }
            (Some(n), None) if !(1..=6).contains(&n) => {
                return Err(ApiError::InvalidParameterValue(format!(
                    "Invalid num_cache_clusters {n}: it must be 1-6."
                )));
            }
            (None, Some(r)) if !(0..=5).contains(&r) => {
                return Err(ApiError::InvalidParameterValue(format!(
                    "Invalid replicas_per_node_group {r}: it must be 0-5."
                )));
            }
            (Some(n), None) => n,
            (None, Some(r)) => r + 1,
            (None, None) => 1,
        };
        let failover = self.automatic_failover_enabled.unwrap_or(false);
        let multi_az = self.multi_az_enabled.unwrap_or(false);
        if failover && clusters < 2 {
            return Err(ApiError::InvalidParameterCombination(
                "automatic_failover_enabled needs at least one replica (num_cache_clusters >= 2).".into(),
            ));
        }
        if multi_az && !failover {
            return Err(ApiError::InvalidParameterCombination(
                "multi_az_enabled needs automatic_failover_enabled.".into(),
            ));
        }
        let settings = node_settings_input!(self).check()?;
        if settings.engine == Engine::Memcached {
            return Err(ApiError::InvalidParameterCombination(
                "Replication groups are a redis feature: memcached has no replication (create a memcached cache cluster with num_cache_nodes instead).".into(),
            ));
        }
        let members = (0..clusters as usize)
            .map(|index| NewCluster {
                host_port: None,
                restore_from: None,
                cache_cluster_id: member_cluster_id(&id, index),
                replication_group_id: Some(id.clone()),
                role: Some(if index == 0 { Role::Primary } else { Role::Replica }),
                num_cache_nodes: 1,
                settings: settings.clone(),
                parameters: Default::default(),
            })
            .collect();
        let group = ReplicationGroup {
            replication_group_id: id,
            description: self.replication_group_description,
            status: Status::Creating,
            settings,
            automatic_failover_enabled: failover,
            multi_az_enabled: multi_az,
            created_at: 0,
            replication_id: None,
        };
        Ok(NewGroup { group, members })
    }
}

pub async fn create(
    _: Writer,
    State(state): State<AppState>,
    Json(mut input): Json<CreateReplicationGroup>,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    let snapshot = match input.snapshot_name.take() {
        Some(name) => Some(super::snapshots::restorable(&state, &name).await?),
        None => None,
    };
    if let Some(snapshot) = &snapshot {
        input.cache_node_type.get_or_insert_with(|| snapshot.config.cache_node_type.clone());
    }
    let mut new = input.check()?;
    let mut restoring = String::new();
    if let Some(snapshot) = snapshot {
        super::snapshots::check_fits(&snapshot, &new.group.settings.cache_node_type)?;
        restoring = format!(", restoring snapshot {}", snapshot.snapshot_name);
        // The primary is filled; its replicas sync from it.
        if let Some(primary) = new.members.first_mut() {
            primary.restore_from = Some(snapshot.snapshot_name);
        }
    }
    let settings = &new.group.settings;
    let parameters = super::parameter_groups::for_engine(&state, &settings.cache_parameter_group_name, settings.engine)
        .await?
        .values;
    for member in &mut new.members {
        member.parameters = parameters.clone();
    }
    let id = new.group.replication_group_id.clone();
    let clusters = new.members.len();
    state.store.insert_group(&new).await.map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::ReplicationGroupAlreadyExists(id.clone()),
        other => other.into(),
    })?;
    let plural = if clusters == 1 { "" } else { "s" };
    let message = format!("Replication group creation requested with {clusters} cache cluster{plural}{restoring}");
    state.store.record_event(source::REPLICATION_GROUP, &id, &message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::CREATED, axum::Json(view(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    max_records: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GroupList {
    replication_groups: Vec<ReplicationGroupView>,
    marker: Option<String>,
}

pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<GroupList>> {
    let size = settings::page_size(query.max_records)?;
    let rows = state.store.groups_with_members(query.marker.as_deref(), size + 1).await?;
    let (rows, marker) = settings::paginate(rows, size, |(g, _)| g.replication_group_id.clone());
    let replication_groups =
        rows.into_iter().map(|(group, members)| views::replication_group(group, &members)).collect();
    Ok(axum::Json(GroupList { replication_groups, marker }))
}

pub async fn describe(
    _: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ReplicationGroupView>> {
    Ok(axum::Json(view(&state, &id.to_ascii_lowercase()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyReplicationGroup {
    replication_group_description: Option<String>,
    automatic_failover_enabled: Option<bool>,
    multi_az_enabled: Option<bool>,
    preferred_maintenance_window: Option<String>,
    snapshot_retention_limit: Option<i64>,
    snapshot_window: Option<String>,
    tags: Option<Vec<TagInput>>,
    cache_parameter_group_name: Option<String>,
    apply_immediately: Option<bool>,
    /// The member cluster to become the primary (a planned failover).
    primary_cluster_id: Option<String>,
}

impl ModifyReplicationGroup {
    /// The settings to change at once and the member to make primary, if
    /// any, or why the request is refused; `members` is how many the group has.
    fn check(self, group: &ReplicationGroup, members: usize) -> ApiResult<(GroupChange, Option<String>)> {
        let failover = self.automatic_failover_enabled.unwrap_or(group.automatic_failover_enabled);
        let multi_az = self.multi_az_enabled.unwrap_or(group.multi_az_enabled);
        if failover && members < 2 {
            return Err(ApiError::InvalidParameterCombination(
                "automatic_failover_enabled needs at least one replica.".into(),
            ));
        }
        if multi_az && !failover {
            return Err(ApiError::InvalidParameterCombination(
                "multi_az_enabled needs automatic_failover_enabled.".into(),
            ));
        }
        if self.replication_group_description.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(ApiError::InvalidParameterValue("replication_group_description must not be empty.".into()));
        }
        let maintenance = settings::check_optional_windows(
            &group.settings,
            self.preferred_maintenance_window,
            self.snapshot_retention_limit,
            self.snapshot_window.as_deref(),
        )?;
        // Every change a group accepts today takes effect at once, or (parameters
        // that need a restart) at each member's reboot, so apply_immediately
        // changes nothing (and is accepted, as ElastiCache does).
        let _ = self.apply_immediately;
        let change = GroupChange {
            description: self.replication_group_description,
            automatic_failover_enabled: self.automatic_failover_enabled,
            multi_az_enabled: self.multi_az_enabled,
            preferred_maintenance_window: maintenance,
            snapshot_retention_limit: self.snapshot_retention_limit,
            snapshot_window: self.snapshot_window,
            tags: self.tags.map(settings::check_tags).transpose()?,
            cache_parameter_group_name: None,
        };
        Ok((change, self.primary_cluster_id.map(|c| c.to_ascii_lowercase())))
    }
}

pub async fn modify(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(mut input): Json<ModifyReplicationGroup>,
) -> ApiResult<axum::Json<ReplicationGroupView>> {
    let id = id.to_ascii_lowercase();
    let group = state.store.group(&id).await?.ok_or_else(|| ApiError::ReplicationGroupNotFound(id.clone()))?;
    let clusters = state.store.clusters(&member_filter(&id)).await?.len();
    let parameter_group = match input.cache_parameter_group_name.take().map(|n| n.to_ascii_lowercase()) {
        Some(name) if name != group.settings.cache_parameter_group_name => Some(
            super::parameter_groups::for_engine(&state, &name, group.settings.engine).await?.cache_parameter_group_name,
        ),
        _ => None,
    };
    let (mut change, new_primary) = input.check(&group, clusters)?;
    change.cache_parameter_group_name = parameter_group.clone();
    // Everything is checked before the failover is recorded: a refused
    // request changes nothing.
    let mut failover = false;
    if let Some(cluster) = &new_primary {
        let member = state.store.cluster(cluster).await?.filter(|c| c.replication_group_id.as_deref() == Some(&id));
        match member {
            None => {
                return Err(ApiError::InvalidParameterValue(format!(
                    "Cache cluster {cluster} is not a member of replication group {id}."
                )));
            }
            Some(m) if m.role == Some(Role::Primary) => {}
            Some(_) if group.status != Status::Available => {
                return Err(ApiError::InvalidReplicationGroupState(id));
            }
            Some(_) => {
                let reason = format!("primary change to {cluster} requested");
                if state.store.begin_failover(&id, true, &reason, Some(cluster)).await?.is_none() {
                    return Err(ApiError::FailoverInProgress(id));
                }
                failover = true;
            }
        }
    }
    let changed = state.store.change_available_group(&id, &change).await.map_err(|e| not_found(e, &id));
    if !matches!(changed, Ok(true)) {
        if failover {
            state.store.abandon_failover(&id).await?;
        }
        return Err(changed.err().unwrap_or(ApiError::InvalidReplicationGroupState(id)));
    }
    let mut message = match &new_primary {
        Some(cluster) => format!("Replication group modified; primary change to {cluster} requested"),
        None => "Replication group modified".to_owned(),
    };
    if let Some(name) = &parameter_group {
        message.push_str(&format!("; cache parameter group changed to {name}"));
        state.parameters.notify_one();
    }
    state.store.record_event(source::REPLICATION_GROUP, &id, &message).await?;
    Ok(axum::Json(view(&state, &id).await?))
}

pub async fn delete(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<super::cache_clusters::DeleteQuery>,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    let id = id.to_ascii_lowercase();
    let final_snapshot = match query.final_snapshot() {
        Some(name) => Some(super::snapshots::final_snapshot_of_group(&state, name, &id).await?),
        None => None,
    };
    if !state.store.delete_available_group(&id).await.map_err(|e| not_found(e, &id))? {
        super::snapshots::withdraw(&state, final_snapshot.as_deref()).await;
        return Err(ApiError::InvalidReplicationGroupState(id));
    }
    // Read before waking the reconciler, which may remove the records at once.
    let deleting = view(&state, &id).await?;
    let message = match &final_snapshot {
        Some(name) => format!("Replication group deletion requested, after final snapshot {name}"),
        None => "Replication group deletion requested".to_owned(),
    };
    state.store.record_event(source::REPLICATION_GROUP, &id, &message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::ACCEPTED, axum::Json(deleting)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFailover {
    node_group_id: String,
}

/// Runs the failover path on demand: the monitor promotes a replica as if the
/// primary had failed, and demotes the old primary.
pub async fn test_failover(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<TestFailover>,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    let id = id.to_ascii_lowercase();
    let group = state.store.group(&id).await?.ok_or_else(|| ApiError::ReplicationGroupNotFound(id.clone()))?;
    if input.node_group_id != "0001" {
        return Err(ApiError::InvalidParameterValue(format!(
            "Replication group {id} has no node group {}; its only node group is 0001.",
            input.node_group_id
        )));
    }
    if !group.automatic_failover_enabled {
        return Err(ApiError::InvalidParameterCombination(format!(
            "Replication group {id} does not have automatic failover enabled."
        )));
    }
    if group.status != Status::Available {
        return Err(ApiError::InvalidReplicationGroupState(id));
    }
    if state.store.begin_failover(&id, true, "test failover requested", None).await?.is_none() {
        return Err(ApiError::FailoverInProgress(id));
    }
    state.store.record_event(source::REPLICATION_GROUP, &id, "Test failover requested for node group 0001").await?;
    Ok((StatusCode::ACCEPTED, axum::Json(view(&state, &id).await?)))
}

pub(super) fn not_found(error: StoreError, id: &str) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::ReplicationGroupNotFound(id.to_owned()),
        other => other.into(),
    }
}

pub(super) fn member_filter(id: &str) -> ClusterFilter {
    ClusterFilter { replication_group_id: Some(id.to_owned()), limit: 100, ..ClusterFilter::default() }
}

pub(super) async fn view(state: &AppState, id: &str) -> ApiResult<ReplicationGroupView> {
    let group = state.store.group(id).await?.ok_or_else(|| ApiError::ReplicationGroupNotFound(id.to_owned()))?;
    let members = state.store.group_members(id).await?;
    Ok(views::replication_group(group, &members))
}
