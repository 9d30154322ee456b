//! /v1/tokens: an admin mints tokens with scopes and an expiry.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Admin, Json};
use crate::auth::Scope;
use crate::clock::{now_millis, to_rfc3339};

const DEFAULT_TTL_SECS: i64 = 3600;
const MAX_TTL_SECS: i64 = 366 * 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    scopes: Vec<Scope>,
    subject: Option<String>,
    expires_in_seconds: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct TokenView {
    token: String,
    subject: String,
    scopes: Vec<Scope>,
    expires_at: String,
}

pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    Json(input): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<TokenView>)> {
    if input.scopes.is_empty() {
        return Err(ApiError::InvalidParameterValue("scopes must name at least one of read, write, admin.".into()));
    }
    let ttl = input.expires_in_seconds.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::InvalidParameterValue(format!(
            "Invalid expires_in_seconds {ttl}: it must be 1-{MAX_TTL_SECS}."
        )));
    }
    let subject = input.subject.unwrap_or_else(|| "token".into());
    let now = now_millis() / 1000;
    let token = state.auth.mint(&subject, input.scopes.clone(), now, ttl).map_err(|e| {
        tracing::error!("minting a token: {e}");
        ApiError::Internal
    })?;
    let view = TokenView { token, subject, scopes: input.scopes, expires_at: to_rfc3339((now + ttl) * 1000) };
    Ok((StatusCode::CREATED, axum::Json(view)))
}
