//! /v1/events: what happened to which resource, oldest first.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Query, Reader};
use super::settings;
use crate::clock::{now_millis, parse_rfc3339, to_rfc3339};
use crate::model::source;
use crate::store::EventFilter;

/// ElastiCache's default window: the last hour; its longest: 14 days.
const DEFAULT_DURATION_MINUTES: i64 = 60;
const MAX_DURATION_MINUTES: i64 = 14 * 24 * 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    source_type: Option<String>,
    source_identifier: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    duration: Option<i64>,
    max_records: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EventView {
    source_identifier: String,
    source_type: String,
    message: String,
    date: String,
}

#[derive(Debug, Serialize)]
pub struct EventList {
    events: Vec<EventView>,
    marker: Option<String>,
}

fn time(field: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            parse_rfc3339(&v).ok_or_else(|| {
                ApiError::InvalidParameterValue(format!(
                    "Invalid {field} '{v}': expected RFC 3339 in UTC, e.g. 2026-11-23T10:00:00Z."
                ))
            })
        })
        .transpose()
}

pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<axum::Json<EventList>> {
    if let Some(kind) = &query.source_type
        && ![source::CACHE_CLUSTER, source::REPLICATION_GROUP, source::SNAPSHOT].contains(&kind.as_str())
    {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid source_type '{kind}': expected cache-cluster, replication-group or snapshot."
        )));
    }
    if let Some(minutes) = query.duration
        && !(1..=MAX_DURATION_MINUTES).contains(&minutes)
    {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid duration {minutes}: it must be 1-{MAX_DURATION_MINUTES} minutes."
        )));
    }
    let start = time("start_time", query.start_time)?;
    let end = time("end_time", query.end_time)?;
    let minutes = query.duration.unwrap_or(DEFAULT_DURATION_MINUTES) * 60_000;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) if query.duration.is_some() => (s, s + minutes),
        (Some(s), None) => (s, now_millis()),
        (None, Some(e)) => (e - minutes, e),
        (None, None) => {
            let now = now_millis();
            (now - minutes, now)
        }
    };
    if start > end {
        return Err(ApiError::InvalidParameterCombination("start_time is after end_time.".into()));
    }
    let after_id = match &query.marker {
        Some(m) => m.parse().map_err(|_| ApiError::InvalidParameterValue(format!("Invalid marker '{m}'.")))?,
        None => 0,
    };
    let size = settings::page_size(query.max_records)?;
    let filter = EventFilter {
        source_type: query.source_type,
        source_identifier: query.source_identifier.map(|s| s.to_ascii_lowercase()),
        start,
        end,
        after_id,
        limit: size + 1,
    };
    let rows = state.store.events(&filter).await?;
    let (rows, marker) = settings::paginate(rows, size, |e| e.id.to_string());
    let events = rows
        .into_iter()
        .map(|e| EventView {
            date: to_rfc3339(e.date),
            source_identifier: e.source_identifier,
            source_type: e.source_type,
            message: e.message,
        })
        .collect();
    Ok(axum::Json(EventList { events, marker }))
}
