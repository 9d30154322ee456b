//! The store against a real SQLite file.

use super::{ClusterFilter, NewCluster, NewGroup, PortRange, TemporaryStore};
use crate::model::{NodeSettings, ReplicationGroup, Role, Status, member_cluster_id};

async fn store() -> TemporaryStore {
    TemporaryStore::open("store", PortRange { low: 40_000, high: 40_099 }).await
}

fn settings() -> NodeSettings {
    NodeSettings {
        auth_token: Some("a-long-enough-token".into()),
        snapshot_retention_limit: 3,
        tags: vec![crate::model::Tag { key: "team".into(), value: "cache".into() }],
        ..NodeSettings::example()
    }
}

fn group(id: &str, members: usize) -> NewGroup {
    NewGroup {
        group: ReplicationGroup {
            replication_group_id: id.into(),
            description: format!("group {id}"),
            status: Status::Creating,
            settings: settings(),
            automatic_failover_enabled: false,
            multi_az_enabled: false,
            created_at: 0,
            replication_id: None,
        },
        members: (0..members)
            .map(|i| NewCluster {
                host_port: None,
                restore_from: None,
                parameters: Default::default(),
                cache_cluster_id: member_cluster_id(id, i),
                replication_group_id: Some(id.into()),
                role: Some(if i == 0 { Role::Primary } else { Role::Replica }),
                num_cache_nodes: 1,
                settings: settings(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn settings_status_and_roles_come_back_as_written() {
    let temporary = store().await;
    let store = &temporary.store;
    store.insert_group(&group("g", 2)).await.expect("insert");
    let read = store.group("g").await.expect("read").expect("exists");
    assert_eq!((read.status, read.settings), (Status::Creating, settings()));
    let members = store.group_members("g").await.expect("members");
    let roles: Vec<_> = members.iter().map(|(c, _)| c.role).collect();
    assert_eq!(roles, [Some(Role::Primary), Some(Role::Replica)]);
    assert_eq!(members[0].0.settings, settings());
    assert_eq!(members[1].1[0].status, Status::Creating);
}

/// Groups whose names prefix each other (`a`, `a-0`) sort their members
/// differently from themselves: each page still gets its own members.
#[tokio::test]
async fn a_page_of_groups_carries_each_ones_members_and_nodes() {
    let temporary = store().await;
    let store = &temporary.store;
    for (id, members) in [("a", 2), ("a-0", 3), ("b", 1)] {
        store.insert_group(&group(id, members)).await.expect("insert");
    }
    let page = store.groups_with_members(None, 2).await.expect("page");
    let shape: Vec<(String, Vec<String>)> = page
        .iter()
        .map(|(g, members)| {
            (g.replication_group_id.clone(), members.iter().map(|(c, _)| c.cache_cluster_id.clone()).collect())
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("a".to_owned(), vec!["a-001".to_owned(), "a-002".to_owned()]),
            ("a-0".to_owned(), vec!["a-0-001".to_owned(), "a-0-002".to_owned(), "a-0-003".to_owned()]),
        ]
    );
    assert!(page.iter().flat_map(|(_, m)| m).all(|(_, nodes)| nodes.len() == 1), "one node each");

    let next = store.groups_with_members(Some("a-0"), 2).await.expect("next page");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1.len(), 1);
}

#[tokio::test]
async fn clusters_with_nodes_pages_by_cluster_not_by_row() {
    let temporary = store().await;
    let store = &temporary.store;
    store.insert_group(&group("g", 3)).await.expect("insert");
    let filter = ClusterFilter { limit: 2, ..ClusterFilter::default() };
    let page = store.clusters_with_nodes(&filter).await.expect("page");
    assert_eq!(
        page.iter().map(|(c, n)| (c.cache_cluster_id.as_str(), n.len())).collect::<Vec<_>>(),
        [("g-001", 1), ("g-002", 1)]
    );
}
