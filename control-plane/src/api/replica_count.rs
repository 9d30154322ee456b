//! /v1/replication-groups/{id}/increase-replica-count and decrease-replica-count:
//! replicas added and removed online, as ElastiCache's APIs of those names.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Writer};
use super::replication_groups::{member_filter, not_found, view};
use super::views::ReplicationGroupView;
use crate::model::{CacheCluster, NodeSettings, ReplicationGroup, Role, member_cluster_id, source};
use crate::store::{NewCluster, StoreResult};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaCount {
    new_replica_count: i64,
    /// ElastiCache requires it; changes here always apply at once.
    #[serde(default)]
    #[allow(dead_code)]
    apply_immediately: Option<bool>,
}

/// The group and its member clusters (the primary and its replicas).
async fn group_and_members(state: &AppState, id: &str) -> ApiResult<(ReplicationGroup, Vec<CacheCluster>)> {
    let group = state.store.group(id).await?.ok_or_else(|| ApiError::ReplicationGroupNotFound(id.to_owned()))?;
    let members = state.store.clusters(&member_filter(id)).await?;
    Ok((group, members))
}

/// Answers a change the store took (`Ok(true)`) with 202 and the group,
/// after the event and a nudge to the reconciler; a group in another state is 409.
async fn accepted(
    state: &AppState,
    id: String,
    changed: StoreResult<bool>,
    message: &str,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    if !changed.map_err(|e| not_found(e, &id))? {
        return Err(ApiError::InvalidReplicationGroupState(id));
    }
    state.store.record_event(source::REPLICATION_GROUP, &id, message).await?;
    state.reconcile.notify_one();
    Ok((StatusCode::ACCEPTED, axum::Json(view(state, &id).await?)))
}

pub async fn increase(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<ReplicaCount>,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    let id = id.to_ascii_lowercase();
    let (group, members) = group_and_members(&state, &id).await?;
    let replicas = members.len() as i64 - 1;
    let wanted = input.new_replica_count;
    if !(1..=5).contains(&wanted) || wanted <= replicas {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid new_replica_count {wanted}: it must be more than the {replicas} replica(s) now and at most 5."
        )));
    }
    let Some(template) = members.first() else { return Err(ApiError::InvalidReplicationGroupState(id)) };
    // New members take the next free names: -00N after the highest in use.
    let taken: Vec<&str> = members.iter().map(|m| m.cache_cluster_id.as_str()).collect();
    let names = (0..).map(|i| member_cluster_id(&id, i)).filter(|n| !taken.contains(&n.as_str()));
    let new_members: Vec<NewCluster> = names
        .take((wanted - replicas) as usize)
        .map(|name| NewCluster {
            host_port: None,
            restore_from: None,
            cache_cluster_id: name,
            replication_group_id: Some(id.clone()),
            role: Some(Role::Replica),
            num_cache_nodes: 1,
            // As the members run now (a node type change reaches them first).
            settings: NodeSettings {
                engine_version: template.settings.engine_version.clone(),
                cache_node_type: template.settings.cache_node_type.clone(),
                ..group.settings.clone()
            },
            parameters: template.parameters.clone(),
        })
        .collect();
    let changed = state.store.add_replicas(&id, &new_members).await;
    accepted(&state, id, changed, &format!("Replica count increase to {wanted} requested")).await
}

pub async fn decrease(
    _: Writer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<ReplicaCount>,
) -> ApiResult<(StatusCode, axum::Json<ReplicationGroupView>)> {
    let id = id.to_ascii_lowercase();
    let (group, members) = group_and_members(&state, &id).await?;
    let replicas = members.len() as i64 - 1;
    let wanted = input.new_replica_count;
    let least = i64::from(group.automatic_failover_enabled);
    if wanted < least || wanted >= replicas {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid new_replica_count {wanted}: it must be less than the {replicas} replica(s) now and at least {least}{}.",
            if least > 0 { " (automatic failover needs a replica)" } else { "" }
        )));
    }
    // The newest replicas go first.
    let mut leaving: Vec<String> =
        members.iter().filter(|m| m.role == Some(Role::Replica)).map(|m| m.cache_cluster_id.clone()).collect();
    leaving.sort();
    let leaving = leaving.split_off(leaving.len() - (replicas - wanted) as usize);
    let changed = state.store.remove_replicas(&id, &leaving).await;
    let message = format!("Replica count decrease to {wanted} requested (removing {})", leaving.join(", "));
    accepted(&state, id, changed, &message).await
}
