//! The one error type of the API: ElastiCache's wire codes in
//! `{"error": {"code", "message"}}` with a REST status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("Cache cluster {0} already exists.")]
    CacheClusterAlreadyExists(String),
    #[error("Replication group {0} already exists.")]
    ReplicationGroupAlreadyExists(String),
    #[error("Cache cluster {0} not found.")]
    CacheClusterNotFound(String),
    #[error("Replication group {0} not found.")]
    ReplicationGroupNotFound(String),
    #[error("Cache cluster {0} is not in available state.")]
    InvalidCacheClusterState(String),
    #[error("Replication group {0} is not in available state.")]
    InvalidReplicationGroupState(String),
    #[error("Snapshot {0} not found.")]
    SnapshotNotFound(String),
    #[error("Snapshot {0} already exists.")]
    SnapshotAlreadyExists(String),
    #[error("Snapshot {0} is not in a state that allows this (it is being written, or it failed).")]
    InvalidSnapshotState(String),
    #[error("No more than {0} snapshots can be kept; delete some first.")]
    SnapshotQuotaExceeded(i64),
    #[error("Cache parameter group {0} not found.")]
    CacheParameterGroupNotFound(String),
    #[error("Cache parameter group {0} already exists.")]
    CacheParameterGroupAlreadyExists(String),
    #[error("{0}")]
    InvalidCacheParameterGroupState(String),
    #[error("Replication group {0} has a failover in progress.")]
    FailoverInProgress(String),
    #[error(
        "Missing `Authorization: Bearer <token>` header. With cachectl, set FERRO_TOKEN (or --token); the control plane wrote an admin token to admin-token in its data dir (./ferrocache-data/admin-token by default)."
    )]
    MissingAuthenticationToken,
    #[error("{0}")]
    InvalidToken(String),
    #[error(
        "The token has expired. Mint a new one with an admin token: `cachectl token create` (POST /v1/tokens); the admin token is admin-token in the control plane's data dir."
    )]
    ExpiredToken,
    #[error("{0}")]
    AccessDenied(String),
    #[error("No operation at {0}.")]
    UnknownOperation(String),
    #[error("Method {0} is not allowed here.")]
    MethodNotAllowed(String),
    #[error("No free host port is left for a new node.")]
    InsufficientCapacity,
    #[error("The request body is larger than {} bytes.", super::request::BODY_LIMIT)]
    RequestEntityTooLarge,
    #[error("The request took longer than {} s.", super::request::TIME_LIMIT.as_secs())]
    RequestTimeout,
    /// Logged where it happens; the client only learns that it did.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidParameterValue(_) | InvalidParameterCombination(_) => StatusCode::BAD_REQUEST,
            CacheClusterAlreadyExists(_) | ReplicationGroupAlreadyExists(_) | SnapshotAlreadyExists(_) => {
                StatusCode::CONFLICT
            }
            InvalidSnapshotState(_) => StatusCode::CONFLICT,
            CacheParameterGroupAlreadyExists(_) | InvalidCacheParameterGroupState(_) => StatusCode::CONFLICT,
            CacheParameterGroupNotFound(_) => StatusCode::NOT_FOUND,
            SnapshotNotFound(_) => StatusCode::NOT_FOUND,
            SnapshotQuotaExceeded(_) => StatusCode::BAD_REQUEST,
            InvalidCacheClusterState(_) | InvalidReplicationGroupState(_) | FailoverInProgress(_) => {
                StatusCode::CONFLICT
            }
            CacheClusterNotFound(_) | ReplicationGroupNotFound(_) | UnknownOperation(_) => StatusCode::NOT_FOUND,
            MissingAuthenticationToken | InvalidToken(_) | ExpiredToken => StatusCode::UNAUTHORIZED,
            AccessDenied(_) => StatusCode::FORBIDDEN,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            // ElastiCache answers it as a client fault (400): ask for fewer nodes.
            InsufficientCapacity => StatusCode::BAD_REQUEST,
            RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// ElastiCache's wire code, letter for letter.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidParameterValue(_) => "InvalidParameterValue",
            InvalidParameterCombination(_) => "InvalidParameterCombination",
            CacheClusterAlreadyExists(_) => "CacheClusterAlreadyExists",
            ReplicationGroupAlreadyExists(_) => "ReplicationGroupAlreadyExists",
            CacheClusterNotFound(_) => "CacheClusterNotFound",
            ReplicationGroupNotFound(_) => "ReplicationGroupNotFoundFault",
            InvalidCacheClusterState(_) => "InvalidCacheClusterState",
            InvalidReplicationGroupState(_) | FailoverInProgress(_) => "InvalidReplicationGroupState",
            SnapshotNotFound(_) => "SnapshotNotFoundFault",
            SnapshotAlreadyExists(_) => "SnapshotAlreadyExistsFault",
            InvalidSnapshotState(_) => "InvalidSnapshotState",
            SnapshotQuotaExceeded(_) => "SnapshotQuotaExceededFault",
            CacheParameterGroupNotFound(_) => "CacheParameterGroupNotFound",
            CacheParameterGroupAlreadyExists(_) => "CacheParameterGroupAlreadyExists",
            InvalidCacheParameterGroupState(_) => "InvalidCacheParameterGroupState",
            MissingAuthenticationToken => "MissingAuthenticationToken",
            InvalidToken(_) => "InvalidToken",
            ExpiredToken => "ExpiredToken",
            AccessDenied(_) => "AccessDenied",
            UnknownOperation(_) => "UnknownOperation",
            MethodNotAllowed(_) => "MethodNotAllowed",
            InsufficientCapacity => "InsufficientCacheClusterCapacity",
            RequestEntityTooLarge => "RequestEntityTooLarge",
            RequestTimeout => "RequestTimeout",
            Internal => "InternalFailure",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let Some(id) = super::request::current_id() {
            error["request_id"] = id.into();
        }
        let body = json!({ "error": error });
        (self.status(), axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::MemberClusterExists(id) => ApiError::CacheClusterAlreadyExists(id),
            StoreError::NoFreePort => ApiError::InsufficientCapacity,
            StoreError::PortTaken { port, by: Some(cluster) } => ApiError::InvalidParameterValue(format!(
                "Invalid port {port}: cache cluster {cluster} already has it; choose another or leave port out to get a free one."
            )),
            StoreError::PortTaken { port, by: None } => ApiError::InvalidParameterValue(format!(
                "Invalid port {port}: another program on this host is listening on it; choose another or leave port out to get a free one."
            )),
            other => {
                tracing::error!("store: {other}");
                ApiError::Internal
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
