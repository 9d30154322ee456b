//! Redis compatibility: the real binary, driven by the `redis` crate (RESP2
//! and RESP3), raw sockets for exact bytes, and redis-cli.

mod common;

mod blocking;
mod cli;
mod collections;
mod dump;
mod errors;
mod geo;
mod hyperloglog;
mod persistence;
mod protocol;
mod pubsub_tx;
mod redis_py;
mod replication;
mod script_locks;
mod scripting;
mod server;
mod slow_clients;
mod snapshots;
mod strings_keys;
