//! The monitor against a fake runtime whose nodes are real data nodes
//! in-process (so PING, INFO, REPLICAOF and offsets are the real thing):
//! which replica a failover chooses, the fence, and the journal.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Monitor;
use crate::model::{NodeSettings, ReplicationGroup, Role, Status, member_cluster_id};
use crate::node_client::{NodeClient, info_field};
use crate::runtime::{Endpoint, NetworkOwner, NodeKey, NodeRuntime, NodeSpec, PrimaryRef, RuntimeResult};
use crate::sentinel::Announcements;
use crate::store::{NewCluster, NewGroup, Store, TemporaryStore, free_ports};
use crate::worker::Worker;

/// Nodes are started by the test; the monitor only asks for addresses.
struct FakeRuntime;

impl NodeRuntime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn ensure_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        Ok(Endpoint { address: "127.0.0.1".into(), port: spec.host_port })
    }

    async fn restart_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        self.ensure_node(spec).await
    }

    async fn resize_node(&self, _spec: &NodeSpec) -> RuntimeResult<()> {
        Ok(())
    }

    async fn remove_node(&self, _key: &NodeKey) -> RuntimeResult<()> {
        Ok(())
    }

    async fn remove_network(&self, _owner: &NetworkOwner) -> RuntimeResult<()> {
        Ok(())
    }

    async fn list_nodes(&self) -> RuntimeResult<Vec<NodeKey>> {
        Ok(Vec::new())
    }

    async fn list_networks(&self) -> RuntimeResult<Vec<NetworkOwner>> {
        Ok(Vec::new())
    }

    fn primary_address(&self, primary: &PrimaryRef, _port: u16) -> (String, u16) {
        ("127.0.0.1".into(), primary.host_port)
    }

    async fn name_endpoints(&self, _group: &str, _primary: &NodeKey, _replicas: &[NodeKey]) -> RuntimeResult<()> {
        Ok(())
    }
}

/// A data node serving on a member's host port.
struct Node {
    port: u16,
    serving: JoinHandle<()>,
}

impl Node {
    async fn start(port: u16) -> Node {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("binding a node's port");
        Node::serve(listener)
    }

    /// A fresh, empty node on `listener`.
    fn serve(listener: TcpListener) -> Node {
        let port = listener.local_addr().expect("bound").port();
        let flags = data_node::config::Flags::parse_from(["data-node"]);
        let server = data_node::server::Server::new(&flags);
        server.live().port.store(usize::from(port), Ordering::Relaxed);
        Node { port, serving: tokio::spawn(data_node::serve(listener, server)) }
    }

    /// Stops accepting connections, as a dead node refuses them.
    fn kill(&self) {
        self.serving.abort();
    }

    async fn command(&self, args: &[&str]) -> String {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let mut frame = format!("*{}\r\n", args.len());
        for a in args {
            frame.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        socket.write_all(frame.as_bytes()).await.expect("send");
        let mut line = String::new();
        BufReader::new(socket).read_line(&mut line).await.expect("reply");
        line.trim_end().to_owned()
    }

    async fn info(&self) -> String {
        let mut client = NodeClient::connect("127.0.0.1", self.port, None).await.expect("connect");
        client.info("replication").await.expect("INFO")
    }

    async fn follow(&self, primary: &Node) {
        assert_eq!(self.command(&["REPLICAOF", "127.0.0.1", &primary.port.to_string()]).await, "+OK");
    }

    /// Waits until this replica has applied everything `primary` has.
    async fn caught_up_with(&self, primary: &Node) {
        let wanted = info_field(&primary.info().await, "master_repl_offset").unwrap_or("0").to_owned();
        for _ in 0..500 {
            let info = self.info().await;
            if info_field(&info, "master_link_status") == Some("up")
                && info_field(&info, "slave_repl_offset") == Some(wanted.as_str())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("replica on {} never reached offset {wanted}", self.port);
    }

    async fn primary_port(&self) -> Option<u16> {
        info_field(&self.info().await, "master_port").and_then(|p| p.parse().ok())
    }
}

struct Fixture {
    store: Store,
    monitor: Monitor<FakeRuntime>,
    /// Member cluster id → its node.
    nodes: HashMap<String, Node>,
    group: String,
    _temporary: TemporaryStore,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for node in self.nodes.values() {
            node.kill();
        }
    }
}

/// A group of `members` (the first primary) with automatic failover,
/// available, its nodes serving and its replicas in sync.
async fn fixture(members: usize) -> Fixture {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let temporary = TemporaryStore::open("monitor", free_ports(members as u16)).await;
    let store = temporary.store.clone();
    let group = format!("grp{n}");
    let settings = NodeSettings::example();
    let new = NewGroup {
        group: ReplicationGroup {
            replication_group_id: group.clone(),
            description: "monitor test".into(),
            status: Status::Creating,
            settings: settings.clone(),
            automatic_failover_enabled: true,
            multi_az_enabled: false,
            created_at: 0,
            replication_id: None,
        },
        members: (0..members)
            .map(|i| NewCluster {
                host_port: None,
                restore_from: None,
                parameters: Default::default(),
                cache_cluster_id: member_cluster_id(&group, i),
                replication_group_id: Some(group.clone()),
                role: Some(if i == 0 { Role::Primary } else { Role::Replica }),
                num_cache_nodes: 1,
                settings: settings.clone(),
            })
            .collect(),
    };
    store.insert_group(&new).await.expect("insert");
    let mut nodes = HashMap::new();
    for (cluster, cluster_nodes) in store.group_members(&group).await.expect("members") {
        let id = cluster.cache_cluster_id;
        store.set_node_available(&id, "0001", "127.0.0.1").await.expect("node");
        store.set_cluster_status(&id, Status::Available).await.expect("cluster");
        nodes.insert(id, Node::start(cluster_nodes[0].host_port).await);
    }
    store.set_group_status(&group, Status::Available).await.expect("group");
    let primary = &nodes[&member_cluster_id(&group, 0)];
    for i in 1..members {
        let replica = &nodes[&member_cluster_id(&group, i)];
        replica.follow(primary).await;
        replica.caught_up_with(primary).await;
    }
    let monitor = Monitor::new(
        store.clone(),
        Arc::new(FakeRuntime),
        Arc::new(Notify::new()),
        Announcements::default(),
        Duration::from_millis(100),
        1,
    );
    Fixture { store, monitor, nodes, group, _temporary: temporary }
}

impl Fixture {
    fn node(&self, index: usize) -> &Node {
        &self.nodes[&member_cluster_id(&self.group, index)]
    }

    async fn primary(&self) -> String {
        let members = self.store.group_members(&self.group).await.expect("members");
        let primary = members.iter().find(|(c, _)| c.role == Some(Role::Primary)).expect("a primary");
        primary.0.cache_cluster_id.clone()
    }

    async fn events(&self) -> String {
        let filter = crate::store::EventFilter {
            source_identifier: Some(self.group.clone()),
            start: 0,
            end: i64::MAX,
            limit: 100,
            ..Default::default()
        };
        let events = self.store.events(&filter).await.expect("events");
        events.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("\n")
    }
}

#[tokio::test]
async fn a_dead_primary_is_replaced_by_the_replica_that_has_seen_the_most() {
    let mut f = fixture(3).await;
    f.monitor.step().await; // records the group's replication id
    // -002 stops following (it keeps the group's history, at a lower offset);
    // -003 keeps up with more writes.
    f.node(1).command(&["REPLICAOF", "127.0.0.1", "1"]).await;
    for i in 0..20 {
        assert_eq!(f.node(0).command(&["SET", &format!("k{i}"), "v"]).await, "+OK");
    }
    f.node(2).caught_up_with(f.node(0)).await;
    f.node(0).kill();

    f.monitor.step().await;
    let third = member_cluster_id(&f.group, 2);
    assert_eq!(f.primary().await, third, "{}", f.events().await);
    assert!(info_field(&f.node(2).info().await, "role") == Some("master"));
    assert_eq!(f.node(1).primary_port().await, Some(f.node(2).port), "the other replica follows the new primary");
    assert!(f.events().await.contains("missed 1 health checks"), "{}", f.events().await);
}

/// -003 restarted empty and took writes of its own (another history, further
/// along than -002): only -002 holds the group's data, so only it may be promoted.
#[tokio::test]
async fn a_replica_without_the_groups_data_is_never_promoted() {
    let mut f = fixture(3).await;
    f.monitor.step().await; // records the group's replication id
    for i in 0..5 {
        f.node(0).command(&["SET", &format!("k{i}"), "v"]).await;
    }
    f.node(1).caught_up_with(f.node(0)).await;
    f.node(1).command(&["REPLICAOF", "127.0.0.1", "1"]).await;

    let third = member_cluster_id(&f.group, 2);
    let port = f.node(2).port;
    f.node(2).kill();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let fresh = Node::start(port).await;
    // A replica of its own makes it keep a stream (and an offset) of its own history.
    let follower = Node::serve(TcpListener::bind(("127.0.0.1", 0)).await.expect("bind"));
    follower.follow(&fresh).await;
    follower.caught_up_with(&fresh).await;
    for i in 0..100 {
        fresh.command(&["SET", &format!("own{i}"), "v"]).await;
    }
    fresh.command(&["REPLICAOF", "127.0.0.1", "1"]).await;
    follower.kill();
    f.nodes.insert(third, fresh);
    let offset = |info: &str| info_field(info, "slave_repl_offset").and_then(|o| o.parse::<u64>().ok());
    assert!(offset(&f.node(2).info().await) > offset(&f.node(1).info().await), "-003 is further along");
    f.node(0).kill();

    f.monitor.step().await;
    assert_eq!(f.primary().await, member_cluster_id(&f.group, 1), "{}", f.events().await);
}

#[tokio::test]
async fn the_fence_repoints_a_replica_that_follows_another_node() {
    let mut f = fixture(3).await;
    f.monitor.step().await;
    // -003 is pointed at -002 (as a restarted node with a stale configuration would be).
    f.node(2).follow(f.node(1)).await;
    assert_eq!(f.node(2).primary_port().await, Some(f.node(1).port));
    f.monitor.step().await;
    assert_eq!(f.node(2).primary_port().await, Some(f.node(0).port), "fenced back to the primary");
    assert!(f.events().await.contains("rejoined as a replica"), "{}", f.events().await);
    assert_eq!(f.primary().await, member_cluster_id(&f.group, 0), "no failover for that");
}

/// A failover a restart interrupted after choosing -003 is resumed with
/// -003, though -002 has seen as much and comes first: the journal's choice stands.
#[tokio::test]
async fn a_journaled_choice_is_kept_when_the_failover_resumes() {
    let mut f = fixture(3).await;
    f.monitor.step().await;
    for i in 0..10 {
        f.node(0).command(&["SET", &format!("k{i}"), "v"]).await;
    }
    f.node(1).caught_up_with(f.node(0)).await;
    f.node(2).caught_up_with(f.node(0)).await;
    let chosen = member_cluster_id(&f.group, 2);
    let reason = "primary missed 3 health checks";
    f.store.begin_failover(&f.group, false, reason, Some(&chosen)).await.expect("journal").expect("none in flight");
    f.store.count_failover_attempt(&f.group).await.expect("attempt");

    f.monitor.step().await;
    assert_eq!(f.primary().await, chosen, "{}", f.events().await);
    assert!(f.events().await.contains("resumed after a control plane restart"), "{}", f.events().await);
    assert!(f.store.failovers().await.expect("journal").is_empty(), "the journal forgets a finished failover");
    assert_eq!(f.node(1).primary_port().await, Some(f.node(2).port));
    assert_eq!(f.node(0).primary_port().await, Some(f.node(2).port), "the live old primary was handed over");
}
