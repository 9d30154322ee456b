//! The process runtime: nodes as local data-node processes.

use std::path::PathBuf;

use ferrocache_tests::scenarios::{self, Held, Inventory};
use ferrocache_tests::{ControlPlane, DataDir, Runtime, processes_under, unique_prefix};

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
    let nodes = dir.0.join("nodes");
    scenarios::fails_over_when_the_primary_dies(&cp, &prefix, &|member| {
        let pid: i32 = std::fs::read_to_string(nodes.join(member).join("0001/pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    });
    scenarios::test_failover_demotes_the_primary(&cp, &prefix);
}
