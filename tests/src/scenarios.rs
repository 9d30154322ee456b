//! What every runtime must do, run against each one: the runtime's tests
//! pass a way to count what it holds, so "nothing left behind" is checked
//! against the real thing (containers, networks and volumes, or processes).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{ControlPlane, DataDir, Runtime};

/// How long a provision may take in a test (generous: CI machines are slow).
pub const PROVISION: Duration = Duration::from_secs(90);

/// What a runtime holds for a test, by the test's name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held {
    pub nodes: usize,
    pub networks: usize,
    pub volumes: usize,
}

pub trait Inventory {
    /// What the runtime holds now.
    fn held(&self) -> Held;
    /// What it should hold for `nodes` nodes of `owners` clusters or groups.
    fn expected(&self, nodes: usize, owners: usize) -> Held;
}

const AUTH_TOKEN: &str = "s3cret-token-for-tests";

/// Every node endpoint of a cluster view.
fn endpoints(cluster: &Value) -> Vec<(String, u16)> {
    cluster["cache_nodes"]
        .as_array()
        .expect("cache_nodes")
        .iter()
        .map(|n| {
            let e = &n["endpoint"];
            (e["address"].as_str().expect("address").to_owned(), e["port"].as_u64().expect("port") as u16)
        })
        .collect()
}

/// PING, SET and GET with the `redis` crate against one node.
pub fn check_node(address: &str, port: u16, password: Option<&str>) {
    let url = match password {
        Some(p) => format!("redis://:{p}@{address}:{port}/"),
        None => format!("redis://{address}:{port}/"),
    };
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut con = client.get_connection().unwrap_or_else(|e| panic!("connecting to {address}:{port}: {e}"));
    let pong: String = redis::cmd("PING").query(&mut con).expect("PING");
    assert_eq!(pong, "PONG");
    let key = format!("k-{port}");
    let () = redis::cmd("SET").arg(&key).arg("ferrocache").query(&mut con).expect("SET");
    let value: String = redis::cmd("GET").arg(&key).query(&mut con).expect("GET");
    assert_eq!(value, "ferrocache");
    if password.is_some() {
        let anonymous = redis::Client::open(format!("redis://{address}:{port}/").as_str()).expect("url");
        let mut con = anonymous.get_connection().expect("connect");
        let refused = redis::cmd("GET").arg(&key).query::<String>(&mut con).expect_err("needs AUTH");
        assert!(refused.to_string().contains("NOAUTH"), "{refused}");
    }
}

pub fn connect(address: &str, port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://{address}:{port}/").as_str()).expect("redis url");
    client.get_connection().unwrap_or_else(|e| panic!("connecting to {address}:{port}: {e}"))
}

/// A write to the group's primary reaches every replica (WAIT counts them),
/// and the replicas refuse writes of their own.
pub fn check_replication(api: &crate::Api, group_id: &str, replicas: i64) {
    let group = api.get(&format!("/v1/replication-groups/{group_id}")).body;
    let members = group["node_groups"][0]["node_group_members"].as_array().expect("members").clone();
    let endpoint = |m: &Value| {
        let e = &m["read_endpoint"];
        (e["address"].as_str().expect("address").to_owned(), e["port"].as_u64().expect("port") as u16)
    };
    let primary = members.iter().find(|m| m["current_role"] == "primary").expect("a primary");
    let (address, port) = endpoint(primary);
    check_node(&address, port, None);
    let mut con = connect(&address, port);
    let () = redis::cmd("SET").arg("replicated").arg(group_id).query(&mut con).expect("SET on the primary");
    let acked: i64 = redis::cmd("WAIT").arg(replicas).arg(10_000).query(&mut con).expect("WAIT");
    assert_eq!(acked, replicas, "every replica acknowledged the write");
    for replica in members.iter().filter(|m| m["current_role"] == "replica") {
        let (address, port) = endpoint(replica);
        let mut con = connect(&address, port);
        let value: String = redis::cmd("GET").arg("replicated").query(&mut con).expect("GET on a replica");
        assert_eq!(value, group_id);
        let refused = redis::cmd("SET").arg("x").arg("y").query::<()>(&mut con).expect_err("replicas are read-only");
        assert!(refused.to_string().contains("read only replica"), "{refused}");
    }
}

/// A redis cluster and a 1+2 replication group: created over REST, every
/// node reached with a real client, deleted, nothing left behind.
pub fn lifecycle(cp: &ControlPlane, prefix: &str, inventory: &dyn Inventory) {
    let api = cp.api();
    let cluster_id = format!("{prefix}-c");
    // A cluster and a group may share a name; their runtime objects may not.
    let group_id = cluster_id.clone();

    let created = api.post(
        "/v1/cache-clusters",
        &json!({"cache_cluster_id": cluster_id, "auth_token": AUTH_TOKEN, "tags": [{"key": "team", "value": "ci"}]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "creating");
    let created = api.post(
        "/v1/replication-groups",
        &json!({"replication_group_id": group_id, "replication_group_description": "1+2",
                "num_cache_clusters": 3, "automatic_failover_enabled": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "creating");

    let cluster = api.wait_status(&format!("/v1/cache-clusters/{cluster_id}"), "available", PROVISION);
    assert_eq!(cluster["tags"], json!([{"key": "team", "value": "ci"}]));
    assert_eq!(cluster["auth_token_enabled"], true);
    for (address, port) in endpoints(&cluster) {
        check_node(&address, port, Some(AUTH_TOKEN));
    }

    let group = api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION);
    let members: Vec<String> =
        group["member_clusters"].as_array().expect("members").iter().map(|m| m.as_str().unwrap_or("").into()).collect();
    assert_eq!(members, ["001", "002", "003"].map(|n| format!("{group_id}-{n}")));
    let roles: Vec<&str> = group["node_groups"][0]["node_group_members"]
        .as_array()
        .expect("node group members")
        .iter()
        .map(|m| m["current_role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["primary", "replica", "replica"]);
    assert!(group["node_groups"][0]["primary_endpoint"]["port"].is_u64(), "{group}");
    for member in &members {
        let cluster = api.get(&format!("/v1/cache-clusters/{member}"));
        assert_eq!(cluster.status, 200);
        assert_eq!(cluster.body["replication_group_id"], group_id.as_str());
        assert_eq!(cluster.body["status"], "available");
    }
    check_replication(&api, &group_id, 2);
    let listed = api.get(&format!("/v1/cache-clusters?replication_group_id={group_id}"));
    assert_eq!(listed.body["cache_clusters"].as_array().map(Vec::len), Some(3), "{}", listed.body);
    assert_eq!(inventory.held(), inventory.expected(4, 2));

    modify_and_reboot(cp, &cluster_id, &endpoints(&cluster)[0]);

    let events = api.get(&format!("/v1/events?source_identifier={cluster_id}"));
    let messages: Vec<&str> =
        events.body["events"].as_array().expect("events").iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with("Cache cluster created")), "{messages:?}");

    // A member is deleted with its group, not alone.
    let refused = api.delete(&format!("/v1/cache-clusters/{group_id}-002"));
    assert_eq!((refused.status, refused.code()), (400, "InvalidParameterCombination"));

    // The group goes first, while the cluster of its name still runs.
    let deleting = api.delete(&format!("/v1/replication-groups/{group_id}"));
    assert_eq!((deleting.status, deleting.body["status"].as_str()), (202, Some("deleting")));
    api.wait_gone(&format!("/v1/replication-groups/{group_id}"), PROVISION);
    for member in &members {
        api.wait_gone(&format!("/v1/cache-clusters/{member}"), PROVISION);
    }
    assert_eq!(inventory.held(), inventory.expected(1, 1), "the cluster's node and network stay");
    check_node(&endpoints(&cluster)[0].0, endpoints(&cluster)[0].1, Some(AUTH_TOKEN));
    let deleting = api.delete(&format!("/v1/cache-clusters/{cluster_id}"));
    assert_eq!((deleting.status, deleting.body["status"].as_str()), (202, Some("deleting")));
    api.wait_gone(&format!("/v1/cache-clusters/{cluster_id}"), PROVISION);
    let listed = api.get("/v1/cache-clusters");
    let ids: Vec<&str> = listed.body["cache_clusters"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["cache_cluster_id"].as_str())
        .collect();
    assert!(!ids.iter().any(|id| id.starts_with(prefix)), "{ids:?}");
    assert_eq!(inventory.held(), Held::default(), "nothing may be left behind");
}

fn maxmemory(address: &str, port: u16) -> u64 {
    let url = format!("redis://:{AUTH_TOKEN}@{address}:{port}/");
    let mut con = redis::Client::open(url.as_str()).expect("url").get_connection().expect("connect");
    let reply: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut con).expect("CONFIG GET");
    reply.get(1).and_then(|v| v.parse().ok()).expect("maxmemory value")
}

/// A node type change held for the window, then applied at once to the
/// running node; a reboot of its node.
fn modify_and_reboot(cp: &ControlPlane, cluster_id: &str, (address, port): &(String, u16)) {
    let api = cp.api();
    let path = format!("/v1/cache-clusters/{cluster_id}");
    let micro = 512 * 1024 * 1024 * 3 / 4;
    assert_eq!(maxmemory(address, *port), micro, "a cache.t3.micro node keeps 25% in reserve");

    let held = api.patch(&path, &json!({"cache_node_type": "cache.t3.small", "snapshot_retention_limit": 3}));
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.body["pending_modified_values"]["cache_node_type"], "cache.t3.small");
    assert_eq!(
        (held.body["cache_node_type"].as_str(), held.body["snapshot_retention_limit"].as_i64()),
        (Some("cache.t3.micro"), Some(3))
    );

    let applying = api.patch(&path, &json!({"cache_node_type": "cache.t3.small", "apply_immediately": true}));
    assert_eq!((applying.status, applying.body["status"].as_str()), (202, Some("modifying")), "{}", applying.body);
    let modified = api.wait_status(&path, "available", PROVISION);
    assert_eq!(modified["cache_node_type"], "cache.t3.small");
    assert_eq!(modified["pending_modified_values"], json!({}));
    let small = (1.37 * 1024.0 * 1024.0 * 1024.0) as u64 * 3 / 4;
    assert_eq!(maxmemory(address, *port), small, "the running node got the new maxmemory");

    let rebooting = api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!((rebooting.status, rebooting.body["status"].as_str()), (202, Some("rebooting cluster nodes")));
    let rebooted = api.wait_status(&path, "available", PROVISION);
    assert_eq!(rebooted["cache_nodes"][0]["cache_node_status"], "available");
    check_node(address, *port, Some(AUTH_TOKEN));
}

/// SIGKILL the control plane while a 1+2 group is being created, start it
/// again on the same data dir: it converges with exactly the nodes it
/// should have, then deletes them all.
pub fn converges_after_kill9(runtime: &Runtime, prefix: &str, inventory: &dyn Inventory) {
    let dir = DataDir::new(prefix);
    let group_id = format!("{prefix}-g");
    let mut cp = ControlPlane::start(&dir.0, runtime);
    let created = cp.api().post(
        "/v1/replication-groups",
        &json!({"replication_group_id": group_id, "replication_group_description": "crash", "num_cache_clusters": 3}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    // Kill it as soon as the first node exists, mid-provision.
    let deadline = Instant::now() + Duration::from_secs(10);
    while inventory.held().nodes == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    cp.kill9();
    let at_crash = inventory.held().nodes;
    assert!(at_crash <= 3, "{at_crash} nodes for 3 members");

    let cp = ControlPlane::start(&dir.0, runtime);
    let api = cp.api();
    let group = api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION);
    assert_eq!(group["member_clusters"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        inventory.held(),
        inventory.expected(3, 1),
        "one node per member after the restart ({at_crash} at the crash)"
    );
    check_replication(&api, &group_id, 2);
    let deleting = api.delete(&format!("/v1/replication-groups/{group_id}"));
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    api.wait_gone(&format!("/v1/replication-groups/{group_id}"), PROVISION);
    assert_eq!(inventory.held(), Held::default(), "nothing may be left behind");
}
