//! Failover as users meet it, on any runtime: a primary killed (with and
//! without writes under way), test-failover, a planned primary change.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::ControlPlane;
use crate::scenarios::{PROVISION, check_replication, connect};

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
    let created = api.post(
        "/v1/replication-groups",
        &json!({"replication_group_id": group_id, "replication_group_description": "failover",
                "num_cache_clusters": 3, "automatic_failover_enabled": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION);
    let old = primary_endpoint(&api, &group_id);
    let old_member = primary_member(&api, &group_id);
    let mut con = connect(&old.0, old.1);
    for i in 0..100 {
        let () = redis::cmd("SET").arg(format!("acked-{i}")).arg(i).query(&mut con).expect("SET");
    }
    let acked: i64 = redis::cmd("WAIT").arg(2).arg(5000).query(&mut con).expect("WAIT");
    assert_eq!(acked, 2);

    let killed_at = Instant::now();
    kill(&old_member);
    let new = wait_primary_change(&api, &group_id, &old);
    eprintln!("failover took {:?} from the kill to describe naming the new primary", killed_at.elapsed());
    let mut con = connect(&new.0, new.1);
    for i in 0..100 {
        let value: Option<i64> = redis::cmd("GET").arg(format!("acked-{i}")).query(&mut con).expect("GET");
        assert_eq!(value, Some(i), "acknowledged write acked-{i} survived the failover");
    }
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
    let created = api.post(
        "/v1/replication-groups",
        &json!({"replication_group_id": group_id, "replication_group_description": "t",
                "replicas_per_node_group": 1, "automatic_failover_enabled": true}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION);
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
}

/// Writes under way while the primary dies: a writer keeps writing (each
/// write confirmed with `WAIT 1`), finds the new primary through describe
/// when its connection fails, and every write it saw confirmed is on the new
/// primary afterwards.
pub fn no_acknowledged_write_is_lost_under_load(cp: &ControlPlane, prefix: &str, kill: &dyn Fn(&str)) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let api = cp.api();
    let group_id = format!("{prefix}-w");
    let body = json!({"replication_group_id": group_id, "replication_group_description": "load",
                      "num_cache_clusters": 3, "automatic_failover_enabled": true});
    assert_eq!(api.post("/v1/replication-groups", &body).status, 201);
    api.wait_status(&format!("/v1/replication-groups/{group_id}"), "available", PROVISION);
    let old = primary_member(&api, &group_id);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, token, group_id, stop) = (cp.url.clone(), cp.token.clone(), group_id.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let api = crate::Api::new(&url, Some(&token));
            let mut confirmed = Vec::new();
            let mut con: Option<redis::Connection> = None;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let c = match con.as_mut() {
                    Some(c) => c,
                    None => {
                        let (address, port) = primary_endpoint(&api, &group_id);
                        let client = redis::Client::open(format!("redis://{address}:{port}/").as_str());
                        match client.and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500))) {
                            Ok(c) => con.insert(c),
                            Err(_) => {
                                std::thread::sleep(Duration::from_millis(20));
                                continue;
                            }
                        }
                    }
                };
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let written = redis::cmd("SET").arg(format!("load-{i}")).arg(i).query::<()>(c);
                let acked = written.and_then(|()| redis::cmd("WAIT").arg(1).arg(1000).query::<i64>(c));
                match acked {
                    Ok(n) if n >= 1 => confirmed.push(i),
                    Ok(_) => {}
                    // A dead or demoted primary: find the current one.
                    Err(_) => con = None,
                }
                i += 1;
            }
            confirmed
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    kill(&old);
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary_member(&api, &group_id) == old {
        assert!(Instant::now() < deadline, "no failover under load");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let confirmed = writer.join().expect("writer");
    let (address, port) = primary_endpoint(&api, &group_id);
    let mut con = connect(&address, port);
    let lost: Vec<u64> = confirmed
        .iter()
        .copied()
        .filter(|i| {
            redis::cmd("GET").arg(format!("load-{i}")).query::<Option<u64>>(&mut con).ok().flatten() != Some(*i)
        })
        .collect();
    assert!(confirmed.len() > 10, "the writer confirmed only {} writes", confirmed.len());
    assert!(
        lost.is_empty(),
        "{} of {} confirmed writes lost: {:?}",
        lost.len(),
        confirmed.len(),
        &lost[..lost.len().min(10)]
    );
    eprintln!("{} confirmed writes, none lost", confirmed.len());
}
