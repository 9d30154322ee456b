//! The docker runtime: nodes as containers of the `FROM scratch` data-node
//! image, on a network per cluster or group, each with a named volume.

use ferrocache_tests::failover::{
    self, create_failover_group, primary_endpoint, primary_member, wait_primary_moves_from,
};
use ferrocache_tests::scenarios::{self, Held, Inventory};
use ferrocache_tests::under_load::{self, Disruption};
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
fn parameter_groups_reach_every_node() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("dp");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    ferrocache_tests::parameters::parameter_groups(&cp, &prefix, &Containers(prefix.clone()));
}

#[test]
fn a_memcached_cluster_is_discovered_grown_and_shrunk() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("dm");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    ferrocache_tests::memcached::memcached_cluster(&cp, &prefix, &Containers(prefix.clone()));
}

#[test]
fn snapshots_restore_into_clusters_and_groups() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("db");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    ferrocache_tests::backups::snapshot_and_restore(&cp, &prefix);
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
fn a_standalone_node_whose_container_is_killed_is_restarted_with_its_snapshot() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("ds");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    ferrocache_tests::standalone::a_dead_node_is_restarted_with_its_snapshot(&cp, &prefix, &docker_kill);
}

fn docker_kill(cluster: &str) {
    let status = std::process::Command::new("docker")
        .args(["kill", &format!("ferrocache-{cluster}-0001")])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("docker kill");
    assert!(status.success());
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
    let kill = docker_kill;
    let group = failover::fails_over_when_the_primary_dies(&cp, &prefix, &kill);
    assert_names_follow_roles(&cp.api(), &group);
    failover::test_failover_demotes_the_primary(&cp, &prefix);
    under_load::no_confirmed_write_is_lost(&cp, &format!("{prefix}-w"), Disruption::Kill(&kill));
    under_load::no_confirmed_write_is_lost(&cp, &format!("{prefix}-wt"), Disruption::TestFailover);
}

/// The primary is cut off its network (alive, holding its data): the group
/// fails over; when the primary is reconnected it is fenced: it becomes a
/// replica of the new primary and writes sent to it are refused.
#[test]
fn a_primary_cut_off_its_network_is_fenced_when_it_returns() {
    use ferrocache_tests::scenarios::check_replication;
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("dn");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    let old_member = primary_member(&api, &group);
    let (old_host, old_port) = primary_endpoint(&api, &group);
    let container = format!("ferrocache-{old_member}-0001");
    let network = format!("ferrocache-group-{group}");
    let docker = |args: &[&str]| {
        let status = std::process::Command::new("docker").args(args).status().expect("docker");
        assert!(status.success(), "docker {args:?}");
    };
    docker(&["network", "disconnect", &network, &container]);
    wait_primary_moves_from(&api, &group, &old_member);
    // The monitor may have replaced the unreachable member already (made
    // again, on its network, as a replica): then there is nothing to reconnect.
    let reconnected = std::process::Command::new("docker")
        .args(["network", "connect", &network, &container])
        .output()
        .expect("docker");
    if !reconnected.status.success() {
        let stderr = String::from_utf8_lossy(&reconnected.stderr);
        assert!(stderr.contains("already exists"), "docker network connect: {stderr}");
    }

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

/// `docker inspect -f <format> <container>`, trimmed.
fn inspect(container: &str, format: &str) -> String {
    let out = std::process::Command::new("docker").args(["inspect", "-f", format, container]).output().expect("docker");
    assert!(out.status.success(), "docker inspect {container}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Each member's names on the group's network, as Docker holds them.
fn aliases(container: &str, network: &str) -> Vec<String> {
    let format = format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}");
    serde_json::from_str(&inspect(container, &format)).unwrap_or_default()
}

/// `<group>-primary` names the primary and only it; `<group>-reader` every replica.
fn assert_names_follow_roles(api: &ferrocache_tests::Api, group: &str) {
    let described = api.get(&format!("/v1/replication-groups/{group}")).body;
    let members = described["node_groups"][0]["node_group_members"].as_array().cloned().unwrap_or_default();
    assert!(!members.is_empty(), "{described}");
    let network = format!("ferrocache-group-{group}");
    for member in &members {
        let cluster = member["cache_cluster_id"].as_str().expect("member id");
        let names = aliases(&format!("ferrocache-{cluster}-0001"), &network);
        let (wanted, stale) = match member["current_role"].as_str() {
            Some("primary") => (format!("{group}-primary"), format!("{group}-reader")),
            _ => (format!("{group}-reader"), format!("{group}-primary")),
        };
        assert!(names.contains(&wanted) && !names.contains(&stale), "{cluster} is named {names:?}");
    }
}

/// A client container on the group's network that knows the primary only
/// by name: a data node replicating from `<group>-primary`, its port
/// published for the test.
struct Probe {
    port: u16,
}

impl Probe {
    fn start(name: &str, network: &str, image: &str, follow: &str) -> Probe {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let status = std::process::Command::new("docker")
            .args(["run", "-d", "--name", name, "--network", network, "-p", &format!("127.0.0.1:{port}:6379")])
            .args(["-e", &format!("FERRO_REPLICAOF={follow} 6379"), image, "--port", "6379", "--bind", "0.0.0.0"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("docker run");
        assert!(status.success(), "starting the probe");
        Probe { port }
    }

    /// Waits until the probe holds `key` = `value`.
    fn wait_for(&self, key: &str, value: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let url = format!("redis://127.0.0.1:{}/", self.port);
        loop {
            let got = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection())
                .and_then(|mut con| redis::cmd("GET").arg(key).query::<Option<String>>(&mut con));
            if got.as_ref().ok().and_then(Option::as_deref) == Some(value) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the probe never saw {key}={value}: {got:?}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// How many replicas the node at the endpoint streams to.
fn connected_replicas((address, port): &(String, u16)) -> usize {
    let mut con = scenarios::connect(address, *port);
    let info: String = redis::cmd("INFO").arg("replication").query(&mut con).expect("INFO");
    let field = info.lines().find_map(|l| l.strip_prefix("connected_slaves:")).unwrap_or("0");
    field.trim().parse().unwrap_or(0)
}

/// Containers on a group's network reach the primary as `<group>-primary`
/// and the replicas as `<group>-reader`; a failover moves the names, and a
/// client that reconnects by name lands on the new primary.
#[test]
fn endpoint_names_follow_the_primary() {
    if !docker_available() {
        return;
    }
    let prefix = unique_prefix("de");
    let _cleanup = DockerCleanup(prefix.clone());
    let dir = DataDir::new(&prefix);
    let cp = ControlPlane::start(&dir.0, &Runtime::Docker);
    let api = cp.api();
    let group = format!("{prefix}-g");
    create_failover_group(&api, &group, 3);
    assert_names_follow_roles(&api, &group);

    let old_member = primary_member(&api, &group);
    let old = primary_endpoint(&api, &group);
    let image = inspect(&format!("ferrocache-{old_member}-0001"), "{{.Config.Image}}");
    let () = redis::cmd("SET").arg("k").arg("before").query(&mut scenarios::connect(&old.0, old.1)).expect("SET");
    let probe = Probe::start(
        &format!("ferrocache-{prefix}-probe"),
        &format!("ferrocache-group-{group}"),
        &image,
        &format!("{group}-primary"),
    );
    probe.wait_for("k", "before");
    assert_eq!(connected_replicas(&old), 3, "the probe follows the primary by name");

    let path = format!("/v1/replication-groups/{group}/test-failover");
    assert_eq!(api.post(&path, &serde_json::json!({"node_group_id": "0001"})).status, 202);
    wait_primary_moves_from(&api, &group, &old_member);
    assert_names_follow_roles(&api, &group);
    let new = primary_endpoint(&api, &group);
    let () = redis::cmd("SET").arg("k").arg("after").query(&mut scenarios::connect(&new.0, new.1)).expect("SET");
    // The probe lost its link when the old primary was renamed; it found the new one by name.
    probe.wait_for("k", "after");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while connected_replicas(&new) != 3 {
        assert!(std::time::Instant::now() < deadline, "the new primary never streamed to the probe as well");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The demoted primary, rebooted, is made again around its volume so that
    // it starts as a replica of the new primary (never writable on its own).
    let path = format!("/v1/cache-clusters/{old_member}");
    let rebooting = api.post(&format!("{path}/reboot"), &serde_json::json!({"cache_node_ids_to_reboot": ["0001"]}));
    assert_eq!(rebooting.status, 202, "{}", rebooting.body);
    api.wait_status(&path, "available", ferrocache_tests::scenarios::PROVISION);
    let env = inspect(&format!("ferrocache-{old_member}-0001"), "{{json .Config.Env}}");
    let new_member = primary_member(&api, &group);
    let follows = format!("FERRO_REPLICAOF=ferrocache-{new_member}-0001 6379");
    assert!(env.contains(&follows), "{env}");
    let mut demoted = scenarios::connect(&old.0, old.1);
    assert_eq!(redis::cmd("GET").arg("k").query::<String>(&mut demoted).expect("GET"), "after");
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut demoted).expect("ROLE");
    assert_eq!(role.first(), Some(&redis::Value::BulkString(b"slave".to_vec())));
    assert_names_follow_roles(&api, &group);
}
