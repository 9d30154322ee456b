//! ferrocache's control plane: a REST API that provisions cache clusters and
//! replication groups as data-node containers (or local processes) and keeps
//! them converged.
//!
//! Layout, top to bottom; each layer only calls the one below it:
//! - `config`: flags with `FERRO_*` environment fallbacks.
//! - `api/`: the axum router, one module per resource; handlers validate input,
//!   write desired state through `store`, wake the reconciler and answer at once.
//! - `auth`: JWT bearer tokens (HS256 pinned, `exp` required) and scope extractors.
//! - `validate`: ElastiCache's rules for identifiers, tokens, windows and ports.
//! - `catalogue`: node types and engine versions, and what they map to.
//! - `model`: the records the store keeps (clusters, nodes, groups, events).
//! - `store/`: SQLite through sqlx; the only place with SQL.
//! - `backup/`: snapshot files, the worker that takes and copies them, restores.
//! - `reconciler/`: the only code that changes the world: moves each resource
//!   from its recorded status towards `available` (or gone) through a runtime.
//! - `maintenance`: applies pending modifications in maintenance windows.
//! - `parameters/`: what parameter groups can set, and the worker that sets
//!   immediate changes on running nodes.
//! - `monitor/`: health checks of every node; failover when a
//!   primary stops answering (or on request), fencing of a returning one.
//! - `runtime/`: `NodeRuntime` and its drivers, `docker` (bollard) and `process`.
//! - `sentinel/`: a Sentinel-compatible port reporting each group's primary.
//! - `node_client`: the few Redis commands the control plane sends to nodes;
//!   `memcached_client` the memcached ones.
//! - `auto_discovery`: a memcached cluster's membership, as every node
//!   answers it to `config get cluster`, written to the nodes.
//! - `worker`: the one shape of the background loops (a step, a wait, a
//!   shutdown that finishes the step in flight).
//! - `clock`: Unix milliseconds and RFC 3339 timestamps.
//! - `repeats`: a failure retried every second is said once, not every time.

pub mod api;
pub mod auth;
pub mod auto_discovery;
pub mod backup;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod maintenance;
pub mod memcached_client;
pub mod model;
pub mod monitor;
pub mod node_client;
pub mod parameters;
pub mod reconciler;
pub mod repeats;
pub mod runtime;
pub mod sentinel;
pub mod store;
pub mod validate;
pub mod worker;
