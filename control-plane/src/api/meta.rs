//! Unauthenticated routes: liveness and the API description.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

pub async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
