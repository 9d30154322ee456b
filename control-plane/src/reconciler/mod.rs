//! The reconciler: the only code that changes the world. Each pass reads the
//! clusters whose status asks for work and drives each towards its goal
//! (`available`, or gone) through the runtime, one task per cluster so a
//! group's members come up side by side. Every step is idempotent, so a pass
//! interrupted by a crash is simply run again after a restart.

mod cluster;
mod groups;
mod sweep;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::model::source;
use crate::repeats::Repeats;
use crate::runtime::NodeRuntime;
use crate::store::Store;
use crate::worker::{Shutdown, Worker};

/// How often a pass runs when nothing wakes it.
const IDLE_PASS: Duration = Duration::from_secs(1);
/// How long a cluster waits before a failed step is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

pub struct Reconciler<R: NodeRuntime> {
    store: Store,
    runtime: Arc<R>,
    wake: Arc<Notify>,
    node_ready_timeout: Duration,
    in_flight: Mutex<HashSet<String>>,
    /// One settler of group statuses at a time, so each transition is recorded once.
    settling_groups: tokio::sync::Mutex<()>,
    /// Cuts the wait before a failed step is retried.
    shutdown: Shutdown,
    /// A step failing the same way on every retry is said once.
    failures: Repeats,
    /// Where restores read snapshots from.
    snapshots: Arc<crate::backup::SnapshotFiles>,
}

impl<R: NodeRuntime> Reconciler<R> {
    pub fn new(
        store: Store,
        runtime: Arc<R>,
        wake: Arc<Notify>,
        node_ready_timeout: Duration,
        shutdown: Shutdown,
        snapshots: Arc<crate::backup::SnapshotFiles>,
    ) -> Arc<Self> {
        Arc::new(Reconciler {
            store,
            runtime,
            wake,
            node_ready_timeout,
            in_flight: Mutex::new(HashSet::new()),
            settling_groups: tokio::sync::Mutex::new(()),
            shutdown,
            failures: Repeats::default(),
            snapshots,
        })
    }

    fn busy(&self) -> bool {
        !self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// Starts work on every cluster that needs it and is not already being worked on.
    pub async fn pass(self: &Arc<Self>) {
        let ids = match self.store.clusters_in_progress().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!("reconciler: listing clusters: {e}");
                return;
            }
        };
        for id in ids {
            if !self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone()) {
                continue;
            }
            let this = Arc::clone(self);
            tokio::spawn(async move {
                match this.converge_cluster(&id).await {
                    Ok(()) => this.said_done(source::CACHE_CLUSTER, &id),
                    Err(e) => {
                        let message = format!("{e}; retrying every {}s", RETRY_AFTER.as_secs());
                        this.say_failure(source::CACHE_CLUSTER, &id, &message).await;
                        this.shutdown.clone().sleep(RETRY_AFTER).await;
                    }
                }
                this.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                this.settle_groups().await;
                this.wake.notify_one();
            });
        }
        self.settle_groups().await;
    }

    /// Logs a step's failure and records it as an event, the first time it
    /// comes (a retry failing the same way is only counted).
    async fn say_failure(&self, kind: &str, id: &str, message: &str) {
        if !self.failures.is_new(id, message) {
            return;
        }
        if let Err(e) = self.store.record_warning(kind, id, message).await {
            tracing::error!("{kind} {id}: recording an event: {e}");
        }
    }

    /// A step of `id` succeeded: a failure said before it is over.
    fn said_done(&self, kind: &str, id: &str) {
        if let Some((failure, times)) = self.failures.ended(id) {
            tracing::info!("{kind} {id}: done after {times} failed attempt(s), the last: {failure}");
        }
    }

    /// Waits until no cluster needs work (for tests and for `--once` style use).
    pub async fn converge(self: &Arc<Self>) {
        loop {
            self.pass().await;
            let busy = self.busy();
            let pending = self.store.clusters_in_progress().await.map(|ids| !ids.is_empty()).unwrap_or(false);
            if !busy && !pending {
                self.settle_groups().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Passes on every wake-up and at least once a second. A pass starts a task
/// per cluster; a shutdown waits for those to finish their step.
impl<R: NodeRuntime> Worker for Arc<Reconciler<R>> {
    fn name(&self) -> &'static str {
        "reconciler"
    }

    async fn step(&mut self) {
        self.pass().await;
    }

    async fn wait(&mut self) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(IDLE_PASS) => {}
        }
    }

    async fn drain(&mut self) {
        while self.busy() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
