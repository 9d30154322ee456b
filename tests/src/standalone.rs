//! A standalone cluster's node that dies is noticed by the monitor and
//! restarted in place with what its snapshot held.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::scenarios::connect;
use crate::{Api, ControlPlane};

const BACK_WITHIN: Duration = Duration::from_secs(60);

/// Every event message of `source` so far.
fn messages(api: &Api, source: &str) -> Vec<String> {
    let events = api.get(&format!("/v1/events?source_identifier={source}")).body;
    let events = events["events"].as_array().cloned().unwrap_or_default();
    events.iter().filter_map(|e| e["message"].as_str().map(str::to_owned)).collect()
}

/// Waits for an event of `source` that contains `wanted`.
fn wait_event(api: &Api, source: &str, wanted: &str) -> String {
    let deadline = Instant::now() + BACK_WITHIN;
    loop {
        if let Some(found) = messages(api, source).into_iter().find(|m| m.contains(wanted)) {
            return found;
        }
        assert!(Instant::now() < deadline, "no event with {wanted:?} for {source}: {:?}", messages(api, source));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Creates a cluster on the port it asks for, saves one key and writes
/// another after the save, kills its node: the monitor says so, the node
/// comes back on that port with the saved key.
pub fn a_dead_node_is_restarted_with_its_snapshot(cp: &ControlPlane, prefix: &str, kill: &dyn Fn(&str)) {
    let api = cp.api();
    let id = format!("{prefix}-s");
    // The pool hands out its lowest free port first: its highest is free.
    let asked = cp.node_ports.1;
    let created = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": id, "port": asked}));
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/v1/cache-clusters/{id}");
    let cluster = api.wait_status(&path, "available", BACK_WITHIN);
    let endpoint: &Value = &cluster["cache_nodes"][0]["endpoint"];
    let (address, port) = (endpoint["address"].as_str().unwrap_or_default(), endpoint["port"].as_u64().unwrap_or(0));
    assert_eq!(port, u64::from(asked), "the endpoint is on the port asked for");
    let taken = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": format!("{id}2"), "port": asked}));
    assert_eq!((taken.status, taken.code()), (400, "InvalidParameterValue"), "{}", taken.body);
    assert!(taken.body["error"]["message"].as_str().unwrap_or("").contains(&format!("{id} already has it")));
    let privileged = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": format!("{id}3"), "port": 80}));
    assert_eq!((privileged.status, privileged.code()), (400, "InvalidParameterValue"), "{}", privileged.body);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = listener.local_addr().expect("address").port();
    let busy = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": format!("{id}4"), "port": busy}));
    assert_eq!((busy.status, busy.code()), (400, "InvalidParameterValue"), "{}", busy.body);
    assert!(busy.body["error"]["message"].as_str().unwrap_or("").contains("another program"), "{}", busy.body);
    let mut con = connect(address, port as u16);
    let () = redis::cmd("SET").arg("saved").arg("1").query(&mut con).expect("SET");
    let () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    let () = redis::cmd("SET").arg("unsaved").arg("1").query(&mut con).expect("SET");

    kill(&id);
    let failed = wait_event(&api, &id, "failed: it missed");
    assert!(failed.contains("restarting it in place"), "{failed}");
    let back = wait_event(&api, &id, "rebooted");
    assert!(back.contains("restarted with the 1 key(s) of its last saved snapshot"), "{back}");
    let cluster = api.wait_status(&path, "available", BACK_WITHIN);
    assert_eq!(cluster["cache_nodes"][0]["cache_node_status"], "available");
    assert_eq!(cluster["cache_nodes"][0]["endpoint"], *endpoint, "the same endpoint");

    let mut con = connect(address, port as u16);
    let saved: Option<String> = redis::cmd("GET").arg("saved").query(&mut con).expect("GET");
    let unsaved: Option<String> = redis::cmd("GET").arg("unsaved").query(&mut con).expect("GET");
    assert_eq!((saved.as_deref(), unsaved), (Some("1"), None), "what the snapshot held, nothing after it");

    let deleting = api.delete(&path);
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    api.wait_gone(&path, BACK_WITHIN);
}
