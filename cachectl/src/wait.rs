//! `--wait`: poll a resource, print each state change, stop at the goal.

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
    loop {
        match client.get(path) {
            Ok(resource) => {
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
    eprintln!("{name}: failing over");
    loop {
        let now = client.get(path)?;
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
