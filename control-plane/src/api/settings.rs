//! The node settings a cache cluster and a replication group share, checked
//! once for both, with ElastiCache's defaults filled in.

use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use crate::catalogue;
use crate::model::{Engine, NodeSettings, Tag};
use crate::validate;

pub const DEFAULT_NODE_TYPE: &str = "cache.t3.micro";
pub const DEFAULT_MAINTENANCE_WINDOW: &str = "sun:05:00-sun:06:00";
pub const DEFAULT_SNAPSHOT_WINDOW: &str = "03:00-04:00";

/// Page sizes, as ElastiCache's `MaxRecords`.
pub const MIN_RECORDS: i64 = 20;
pub const MAX_RECORDS: i64 = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Node settings as sent; every field optional.
#[derive(Debug, Default, Clone)]
pub struct NodeSettingsInput {
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub cache_node_type: Option<String>,
    pub port: Option<i64>,
    pub auth_token: Option<String>,
    pub preferred_maintenance_window: Option<String>,
    pub snapshot_retention_limit: Option<i64>,
    pub snapshot_window: Option<String>,
    pub tags: Option<Vec<TagInput>>,
    pub cache_parameter_group_name: Option<String>,
}

fn invalid(message: String) -> ApiError {
    ApiError::InvalidParameterValue(message)
}

/// The node settings of a create request whose fields carry their names
/// (the create inputs list them, as `deny_unknown_fields` cannot see
/// through `flatten`).
macro_rules! node_settings_input {
    ($input:expr) => {
        $crate::api::settings::NodeSettingsInput {
            engine: $input.engine,
            engine_version: $input.engine_version,
            cache_node_type: $input.cache_node_type,
            port: $input.port,
            auth_token: $input.auth_token,
            preferred_maintenance_window: $input.preferred_maintenance_window,
            snapshot_retention_limit: $input.snapshot_retention_limit,
            snapshot_window: $input.snapshot_window,
            tags: $input.tags,
            cache_parameter_group_name: $input.cache_parameter_group_name,
        }
    };
}
pub(crate) use node_settings_input;

impl NodeSettingsInput {
    /// Checked, with ElastiCache's defaults for what is missing.
    pub fn check(self) -> ApiResult<NodeSettings> {
        let engine = match self.engine.as_deref() {
            None => Engine::Redis,
            Some(name) => Engine::parse(name)
                .ok_or_else(|| invalid(format!("Invalid engine '{name}': expected redis or memcached.")))?,
        };
        if engine == Engine::Memcached {
            self.refuse_redis_only()?;
        }
        let engine_version = match self.engine_version {
            Some(version) => version,
            None => catalogue::default_engine_version(engine).unwrap_or("7.0").to_owned(),
        };
        if !catalogue::is_offered(engine, &engine_version) {
            return Err(invalid(format!(
                "Engine version {engine_version} of {engine} is not offered (see GET /v1/engine-versions)."
            )));
        }
        let cache_node_type = self.cache_node_type.unwrap_or_else(|| DEFAULT_NODE_TYPE.into());
        check_node_type(&cache_node_type)?;
        let port = self.port.unwrap_or(engine.default_port());
        validate::port(port).map_err(invalid)?;
        if let Some(token) = &self.auth_token {
            validate::auth_token(token).map_err(invalid)?;
        }
        let preferred_maintenance_window =
            self.preferred_maintenance_window.unwrap_or_else(|| DEFAULT_MAINTENANCE_WINDOW.into()).to_ascii_lowercase();
        validate::maintenance_window(&preferred_maintenance_window).map_err(invalid)?;
        let snapshot_retention_limit = self.snapshot_retention_limit.unwrap_or(0);
        validate::snapshot_retention_limit(snapshot_retention_limit).map_err(invalid)?;
        let snapshot_window = self.snapshot_window.unwrap_or_else(|| DEFAULT_SNAPSHOT_WINDOW.into());
        validate::snapshot_window(&snapshot_window).map_err(invalid)?;
        validate::windows_apart(&preferred_maintenance_window, &snapshot_window).map_err(invalid)?;
        let tags = check_tags(self.tags.unwrap_or_default())?;
        let cache_parameter_group_name = match self.cache_parameter_group_name {
            Some(name) => name.to_ascii_lowercase(),
            None => crate::parameters::catalogue::default_group(crate::parameters::catalogue::family(engine)),
        };
        Ok(NodeSettings {
            engine,
            engine_version,
            cache_node_type,
            port,
            auth_token: self.auth_token,
            preferred_maintenance_window,
            snapshot_retention_limit,
            snapshot_window,
            tags,
            cache_parameter_group_name,
        })
    }
}

impl NodeSettingsInput {
    /// Memcached has no password, no persistence and so no snapshots.
    fn refuse_redis_only(&self) -> ApiResult<()> {
        let snapshots = self.snapshot_retention_limit.is_some_and(|days| days > 0) || self.snapshot_window.is_some();
        let refused = if self.auth_token.is_some() {
            "auth_token"
        } else if snapshots {
            "snapshot_retention_limit and snapshot_window"
        } else {
            return Ok(());
        };
        Err(memcached_refuses(refused))
    }
}

/// ElastiCache's refusal of a Redis-only parameter on a memcached cluster.
pub fn memcached_refuses(what: &str) -> ApiError {
    ApiError::InvalidParameterCombination(format!("{what}: not supported for engine memcached (a redis feature)."))
}

pub fn check_node_type(name: &str) -> ApiResult<()> {
    match catalogue::node_type(name) {
        Some(_) => Ok(()),
        None => Err(invalid(format!("Invalid cache_node_type '{name}' (see GET /v1/cache-node-types)."))),
    }
}

pub fn check_tags(input: Vec<TagInput>) -> ApiResult<Vec<Tag>> {
    let pairs: Vec<(String, String)> = input.into_iter().map(|t| (t.key, t.value)).collect();
    validate::tags(&pairs).map_err(invalid)?;
    Ok(pairs.into_iter().map(|(key, value)| Tag { key, value }).collect())
}

/// Optional window/retention changes of a modify, checked (with `current`,
/// the settings they change).
pub fn check_optional_windows(
    current: &NodeSettings,
    maintenance: Option<String>,
    retention: Option<i64>,
    snapshot: Option<&str>,
) -> ApiResult<Option<String>> {
    let maintenance = maintenance.map(|w| w.to_ascii_lowercase());
    if let Some(w) = &maintenance {
        validate::maintenance_window(w).map_err(invalid)?;
    }
    if let Some(r) = retention {
        validate::snapshot_retention_limit(r).map_err(invalid)?;
    }
    if let Some(w) = snapshot {
        validate::snapshot_window(w).map_err(invalid)?;
    }
    if maintenance.is_some() || snapshot.is_some() {
        let m = maintenance.as_deref().unwrap_or(&current.preferred_maintenance_window);
        validate::windows_apart(m, snapshot.unwrap_or(&current.snapshot_window)).map_err(invalid)?;
    }
    Ok(maintenance)
}

/// `max_records` → a page size, and one more row to learn whether a next page exists.
pub fn page_size(max_records: Option<i64>) -> ApiResult<i64> {
    let size = max_records.unwrap_or(MAX_RECORDS);
    if !(MIN_RECORDS..=MAX_RECORDS).contains(&size) {
        return Err(invalid(format!("Invalid max_records {size}: it must be {MIN_RECORDS}-{MAX_RECORDS}.")));
    }
    Ok(size)
}

/// Trims a page fetched with one extra row; the marker is the last key shown.
pub fn paginate<T>(mut rows: Vec<T>, size: i64, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let size = size as usize;
    if rows.len() > size {
        rows.truncate(size);
        let marker = rows.last().map(&key);
        (rows, marker)
    } else {
        (rows, None)
    }
}
