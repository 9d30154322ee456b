//! The schedule against a real store, with the clock moved by the test.

use std::sync::Arc;

use super::*;
use crate::clock::parse_rfc3339;
use crate::model::{SnapshotStatus, Status};
use crate::store::{NewCluster, TemporaryStore, free_ports};

const HOUR: i64 = 3600 * 1000;

fn at(text: &str) -> i64 {
    parse_rfc3339(text).expect("a time")
}

async fn fixture(retention: i64, window: &str) -> (TemporaryStore, AutomatedBackups, Clock) {
    let temporary = TemporaryStore::open("schedule", free_ports(4)).await;
    let store = temporary.store.clone();
    let settings =
        NodeSettings { snapshot_retention_limit: retention, snapshot_window: window.into(), ..NodeSettings::example() };
    let cluster = NewCluster {
        cache_cluster_id: "c".into(),
        replication_group_id: None,
        role: None,
        num_cache_nodes: 1,
        settings,
        host_port: None,
        restore_from: None,
        parameters: Default::default(),
    };
    store.insert_cluster(&cluster).await.expect("insert");
    store.set_cluster_status("c", Status::Available).await.expect("available");
    let clock = Clock::manual(at("2026-12-07T02:00:00Z"));
    let files = Arc::new(SnapshotFiles::new(std::env::temp_dir().join("ferrocache-schedule-files")));
    let schedule = AutomatedBackups::new(store, files, clock.clone());
    (temporary, schedule, clock)
}

/// Marks the automated snapshots written, as the backup worker would.
async fn written(store: &Store) {
    for name in store.snapshots_creating().await.expect("creating") {
        store.set_snapshot_available(&name, 10, "00", None).await.expect("available");
    }
}

#[test]
fn window_starts_today_or_yesterday() {
    let now = at("2026-12-07T03:30:00Z");
    assert_eq!(window_start("03:00-04:00", now), Some(at("2026-12-07T03:00:00Z")));
    assert_eq!(window_start("04:00-05:00", now), None);
    assert_eq!(window_start("23:30-04:00", now), Some(at("2026-12-06T23:30:00Z")), "a window past midnight");
    assert_eq!(window_start("03:30-04:30", now), Some(now), "its first minute is inside");
    assert_eq!(window_start("02:30-03:30", now), None, "its end is not");
}

#[tokio::test]
async fn one_automated_snapshot_per_window_and_none_outside() {
    let (temporary, schedule, clock) = fixture(2, "03:00-04:00").await;
    let store = &temporary.store;
    assert!(schedule.run().await.expect("run").is_empty(), "02:00 is before the window");
    clock.advance(HOUR + 10 * 60_000);
    let taken = schedule.run().await.expect("run");
    assert_eq!(taken, ["automatic.c-2026-12-07-03-00"]);
    let snapshot = store.snapshot(&taken[0]).await.expect("read").expect("recorded");
    assert_eq!((snapshot.source, snapshot.status), (SnapshotSource::Automated, SnapshotStatus::Creating));
    clock.advance(20 * 60_000);
    assert!(schedule.run().await.expect("run").is_empty(), "the same window is not served twice");

    // A restart (a new schedule on the same store) inside the window takes nothing again.
    let again = AutomatedBackups::new(store.clone(), Arc::clone(&schedule.files), clock.clone());
    assert!(again.run().await.expect("run").is_empty());
    written(store).await;

    // The next day's window, and the one after: each taken once.
    clock.advance(24 * HOUR);
    assert_eq!(schedule.run().await.expect("run"), ["automatic.c-2026-12-08-03-00"]);
    written(store).await;
    clock.advance(24 * HOUR);
    assert_eq!(schedule.run().await.expect("run"), ["automatic.c-2026-12-09-03-00"]);
    written(store).await;
    // Retention 2 days: the first (two days and 20 minutes old) is gone.
    assert!(store.snapshot("automatic.c-2026-12-07-03-00").await.expect("read").is_none());
    assert!(store.snapshot("automatic.c-2026-12-08-03-00").await.expect("read").is_some());
}

#[tokio::test]
async fn no_automated_snapshots_without_retention_and_a_missed_window_is_skipped() {
    let (temporary, schedule, clock) = fixture(0, "03:00-04:00").await;
    clock.advance(90 * 60_000);
    assert!(schedule.run().await.expect("run").is_empty(), "retention 0: automated backups are off");
    drop(temporary);

    let (temporary, schedule, clock) = fixture(1, "03:00-04:00").await;
    clock.advance(3 * HOUR);
    assert!(schedule.run().await.expect("run").is_empty(), "05:00: the window passed unserved");
    drop(temporary);
}

#[tokio::test]
async fn a_deleted_sources_automated_snapshots_go_its_manual_ones_stay() {
    let (temporary, schedule, clock) = fixture(5, "03:00-04:00").await;
    let store = &temporary.store;
    clock.advance(HOUR + 60_000);
    assert_eq!(schedule.run().await.expect("run").len(), 1);
    written(store).await;
    let manual = crate::backup::source::of_cluster(store, "kept", "c", SnapshotSource::Manual, clock.now_millis())
        .await
        .expect("a manual snapshot");
    store.insert_snapshot(&manual).await.expect("insert");
    written(store).await;
    store.remove_cluster("c").await.expect("remove");
    assert!(schedule.run().await.expect("run").is_empty());
    assert!(store.snapshot("automatic.c-2026-12-07-03-00").await.expect("read").is_none());
    assert!(store.snapshot("kept").await.expect("read").is_some());
}
