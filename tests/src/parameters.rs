//! Parameter groups on a runtime, checked on the nodes themselves: the
//! defaults a group lists are what a fresh node runs with; an immediate
//! change reaches every node of every cluster and replication group using
//! the group (CONFIG GET); one that needs a restart waits, shown as
//! `pending-reboot`, until a reboot applies it; memcached's max_item_size
//! the same way; and the refusals a user meets.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::memcached::{node_endpoints, talk};
use crate::scenarios::{Inventory, PROVISION, connect};
use crate::{Api, ControlPlane};

/// Every node of a cluster view, `(address, port)`.
fn nodes_of(cluster: &Value) -> Vec<(String, u16)> {
    node_endpoints(cluster)
        .into_iter()
        .map(|e| {
            let (host, port) = e.rsplit_once(':').expect("host:port");
            (host.to_owned(), port.parse().expect("port"))
        })
        .collect()
}

fn config_get(node: &(String, u16), name: &str) -> String {
    let mut con = connect(&node.0, node.1);
    let pair: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(&mut con).expect("CONFIG GET");
    pair.get(1).cloned().unwrap_or_else(|| panic!("{}:{} has no parameter {name}", node.0, node.1))
}

/// Waits until every node of `clusters` reports `name` = `value`.
fn wait_config(api: &Api, clusters: &[String], name: &str, value: &str) {
    let deadline = Instant::now() + PROVISION;
    for id in clusters {
        loop {
            let cluster = api.get(&format!("/v1/cache-clusters/{id}")).body;
            let nodes = nodes_of(&cluster);
            let found: Vec<String> = nodes.iter().map(|n| config_get(n, name)).collect();
            if !found.is_empty() && found.iter().all(|f| f == value) {
                break;
            }
            assert!(Instant::now() < deadline, "{id}: {name} is {found:?}, not {value}: {cluster}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn apply_status(api: &Api, id: &str) -> Value {
    api.get(&format!("/v1/cache-clusters/{id}")).body["cache_parameter_group"].clone()
}

fn assert_refused(reply: crate::Reply, status: u16, code: &str, says: &str) {
    assert_eq!((reply.status, reply.code()), (status, code), "{}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains(says), "{message:?} does not say {says:?}");
}

pub fn parameter_groups(cp: &ControlPlane, prefix: &str, inventory: &dyn Inventory) {
    let api = cp.api();
    let (standalone, group, pg) = (format!("{prefix}-c"), format!("{prefix}-g"), format!("{prefix}-pg"));

    let created = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": standalone}));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["cache_parameter_group"]["cache_parameter_group_name"], "default.redis7");
    let cluster = api.wait_status(&format!("/v1/cache-clusters/{standalone}"), "available", PROVISION);

    // What the defaults list is what a node runs with.
    let defaults = api.get("/v1/engine-default-parameters?family=redis7");
    assert_eq!(defaults.status, 200, "{}", defaults.body);
    let listed = defaults.body["engine_defaults"]["parameters"].as_array().expect("parameters").clone();
    assert!(listed.len() >= 15, "{listed:?}");
    let node = nodes_of(&cluster).remove(0);
    for parameter in &listed {
        let name = parameter["parameter_name"].as_str().expect("name");
        assert_eq!(config_get(&node, name), parameter["parameter_value"].as_str().expect("value"), "{name}");
    }

    // A group of our own, used by a standalone cluster and a replication group.
    let made = api.post(
        "/v1/parameter-groups",
        &json!({"cache_parameter_group_name": pg, "cache_parameter_group_family": "redis7", "description": "tuned"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let moved = api.patch(&format!("/v1/cache-clusters/{standalone}"), &json!({"cache_parameter_group_name": pg}));
    assert_eq!(moved.status, 200, "{}", moved.body);
    let body = json!({"replication_group_id": group, "replication_group_description": "params",
                      "num_cache_clusters": 2, "cache_parameter_group_name": pg});
    let created = api.post("/v1/replication-groups", &body);
    assert_eq!(created.status, 201, "{}", created.body);
    let made = api.wait_status(&format!("/v1/replication-groups/{group}"), "available", PROVISION);
    assert_eq!(made["cache_parameter_group_name"], pg.as_str());
    let members: Vec<String> =
        made["member_clusters"].as_array().expect("members").iter().map(|m| m.as_str().unwrap_or("").into()).collect();
    let mut users = members.clone();
    users.push(standalone.clone());

    // Immediate: set live on every node.
    let changes = json!({"parameter_name_values": [
        {"parameter_name": "maxmemory-policy", "parameter_value": "allkeys-lru"},
        {"parameter_name": "slowlog-max-len", "parameter_value": "1000"},
        {"parameter_name": "lfu-log-factor", "parameter_value": "3"},
    ]});
    let modified = api.patch(&format!("/v1/parameter-groups/{pg}"), &changes);
    assert_eq!(modified.status, 200, "{}", modified.body);
    wait_config(&api, &users, "maxmemory-policy", "allkeys-lru");
    wait_config(&api, &users, "slowlog-max-len", "1000");
    wait_config(&api, &users, "lfu-log-factor", "3");
    let deadline = Instant::now() + PROVISION;
    while apply_status(&api, &standalone)["parameter_apply_status"] != "in-sync" {
        assert!(Instant::now() < deadline, "never in-sync: {}", apply_status(&api, &standalone));
        std::thread::sleep(Duration::from_millis(100));
    }
    let shown = api.get(&format!("/v1/parameter-groups/{pg}/parameters?source=user")).body;
    let names: Vec<&str> =
        shown["parameters"].as_array().expect("list").iter().filter_map(|p| p["parameter_name"].as_str()).collect();
    assert_eq!(names, ["lfu-log-factor", "maxmemory-policy", "slowlog-max-len"]);

    // Needs a restart: pending until a reboot, which keeps the immediate values too.
    let reboot_type = json!({"parameter_name_values": [{"parameter_name": "databases", "parameter_value": "32"}]});
    assert_eq!(api.patch(&format!("/v1/parameter-groups/{pg}"), &reboot_type).status, 200);
    let status = apply_status(&api, &standalone);
    assert_eq!(status["parameter_apply_status"], "pending-reboot", "{status}");
    assert_eq!(status["pending_reboot_parameters"], json!(["databases"]));
    assert_eq!(status["cache_node_ids_to_reboot"], json!(["0001"]));
    wait_config(&api, &users, "databases", "16");
    for id in [&standalone, &members[1]] {
        let rebooted =
            api.post(&format!("/v1/cache-clusters/{id}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]}));
        assert_eq!(rebooted.status, 202, "{}", rebooted.body);
        api.wait_status(&format!("/v1/cache-clusters/{id}"), "available", PROVISION);
        wait_config(&api, std::slice::from_ref(id), "databases", "32");
        wait_config(&api, std::slice::from_ref(id), "maxmemory-policy", "allkeys-lru");
        assert_eq!(apply_status(&api, id)["parameter_apply_status"], "in-sync");
    }
    assert_eq!(apply_status(&api, &members[0])["parameter_apply_status"], "pending-reboot", "not rebooted yet");

    // Reset: back to the default on every node.
    let reset = json!({"parameter_name_values": [{"parameter_name": "slowlog-max-len"}]});
    assert_eq!(api.post(&format!("/v1/parameter-groups/{pg}/reset"), &reset).status, 200);
    wait_config(&api, &users, "slowlog-max-len", "128");

    refusals(&api, &pg, &standalone);

    // In use, it cannot go; unused, it can.
    assert_refused(api.delete(&format!("/v1/parameter-groups/{pg}")), 409, "InvalidCacheParameterGroupState", &group);
    let back = api
        .patch(&format!("/v1/cache-clusters/{standalone}"), &json!({"cache_parameter_group_name": "default.redis7"}));
    assert_eq!(back.status, 200, "{}", back.body);
    wait_config(&api, std::slice::from_ref(&standalone), "maxmemory-policy", "noeviction");
    assert_eq!(apply_status(&api, &standalone)["parameter_apply_status"], "pending-reboot", "databases 32 -> 16");
    let deleting = api.delete(&format!("/v1/replication-groups/{group}"));
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    api.wait_gone(&format!("/v1/replication-groups/{group}"), PROVISION);
    assert_eq!(api.delete(&format!("/v1/parameter-groups/{pg}")).status, 200);
    assert_eq!(api.get(&format!("/v1/parameter-groups/{pg}")).code(), "CacheParameterGroupNotFound");

    memcached_item_size(&api, prefix);
    for id in [standalone, format!("{prefix}-m")] {
        assert_eq!(api.delete(&format!("/v1/cache-clusters/{id}")).status, 202);
        api.wait_gone(&format!("/v1/cache-clusters/{id}"), PROVISION);
    }
    assert_eq!(inventory.held(), inventory.expected(0, 0), "nothing left behind");
}

fn refusals(api: &Api, pg: &str, standalone: &str) {
    let samples = json!({"parameter_name_values": [{"parameter_name": "maxmemory-samples", "parameter_value": "100"}]});
    assert_refused(api.patch(&format!("/v1/parameter-groups/{pg}"), &samples), 400, "InvalidParameterValue", "1-64");
    let unknown = json!({"parameter_name_values": [{"parameter_name": "appendonly", "parameter_value": "yes"}]});
    assert_refused(
        api.patch(&format!("/v1/parameter-groups/{pg}"), &unknown),
        400,
        "InvalidParameterValue",
        "appendonly",
    );
    let policy = json!({"parameter_name_values": [{"parameter_name": "maxmemory-policy", "parameter_value": "lru"}]});
    assert_refused(
        api.patch("/v1/parameter-groups/default.redis7", &policy),
        409,
        "InvalidCacheParameterGroupState",
        "default",
    );
    assert_refused(
        api.delete("/v1/parameter-groups/default.redis7"),
        409,
        "InvalidCacheParameterGroupState",
        "default",
    );
    let twice = api.post(
        "/v1/parameter-groups",
        &json!({"cache_parameter_group_name": pg, "cache_parameter_group_family": "redis7", "description": "again"}),
    );
    assert_refused(twice, 409, "CacheParameterGroupAlreadyExists", pg);
    let family = api.post(
        "/v1/parameter-groups",
        &json!({"cache_parameter_group_name": "x", "cache_parameter_group_family": "redis6.x", "description": "old"}),
    );
    assert_refused(family, 400, "InvalidParameterValue", "redis7");
    let wrong = api.patch(
        &format!("/v1/cache-clusters/{standalone}"),
        &json!({"cache_parameter_group_name": "default.memcached1.6"}),
    );
    assert_refused(wrong, 400, "InvalidParameterCombination", "memcached1.6");
    let missing =
        api.post("/v1/cache-clusters", &json!({"cache_cluster_id": "nope", "cache_parameter_group_name": "absent"}));
    assert_refused(missing, 404, "CacheParameterGroupNotFound", "absent");
    assert_eq!(api.get("/v1/cache-clusters/nope").status, 404, "a refused create records nothing");
}

/// memcached1.6's max_item_size: a restart applies it; `stats settings` shows it.
fn memcached_item_size(api: &Api, prefix: &str) {
    let (id, pg) = (format!("{prefix}-m"), format!("{prefix}-mpg"));
    let made = api.post(
        "/v1/parameter-groups",
        &json!({"cache_parameter_group_name": pg, "cache_parameter_group_family": "memcached1.6", "description": "big"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let size = json!({"parameter_name_values": [{"parameter_name": "max_item_size", "parameter_value": "2097152"}]});
    assert_eq!(api.patch(&format!("/v1/parameter-groups/{pg}"), &size).status, 200);
    let body = json!({"cache_cluster_id": id, "engine": "memcached", "cache_parameter_group_name": pg});
    assert_eq!(api.post("/v1/cache-clusters", &body).status, 201);
    let cluster = api.wait_status(&format!("/v1/cache-clusters/{id}"), "available", PROVISION);
    let settings = talk(&node_endpoints(&cluster)[0], b"stats settings\r\n");
    assert!(settings.contains("STAT item_size_max 2097152\r\n"), "{settings}");
    // Reset: pending until the reboot, then the default.
    assert_eq!(
        api.post(&format!("/v1/parameter-groups/{pg}/reset"), &json!({"reset_all_parameters": true})).status,
        200
    );
    assert_eq!(apply_status(api, &id)["parameter_apply_status"], "pending-reboot");
    let rebooted = api.post(&format!("/v1/cache-clusters/{id}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!(rebooted.status, 202, "{}", rebooted.body);
    let cluster = api.wait_status(&format!("/v1/cache-clusters/{id}"), "available", PROVISION);
    let settings = talk(&node_endpoints(&cluster)[0], b"stats settings\r\n");
    assert!(settings.contains("STAT item_size_max 1048576\r\n"), "{settings}");
    assert_eq!(apply_status(api, &id)["parameter_apply_status"], "in-sync");
}
