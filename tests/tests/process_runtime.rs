//! The process runtime: nodes as local data-node processes.

use std::path::PathBuf;

use ferrocache_tests::failover::{self, create_failover_group};
use ferrocache_tests::scenarios::{self, Held, Inventory};
use ferrocache_tests::under_load::{self, Disruption};
use ferrocache_tests::{ControlPlane, DataDir, Runtime, kill_node_process, processes_under, unique_prefix};

struct Processes(PathBuf);

impl Inventory for Processes {
    fn held(&self) -> Held {
        // Node processes are the ones started with a --dir under <data dir>/nodes.
        Held { nodes: processes_under(&self.0.join("nodes")).len(), networks: 0, volumes: 0 }
    }

    fn expected(&self, nodes: usize, _owners: usize) -> Held {
        Held { nodes, networks: 0, volumes: 0 }
    }
}

#[test]
fn cluster_and_group_lifecycle() {
    let prefix = unique_prefix("p");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    scenarios::lifecycle(&cp, &prefix, &Processes(dir.0.clone()));
}

#[test]
fn converges_after_the_control_plane_is_killed() {
    let prefix = unique_prefix("pk");
    let nodes = std::env::temp_dir().join(format!("ferrocache-it-{prefix}"));
    scenarios::converges_after_kill9(&Runtime::Process, &prefix, &Processes(nodes));
}

#[test]
fn a_group_fails_over_when_its_primary_process_dies() {
    let prefix = unique_prefix("pf");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    failover::fails_over_when_the_primary_dies(&cp, &prefix, &|member| kill_node_process(&dir.0, member));
    failover::test_failover_demotes_the_primary(&cp, &prefix);
    let kill = |member: &str| kill_node_process(&dir.0, member);
    under_load::no_confirmed_write_is_lost(&cp, &format!("{prefix}-w"), Disruption::Kill(&kill));
    under_load::no_confirmed_write_is_lost(&cp, &format!("{prefix}-wt"), Disruption::TestFailover);
}

/// A control plane that died mid-failover left one replica promoted and the
/// store unchanged: the next failover finishes that one instead of promoting
/// a second primary.
#[test]
fn a_failover_interrupted_after_the_promotion_is_finished_not_repeated() {
    use ferrocache_tests::failover::{primary_member, wait_members_available, wait_primary_moves_from};
    use ferrocache_tests::scenarios::check_replication;
    let prefix = unique_prefix("pr");
    let dir = DataDir::new(&prefix);
    let mut cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let group = format!("{prefix}-g");
    let described = create_failover_group(&api, &group, 3);
    let members = described["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    let third = &members[2]["read_endpoint"];
    let url = format!("redis://{}:{}/", third["address"].as_str().unwrap_or(""), third["port"]);
    let mut con = redis::Client::open(url.as_str()).expect("url").get_connection().expect("connect");
    let old = primary_member(&api, &group);

    // The control plane dies right after promoting -003 and before recording it.
    cp.kill9();
    let () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut con).expect("promote, as the dead run did");
    kill_node_process(&dir.0, &old);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    wait_primary_moves_from(&api, &group, &old);
    assert_eq!(primary_member(&api, &group), format!("{group}-003"), "the already-promoted member");
    wait_members_available(&api, &group);
    check_replication(&api, &group, 2);
}

/// Runs SQL against a stopped control plane's store (python3's sqlite3).
fn sql(data_dir: &std::path::Path, statement: &str) {
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()";
    let db = data_dir.join("control-plane.sqlite");
    let status = std::process::Command::new("python3").args(["-c", script]).arg(db).arg(statement).status();
    assert!(status.expect("python3").success(), "{statement}");
}

/// A control plane died mid-failover, after writing to its journal that it
/// chose -003 and before promoting it; the primary is still alive. The next
/// run resumes that failover: -003 (not -002, which ranks as high) becomes
/// primary after a handover, and no write confirmed before is lost.
#[test]
fn a_failover_interrupted_after_choosing_is_resumed_with_the_chosen_replica() {
    use ferrocache_tests::failover::{
        primary_endpoint, primary_member, wait_members_available, wait_primary_moves_from,
    };
    use ferrocache_tests::scenarios::{check_replication, connect};
    let prefix = unique_prefix("pj");
    let dir = DataDir::new(&prefix);
    let mut cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    let old = primary_member(&api, &group);
    let (address, port) = primary_endpoint(&api, &group);
    let mut primary = connect(&address, port);
    for i in 0..100 {
        let () = redis::cmd("SET").arg(format!("journal-{i}")).arg(i).query(&mut primary).expect("SET");
    }
    assert_eq!(redis::cmd("WAIT").arg(2).arg(5000).query::<i64>(&mut primary).expect("WAIT"), 2);

    cp.kill9();
    sql(
        &dir.0,
        &format!(
            "INSERT INTO failovers (replication_group_id, requested, reason, new_primary, attempts, created_at)
             VALUES ('{group}', 0, 'primary {old}-0001 missed 3 health checks', '{group}-003', 1, 0)"
        ),
    );
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    wait_primary_moves_from(&api, &group, &old);
    assert_eq!(primary_member(&api, &group), format!("{group}-003"), "the replica the journal names");
    let events = api.get(&format!("/v1/events?source_identifier={group}")).body.to_string();
    assert!(events.contains("resumed after a control plane restart"), "{events}");
    let (address, port) = primary_endpoint(&api, &group);
    let mut primary = connect(&address, port);
    for i in 0..100 {
        let value: Option<i64> = redis::cmd("GET").arg(format!("journal-{i}")).query(&mut primary).expect("GET");
        assert_eq!(value, Some(i), "journal-{i} survived");
    }
    wait_members_available(&api, &group);
    check_replication(&api, &group, 2);
}

/// Replicas added and removed online: each new one syncs before the group is
/// `available` again; removed ones leave no process behind.
#[test]
fn replicas_are_added_and_removed_online() {
    use ferrocache_tests::scenarios::{PROVISION, check_replication};
    let prefix = unique_prefix("pc");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let group = format!("{prefix}-g");
    let path = format!("/v1/replication-groups/{group}");
    create_failover_group(&api, &group, 2);

    let more = api.post(&format!("{path}/increase-replica-count"), &serde_json::json!({"new_replica_count": 3}));
    assert_eq!((more.status, more.body["status"].as_str()), (202, Some("modifying")), "{}", more.body);
    let grown = api.wait_status(&path, "available", PROVISION);
    assert_eq!(grown["member_clusters"].as_array().map(Vec::len), Some(4), "{grown}");
    check_replication(&api, &group, 3);

    let fewer = api.post(&format!("{path}/decrease-replica-count"), &serde_json::json!({"new_replica_count": 1}));
    assert_eq!(fewer.status, 202, "{}", fewer.body);
    let shrunk = api.wait_status(&path, "available", PROVISION);
    assert_eq!(shrunk["member_clusters"], serde_json::json!([format!("{group}-001"), format!("{group}-002")]));
    check_replication(&api, &group, 1);
    assert_eq!(processes_under(&dir.0.join("nodes")).len(), 2, "removed replicas' processes are gone");

    let refused = api.post(&format!("{path}/decrease-replica-count"), &serde_json::json!({"new_replica_count": 0}));
    assert_eq!((refused.status, refused.code()), (400, "InvalidParameterValue"), "failover needs a replica");
    let refused = api.post(&format!("{path}/increase-replica-count"), &serde_json::json!({"new_replica_count": 6}));
    assert_eq!((refused.status, refused.code()), (400, "InvalidParameterValue"));
}
