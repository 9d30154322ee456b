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
