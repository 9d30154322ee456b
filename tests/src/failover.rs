//! Failover as users meet it, on any runtime: a primary killed (with and
//! without writes under way), test-failover, a planned primary change.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::ControlPlane;
use crate::scenarios::{PROVISION, check_replication, connect};

/// Creates a group of `members` member clusters with automatic failover and
/// waits until it is available; returns its describe.
pub fn create_failover_group(api: &crate::Api, group_id: &str, members: usize) -> serde_json::Value {
    let body = json!({"replication_group_id": group_id, "replication_group_description": "failover",
                      "num_cache_clusters": members, "automatic_failover_enabled": true});
    let created = api.post("/v1/replication-groups", &body);
    assert_eq!(created.status, 201, "{}", created.body);
    api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION)
}

/// Waits until a member other than `old` is the group's primary.
pub fn wait_primary_moves_from(api: &crate::Api, group_id: &str, old: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary_member(api, group_id) == old {
        assert!(Instant::now() < deadline, "the primary of {group_id} never moved from {old}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `<prefix>-<i>` = i for i < `count` on the group's primary and
/// waits until `replicas` replicas have acknowledged all of them.
pub fn write_confirmed(api: &crate::Api, group_id: &str, prefix: &str, count: i64, replicas: i64) {
    let (address, port) = primary_endpoint(api, group_id);
    let mut con = connect(&address, port);
    for i in 0..count {
        let () = redis::cmd("SET").arg(format!("{prefix}-{i}")).arg(i).query(&mut con).expect("SET");
    }
    let acked: i64 = redis::cmd("WAIT").arg(replicas).arg(5000).query(&mut con).expect("WAIT");
    assert_eq!(acked, replicas, "replicas that acknowledged the writes");
}

/// Every write of `write_confirmed` is on the group's primary now.
pub fn assert_kept(api: &crate::Api, group_id: &str, prefix: &str, count: i64) {
    let (address, port) = primary_endpoint(api, group_id);
    let mut con = connect(&address, port);
    for i in 0..count {
        let value: Option<i64> = redis::cmd("GET").arg(format!("{prefix}-{i}")).query(&mut con).expect("GET");
        assert_eq!(value, Some(i), "the confirmed write {prefix}-{i} was lost");
    }
}

/// How many member clusters the group has, when every one is `available`.
pub fn members_available(api: &crate::Api, group_id: &str) -> Option<usize> {
    let listed = api.get(&format!("/v1/cache-clusters?replication_group_id={group_id}"));
    let members = listed.body["cache_clusters"].as_array()?;
    members.iter().all(|m| m["status"] == "available").then_some(members.len())
}

/// Waits until every member cluster of the group is `available`.
pub fn wait_members_available(api: &crate::Api, group_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while members_available(api, group_id).is_none() {
        assert!(Instant::now() < deadline, "members never settled");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The group's primary endpoint as describe shows it.
pub fn primary_endpoint(api: &crate::Api, group_id: &str) -> (String, u16) {
    let group = api.get(&format!("/v1/replication-groups/{group_id}")).body;
    let e = &group["node_groups"][0]["primary_endpoint"];
    (e["address"].as_str().unwrap_or("").to_owned(), e["port"].as_u64().unwrap_or(0) as u16)
}

/// The member cluster that is the group's primary now.
pub fn primary_member(api: &crate::Api, group_id: &str) -> String {
    let group = api.get(&format!("/v1/replication-groups/{group_id}")).body;
    let members = group["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    members
        .iter()
        .find(|m| m["current_role"] == "primary")
        .and_then(|m| m["cache_cluster_id"].as_str())
        .unwrap_or("")
        .to_owned()
}

fn wait_primary_change(api: &crate::Api, group_id: &str, old: &(String, u16)) -> (String, u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = primary_endpoint(api, group_id);
        if now != *old && now.1 != 0 {
            return now;
        }
        assert!(Instant::now() < deadline, "no failover within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A 1+2 group with automatic failover loses its primary (`kill` ends it the
/// hard way): a replica takes over, every write acknowledged with WAIT before
/// is there, and the new primary takes writes. Returns the group's id.
pub fn fails_over_when_the_primary_dies(cp: &ControlPlane, prefix: &str, kill: &dyn Fn(&str)) -> String {
    let api = cp.api();
    let group_id = format!("{prefix}-f");
    create_failover_group(&api, &group_id, 3);
    let old = primary_endpoint(&api, &group_id);
    let old_member = primary_member(&api, &group_id);
    write_confirmed(&api, &group_id, "acked", 100, 2);

    let killed_at = Instant::now();
    kill(&old_member);
    let new = wait_primary_change(&api, &group_id, &old);
    eprintln!("failover took {:?} from the kill to describe naming the new primary", killed_at.elapsed());
    assert_kept(&api, &group_id, "acked", 100);
    let mut con = connect(&new.0, new.1);
    let () = redis::cmd("SET").arg("after").arg("failover").query(&mut con).expect("the new primary takes writes");
    let events = api.get(&format!("/v1/events?source_identifier={group_id}"));
    let messages: Vec<&str> =
        events.body["events"].as_array().expect("events").iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with("FailoverStarted")), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("Failover from master node")), "{messages:?}");

    // The dead node is brought back, as a replica of the new primary.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = api.get(&format!("/v1/events?source_identifier={group_id}"));
        let back = events.body["events"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains("restarting it as a replica")));
        if back && members_available(&api, &group_id) == Some(3) {
            break;
        }
        assert!(Instant::now() < deadline, "the old primary never came back: {}", events.body);
        std::thread::sleep(Duration::from_millis(50));
    }
    check_replication(&api, &group_id, 2);
    group_id
}

/// test-failover: the live primary is demoted and follows the new one.
pub fn test_failover_demotes_the_primary(cp: &ControlPlane, prefix: &str) {
    let api = cp.api();
    let group_id = format!("{prefix}-t");
    create_failover_group(&api, &group_id, 2);
    let old = primary_endpoint(&api, &group_id);
    let requested =
        api.post(&format!("/v1/replication-groups/{group_id}/test-failover"), &json!({"node_group_id": "0001"}));
    assert_eq!(requested.status, 202, "{}", requested.body);
    let new = wait_primary_change(&api, &group_id, &old);
    let mut primary = connect(&new.0, new.1);
    let () = redis::cmd("SET").arg("moved").arg("yes").query(&mut primary).expect("SET on the new primary");
    assert_eq!(
        redis::cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut primary).expect("WAIT"),
        1,
        "the old primary follows"
    );
    let mut demoted = connect(&old.0, old.1);
    assert_eq!(redis::cmd("GET").arg("moved").query::<String>(&mut demoted).expect("GET"), "yes");
    let refused = redis::cmd("SET").arg("x").arg("y").query::<()>(&mut demoted).expect_err("demoted");
    assert!(refused.to_string().contains("read only replica"), "{refused}");
    let bad = api.post(&format!("/v1/replication-groups/{group_id}/test-failover"), &json!({"node_group_id": "0002"}));
    assert_eq!((bad.status, bad.code()), (400, "InvalidParameterValue"));

    // A planned change back: the old primary's cluster becomes primary again.
    let first = format!("{group_id}-001");
    wait_members_available(&api, &group_id);
    // Refused as a whole: a bad tag next to the primary change starts no failover.
    let path = format!("/v1/replication-groups/{group_id}");
    let bad = api.patch(&path, &json!({"primary_cluster_id": first, "tags": [{"key": "aws:x", "value": "y"}]}));
    assert_eq!((bad.status, bad.code()), (400, "InvalidParameterValue"), "{}", bad.body);
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(primary_member(&api, &group_id), first, "a refused request moved the primary");
    let changed = api.patch(&format!("/v1/replication-groups/{group_id}"), &json!({"primary_cluster_id": first}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary_member(&api, &group_id) != first {
        assert!(Instant::now() < deadline, "the primary never moved back to {first}");
        std::thread::sleep(Duration::from_millis(20));
    }
    check_replication(&api, &group_id, 1);
    let stranger =
        api.patch(&format!("/v1/replication-groups/{group_id}"), &json!({"primary_cluster_id": "nobody-001"}));
    assert_eq!((stranger.status, stranger.code()), (400, "InvalidParameterValue"));
    a_rebooted_replica_resumes_partially(&api, &group_id);
    a_rebooted_primary_keeps_its_data(&api, &group_id);
}

/// The primary's full and partial resync counts (INFO stats).
fn resyncs(con: &mut redis::Connection) -> (u64, u64) {
    let info: String = redis::cmd("INFO").arg("stats").query(con).expect("INFO stats");
    let field = |name: &str| {
        let prefix = format!("{name}:");
        info.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    (field("sync_full"), field("sync_partial_ok"))
}

/// A replica rebooted through the API resumes where it stopped: the primary
/// counts a partial resync (`+CONTINUE`), not a full one.
pub fn a_rebooted_replica_resumes_partially(api: &crate::Api, group_id: &str) {
    wait_members_available(api, group_id);
    let group = api.get(&format!("/v1/replication-groups/{group_id}")).body;
    let members = group["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    let replica = members.iter().find(|m| m["current_role"] == "replica").expect("a replica");
    let replica = replica["cache_cluster_id"].as_str().expect("its id").to_owned();
    let (address, port) = primary_endpoint(api, group_id);
    let mut primary = connect(&address, port);
    let () = redis::cmd("SET").arg("before-reboot").arg(1).query(&mut primary).expect("SET");
    assert_eq!(redis::cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut primary).expect("WAIT"), 1);
    let (full, partial) = resyncs(&mut primary);

    let path = format!("/v1/cache-clusters/{replica}");
    let rebooting = api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!(rebooting.status, 202, "{}", rebooting.body);
    api.wait_status(&path, "available", PROVISION);
    let () = redis::cmd("SET").arg("after-reboot").arg(1).query(&mut primary).expect("SET");
    assert_eq!(redis::cmd("WAIT").arg(1).arg(10_000).query::<i64>(&mut primary).expect("WAIT"), 1);
    let (full_after, partial_after) = resyncs(&mut primary);
    assert_eq!(full_after, full, "the rebooted replica needed a full resync");
    assert!(partial_after > partial, "no partial resync counted: {partial} then {partial_after}");
}

/// A primary rebooted through the API saves its data with its place in the
/// stream as it stops: it comes back as the primary with everything, and its
/// replica continues partially.
pub fn a_rebooted_primary_keeps_its_data(api: &crate::Api, group_id: &str) {
    wait_members_available(api, group_id);
    write_confirmed(api, group_id, "rebooted-primary", 50, 1);
    let primary = primary_member(api, group_id);
    let path = format!("/v1/cache-clusters/{primary}");
    let rebooting = api.post(&format!("{path}/reboot"), &json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!(rebooting.status, 202, "{}", rebooting.body);
    api.wait_status(&path, "available", PROVISION);
    assert_kept(api, group_id, "rebooted-primary", 50);
    let (address, port) = primary_endpoint(api, group_id);
    let () = redis::cmd("SET").arg("after-reboot").arg(1).query(&mut connect(&address, port)).expect("SET");
    wait_members_available(api, group_id);
    check_replication(api, group_id, 1);
    assert_eq!(primary_member(api, group_id), primary, "no failover was needed");
    let (full, partial) = resyncs(&mut connect(&address, port));
    assert_eq!((full, partial), (0, 1), "the replica continued from the restarted primary's saved place");
}
