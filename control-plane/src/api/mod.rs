//! The REST API: one router module per resource, merged here. Handlers are
//! thin: extract (auth, then input), call the store, wake the reconciler, map.

mod cache_clusters;
mod catalogue;
mod error;
mod events;
mod extract;
mod membership;
mod meta;
mod parameter_groups;
mod replica_count;
mod replication_groups;
pub mod request;
mod settings;
mod snapshot_transfers;
mod snapshots;
mod tokens;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::routing::{MethodFilter, on};
use tokio::sync::Notify;

pub use error::{ApiError, ApiResult};

use crate::auth::Authenticator;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Authenticator>,
    /// Tells the reconciler that desired state changed.
    pub reconcile: Arc<Notify>,
    /// Where snapshot files live.
    pub snapshots: Arc<crate::backup::SnapshotFiles>,
    /// Tells the backup worker a snapshot waits to be written.
    pub backups: Arc<Notify>,
    /// Tells the parameter worker a parameter group changed.
    pub parameters: Arc<Notify>,
}

/// The router with every route, ready to serve.
pub fn app(state: AppState) -> Router {
    routes()
        .router
        // After every route: axum gives the fallback only to routes already added.
        .method_not_allowed_fallback(|method: Method| async move { ApiError::MethodNotAllowed(method.to_string()) })
        .layer(axum::extract::DefaultBodyLimit::max(request::BODY_LIMIT))
        .layer(axum::middleware::from_fn(request::around))
        .with_state(state)
}

/// `(method, path)` of every route the router serves, in openapi.yaml's spelling.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes().served
}

fn routes() -> Routes {
    Routes::default()
        .add("GET", "/healthz", meta::healthz)
        .add("GET", "/openapi.yaml", meta::openapi)
        .add("GET", "/v1/cache-clusters", cache_clusters::list)
        .add("POST", "/v1/cache-clusters", cache_clusters::create)
        .add("GET", "/v1/cache-clusters/{cache_cluster_id}", cache_clusters::describe)
        .add("PATCH", "/v1/cache-clusters/{cache_cluster_id}", cache_clusters::modify)
        .add("DELETE", "/v1/cache-clusters/{cache_cluster_id}", cache_clusters::delete)
        .add("POST", "/v1/cache-clusters/{cache_cluster_id}/reboot", cache_clusters::reboot)
        .add("GET", "/v1/replication-groups", replication_groups::list)
        .add("POST", "/v1/replication-groups", replication_groups::create)
        .add("GET", "/v1/replication-groups/{replication_group_id}", replication_groups::describe)
        .add("PATCH", "/v1/replication-groups/{replication_group_id}", replication_groups::modify)
        .add("DELETE", "/v1/replication-groups/{replication_group_id}", replication_groups::delete)
        .add("POST", "/v1/replication-groups/{replication_group_id}/test-failover", replication_groups::test_failover)
        .add("POST", "/v1/replication-groups/{replication_group_id}/increase-replica-count", replica_count::increase)
        .add("POST", "/v1/replication-groups/{replication_group_id}/decrease-replica-count", replica_count::decrease)
        .add("GET", "/v1/snapshots", snapshots::list)
        .add("POST", "/v1/snapshots", snapshots::create)
        .add("POST", "/v1/snapshots/import", snapshot_transfers::import)
        .add("GET", "/v1/snapshots/{snapshot_name}", snapshots::describe)
        .add("DELETE", "/v1/snapshots/{snapshot_name}", snapshots::delete)
        .add("POST", "/v1/snapshots/{snapshot_name}/copy", snapshots::copy)
        .add("GET", "/v1/snapshots/{snapshot_name}/download", snapshot_transfers::download)
        .add("GET", "/v1/parameter-groups", parameter_groups::list)
        .add("POST", "/v1/parameter-groups", parameter_groups::create)
        .add("GET", "/v1/parameter-groups/{cache_parameter_group_name}", parameter_groups::describe)
        .add("PATCH", "/v1/parameter-groups/{cache_parameter_group_name}", parameter_groups::modify)
        .add("DELETE", "/v1/parameter-groups/{cache_parameter_group_name}", parameter_groups::delete)
        .add("POST", "/v1/parameter-groups/{cache_parameter_group_name}/reset", parameter_groups::reset)
        .add("GET", "/v1/parameter-groups/{cache_parameter_group_name}/parameters", parameter_groups::parameters)
        .add("GET", "/v1/engine-default-parameters", parameter_groups::engine_defaults)
        .add("GET", "/v1/events", events::list)
        .add("POST", "/v1/tokens", tokens::create)
        .add("GET", "/v1/engine-versions", catalogue::engine_versions)
        .add("GET", "/v1/cache-node-types", catalogue::cache_node_types)
}

struct Routes {
    router: Router<AppState>,
    served: Vec<(&'static str, &'static str)>,
}

impl Default for Routes {
    fn default() -> Routes {
        let router =
            Router::new().fallback(|uri: Uri| async move { ApiError::UnknownOperation(uri.path().to_owned()) });
        Routes { router, served: Vec::new() }
    }
}

impl Routes {
    fn add<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: H,
    ) -> Routes {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PATCH" => MethodFilter::PATCH,
            "DELETE" => MethodFilter::DELETE,
            other => unreachable!("no route uses {other}"),
        };
        self.router = self.router.route(path, on(filter, handler));
        self.served.push((method, path));
        self
    }
}
