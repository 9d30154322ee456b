//! Automated backups: one snapshot a day in each source's `snapshot_window`
//! (when its `snapshot_retention_limit` is above 0), automated snapshots
//! older than the retention deleted, and those of a deleted source too.
//!
//! An automated snapshot is named after its window's start
//! (`automatic.<id>-YYYY-MM-DD-HH-MM`), so the store's unique name is what
//! keeps a window from being served twice, across restarts too; a restart
//! inside the window still takes it, one after the window has passed does
//! not (as ElastiCache skips a missed window).

use std::sync::Arc;

use super::files::SnapshotFiles;
use super::source::{self, SourceError};
use crate::clock::{Clock, minute_stamp};
use crate::model::{NodeSettings, SnapshotSource, source as event_source};
use crate::store::{ClusterFilter, SnapshotFilter, Store, StoreError, StoreResult};
use crate::validate::snapshot_window_minutes;

const DAY_MS: i64 = 24 * 3600 * 1000;
const LISTED: i64 = 100_000;

pub struct AutomatedBackups {
    store: Store,
    files: Arc<SnapshotFiles>,
    clock: Clock,
}

/// A source of automated snapshots.
enum Source {
    Cluster(String),
    Group(String),
}

impl Source {
    fn id(&self) -> &str {
        match self {
            Source::Cluster(id) | Source::Group(id) => id,
        }
    }
}

/// The start of the window `now` falls in, if it falls in one: today's, or
/// yesterday's for a window that runs past midnight.
pub fn window_start(window: &str, now: i64) -> Option<i64> {
    let (start, length) = snapshot_window_minutes(window)?;
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    [today, today - DAY_MS]
        .into_iter()
        .map(|day| day + start * 60_000)
        .find(|&at| at <= now && now < at + length * 60_000)
}

impl AutomatedBackups {
    pub fn new(store: Store, files: Arc<SnapshotFiles>, clock: Clock) -> AutomatedBackups {
        AutomatedBackups { store, files, clock }
    }

    /// Records the automated snapshots due now (the backup worker takes
    /// them) and deletes those past retention. Returns the names recorded.
    pub async fn run(&self) -> StoreResult<Vec<String>> {
        let now = self.clock.now_millis();
        let mut sources = Vec::new();
        let standalone = ClusterFilter { limit: LISTED, not_in_replication_groups: true, ..ClusterFilter::default() };
        for cluster in self.store.clusters(&standalone).await? {
            sources.push((Source::Cluster(cluster.cache_cluster_id), cluster.settings));
        }
        for group in self.store.groups(None, LISTED).await? {
            sources.push((Source::Group(group.replication_group_id), group.settings));
        }
        let mut taken = Vec::new();
        for (source, settings) in &sources {
            if let Some(name) = self.take_if_due(source, settings, now).await? {
                taken.push(name);
            }
            self.retire(source, settings.snapshot_retention_limit, now).await?;
        }
        self.retire_orphans(&sources).await?;
        Ok(taken)
    }

    async fn take_if_due(&self, src: &Source, settings: &NodeSettings, now: i64) -> StoreResult<Option<String>> {
        if settings.snapshot_retention_limit <= 0 {
            return Ok(None);
        }
        let Some(start) = window_start(&settings.snapshot_window, now) else { return Ok(None) };
        let name = format!("automatic.{}-{}", src.id(), minute_stamp(start));
        if self.store.snapshot(&name).await?.is_some() {
            return Ok(None);
        }
        let new = match src {
            Source::Cluster(id) => source::of_cluster(&self.store, &name, id, SnapshotSource::Automated, now).await,
            Source::Group(id) => source::of_group(&self.store, &name, id, SnapshotSource::Automated, now).await,
        };
        let new = match new {
            Ok(new) => new,
            // Not available now (being created, modified, failed over...):
            // tried again on the next pass, while the window lasts.
            Err(SourceError::Store(e)) => return Err(e),
            Err(_) => return Ok(None),
        };
        match self.store.insert_snapshot(&new).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => return Ok(None),
            Err(e) => return Err(e),
        }
        let message =
            format!("Automated snapshot {name} of {} started in its window {}", src.id(), settings.snapshot_window);
        self.store.record_event(event_source::SNAPSHOT, &name, &message).await?;
        Ok(Some(name))
    }

    /// Deletes the source's automated snapshots older than `days` days.
    async fn retire(&self, src: &Source, days: i64, now: i64) -> StoreResult<()> {
        if days <= 0 {
            return Ok(());
        }
        for snapshot in self.automated_of(src).await? {
            if snapshot.created_at < now - days * DAY_MS {
                let why = format!("past its source's retention of {days} day(s)");
                self.delete(&snapshot.snapshot_name, &why).await?;
            }
        }
        Ok(())
    }

    /// A deleted cluster's or group's automated snapshots go with it; its
    /// manual ones stay.
    async fn retire_orphans(&self, sources: &[(Source, NodeSettings)]) -> StoreResult<()> {
        let filter =
            SnapshotFilter { limit: LISTED, source: Some(SnapshotSource::Automated), ..SnapshotFilter::default() };
        for snapshot in self.store.snapshots(&filter).await? {
            let owner = snapshot.replication_group_id.as_deref().or(snapshot.cache_cluster_id.as_deref());
            if !sources.iter().any(|(s, _)| Some(s.id()) == owner) {
                self.delete(&snapshot.snapshot_name, "its source was deleted").await?;
            }
        }
        Ok(())
    }

    async fn automated_of(&self, src: &Source) -> StoreResult<Vec<crate::model::Snapshot>> {
        let mut filter =
            SnapshotFilter { limit: LISTED, source: Some(SnapshotSource::Automated), ..SnapshotFilter::default() };
        match src {
            Source::Cluster(id) => filter.cache_cluster_id = Some(id.clone()),
            Source::Group(id) => filter.replication_group_id = Some(id.clone()),
        }
        self.store.snapshots(&filter).await
    }

    async fn delete(&self, name: &str, why: &str) -> StoreResult<()> {
        if self.store.remove_settled_snapshot(name).await? {
            if let Err(e) = self.files.remove(name).await {
                tracing::error!("removing the file of snapshot {name}: {e}");
            }
            self.store
                .record_event(event_source::SNAPSHOT, name, &format!("Automated snapshot {name} deleted: {why}"))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
