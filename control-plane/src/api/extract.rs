//! Extractors whose rejections are `ApiError`s, so a malformed body or query
//! looks like every other error, and bearer-token access by scope.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::{AuthError, Claims, Scope};

/// A JSON body; unknown fields are refused by the target type.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::InvalidParameterValue(source_text(&e))),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(ApiError::InvalidParameterValue(format!("The body is not valid JSON: {}", source_text(&e))))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::InvalidParameterValue(
                "Send the body as JSON with Content-Type: application/json.".into(),
            )),
            Err(other) if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::RequestEntityTooLarge)
            }
            Err(other) => Err(ApiError::InvalidParameterValue(other.body_text())),
        }
    }
}

/// Query parameters; unknown ones are refused by the target type.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::InvalidParameterValue(source_text(&e)))
            }
            Err(other) => Err(ApiError::InvalidParameterValue(other.body_text())),
        }
    }
}

/// serde's own words ("unknown field `x`, expected one of ..."), without axum's prefix.
fn source_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(inner) = deepest.source() {
        deepest = inner;
    }
    deepest.to_string()
}

fn authorize(parts: &Parts, state: &AppState, needed: Scope) -> Result<Claims, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::MissingAuthenticationToken)?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::InvalidToken("The Authorization header must be `Bearer <token>`.".into()))?;
    let claims = state.auth.verify(token).map_err(|e| match e {
        AuthError::Expired => ApiError::ExpiredToken,
        AuthError::Invalid => ApiError::InvalidToken(format!("Invalid token: {e}.")),
    })?;
    if !claims.allows(needed) {
        let name = match needed {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        };
        return Err(ApiError::AccessDenied(format!("This operation needs a token with the `{name}` scope.")));
    }
    Ok(claims)
}

macro_rules! access {
    ($(#[$doc:meta])* $name:ident, $scope:expr) => {
        $(#[$doc])*
        pub struct $name(#[allow(dead_code)] pub Claims);

        impl<S: Send + Sync> FromRequestParts<S> for $name
        where
            AppState: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                authorize(parts, &AppState::from_ref(state), $scope).map($name)
            }
        }
    };
}

access!(
    /// A token with at least the `read` scope.
    Reader,
    Scope::Read
);
access!(
    /// A token with at least the `write` scope.
    Writer,
    Scope::Write
);
access!(
    /// A token with the `admin` scope.
    Admin,
    Scope::Admin
);
