//! A memcached cluster on a runtime, as a cluster client sees it: Auto
//! Discovery from the configuration endpoint, keys hashed across the nodes
//! found (pymemcache's HashClient, tests/clients/memcached_cluster.py), a
//! node added and one removed, each bumping the discovery version.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ControlPlane;
use crate::scenarios::{Inventory, PROVISION};

/// What the cluster client found and did.
#[derive(Debug)]
pub struct Discovered {
    pub version: u64,
    pub nodes: Vec<String>,
    /// Of the 200 keys written, how many each node holds.
    pub held: Vec<u64>,
}

/// Whether pymemcache is there (under CI it must be: scripts/test installs it).
pub fn pymemcache_installed() -> bool {
    let found = Command::new("python3").args(["-c", "import pymemcache"]).output().is_ok_and(|o| o.status.success());
    assert!(found || std::env::var("CI").is_err(), "pymemcache is required under CI (scripts/test installs it)");
    if !found {
        eprintln!("pymemcache is not installed: skipping (scripts/test installs it)");
    }
    found
}

/// Runs the cluster client against `endpoint` (`host:port`), writing keys tagged `tag`.
pub fn use_cluster(endpoint: &str, tag: &str) -> Discovered {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/memcached_cluster.py");
    let out = Command::new("python3").arg(script).arg(endpoint).arg(tag).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "memcached_cluster.py failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let found: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let nodes: Vec<String> =
        found["nodes"].as_array().expect("nodes").iter().map(|n| n.as_str().unwrap_or("").to_owned()).collect();
    let held = nodes.iter().map(|n| found["held"][n].as_u64().unwrap_or(0)).collect();
    Discovered { version: found["version"].as_u64().expect("version"), nodes, held }
}

fn endpoint(value: &Value) -> String {
    format!("{}:{}", value["address"].as_str().expect("address"), value["port"].as_u64().expect("port"))
}

/// Every node's endpoint, `host:port`, in node order.
pub fn node_endpoints(cluster: &Value) -> Vec<String> {
    cluster["cache_nodes"].as_array().expect("cache_nodes").iter().map(|n| endpoint(&n["endpoint"])).collect()
}

fn node_ids(cluster: &Value) -> Vec<String> {
    let nodes = cluster["cache_nodes"].as_array().expect("cache_nodes");
    nodes.iter().map(|n| n["cache_node_id"].as_str().unwrap_or("").to_owned()).collect()
}

/// One memcached text request; the reply up to `END\r\n` or the one line.
pub fn talk(endpoint: &str, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(endpoint).unwrap_or_else(|e| panic!("connecting to {endpoint}: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    conn.write_all(request).expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !(reply.ends_with(b"END\r\n") || (reply.ends_with(b"\r\n") && !reply.starts_with(b"CONFIG"))) {
        let n = conn.read(&mut buf).expect("read");
        assert!(n > 0, "{endpoint} closed the connection after {:?}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// The discovery version a node answers with.
fn version_at(endpoint: &str) -> Option<u64> {
    let reply = talk(endpoint, b"config get cluster\r\n");
    reply.split("\r\n").nth(1)?.lines().next()?.parse().ok()
}

/// `stats`' limit_maxbytes of a node.
fn limit_maxbytes(endpoint: &str) -> u64 {
    let stats = talk(endpoint, b"stats\r\n");
    let value = stats.lines().find_map(|l| l.strip_prefix("STAT limit_maxbytes "));
    value.and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("no limit_maxbytes in {stats}"))
}

/// A node type's maxmemory, as the whole megabytes `-m` takes.
fn memcached_limit(api: &crate::Api, node_type: &str) -> u64 {
    let types = api.get("/v1/cache-node-types").body;
    let found = types["cache_node_types"].as_array().expect("types").iter().find(|t| t["cache_node_type"] == node_type);
    let maxmemory = found.and_then(|t| t["maxmemory_bytes"].as_u64()).expect("maxmemory_bytes");
    maxmemory >> 20 << 20
}

fn check(found: &Discovered, version: u64, cluster: &Value) {
    assert_eq!(found.version, version, "{found:?}");
    assert_eq!(found.nodes, node_endpoints(cluster), "discovery lists every node, as describe does");
    assert!(found.held.iter().all(|&keys| keys > 0), "every node holds some of the keys: {found:?}");
    assert_eq!(found.held.iter().sum::<u64>(), 200, "each key is on one node: {found:?}");
}

/// Create 3 nodes, add one, remove one, restart one, delete: the client
/// finds every membership through discovery and its keys read back.
pub fn memcached_cluster(cp: &ControlPlane, prefix: &str, inventory: &dyn Inventory) {
    if !pymemcache_installed() {
        return;
    }
    let api = cp.api();
    let id = format!("{prefix}-mc");
    let path = format!("/v1/cache-clusters/{id}");
    let created =
        api.post("/v1/cache-clusters", &json!({"cache_cluster_id": id, "engine": "memcached", "num_cache_nodes": 3}));
    assert_eq!(created.status, 201, "{}", created.body);
    let cluster = api.wait_status(&path, "available", PROVISION);
    assert_eq!((cluster["engine"].as_str(), cluster["engine_version"].as_str()), (Some("memcached"), Some("1.6")));
    let config = endpoint(&cluster["configuration_endpoint"]);
    check(&use_cluster(&config, "three"), 1, &cluster);
    assert_eq!(inventory.held(), inventory.expected(3, 1));

    // What a memcached cluster refuses once it runs.
    let refused = |body: Value, code: &str| {
        let reply = api.patch(&path, &body);
        assert_eq!((reply.status, reply.code()), (400, code), "{body}: {}", reply.body);
    };
    refused(json!({"num_cache_nodes": 2, "apply_immediately": true}), "InvalidParameterCombination");
    refused(json!({"num_cache_nodes": 2, "cache_node_ids_to_remove": ["0009"]}), "InvalidParameterValue");
    refused(json!({"num_cache_nodes": 4, "cache_node_ids_to_remove": ["0001"]}), "InvalidParameterCombination");
    refused(json!({"snapshot_retention_limit": 1}), "InvalidParameterCombination");
    let snapshot = api.post("/v1/snapshots", &json!({"snapshot_name": format!("{id}-s"), "cache_cluster_id": id}));
    assert_eq!((snapshot.status, snapshot.code()), (400, "InvalidParameterCombination"), "{}", snapshot.body);

    // Held for the maintenance window, then applied at once when asked.
    let held = api.patch(&path, &json!({"num_cache_nodes": 4}));
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!((held.body["status"].as_str(), held.body["num_cache_nodes"].as_i64()), (Some("available"), Some(3)));
    assert_eq!(held.body["pending_modified_values"], json!({"num_cache_nodes": 4}));
    let grown = api.patch(&path, &json!({"apply_immediately": true}));
    assert_eq!((grown.status, grown.body["status"].as_str()), (202, Some("modifying")), "{}", grown.body);
    let cluster = api.wait_status(&path, "available", PROVISION);
    assert_eq!(node_ids(&cluster), ["0001", "0002", "0003", "0004"]);
    assert_eq!(cluster["pending_modified_values"], json!({}));
    check(&use_cluster(&config, "four"), 2, &cluster);
    assert_eq!(inventory.held(), inventory.expected(4, 1));

    let shrunk = api
        .patch(&path, &json!({"num_cache_nodes": 3, "cache_node_ids_to_remove": ["0002"], "apply_immediately": true}));
    assert_eq!(shrunk.status, 202, "{}", shrunk.body);
    let cluster = api.wait_status(&path, "available", PROVISION);
    assert_eq!(node_ids(&cluster), ["0001", "0003", "0004"]);
    assert_eq!(cluster["num_cache_nodes"], 3);
    check(&use_cluster(&config, "three-again"), 3, &cluster);
    assert_eq!(inventory.held(), inventory.expected(3, 1));

    // A node that forgot the membership (as a restart makes it) is told it again by the monitor.
    let forgetful = node_endpoints(&cluster)[1].clone();
    let stale = "1\nlost|127.0.0.1|1\n";
    let said = talk(&forgetful, format!("config set cluster 0 {}\r\n{stale}\r\n", stale.len()).as_bytes());
    assert_eq!(said, "STORED\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while version_at(&forgetful) != Some(3) {
        assert!(Instant::now() < deadline, "the monitor did not restore {forgetful}'s membership");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A rebooted node comes back empty, with the membership.
    let rebooted = api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0003"]}));
    assert_eq!(rebooted.status, 202, "{}", rebooted.body);
    let cluster = api.wait_status(&path, "available", PROVISION);
    assert_eq!(version_at(&node_endpoints(&cluster)[1]), Some(3));
    check(&use_cluster(&node_endpoints(&cluster)[1], "rebooted"), 3, &cluster);

    // The node type is the nodes' memory limit, as maxmemory is for redis; a new one applies live.
    assert_eq!(limit_maxbytes(&node_endpoints(&cluster)[0]), memcached_limit(&api, "cache.t3.micro"));
    let resized = api.patch(&path, &json!({"cache_node_type": "cache.t3.small", "apply_immediately": true}));
    assert_eq!(resized.status, 202, "{}", resized.body);
    let cluster = api.wait_status(&path, "available", PROVISION);
    assert_eq!(cluster["cache_node_type"], "cache.t3.small");
    for node in node_endpoints(&cluster) {
        assert_eq!(limit_maxbytes(&node), memcached_limit(&api, "cache.t3.small"), "{node}");
    }

    let events = api.get(&format!("/v1/events?source_identifier={id}")).body.to_string();
    for said in ["Added cache node(s) 0004", "Removed cache node(s) 0002", "node 0003 restarted empty"] {
        assert!(events.contains(said), "{said}: {events}");
    }

    let deleting = api.delete(&path);
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    api.wait_gone(&path, PROVISION);
    assert_eq!(inventory.held(), inventory.expected(0, 0));
}
