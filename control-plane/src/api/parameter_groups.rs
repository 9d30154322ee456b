//! /v1/parameter-groups and /v1/engine-default-parameters: named sets of
//! engine parameters, their values, and the families' defaults.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Query, Reader, Writer};
use super::settings;
use crate::model::{Engine, ParameterGroup, source};
use crate::parameters::catalogue::{self, Parameter};
use crate::store::{DeleteRefused, StoreError};
use crate::validate;

/// ElastiCache takes at most 20 parameters per modify.
const MAX_CHANGES: usize = 20;
const MAX_NAME: usize = 255;

#[derive(Debug, Serialize)]
pub struct ParameterGroupView {
    cache_parameter_group_name: String,
    cache_parameter_group_family: String,
    description: String,
    is_global: bool,
}

fn view(group: ParameterGroup) -> ParameterGroupView {
    ParameterGroupView {
        cache_parameter_group_name: group.cache_parameter_group_name,
        cache_parameter_group_family: group.cache_parameter_group_family,
        description: group.description,
        is_global: false,
    }
}

#[derive(Debug, Serialize)]
pub struct ParameterView {
    parameter_name: &'static str,
    parameter_value: String,
    description: &'static str,
    /// `user` when the group sets it, else `engine-default`.
    source: &'static str,
    data_type: &'static str,
    allowed_values: String,
    is_modifiable: bool,
    minimum_engine_version: &'static str,
    change_type: &'static str,
}

fn parameter_view(parameter: &Parameter, set: Option<&String>, family: &str) -> ParameterView {
    ParameterView {
        parameter_name: parameter.name,
        parameter_value: set.cloned().unwrap_or_else(|| parameter.default.to_owned()),
        description: parameter.description,
        source: if set.is_some() { "user" } else { "engine-default" },
        data_type: parameter.allowed.data_type(),
        allowed_values: parameter.allowed.describe(),
        is_modifiable: true,
        minimum_engine_version: if family == catalogue::REDIS7 { "7.0" } else { "1.6" },
        change_type: parameter.change_type.as_str(),
    }
}

/// The group a cluster or replication group names, which must exist and be of its engine's family.
pub async fn for_engine(state: &AppState, name: &str, engine: Engine) -> ApiResult<ParameterGroup> {
    let group = found(state, name).await?;
    let family = catalogue::family(engine);
    if group.cache_parameter_group_family != family {
        return Err(ApiError::InvalidParameterCombination(format!(
            "Cache parameter group {name} is of family {}; engine {engine} takes a group of family {family}.",
            group.cache_parameter_group_family
        )));
    }
    Ok(group)
}

async fn found(state: &AppState, name: &str) -> ApiResult<ParameterGroup> {
    state.store.parameter_group(name).await?.ok_or_else(|| ApiError::CacheParameterGroupNotFound(name.to_owned()))
}

fn check_modifiable(name: &str) -> ApiResult<()> {
    if catalogue::is_default_group(name) {
        return Err(ApiError::InvalidCacheParameterGroupState(format!(
            "The default cache parameter group {name} cannot be modified or deleted; create a group of its family \
             and modify that."
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateParameterGroup {
    cache_parameter_group_name: String,
    cache_parameter_group_family: String,
    description: String,
}

pub async fn create(
    _: Writer,
    State(state): State<AppState>,
    Json(input): Json<CreateParameterGroup>,
) -> ApiResult<(StatusCode, axum::Json<ParameterGroupView>)> {
    let name = input.cache_parameter_group_name.to_ascii_lowercase();
    validate::identifier("cache_parameter_group_name", &name, MAX_NAME).map_err(ApiError::InvalidParameterValue)?;
    let family = input.cache_parameter_group_family.to_ascii_lowercase();
    if catalogue::parameters(&family).is_none() {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid cache_parameter_group_family '{family}': expected one of {}.",
            catalogue::FAMILIES.join(", ")
        )));
    }
    state.store.insert_parameter_group(&name, &family, &input.description).await.map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::CacheParameterGroupAlreadyExists(name.clone()),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, axum::Json(view(found(&state, &name).await?))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    max_records: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ParameterGroupList {
    cache_parameter_groups: Vec<ParameterGroupView>,
    marker: Option<String>,
}

pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<ParameterGroupList>> {
    let size = settings::page_size(query.max_records)?;
    let rows = state.store.parameter_groups(query.marker.as_deref(), size + 1).await?;
    let (rows, marker) = settings::paginate(rows, size, |g| g.cache_parameter_group_name.clone());
    Ok(axum::Json(ParameterGroupList { cache_parameter_groups: rows.into_iter().map(view).collect(), marker }))
}

pub async fn describe(
    _: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<ParameterGroupView>> {
    Ok(axum::Json(view(found(&state, &name.to_ascii_lowercase()).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParametersQuery {
    /// `user` or `engine-default`: only the parameters with that source.
    source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ParameterList {
    cache_parameter_group_name: String,
    parameters: Vec<ParameterView>,
}

pub async fn parameters(
    _: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ParametersQuery>,
) -> ApiResult<axum::Json<ParameterList>> {
    let group = found(&state, &name.to_ascii_lowercase()).await?;
    if let Some(wanted) = query.source.as_deref()
        && !["user", "engine-default"].contains(&wanted)
    {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid source '{wanted}': expected user or engine-default."
        )));
    }
    let family = group.cache_parameter_group_family.as_str();
    let parameters = catalogue::parameters(family)
        .unwrap_or_default()
        .iter()
        .map(|p| parameter_view(p, group.values.get(p.name), family))
        .filter(|p| query.source.as_deref().is_none_or(|wanted| p.source == wanted))
        .collect();
    Ok(axum::Json(ParameterList { cache_parameter_group_name: group.cache_parameter_group_name, parameters }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterNameValue {
    parameter_name: String,
    parameter_value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyParameterGroup {
    parameter_name_values: Vec<ParameterNameValue>,
}

/// Each change checked against the family; the values as stored.
fn check_changes(family: &str, changes: Vec<ParameterNameValue>) -> ApiResult<Vec<(String, String)>> {
    if changes.is_empty() || changes.len() > MAX_CHANGES {
        return Err(ApiError::InvalidParameterValue(format!(
            "parameter_name_values must hold from 1 to {MAX_CHANGES} parameters, not {}.",
            changes.len()
        )));
    }
    let mut checked: Vec<(String, String)> = Vec::new();
    for change in changes {
        let name = change.parameter_name.to_ascii_lowercase();
        let parameter = known(family, &name)?;
        let Some(value) = change.parameter_value else {
            return Err(ApiError::InvalidParameterValue(format!("Parameter {name} needs a parameter_value.")));
        };
        let value = parameter.check(&value).map_err(ApiError::InvalidParameterValue)?;
        if checked.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::InvalidParameterCombination(format!("Parameter {name} is named twice.")));
        }
        checked.push((name, value));
    }
    Ok(checked)
}

fn known(family: &str, name: &str) -> ApiResult<&'static Parameter> {
    catalogue::find(family, name).ok_or_else(|| {
        ApiError::InvalidParameterValue(format!(
            "Parameter {name} is not one of family {family}'s (see GET /v1/engine-default-parameters?family={family})."
        ))
    })
}

pub async fn modify(
    _: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(input): Json<ModifyParameterGroup>,
) -> ApiResult<axum::Json<ParameterGroupView>> {
    let name = name.to_ascii_lowercase();
    let group = found(&state, &name).await?;
    check_modifiable(&name)?;
    let changes = check_changes(&group.cache_parameter_group_family, input.parameter_name_values)?;
    state.store.set_parameter_values(&name, &changes).await?;
    let said: Vec<String> = changes.iter().map(|(n, v)| format!("{n}={v}")).collect();
    changed(&state, &group, &format!("Cache parameter group {name} modified: {}", said.join(", "))).await?;
    Ok(axum::Json(view(found(&state, &name).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetParameterGroup {
    reset_all_parameters: Option<bool>,
    parameter_name_values: Option<Vec<ParameterNameValue>>,
}

pub async fn reset(
    _: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(input): Json<ResetParameterGroup>,
) -> ApiResult<axum::Json<ParameterGroupView>> {
    let name = name.to_ascii_lowercase();
    let group = found(&state, &name).await?;
    check_modifiable(&name)?;
    let family = group.cache_parameter_group_family.as_str();
    let names = match (input.reset_all_parameters.unwrap_or(false), input.parameter_name_values) {
        (true, Some(_)) => {
            return Err(ApiError::InvalidParameterCombination(
                "Give reset_all_parameters: true or parameter_name_values, not both.".into(),
            ));
        }
        (true, None) => None,
        (false, Some(named)) if !named.is_empty() => Some(
            named
                .into_iter()
                .map(|p| known(family, &p.parameter_name.to_ascii_lowercase()).map(|p| p.name.to_owned()))
                .collect::<ApiResult<Vec<String>>>()?,
        ),
        (false, _) => {
            return Err(ApiError::InvalidParameterValue(
                "Name the parameters to reset in parameter_name_values, or give reset_all_parameters: true.".into(),
            ));
        }
    };
    state.store.reset_parameter_values(&name, names.as_deref()).await?;
    let what = names.map_or("all parameters".to_owned(), |n| n.join(", "));
    changed(&state, &group, &format!("Cache parameter group {name} reset to the defaults: {what}")).await?;
    Ok(axum::Json(view(found(&state, &name).await?)))
}

/// Records the change on the group's users (their describe shows what is
/// pending) and wakes the worker that applies immediate parameters.
async fn changed(state: &AppState, group: &ParameterGroup, message: &str) -> ApiResult<()> {
    for user in state.store.parameter_group_users(&group.cache_parameter_group_name).await? {
        let kind =
            if state.store.group(&user).await?.is_some() { source::REPLICATION_GROUP } else { source::CACHE_CLUSTER };
        state.store.record_event(kind, &user, message).await?;
    }
    state.parameters.notify_one();
    Ok(())
}

pub async fn delete(
    _: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<ParameterGroupView>> {
    let name = name.to_ascii_lowercase();
    let group = found(&state, &name).await?;
    check_modifiable(&name)?;
    match state.store.delete_parameter_group(&name).await? {
        Ok(()) => Ok(axum::Json(view(group))),
        Err(DeleteRefused::NotFound) => Err(ApiError::CacheParameterGroupNotFound(name)),
        Err(DeleteRefused::InUse) => {
            let users = state.store.parameter_group_users(&name).await?;
            Err(ApiError::InvalidCacheParameterGroupState(format!(
                "Cache parameter group {name} is in use by {}; give them another group first.",
                users.join(", ")
            )))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsQuery {
    #[serde(alias = "family")]
    cache_parameter_group_family: String,
}

#[derive(Debug, Serialize)]
pub struct EngineDefaults {
    cache_parameter_group_family: String,
    parameters: Vec<ParameterView>,
}

#[derive(Debug, Serialize)]
pub struct EngineDefaultsView {
    engine_defaults: EngineDefaults,
}

pub async fn engine_defaults(
    _: Reader,
    Query(query): Query<DefaultsQuery>,
) -> ApiResult<axum::Json<EngineDefaultsView>> {
    let family = query.cache_parameter_group_family.to_ascii_lowercase();
    let Some(parameters) = catalogue::parameters(&family) else {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid cache_parameter_group_family '{family}': expected one of {}.",
            catalogue::FAMILIES.join(", ")
        )));
    };
    let parameters = parameters.iter().map(|p| parameter_view(p, None, &family)).collect();
    Ok(axum::Json(EngineDefaultsView {
        engine_defaults: EngineDefaults { cache_parameter_group_family: family, parameters },
    }))
}
