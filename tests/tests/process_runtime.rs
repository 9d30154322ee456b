//! The process runtime: nodes as local data-node processes.

use std::path::PathBuf;

use ferrocache_tests::failover::{self, create_failover_group};
use ferrocache_tests::scenarios::{self, Held, Inventory};
use ferrocache_tests::under_load::{self, Disruption};
use ferrocache_tests::{ControlPlane, DataDir, Runtime, kill_node_process, processes_under, unique_prefix, with_store};

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
fn a_memcached_cluster_is_discovered_grown_and_shrunk() {
    let prefix = unique_prefix("pm");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    ferrocache_tests::memcached::memcached_cluster(&cp, &prefix, &Processes(dir.0.clone()));
}

#[test]
fn parameter_groups_reach_every_node() {
    let prefix = unique_prefix("pp");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    ferrocache_tests::parameters::parameter_groups(&cp, &prefix, &Processes(dir.0.clone()));
}

#[test]
fn snapshots_restore_into_clusters_and_groups() {
    let prefix = unique_prefix("pb");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    ferrocache_tests::backups::snapshot_and_restore(&cp, &prefix);
}

#[test]
fn converges_after_the_control_plane_is_killed() {
    let prefix = unique_prefix("pk");
    let nodes = std::env::temp_dir().join(format!("ferrocache-it-{prefix}"));
    scenarios::converges_after_kill9(&Runtime::Process, &prefix, &Processes(nodes));
}

/// `--runtime auto` with a data node that cannot go in a FROM scratch image
/// (a dynamic build): nodes run as processes, not failing every create.
#[test]
fn runtime_auto_without_a_static_data_node_runs_processes() {
    let prefix = unique_prefix("pa");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start_with(&dir.0, &Runtime::Process, &["--runtime", "auto"]);
    let api = cp.api();
    let id = format!("{prefix}-c");
    let created = api.post("/v1/cache-clusters", &serde_json::json!({"cache_cluster_id": id}));
    assert_eq!(created.status, 201, "{}", created.body);
    api.wait_status(&format!("/v1/cache-clusters/{id}"), "available", std::time::Duration::from_secs(60));
    let events = api.get(&format!("/v1/events?source_identifier={id}")).body.to_string();
    assert!(events.contains("created on the process runtime"), "{events}");
}

#[test]
fn a_standalone_node_whose_process_dies_is_restarted_with_its_snapshot() {
    let prefix = unique_prefix("ps");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    ferrocache_tests::standalone::a_dead_node_is_restarted_with_its_snapshot(&cp, &prefix, &|cluster| {
        kill_node_process(&dir.0, cluster)
    });
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

/// A control plane died mid-failover, after writing to its journal that it
/// chose -003 and before promoting it; the primary is still alive. The next
/// run resumes that failover: -003 (not -002, which ranks as high) becomes
/// primary after a handover, and no write confirmed before is lost.
#[test]
fn a_failover_interrupted_after_choosing_is_resumed_with_the_chosen_replica() {
    use ferrocache_tests::failover::{
        assert_kept, primary_member, wait_members_available, wait_primary_moves_from, write_confirmed,
    };
    use ferrocache_tests::scenarios::check_replication;
    let prefix = unique_prefix("pj");
    let dir = DataDir::new(&prefix);
    let mut cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    let old = primary_member(&api, &group);
    write_confirmed(&api, &group, "journal", 100, 2);

    cp.kill9();
    with_store(&dir.0, async |store| {
        let reason = format!("primary {old}-0001 missed 3 health checks");
        let chosen = format!("{group}-003");
        store.begin_failover(&group, false, &reason, Some(&chosen)).await.expect("journal").expect("none in flight");
        store.count_failover_attempt(&group).await.expect("attempt");
    });
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    wait_primary_moves_from(&api, &group, &old);
    assert_eq!(primary_member(&api, &group), format!("{group}-003"), "the replica the journal names");
    let events = api.get(&format!("/v1/events?source_identifier={group}")).body.to_string();
    assert!(events.contains("resumed after a control plane restart"), "{events}");
    assert_kept(&api, &group, "journal", 100);
    wait_members_available(&api, &group);
    check_replication(&api, &group, 2);
}

/// A primary that comes back empty before it misses enough checks (as a
/// restart policy brings back a crashed container) is not trusted: its
/// replication id is not the group's, so a replica that holds the data takes
/// over and the empty node follows it. (Checks are allowed 1000 misses here:
/// only the replication id can tell.)
#[test]
fn a_primary_back_without_its_data_is_replaced_by_a_replica() {
    use ferrocache_tests::failover::{
        assert_kept, primary_member, wait_members_available, wait_primary_moves_from, write_confirmed,
    };
    use ferrocache_tests::scenarios::check_replication;
    let prefix = unique_prefix("pe");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start_with(&dir.0, &Runtime::Process, &["--failover-misses", "1000"]);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let recorded =
        || with_store(&dir.0, async |store| store.group(&group).await.expect("read").map(|g| g.replication_id));
    while recorded().flatten().is_none() {
        assert!(std::time::Instant::now() < deadline, "the monitor never recorded the group's replication id");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    write_confirmed(&api, &group, "kept", 100, 2);

    // Crash and restart the primary's process with the same command line: it comes back empty.
    let old = primary_member(&api, &group);
    let pid = ferrocache_tests::node_pid(&dir.0, &old);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    let mut args =
        cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned());
    let program = args.next().expect("program");
    let args: Vec<String> = args.collect();
    kill_node_process(&dir.0, &old);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut restarted = loop {
        let started = std::process::Command::new(&program)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("restarting the node");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut started = started;
        if started.try_wait().expect("try_wait").is_none() {
            break started;
        }
        assert!(std::time::Instant::now() < deadline, "the node's port never came free");
    };

    wait_primary_moves_from(&api, &group, &old);
    let events = api.get(&format!("/v1/events?source_identifier={group}")).body.to_string();
    assert!(events.contains("came back without the group's data"), "{events}");
    assert_kept(&api, &group, "kept", 100);
    wait_members_available(&api, &group);
    check_replication(&api, &group, 2);
    let _ = restarted.kill();
    let _ = restarted.wait();
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

/// A node whose port something else took while it was down cannot start:
/// the reboot says why (and retries) instead of taking the stranger that
/// answers PING on that port for the node; once the port is free, it comes back.
#[test]
fn a_node_that_cannot_start_is_not_mistaken_for_whatever_holds_its_port() {
    use ferrocache_tests::scenarios::PROVISION;
    use std::io::{Read, Write};
    let prefix = unique_prefix("pt");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let id = format!("{prefix}-c");
    assert_eq!(api.post("/v1/cache-clusters", &serde_json::json!({"cache_cluster_id": id})).status, 201);
    let path = format!("/v1/cache-clusters/{id}");
    let cluster = api.wait_status(&path, "available", PROVISION);
    let port = cluster["cache_nodes"][0]["endpoint"]["port"].as_u64().expect("port") as u16;

    kill_node_process(&dir.0, &id);
    // A stranger on the node's port that answers anything with +PONG.
    let stranger = loop {
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            break listener;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    stranger.set_nonblocking(true).expect("nonblocking");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answering = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match stranger.accept() {
                    Ok((mut con, _)) => {
                        let _ = con.set_nonblocking(false);
                        let _ = con.set_read_timeout(Some(std::time::Duration::from_millis(200)));
                        let mut buf = [0u8; 512];
                        while let Ok(n) = con.read(&mut buf) {
                            if n == 0 || con.write_all(b"+PONG\r\n").is_err() {
                                break;
                            }
                        }
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        })
    };

    let rebooting = api.post(&format!("{path}/reboot"), &serde_json::json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!(rebooting.status, 202, "{}", rebooting.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events = api.get(&format!("/v1/events?source_identifier={id}")).body.to_string();
        if events.contains("the data node exited") && events.contains("cannot listen") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no event says why the node did not start: {events}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(api.get(&path).body["status"], "rebooting cluster nodes", "the stranger passed for the node");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    answering.join().expect("stranger");
    api.wait_status(&path, "available", std::time::Duration::from_secs(60));
    let mut con = ferrocache_tests::scenarios::connect("127.0.0.1", port);
    let () = redis::cmd("SET").arg("back").arg("1").query(&mut con).expect("our node again");
}

/// SIGTERM (docker stop, systemd): the API stops taking requests, the workers
/// finish the step in flight and take no other, and the process exits 0.
/// Started again, it finishes the work: nothing doubled, nothing orphaned.
#[test]
fn sigterm_finishes_the_step_in_flight_and_exits_cleanly() {
    use std::time::Duration;
    let prefix = unique_prefix("ps");
    let dir = DataDir::new(&prefix);
    let mut cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let group = format!("{prefix}-g");
    let body = serde_json::json!({
        "replication_group_id": group,
        "replication_group_description": "stopped mid-create",
        "num_cache_clusters": 3
    });
    assert_eq!(cp.api().post("/v1/replication-groups", &body).status, 201);
    let status = cp.terminate(Duration::from_secs(40));
    assert!(status.success(), "exit {status}");
    // Each member's step ran to its end or never began: none was cut off
    // with its node running while the store still says `creating`.
    let members = with_store(&dir.0, async |store| store.group_members(&group).await.expect("members"));
    for (member, nodes) in members {
        let running = !processes_under(&dir.0.join("nodes").join(&member.cache_cluster_id)).is_empty();
        let recorded = nodes.iter().all(|n| n.status == control_plane::model::Status::Available);
        assert!(!running || recorded, "{} runs but is recorded {:?}", member.cache_cluster_id, nodes[0].status);
    }

    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    cp.api().wait_status(&format!("/v1/replication-groups/{group}"), "available", Duration::from_secs(60));
    assert_eq!(processes_under(&dir.0.join("nodes")).len(), 3, "one process per member");
}

/// Maintenance windows `ddd:hh24:mi-ddd:hh24:mi`, one open now (from five
/// minutes ago for an hour) and one three days on, and a daily snapshot
/// window twelve hours from both.
fn windows_open_now() -> (String, String, String) {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let clock = |minute: i64| format!("{:02}:{:02}", minute.rem_euclid(1440) / 60, minute.rem_euclid(60));
    // Unix time began on a Thursday.
    let at =
        |minute: i64| format!("{}:{}", DAYS[((minute.div_euclid(1440) + 4).rem_euclid(7)) as usize], clock(minute));
    let start = control_plane::clock::now_millis() / 60_000 - 5;
    let later = start + 3 * 1440;
    (
        format!("{}-{}", at(start), at(start + 60)),
        format!("{}-{}", at(later), at(later + 60)),
        format!("{}-{}", clock(start + 720), clock(start + 780)),
    )
}

#[test]
fn pending_changes_apply_in_the_maintenance_window_or_when_asked() {
    use ferrocache_tests::scenarios::PROVISION;
    use serde_json::json;
    let prefix = unique_prefix("pw");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let api = cp.api();
    let (open, closed) = (format!("{prefix}-open"), format!("{prefix}-closed"));
    let (window, later, snapshot_window) = windows_open_now();
    for (id, window) in [(&open, &window), (&closed, &later)] {
        let body = json!({"cache_cluster_id": id, "preferred_maintenance_window": window,
                          "snapshot_window": snapshot_window});
        let created = api.post("/v1/cache-clusters", &body);
        assert_eq!(created.status, 201, "{}", created.body);
        api.wait_status(&format!("/v1/cache-clusters/{id}"), "available", PROVISION);
    }

    // Held, then applied by the window that is open now.
    let path = format!("/v1/cache-clusters/{open}");
    let held = api.patch(&path, &json!({"cache_node_type": "cache.t3.small"}));
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.body["pending_modified_values"], json!({"cache_node_type": "cache.t3.small"}));
    let deadline = std::time::Instant::now() + PROVISION;
    loop {
        let now = api.get(&path).body;
        if now["cache_node_type"] == "cache.t3.small" && now["status"] == "available" {
            assert_eq!(now["pending_modified_values"], json!({}));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the open window never applied the change: {now}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let events = api.get(&format!("/v1/events?source_identifier={open}")).body.to_string();
    assert!(events.contains(&format!("Applying pending changes in maintenance window {window}")), "{events}");
    assert!(events.contains("Cache node type changed to cache.t3.small"), "{events}");

    // Held until a later PATCH asks for it at once.
    let path = format!("/v1/cache-clusters/{closed}");
    let held = api.patch(&path, &json!({"cache_node_type": "cache.t3.small"}));
    assert_eq!(held.status, 200, "{}", held.body);
    let applies = held.body["pending_apply_time"].as_str().and_then(control_plane::clock::parse_rfc3339);
    let in_three_days = control_plane::clock::now_millis() + 3 * 86_400_000 - 5 * 60_000;
    assert!(applies.is_some_and(|t| (t - in_three_days).abs() < 120_000), "the next window's start: {}", held.body);
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_eq!(api.get(&path).body["cache_node_type"], "cache.t3.micro", "a closed window applies nothing");
    let now = api.patch(&path, &json!({"apply_immediately": true}));
    assert_eq!((now.status, now.body["status"].as_str()), (202, Some("modifying")), "{}", now.body);
    let done = api.wait_status(&path, "available", PROVISION);
    assert_eq!(
        (done["cache_node_type"].as_str(), &done["pending_modified_values"]),
        (Some("cache.t3.small"), &json!({}))
    );
}
