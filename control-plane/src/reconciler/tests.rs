//! The reconciler against a fake runtime whose "nodes" are tiny in-process
//! servers answering PING, so readiness is checked over a real socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Reconciler;
use crate::model::{NodeSettings, ReplicationGroup, Role, Status, member_cluster_id};
use crate::runtime::{Endpoint, NetworkOwner, NodeKey, NodeRuntime, NodeSpec, RuntimeError, RuntimeResult};
use crate::store::{EventFilter, NewCluster, NewGroup, PortRange, Store, TemporaryStore, free_ports};
use crate::worker::Shutdown;

#[derive(Default)]
struct FakeRuntime {
    nodes: Mutex<HashMap<NodeKey, JoinHandle<()>>>,
    networks: Mutex<Vec<NetworkOwner>>,
    created: AtomicUsize,
    restarted: AtomicUsize,
    fail_cluster: Mutex<Option<String>>,
    /// Networks refuse to go, as Docker's do while a container is attached.
    networks_busy: std::sync::atomic::AtomicBool,
}

/// Answers +PONG to PING, an in-sync replica's INFO to INFO, and +OK to
/// everything else, one reply per command.
async fn fake_node(listener: TcpListener) {
    while let Ok((mut socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                let reply: &[u8] = if text.contains("PING") {
                    b"+PONG\r\n"
                } else if text.contains("INFO") {
                    b"$21\r\nmaster_link_status:up\r\n"
                } else {
                    b"+OK\r\n"
                };
                if socket.write_all(reply).await.is_err() {
                    break;
                }
            }
        });
    }
}

impl NodeRuntime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn ensure_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        if self.fail_cluster.lock().unwrap().as_deref() == Some(spec.cache_cluster_id.as_str()) {
            return Err(RuntimeError::NodeExited {
                status: "exit status: 1".into(),
                last_log: "no room at the inn".into(),
            });
        }
        if !self.nodes.lock().unwrap().contains_key(&spec.key()) {
            let listener = TcpListener::bind(("127.0.0.1", spec.host_port))
                .await
                .map_err(|source| RuntimeError::Io { what: "binding".into(), source })?;
            self.created.fetch_add(1, Ordering::SeqCst);
            self.nodes.lock().unwrap().insert(spec.key(), tokio::spawn(fake_node(listener)));
            let mut networks = self.networks.lock().unwrap();
            if !networks.contains(&spec.network_owner()) {
                networks.push(spec.network_owner());
            }
        }
        Ok(Endpoint { address: "127.0.0.1".into(), port: spec.host_port })
    }

    async fn restart_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        self.restarted.fetch_add(1, Ordering::SeqCst);
        self.ensure_node(spec).await
    }

    async fn resize_node(&self, _spec: &NodeSpec) -> RuntimeResult<()> {
        Ok(())
    }

    async fn remove_node(&self, key: &NodeKey) -> RuntimeResult<()> {
        if let Some(task) = self.nodes.lock().unwrap().remove(key) {
            task.abort();
        }
        Ok(())
    }

    async fn remove_network(&self, owner: &NetworkOwner) -> RuntimeResult<()> {
        if self.networks_busy.load(Ordering::SeqCst) {
            let source = std::io::Error::other("network has active endpoints");
            return Err(RuntimeError::Io { what: format!("the network of {owner}"), source });
        }
        self.networks.lock().unwrap().retain(|n| n != owner);
        Ok(())
    }

    async fn list_nodes(&self) -> RuntimeResult<Vec<NodeKey>> {
        Ok(self.nodes.lock().unwrap().keys().cloned().collect())
    }

    fn primary_address(&self, primary: &crate::runtime::PrimaryRef, _port: u16) -> (String, u16) {
        ("127.0.0.1".into(), primary.host_port)
    }

    async fn list_networks(&self) -> RuntimeResult<Vec<NetworkOwner>> {
        Ok(self.networks.lock().unwrap().clone())
    }

    async fn name_endpoints(&self, _group: &str, _primary: &NodeKey, _replicas: &[NodeKey]) -> RuntimeResult<()> {
        Ok(())
    }
}

struct Fixture {
    store: Store,
    runtime: Arc<FakeRuntime>,
    reconciler: Arc<Reconciler<FakeRuntime>>,
    /// The host ports the store hands out.
    ports: PortRange,
    _temporary: TemporaryStore,
}

async fn fixture() -> Fixture {
    let ports = free_ports(20);
    let temporary = TemporaryStore::open("reconciler", ports).await;
    let store = temporary.store.clone();
    let runtime = Arc::new(FakeRuntime::default());
    let reconciler = Reconciler::new(
        store.clone(),
        Arc::clone(&runtime),
        Arc::new(Notify::new()),
        Duration::from_secs(5),
        Shutdown::never(),
        Arc::new(crate::backup::SnapshotFiles::new(std::env::temp_dir().join("ferrocache-reconciler-snapshots"))),
    );
    Fixture { store, runtime, reconciler, ports, _temporary: temporary }
}

fn cluster(id: &str) -> NewCluster {
    NewCluster {
        host_port: None,
        restore_from: None,
        parameters: Default::default(),
        cache_cluster_id: id.into(),
        replication_group_id: None,
        role: None,
        num_cache_nodes: 1,
        settings: NodeSettings::example(),
    }
}

async fn messages(store: &Store, id: &str) -> Vec<String> {
    let filter = EventFilter {
        source_identifier: Some(id.into()),
        start: 0,
        end: i64::MAX,
        limit: 100,
        ..EventFilter::default()
    };
    store.events(&filter).await.unwrap().into_iter().map(|e| e.message).collect()
}

#[tokio::test]
async fn creates_then_deletes_a_cluster() {
    let f = fixture().await;
    f.store.insert_cluster(&cluster("alpha")).await.unwrap();
    f.reconciler.converge().await;

    let alpha = f.store.cluster("alpha").await.unwrap().unwrap();
    assert_eq!(alpha.status, Status::Available);
    let nodes = f.store.nodes("alpha").await.unwrap();
    assert_eq!(nodes[0].status, Status::Available);
    assert_eq!(nodes[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(f.runtime.created.load(Ordering::SeqCst), 1);
    assert!(messages(&f.store, "alpha").await.iter().any(|m| m.starts_with("Cache cluster created")));

    assert!(f.store.delete_available_cluster("alpha").await.unwrap());
    f.reconciler.converge().await;
    assert!(f.store.cluster("alpha").await.unwrap().is_none());
    assert!(f.runtime.list_nodes().await.unwrap().is_empty());
    assert!(f.runtime.list_networks().await.unwrap().is_empty());
    assert!(messages(&f.store, "alpha").await.contains(&"Cache cluster deleted".to_owned()));
}

#[tokio::test]
async fn a_failed_create_says_why() {
    let f = fixture().await;
    *f.runtime.fail_cluster.lock().unwrap() = Some("beta".into());
    f.store.insert_cluster(&cluster("beta")).await.unwrap();
    f.reconciler.converge().await;
    assert_eq!(f.store.cluster("beta").await.unwrap().unwrap().status, Status::CreateFailed);
    let events = messages(&f.store, "beta").await;
    assert!(events.iter().any(|m| m.contains("creation failed") && m.contains("no room at the inn")), "{events:?}");
}

#[tokio::test]
async fn adopts_a_node_an_earlier_run_made() {
    let f = fixture().await;
    f.store.insert_cluster(&cluster("gamma")).await.unwrap();
    // An earlier control plane made the node and died before recording it.
    let node = &f.store.nodes("gamma").await.unwrap()[0];
    let gamma = f.store.cluster("gamma").await.unwrap().unwrap();
    let spec = super::cluster::node_spec(&gamma, node, "cache.t3.micro", None).unwrap();
    f.runtime.ensure_node(&spec).await.unwrap();

    f.reconciler.converge().await;
    assert_eq!(f.store.cluster("gamma").await.unwrap().unwrap().status, Status::Available);
    assert_eq!(f.runtime.created.load(Ordering::SeqCst), 1, "no second node");
}

#[tokio::test]
async fn sweeps_orphans_and_keeps_known_nodes() {
    let f = fixture().await;
    f.store.insert_cluster(&cluster("kept")).await.unwrap();
    f.reconciler.converge().await;
    let orphan = NodeSpec {
        engine: crate::model::Engine::Redis,
        cache_cluster_id: "forgotten".into(),
        cache_node_id: "0001".into(),
        replication_group_id: None,
        role: None,
        port: 6379,
        host_port: f.ports.high,
        maxmemory_bytes: 1,
        memory_limit_bytes: 1,
        vcpus: 1,
        password: None,
        primary: None,
        parameters: Default::default(),
    };
    f.runtime.ensure_node(&orphan).await.unwrap();

    assert_eq!(f.reconciler.sweep_orphans().await.unwrap(), 2, "the node and its cluster");
    let left = f.runtime.list_nodes().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].cache_cluster_id, "kept");
}

#[tokio::test]
async fn a_group_is_available_when_all_members_are_and_gone_after_delete() {
    let f = fixture().await;
    let members = (0..3)
        .map(|i| NewCluster {
            host_port: None,
            restore_from: None,
            parameters: Default::default(),
            cache_cluster_id: member_cluster_id("grp", i),
            replication_group_id: Some("grp".into()),
            role: Some(if i == 0 { Role::Primary } else { Role::Replica }),
            ..cluster("unused")
        })
        .collect();
    let group = ReplicationGroup {
        replication_group_id: "grp".into(),
        description: "test".into(),
        status: Status::Creating,
        settings: NodeSettings::example(),
        automatic_failover_enabled: false,
        multi_az_enabled: false,
        created_at: 0,
        replication_id: None,
    };
    f.store.insert_group(&NewGroup { group, members }).await.unwrap();
    f.reconciler.converge().await;
    assert_eq!(f.store.group("grp").await.unwrap().unwrap().status, Status::Available);
    assert_eq!(f.runtime.created.load(Ordering::SeqCst), 3);
    assert_eq!(
        f.runtime.list_networks().await.unwrap(),
        vec![NetworkOwner::Group("grp".into())],
        "one network for the group"
    );

    // A network that will not go holds the delete; it says why, once.
    f.runtime.networks_busy.store(true, Ordering::SeqCst);
    assert!(f.store.delete_available_group("grp").await.unwrap());
    f.reconciler.converge().await;
    for _ in 0..3 {
        f.reconciler.pass().await;
    }
    assert_eq!(f.store.group("grp").await.unwrap().map(|g| g.status), Some(Status::Deleting));
    let waiting =
        |messages: Vec<String>| messages.iter().filter(|m| m.contains("network has active endpoints")).count();
    assert_eq!(waiting(messages(&f.store, "grp").await), 1, "{:?}", messages(&f.store, "grp").await);
    f.runtime.networks_busy.store(false, Ordering::SeqCst);
    f.reconciler.pass().await;
    assert!(f.store.group("grp").await.unwrap().is_none());
    assert_eq!(waiting(messages(&f.store, "grp").await), 1);
    assert!(f.runtime.list_nodes().await.unwrap().is_empty());
    assert!(f.runtime.list_networks().await.unwrap().is_empty());
    assert_eq!(messages(&f.store, "grp").await.last().map(String::as_str), Some("Replication group deleted"));
}

#[tokio::test]
async fn reboots_only_the_nodes_asked_for() {
    let f = fixture().await;
    f.store.insert_cluster(&cluster("delta")).await.unwrap();
    f.reconciler.converge().await;
    assert!(f.store.reboot_available_cluster("delta", &["0001".into()]).await.unwrap());
    assert_eq!(f.store.nodes("delta").await.unwrap()[0].status, Status::Rebooting);
    f.reconciler.converge().await;
    assert_eq!(f.runtime.restarted.load(Ordering::SeqCst), 1);
    assert_eq!(f.store.cluster("delta").await.unwrap().unwrap().status, Status::Available);
    let node = &f.store.nodes("delta").await.unwrap()[0];
    assert!(node.status == Status::Available && !node.reboot_requested);
}
