//! What every request goes through: an id (a UUID, answered in the
//! `x-request-id` header, in error bodies and in the request's log lines), a
//! time limit, and one log line when it ends.

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";

/// A request that takes longer gets `RequestTimeout`; the API answers at once
/// and leaves long work to the background, so this only cuts a stuck call.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);

/// The largest JSON body the API reads; a larger one gets 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served, for error bodies.
pub fn current_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Snapshot uploads and downloads: as large and as long as the file is,
/// bounded by the client's speed rather than by work of ours.
fn is_transfer(path: &str) -> bool {
    path == "/v1/snapshots/import" || (path.starts_with("/v1/snapshots/") && path.ends_with("/download"))
}

pub async fn around(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let transfer = is_transfer(&path);
    let span = tracing::info_span!("request", id = %id);
    let started = Instant::now();
    let served = CURRENT.scope(id.clone(), async move {
        // Refused before a byte of the body is read: a client announcing too
        // much learns at once instead of after sending it all.
        if !transfer && announced_length(&request).is_some_and(|length| length > BODY_LIMIT as u64) {
            return ApiError::RequestEntityTooLarge.into_response();
        }
        if transfer {
            return next.run(request).await;
        }
        match tokio::time::timeout(TIME_LIMIT, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::RequestTimeout.into_response(),
        }
    });
    let mut response = served.instrument(span.clone()).await;
    let status = response.status();
    span.in_scope(
        || tracing::info!(%method, path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "served"),
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

fn announced_length(request: &Request) -> Option<u64> {
    request.headers().get(axum::http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}
