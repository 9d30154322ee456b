//! The docker runtime: nodes as containers of the `FROM scratch` data-node
//! image, on a network per cluster or group, each with a named volume.

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
    scenarios::fails_over_when_the_primary_dies(&cp, &prefix, &|member| {
        let status = std::process::Command::new("docker")
            .args(["kill", &format!("ferrocache-{member}-0001")])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("docker kill");
        assert!(status.success());
    });
    scenarios::test_failover_demotes_the_primary(&cp, &prefix);
}
