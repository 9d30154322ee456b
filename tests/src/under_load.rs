//! Writes under way while the primary changes. A writer keeps writing, each
//! write confirmed with `WAIT 1`, and finds the primary as Sentinel-aware
//! clients do (`SENTINEL get-master-addr-by-name` on the control plane's
//! discovery port) whenever its connection fails. Every write it saw
//! confirmed must be on the new primary afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::ControlPlane;
use crate::failover::{create_failover_group, primary_endpoint, primary_member, wait_primary_moves_from};
use crate::scenarios::connect;

/// What happens to the primary while the writer writes.
pub enum Disruption<'a> {
    /// The primary's node dies; the closure kills the named member's node.
    Kill(&'a dyn Fn(&str)),
    /// test-failover through the API: the live primary hands over.
    TestFailover,
}

/// One write the writer saw confirmed, and the primary that confirmed it.
struct Confirmed {
    key: u64,
    at: Instant,
    primary: (String, u16),
}

/// The group's primary, as the Sentinel port names it.
pub fn discover(sentinel: &str, group: &str) -> Option<(String, u16)> {
    let client = redis::Client::open(format!("redis://{sentinel}/")).ok()?;
    let mut con = client.get_connection_with_timeout(Duration::from_millis(500)).ok()?;
    redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(group).query(&mut con).ok()
}

fn write_until(stop: &AtomicBool, sentinel: &str, group: &str) -> Vec<Confirmed> {
    let mut confirmed = Vec::new();
    let mut current: Option<(redis::Connection, (String, u16))> = None;
    let mut key = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let (con, primary) = match current.as_mut() {
            Some((con, primary)) => (con, primary),
            None => {
                let Some(primary) = discover(sentinel, group) else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let url = format!("redis://{}:{}/", primary.0, primary.1);
                let opened = redis::Client::open(url.as_str())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)));
                let Ok(con) = opened else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let (con, primary) = current.insert((con, primary));
                (con, primary)
            }
        };
        let _ = con.set_read_timeout(Some(Duration::from_secs(2)));
        let written = redis::cmd("SET").arg(format!("load-{key}")).arg(key).query::<()>(con);
        match written.and_then(|()| redis::cmd("WAIT").arg(1).arg(1000).query::<i64>(con)) {
            Ok(n) if n >= 1 => confirmed.push(Confirmed { key, at: Instant::now(), primary: primary.clone() }),
            Ok(_) => {}
            // A dead or demoted primary: ask again.
            Err(_) => current = None,
        }
        key += 1;
    }
    confirmed
}

/// A 1+2 group takes writes while `disruption` moves its primary: none of
/// the confirmed writes is lost, and writes are confirmed again on the new
/// primary, found through the Sentinel port (the time is printed).
pub fn no_confirmed_write_is_lost(cp: &ControlPlane, group_id: &str, disruption: Disruption<'_>) {
    let api = cp.api();
    let sentinel = cp.sentinel.clone().expect("the sentinel port is on");
    create_failover_group(&api, group_id, 3);
    let old_member = primary_member(&api, group_id);
    let old = primary_endpoint(&api, group_id);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, sentinel, group) = (Arc::clone(&stop), sentinel.clone(), group_id.to_owned());
        std::thread::spawn(move || write_until(&stop, &sentinel, &group))
    };
    std::thread::sleep(Duration::from_millis(500));
    let disrupted = Instant::now();
    let what = match disruption {
        Disruption::Kill(kill) => {
            kill(&old_member);
            "kill"
        }
        Disruption::TestFailover => {
            let path = format!("/v1/replication-groups/{group_id}/test-failover");
            let requested = api.post(&path, &json!({"node_group_id": "0001"}));
            assert_eq!(requested.status, 202, "{}", requested.body);
            "test-failover"
        }
    };
    wait_primary_moves_from(&api, group_id, &old_member);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let confirmed = writer.join().expect("writer");

    let (address, port) = primary_endpoint(&api, group_id);
    let mut con = connect(&address, port);
    let lost: Vec<u64> = confirmed
        .iter()
        .map(|c| c.key)
        .filter(|i| {
            redis::cmd("GET").arg(format!("load-{i}")).query::<Option<u64>>(&mut con).ok().flatten() != Some(*i)
        })
        .collect();
    assert!(confirmed.len() > 10, "the writer confirmed only {} writes", confirmed.len());
    assert!(
        lost.is_empty(),
        "{what}: {} of {} confirmed writes lost: {:?}",
        lost.len(),
        confirmed.len(),
        &lost[..lost.len().min(10)]
    );
    let resumed = confirmed.iter().find(|c| c.at > disrupted && c.primary != old).map(|c| c.at - disrupted);
    let resumed = resumed.unwrap_or_else(|| panic!("{what}: no write was confirmed on the new primary"));
    eprintln!(
        "{what}: {} confirmed writes, none lost; writes confirmed on the new primary, found through Sentinel, {resumed:?} after the {what}",
        confirmed.len()
    );
}
