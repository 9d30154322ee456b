//! Windows against a real store, with the clock moved by the test.

use super::*;
use crate::clock::parse_rfc3339;
use crate::model::NodeSettings;
use crate::store::{EventFilter, NewCluster, TemporaryStore, free_ports};

fn at(text: &str) -> i64 {
    parse_rfc3339(text).expect("a time")
}

#[test]
fn a_window_is_found_in_its_week() {
    // 2026-12-06 is a Sunday.
    let window = "sun:05:00-sun:06:00";
    assert_eq!(window_start(window, at("2026-12-06T05:30:00Z")), Some(at("2026-12-06T05:00:00Z")));
    assert_eq!(window_start(window, at("2026-12-06T05:00:00Z")), Some(at("2026-12-06T05:00:00Z")));
    assert_eq!(window_start(window, at("2026-12-06T06:00:00Z")), None, "the end is not in it");
    assert_eq!(window_start(window, at("2026-12-07T05:30:00Z")), None, "Monday");
    assert_eq!(window_start(window, at("2026-12-13T05:59:59Z")), Some(at("2026-12-13T05:00:00Z")));
    let wraps = "sat:23:00-sun:01:00";
    assert_eq!(window_start(wraps, at("2026-12-06T00:30:00Z")), Some(at("2026-12-05T23:00:00Z")), "past midnight");
    assert_eq!(window_start("nonsense", at("2026-12-06T00:30:00Z")), None);
}

#[test]
fn what_is_pending_applies_at_the_next_window() {
    let window = "sun:05:00-sun:06:00";
    let next = |now| next_application(window, at(now));
    assert_eq!(next("2026-12-06T04:59:30Z"), Some(at("2026-12-06T05:00:00Z")));
    assert_eq!(next("2026-12-06T05:10:00Z"), Some(at("2026-12-06T05:10:00Z")), "open now");
    assert_eq!(next("2026-12-06T06:00:00Z"), Some(at("2026-12-13T05:00:00Z")), "next week's");
}

async fn fixture(pending: PendingModifiedValues) -> (TemporaryStore, MaintenanceWindows, Clock) {
    let temporary = TemporaryStore::open("maintenance", free_ports(4)).await;
    let store = temporary.store.clone();
    let cluster = NewCluster {
        cache_cluster_id: "c".into(),
        replication_group_id: None,
        role: None,
        num_cache_nodes: 1,
        settings: NodeSettings {
            preferred_maintenance_window: "sun:05:00-sun:06:00".into(),
            ..NodeSettings::example()
        },
        host_port: None,
        restore_from: None,
        parameters: Default::default(),
    };
    store.insert_cluster(&cluster).await.expect("insert");
    store.set_cluster_status("c", Status::Available).await.expect("available");
    let held = ClusterChange { pending_modified_values: Some(pending), ..ClusterChange::default() };
    assert!(store.change_available_cluster("c", &held).await.expect("held"));
    let clock = Clock::manual(at("2026-12-06T04:00:00Z"));
    let windows = MaintenanceWindows::new(store, clock.clone(), Arc::new(Notify::new()));
    (temporary, windows, clock)
}

fn node_type(name: &str) -> PendingModifiedValues {
    PendingModifiedValues { cache_node_type: Some(name.into()), ..PendingModifiedValues::default() }
}

#[tokio::test]
async fn a_pending_node_type_is_applied_when_the_window_opens_and_once() {
    let (t, windows, clock) = fixture(node_type("cache.t3.small")).await;
    assert!(windows.run().await.expect("run").is_empty(), "not before the window");
    clock.advance(3600 * 1000 + 60_000);
    assert_eq!(windows.run().await.expect("run"), ["c"]);
    let cluster = t.store.cluster("c").await.expect("read").expect("there");
    assert_eq!(cluster.status, Status::Modifying);
    assert_eq!(cluster.pending_modified_values, node_type("cache.t3.small"), "the reconciler reads it from there");
    // The reconciler settles it; a later pass in the same window finds nothing to do.
    t.store.settle_cluster_modification("c", "cache.t3.small").await.expect("settle");
    assert!(windows.run().await.expect("run").is_empty());
    let events =
        t.store.events(&EventFilter { limit: 100, end: i64::MAX, ..EventFilter::default() }).await.expect("events");
    let applied: Vec<&str> =
        events.iter().map(|e| e.message.as_str()).filter(|m| m.starts_with("Applying pending")).collect();
    assert_eq!(
        applied,
        ["Applying pending changes in maintenance window sun:05:00-sun:06:00: cache node type cache.t3.small"]
    );
}

#[tokio::test]
async fn a_pending_node_count_becomes_nodes_to_add() {
    let pending = PendingModifiedValues { num_cache_nodes: Some(3), ..PendingModifiedValues::default() };
    let (t, windows, clock) = fixture(pending).await;
    clock.advance(3600 * 1000 + 60_000);
    assert_eq!(windows.run().await.expect("run"), ["c"]);
    let cluster = t.store.cluster("c").await.expect("read").expect("there");
    assert_eq!((cluster.num_cache_nodes, cluster.config_version), (3, 2));
    assert!(cluster.pending_modified_values.is_empty());
    let nodes = t.store.nodes("c").await.expect("nodes");
    let ids: Vec<&str> = nodes.iter().map(|n| n.cache_node_id.as_str()).collect();
    assert_eq!(ids, ["0001", "0002", "0003"], "two new nodes, for the reconciler to start");
}

#[tokio::test]
async fn parameters_that_need_a_restart_reboot_every_node_in_the_window_once() {
    let (t, windows, clock) = fixture(PendingModifiedValues::default()).await;
    t.store.insert_parameter_group("pg", "redis7", "test").await.expect("group");
    let values = [("databases".to_owned(), "32".to_owned()), ("timeout".to_owned(), "7".to_owned())];
    t.store.set_parameter_values("pg", &values).await.expect("values");
    let to_pg = ClusterChange { cache_parameter_group_name: Some("pg".into()), ..ClusterChange::default() };
    assert!(t.store.change_available_cluster("c", &to_pg).await.expect("use pg"));
    assert!(windows.run().await.expect("run").is_empty(), "not before the window");
    clock.advance(3600 * 1000 + 60_000);
    assert_eq!(windows.run().await.expect("run"), ["c"]);
    let cluster = t.store.cluster("c").await.expect("read").expect("there");
    assert_eq!(cluster.status, Status::RebootingClusterNodes);
    let expected: crate::model::Parameters = [("databases".to_owned(), "32".to_owned())].into();
    assert_eq!(cluster.parameters, expected, "the reboot starts the nodes with it; timeout is the sync worker's");
    assert!(t.store.nodes("c").await.expect("nodes").iter().all(|n| n.reboot_requested));
    // Rebooted and available again, in the same window: nothing is pending, nothing happens twice.
    t.store.set_cluster_status("c", Status::Available).await.expect("available");
    assert!(windows.run().await.expect("run").is_empty());
}
