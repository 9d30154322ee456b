//! The Sentinel-compatible discovery port, used by a real Sentinel client
//! (redis-py): it finds a group's primary, follows a failover with no change
//! of configuration, and subscribers hear `+switch-master`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrocache_tests::failover::{create_failover_group, primary_member};
use ferrocache_tests::{ControlPlane, DataDir, Runtime, kill_node_process, unique_prefix};

/// Runs the redis-py client; None when redis-py is missing outside CI.
fn redis_py(sentinel: &str, group: &str, tag: &str) -> Option<Result<String, String>> {
    let (host, port) = sentinel.rsplit_once(':').expect("host:port");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/sentinel_client.py");
    let out = Command::new("python3").args([script, host, port, group, tag]).output().expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if stderr.contains("No module named 'redis'") {
        assert!(std::env::var("CI").is_err(), "redis-py is required under CI (scripts/test installs it)");
        eprintln!("redis-py not installed: skipping");
        return None;
    }
    Some(if out.status.success() { Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()) } else { Err(stderr) })
}

#[test]
fn sentinel_clients_find_the_primary_and_follow_a_failover() {
    let prefix = unique_prefix("s");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let sentinel = cp.sentinel.clone().expect("the sentinel port is on");
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);

    let Some(before) = redis_py(&sentinel, &group, "before") else { return };
    let before = before.expect("discovery before the failover");
    let (old_primary, replicas) = before.split_once(' ').expect("address and count");
    assert_eq!(replicas, "2");

    // A subscriber, as Sentinel clients keep one to hear of switches.
    let mut subscriber = TcpStream::connect(&sentinel).expect("connect");
    subscriber.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    subscriber.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n").expect("subscribe");
    let mut reader = BufReader::new(subscriber.try_clone().expect("clone"));
    let mut line = String::new();
    for _ in 0..6 {
        line.clear();
        reader.read_line(&mut line).expect("subscribe reply");
    }

    let member = primary_member(&api, &group);
    kill_node_process(&dir.0, &member);

    let mut announcement = String::new();
    for _ in 0..7 {
        line.clear();
        reader.read_line(&mut line).expect("the +switch-master message");
        announcement.push_str(&line);
    }
    assert!(announcement.contains("+switch-master") && announcement.contains(&group), "{announcement}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match redis_py(&sentinel, &group, "after").expect("redis-py") {
            Ok(after) if !after.starts_with(old_primary) => break,
            other => assert!(Instant::now() < deadline, "the client never found a new primary: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `SENTINEL FAILOVER <group>` forces a failover, as on a real Sentinel:
/// the monitor runs it like a test-failover and the port names the new primary.
#[test]
fn sentinel_failover_moves_the_primary() {
    use ferrocache_tests::failover::{primary_endpoint, wait_primary_moves_from};
    let prefix = unique_prefix("sf");
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Process);
    let sentinel = cp.sentinel.clone().expect("the sentinel port is on");
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    let old = primary_member(&api, &group);
    let mut con = redis::Client::open(format!("redis://{sentinel}/").as_str())
        .and_then(|c| c.get_connection())
        .expect("the sentinel port");
    let () = redis::cmd("SENTINEL").arg("FAILOVER").arg(&group).query(&mut con).expect("SENTINEL FAILOVER");
    wait_primary_moves_from(&api, &group, &old);
    let (host, port): (String, u16) =
        redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(&group).query(&mut con).expect("discovery");
    assert_eq!((host, port), primary_endpoint(&api, &group));
    let unknown = redis::cmd("SENTINEL").arg("FAILOVER").arg("nobody").query::<()>(&mut con).expect_err("unknown");
    assert!(unknown.to_string().contains("No such master with that name"), "{unknown}");
}
