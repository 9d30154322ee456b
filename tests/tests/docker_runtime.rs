//! The docker runtime: nodes as containers of the `FROM scratch` data-node
//! image, on a network per cluster or group, each with a named volume.

use ferrocache_tests::failover;
use ferrocache_tests::scenarios::{self, Held, Inventory};
use ferrocache_tests::{
    ControlPlane, DataDir, DockerCleanup, Runtime, docker_available, docker_objects, unique_prefix,
};

struct Containers(String);

impl Inventory for Containers {
    fn held(&self) -> Held {
        let (containers, networks, volumes) = docker_objects(&self.0);
        Held { nodes: containers.len(), networks: networks.len(), volumes: volumes.len() }
    }

    fn expected(&self, nodes: usize, owners: usize) -> Held {
        Held { nodes, networks: owners, volumes: nodes }
    }
}

#[test]
fn cluster_and_group_lifecycle() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("d");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    scenarios::lifecycle(&cp, &prefix, &Containers(prefix.clone()));
}

#[test]
fn converges_after_the_control_plane_is_killed() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("dk");
    let _cleanup = DockerCleanup(prefix.clone());
    scenarios::converges_after_kill9(&Runtime::Docker, &prefix, &Containers(prefix.clone()));
}

#[test]
fn a_group_fails_over_when_its_primary_container_is_killed() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("df");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    let kill = |member: &str| {
        let status = std::process::Command::new("docker")
            .args(["kill", &format!("ferrocache-{member}-0001")])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("docker kill");
        assert!(status.success());
    };
    failover::fails_over_when_the_primary_dies(&cp, &prefix, &kill);
    failover::test_failover_demotes_the_primary(&cp, &prefix);
    failover::no_acknowledged_write_is_lost_under_load(&cp, &prefix, &kill);
}

/// The primary is cut off its network (alive, holding its data): the group
/// fails over; when the primary is reconnected it is fenced: it becomes a
/// replica of the new primary and writes sent to it are refused.
#[test]
fn a_primary_cut_off_its_network_is_fenced_when_it_returns() {
    use ferrocache_tests::failover::{primary_endpoint, primary_member};
    use ferrocache_tests::scenarios::{PROVISION, check_replication};
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("dn");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    let api = cp.api();
    let group = format!("{prefix}-g");
    let body = serde_json::json!({"replication_group_id": group, "replication_group_description": "n",
                                  "num_cache_clusters": 3, "automatic_failover_enabled": true});
    assert_eq!(api.post("/v1/replication-groups", &body).status, 201);
    api.wait_status(&format!("/v1/replication-groups/{group}"), "available", PROVISION);
    let old_member = primary_member(&api, &group);
    let (old_host, old_port) = primary_endpoint(&api, &group);
    let container = format!("ferrocache-{old_member}-0001");
    let network = format!("ferrocache-{group}");
    let docker = |args: &[&str]| {
        let status = std::process::Command::new("docker").args(args).status().expect("docker");
        assert!(status.success(), "docker {args:?}");
    };
    docker(&["network", "disconnect", &network, &container]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while primary_member(&api, &group) == old_member {
        assert!(std::time::Instant::now() < deadline, "no failover while the primary was cut off");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    docker(&["network", "connect", &network, &container]);

    // Back on the network and still believing it is the primary: fenced.
    let url = format!("redis://{old_host}:{old_port}/");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let role = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .and_then(|mut con| redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut con));
        if let Ok(role) = role
            && role.first() == Some(&redis::Value::BulkString(b"slave".to_vec()))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the returning primary was never fenced");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check_replication(&api, &group, 2);
}
