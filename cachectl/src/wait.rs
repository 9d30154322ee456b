//! `--wait`: poll a resource, print each state change and each event
//! recorded meanwhile (a step that keeps failing says why), stop at the goal.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::client::Client;

const POLL: Duration = Duration::from_millis(500);

pub enum Goal {
    Status(&'static str),
    Gone,
}

/// Polls `path` until the goal; a `create-failed` ends it with the event that says why.
pub fn wait(client: &Client, path: &str, source_id: &str, goal: Goal, timeout: Duration) -> Result<Option<Value>> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    let mut events = NewEvents::since_now(client, source_id);
    loop {
        match client.get(path) {
            Ok(resource) => {
                // What happened first, then where it led.
                events.print(client, &resource);
                let status = resource["status"].as_str().unwrap_or("").to_owned();
                if status != last {
                    eprintln!("{source_id}: {status}");
                    last = status.clone();
                }
                if let Goal::Status(wanted) = goal
                    && status == wanted
                {
                    return Ok(Some(resource));
                }
                if status == "create-failed" {
                    let mut sources = vec![source_id.to_owned()];
                    let members = resource["member_clusters"].as_array().into_iter().flatten();
                    sources.extend(members.filter_map(|m| m.as_str().map(str::to_owned)));
                    let why: Vec<String> = sources.iter().filter_map(|s| last_failure(client, s)).collect();
                    bail!(
                        "{source_id} failed: {}",
                        if why.is_empty() { "no event recorded".into() } else { why.join("; ") }
                    );
                }
            }
            Err(e) if e.is_not_found() && matches!(goal, Goal::Gone) => {
                events.print(client, &Value::Null);
                eprintln!("{source_id}: deleted");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            bail!("{source_id} is still {last} after {}s", timeout.as_secs());
        }
        std::thread::sleep(POLL);
    }
}

/// After a test-failover request: polls the group until describe names
/// another primary, or until the failover is reported failed (an event
/// newer than the `failures_before` already recorded).
pub fn wait_for_failover(
    client: &Client,
    path: &str,
    name: &str,
    before: &Value,
    failures_before: usize,
    timeout: Duration,
) -> Result<Value> {
    let primary = |g: &Value| g["node_groups"][0]["primary_endpoint"].clone();
    let deadline = Instant::now() + timeout;
    let mut events = NewEvents::since_now(client, name);
    eprintln!("{name}: failing over");
    loop {
        let now = client.get(path)?;
        events.print(client, &now);
        if primary(&now) != primary(before) {
            eprintln!("{name}: primary now {}", crate::output::endpoint(&primary(&now)));
            return Ok(now);
        }
        let failures = failover_failures(client, name);
        if failures.len() > failures_before {
            bail!("{name}: {}", failures.last().map_or("", String::as_str));
        }
        if Instant::now() >= deadline {
            bail!("{name}: no failover within {}s", timeout.as_secs());
        }
        std::thread::sleep(POLL);
    }
}

/// The events of a resource and of its member clusters that were not there
/// when the wait began.
struct NewEvents {
    source_id: String,
    /// (source, date, message) of every event printed or there before.
    seen: HashSet<(String, String, String)>,
    /// Per source, the date of its newest event seen: later polls ask from there.
    newest: HashMap<String, String>,
}

impl NewEvents {
    fn since_now(client: &Client, source_id: &str) -> NewEvents {
        let mut events = NewEvents { source_id: source_id.to_owned(), seen: HashSet::new(), newest: HashMap::new() };
        let members = client.get(&format!("/v1/replication-groups/{source_id}")).unwrap_or(Value::Null);
        for source in events.sources(&members) {
            for event in events.recent(client, &source) {
                events.seen.insert(event);
            }
        }
        events
    }

    fn sources(&self, resource: &Value) -> Vec<String> {
        let members = resource["member_clusters"].as_array().into_iter().flatten().filter_map(Value::as_str);
        std::iter::once(self.source_id.clone()).chain(members.map(str::to_owned)).collect()
    }

    /// Prints what was recorded since the last call, for the resource as it
    /// is now, in the order it happened.
    fn print(&mut self, client: &Client, resource: &Value) {
        let mut new = Vec::new();
        for source in self.sources(resource) {
            for event in self.recent(client, &source) {
                if self.seen.insert(event.clone()) {
                    new.push(event);
                }
            }
        }
        new.sort_by(|a, b| a.1.cmp(&b.1));
        for (source, _, message) in new {
            eprintln!("{source}: {message}");
        }
    }

    /// The events of `source_id` from its newest seen on (the last hour's at
    /// first): (source, date, message), oldest first.
    fn recent(&mut self, client: &Client, source_id: &str) -> Vec<(String, String, String)> {
        let mut path = format!("/v1/events?source_identifier={source_id}&max_records=100");
        if let Some(date) = self.newest.get(source_id) {
            path.push_str(&format!("&start_time={date}"));
        }
        let Ok(page) = client.get(&path) else { return Vec::new() };
        let events: Vec<(String, String, String)> = page["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((source_id.to_owned(), e["date"].as_str()?.to_owned(), e["message"].as_str()?.to_owned()))
            })
            .collect();
        if let Some(last) = events.last() {
            self.newest.insert(source_id.to_owned(), last.1.clone());
        }
        events
    }
}

/// The group's events that report a failover that did not happen, oldest first.
pub fn failover_failures(client: &Client, name: &str) -> Vec<String> {
    messages(client, name, |m| m.starts_with("Failover from master node") && m.contains(" failed: "))
}

/// The newest event of `source_id` that reports a failure.
fn last_failure(client: &Client, source_id: &str) -> Option<String> {
    let found = messages(client, source_id, |m| m.contains("failed")).pop();
    found.map(|message| format!("{source_id}: {message}"))
}

/// Every event message of `source_id` (the last two weeks) that `wanted` keeps.
fn messages(client: &Client, source_id: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let mut marker: Option<String> = None;
    let mut found = Vec::new();
    loop {
        let mut path = format!("/v1/events?duration=20160&source_identifier={source_id}");
        if let Some(m) = &marker {
            path.push_str(&format!("&marker={m}"));
        }
        let Ok(page) = client.get(&path) else { return found };
        let events = page["events"].as_array().into_iter().flatten();
        found.extend(events.filter_map(|e| e["message"].as_str()).filter(|m| wanted(m)).map(str::to_owned));
        match page["marker"].as_str() {
            Some(next) => marker = Some(next.to_owned()),
            None => return found,
        }
    }
}
