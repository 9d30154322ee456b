//! One failover: choose the replica to promote, promote it, demote the old
//! primary if it answers, move the endpoint names, repoint the rest, record
//! the new roles. The order matters:
//! the new primary takes writes only once it is no longer a replica; the
//! others follow it before the store says it is the primary, so a describe
//! never names a primary that nobody replicates from.
//!
//! A primary that still answers (test-failover, a planned change) hands over
//! rather than being dropped: its clients' writes are held (CLIENT PAUSE
//! WRITE, which holds WAIT's answers too) until the chosen replica has all it
//! had, and it is demoted before they are let go. So no write it confirmed is
//! lost, and none lands on it afterwards.
//!
//! Every failover is a row of the journal (`store::Failover`) until the new
//! roles are recorded; the replica chosen is written there before it is
//! promoted. A failover that a restart interrupted is resumed with that
//! replica, and with a handover, since the old primary may be alive again.

use std::time::{Duration, Instant};

use super::{Member, Monitor, PROBE};
use crate::model::{ReplicationGroup, source};
use crate::node_client::{NodeClient, info_field};
use crate::runtime::NodeRuntime;
use crate::store::{Failover, StoreError};

/// The longest the old primary holds writes: should the control plane die
/// mid-handover, the pause ends by itself.
const HANDOVER_PAUSE: Duration = Duration::from_secs(5);
/// How long the chosen replica has to catch up with the held primary.
const CATCH_UP: Duration = Duration::from_secs(3);

/// The old primary, its writes held, and the offset it stopped at.
struct Handover {
    client: NodeClient,
    offset: u64,
}

impl Handover {
    async fn hold(primary: &Member) -> Option<Handover> {
        let mut client = primary.connect(PROBE).await?;
        client.pause_writes(HANDOVER_PAUSE.as_millis() as u64).await.ok()?;
        let info = client.info("replication").await.ok();
        match info.as_deref().and_then(replication_offset) {
            Some((_, offset)) => Some(Handover { client, offset }),
            None => {
                let _ = client.unpause().await;
                None
            }
        }
    }

    async fn release(handover: Option<Handover>) {
        if let Some(mut handover) = handover {
            let _ = handover.client.unpause().await;
        }
    }
}

/// (is a primary, how much of the stream it has seen), from INFO replication.
fn replication_offset(info: &str) -> Option<(bool, u64)> {
    let offset = |name| info_field(info, name).and_then(|o| o.parse().ok());
    match info_field(info, "role")? {
        "slave" => Some((false, offset("slave_repl_offset").unwrap_or(0))),
        "master" => Some((true, offset("master_repl_offset")?)),
        _ => None,
    }
}

/// The reachable replica (or the named one) that holds the group's data (its
/// replication id is the group's: never a node that restarted empty) and has
/// seen the most of the stream. A member that already reports itself primary
/// was promoted by a failover that a crash interrupted: finishing that one
/// beats starting another.
async fn choose(
    members: &[Member],
    primary: usize,
    target: Option<&str>,
    replication_id: Option<&str>,
) -> Option<Chosen> {
    let mut best: Option<(Chosen, bool)> = None;
    for (i, member) in members.iter().enumerate() {
        if i == primary || target.is_some_and(|t| t != member.cluster.cache_cluster_id) {
            continue;
        }
        let Some(mut client) = member.connect(PROBE).await else { continue };
        let Ok(info) = client.info("replication").await else { continue };
        if replication_id.is_some_and(|id| info_field(&info, "master_replid") != Some(id)) {
            continue;
        }
        let Some((promoted, offset)) = replication_offset(&info) else { continue };
        if best.as_ref().is_none_or(|(b, p)| (promoted, offset) > (*p, b.offset)) {
            best = Some((Chosen { index: i, offset, client }, promoted));
        }
    }
    best.map(|(chosen, _)| chosen)
}

/// The member to promote, how far into the stream it was, and the
/// connection the rest of the failover speaks to it through.
struct Chosen {
    index: usize,
    offset: u64,
    client: NodeClient,
}

/// Waits until the node has applied the stream up to `offset`.
async fn caught_up(client: &mut NodeClient, offset: u64) -> bool {
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let info = client.info("replication").await.ok();
        if info.as_deref().and_then(replication_offset).is_some_and(|(_, reached)| reached >= offset) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl<R: NodeRuntime> Monitor<R> {
    pub(super) async fn failover(
        &self,
        group: &ReplicationGroup,
        members: &[Member],
        primary: usize,
        journal: Failover,
    ) -> Result<(), StoreError> {
        let id = &group.replication_group_id;
        let started = Instant::now();
        let old = members[primary].name();
        self.store.count_failover_attempt(id).await?;
        let resumed = journal.attempts > 0;
        let message = match resumed {
            false => format!("FailoverStarted: {}", journal.reason),
            true => format!("FailoverStarted: {} (resumed after a control plane restart)", journal.reason),
        };
        self.store.record_event(source::REPLICATION_GROUP, id, &message).await?;

        let mut handover = match journal.requested || resumed {
            true => Handover::hold(&members[primary]).await,
            false => None,
        };
        let target = journal.new_primary.as_deref();
        let Some(mut chosen) = choose(members, primary, target, group.replication_id.as_deref()).await else {
            let why = "no replica that answers holds the group's data".to_owned();
            self.abandon(id, &old, handover, why).await?;
            return self.carry_on_without_replica(group, &members[primary]).await;
        };
        let new = &members[chosen.index];
        if journal.new_primary.is_none() {
            self.store.choose_new_primary(id, &new.cluster.cache_cluster_id).await?;
        }
        if let Some(held) = &handover
            && !caught_up(&mut chosen.client, held.offset).await
        {
            let why = format!("{} did not reach offset {} within {CATCH_UP:?}", new.name(), held.offset);
            return self.abandon(id, &old, handover, why).await;
        }
        if chosen.client.replicaof(None).await.is_err() {
            return self.abandon(id, &old, handover, format!("{} could not be promoted", new.name())).await;
        }
        let (host, port) = self.runtime.primary_address(&new.primary_ref(), group.settings.port as u16);
        // Demoted while its clients' writes are still held: let go, they meet
        // a replica (or their dropped connection).
        let demoted = match handover.as_mut() {
            Some(held) => held.client.replicaof(Some((&host, port))).await.is_ok(),
            None => false,
        };
        Handover::release(handover).await;
        // Renaming reconnects a container to its network, cutting its
        // connections: done once the old primary is demoted (through one of
        // them) and before the other replicas link to the new one.
        self.name_endpoints(group, members, chosen.index).await;
        for (i, member) in members.iter().enumerate() {
            // A dead old primary is repointed by the fence when it returns.
            if i == chosen.index || (i == primary && demoted) {
                continue;
            }
            if let Some(mut client) = member.connect(PROBE).await {
                let _ = client.replicaof(Some((&host, port))).await;
            }
        }
        self.store.finish_failover(id, &new.cluster.cache_cluster_id).await?;
        let was = &members[primary].node;
        self.announcements.switch_master(
            id,
            (was.address.as_deref().unwrap_or(""), was.host_port),
            (new.node.address.as_deref().unwrap_or(""), new.node.host_port),
        );
        let message = format!(
            "Failover from master node {old} to replica node {} completed in {} ms (replication offset {})",
            new.name(),
            started.elapsed().as_millis(),
            chosen.offset
        );
        self.store.record_event(source::REPLICATION_GROUP, id, &message).await
    }

    /// No replica can take over: what the primary holds, if it answers, is
    /// the group's data from now on; if it does not, it is restarted in place.
    async fn carry_on_without_replica(&self, group: &ReplicationGroup, primary: &Member) -> Result<(), StoreError> {
        let Some(mut client) = primary.connect(PROBE).await else {
            return self.replace(group, primary, "no replica holds its data, so it is restarted in place").await;
        };
        let info = client.info("replication").await.unwrap_or_default();
        match info_field(&info, "master_replid") {
            Some(now) => self.store.set_replication_id(&group.replication_group_id, now).await,
            None => Ok(()),
        }
    }

    /// Nothing changed roles: the old primary's writes are let go, the
    /// journal forgets the failover, an event says why.
    async fn abandon(&self, id: &str, old: &str, handover: Option<Handover>, why: String) -> Result<(), StoreError> {
        Handover::release(handover).await;
        self.store.abandon_failover(id).await?;
        let message = format!("Failover from master node {old} failed: {why}");
        self.store.record_warning(source::REPLICATION_GROUP, id, &message).await
    }
}
