//! `cachectl`: the ferrocache control plane from a shell or a CI job.
//!
//! - `args`: the command line.
//! - `client`: the REST API over HTTP, errors carrying ElastiCache's codes.
//! - `output`: tables, JSON, and `KEY=value` lines for CI.
//! - `wait`: `--wait`, polling and printing each state change.

mod args;
mod client;
mod output;
mod wait;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use serde_json::{Map, Value, json};

use args::{Cli, ClusterCommand, Command, GroupCommand, Output, Shared, TokenCommand};
use client::Client;
use wait::{Goal, wait};

const ENV_IS_FOR_ONE: &str =
    "--output env prints one resource's endpoint: use `describe NAME --output env`, or --output json for the list";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let client = Client::new(&cli.url, cli.token.clone());
    let output = if cli.json { Output::Json } else { cli.output };
    let timeout = Duration::from_secs(cli.timeout);
    match cli.command {
        Command::Cluster(command) => cluster(&client, command, output, timeout),
        Command::Group(command) => group(&client, command, output, timeout),
        Command::Events { source_type, source_id, duration } => {
            let mut path = format!("/v1/events?duration={duration}");
            if let Some(t) = source_type {
                path.push_str(&format!("&source_type={t}"));
            }
            if let Some(id) = source_id {
                path.push_str(&format!("&source_identifier={id}"));
            }
            if output == Output::Env {
                anyhow::bail!("--output env prints a cluster's or a group's endpoint; events print as a table or JSON");
            }
            let events = client.get(&path)?;
            if output == Output::Json {
                output::json(&events);
            } else {
                let rows: Vec<Vec<String>> = events["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        ["date", "source_type", "source_identifier", "message"]
                            .iter()
                            .map(|k| output::text(&e[*k]))
                            .collect()
                    })
                    .collect();
                output::table(&["DATE", "SOURCE TYPE", "SOURCE", "MESSAGE"], &rows);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { scopes, subject, expires_in_seconds }) => {
            let mut body = json!({"scopes": scopes, "expires_in_seconds": expires_in_seconds});
            if let Some(subject) = subject {
                body["subject"] = json!(subject);
            }
            let token = client.post("/v1/tokens", &body)?;
            match output {
                Output::Json => output::json(&token),
                Output::Env => println!("FERRO_TOKEN={}", output::text(&token["token"])),
                Output::Table => println!("{}", output::text(&token["token"])),
            }
            Ok(())
        }
    }
}

/// The body fields the shared flags set.
fn shared_body(shared: &Shared) -> Result<Map<String, Value>> {
    let mut body = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            body.insert(key.to_owned(), v);
        }
    };
    put("cache_node_type", shared.node_type.clone().map(Value::from));
    put("engine_version", shared.engine_version.clone().map(Value::from));
    put("port", shared.port.map(Value::from));
    put("auth_token", shared.auth_token.clone().map(Value::from));
    put("preferred_maintenance_window", shared.maintenance_window.clone().map(Value::from));
    put("snapshot_retention_limit", shared.snapshot_retention_limit.map(Value::from));
    put("snapshot_window", shared.snapshot_window.clone().map(Value::from));
    if !shared.tags.is_empty() {
        let mut tags = Vec::new();
        for tag in &shared.tags {
            let Some((key, value)) = tag.split_once('=') else {
                anyhow::bail!("--tag {tag:?}: expected KEY=VALUE");
            };
            tags.push(json!({"key": key, "value": value}));
        }
        body.insert("tags".into(), Value::Array(tags));
    }
    Ok(body)
}

fn show_cluster(cluster: &Value, output: Output, auth_token: Option<&str>) {
    match output {
        Output::Json => output::json(cluster),
        Output::Env => output::cluster_env(cluster, auth_token),
        Output::Table => output::table(&output::CLUSTER_HEADER, &output::cluster_rows(std::slice::from_ref(cluster))),
    }
}

fn show_group(group: &Value, output: Output, auth_token: Option<&str>) {
    match output {
        Output::Json => output::json(group),
        Output::Env => output::group_env(group, auth_token),
        Output::Table => output::table(&output::GROUP_HEADER, &output::group_rows(std::slice::from_ref(group))),
    }
}

fn cluster(client: &Client, command: ClusterCommand, output: Output, timeout: Duration) -> Result<()> {
    let path = |name: &str| format!("/v1/cache-clusters/{name}");
    match command {
        ClusterCommand::Create { name, shared } => {
            let mut body = shared_body(&shared)?;
            body.insert("cache_cluster_id".into(), json!(name));
            let mut cluster = client.post("/v1/cache-clusters", &Value::Object(body))?;
            let id = output::text(&cluster["cache_cluster_id"]);
            if shared.wait {
                cluster = wait(client, &path(&id), &id, Goal::Status("available"), timeout)?.unwrap_or(cluster);
            }
            show_cluster(&cluster, output, shared.auth_token.as_deref());
        }
        ClusterCommand::List => {
            let clusters = all_pages(client, "/v1/cache-clusters", "cache_clusters")?;
            match output {
                Output::Table => output::table(&output::CLUSTER_HEADER, &output::cluster_rows(&clusters)),
                Output::Json => output::json(&Value::Array(clusters)),
                Output::Env => anyhow::bail!(ENV_IS_FOR_ONE),
            }
        }
        ClusterCommand::Describe { name } => show_cluster(&client.get(&path(&name))?, output, None),
        ClusterCommand::Modify { name, shared, apply_immediately } => {
            let mut body = shared_body(&shared)?;
            if body.remove("auth_token").is_some()
                || body.remove("port").is_some()
                || body.remove("engine_version").is_some()
            {
                anyhow::bail!("modify changes the node type, windows, snapshot retention and tags only");
            }
            body.insert("apply_immediately".into(), json!(apply_immediately));
            let mut cluster = client.patch(&path(&name), &Value::Object(body))?;
            if shared.wait {
                cluster = wait(client, &path(&name), &name, Goal::Status("available"), timeout)?.unwrap_or(cluster);
            }
            show_cluster(&cluster, output, None);
        }
        ClusterCommand::Delete { name, wait: block } => {
            let cluster = client.delete(&path(&name))?;
            if block {
                wait(client, &path(&name), &name, Goal::Gone, timeout)?;
            } else {
                show_cluster(&cluster, output, None);
            }
        }
        ClusterCommand::Reboot { name, nodes, wait: block } => {
            let mut cluster =
                client.post(&format!("{}/reboot", path(&name)), &json!({"cache_node_ids_to_reboot": nodes}))?;
            if block {
                cluster = wait(client, &path(&name), &name, Goal::Status("available"), timeout)?.unwrap_or(cluster);
            }
            show_cluster(&cluster, output, None);
        }
    }
    Ok(())
}

fn group(client: &Client, command: GroupCommand, output: Output, timeout: Duration) -> Result<()> {
    let path = |name: &str| format!("/v1/replication-groups/{name}");
    match command {
        GroupCommand::Create {
            name,
            description,
            num_cache_clusters,
            replicas,
            automatic_failover,
            multi_az,
            shared,
        } => {
            let mut body = shared_body(&shared)?;
            body.insert("replication_group_id".into(), json!(name));
            body.insert("replication_group_description".into(), json!(description));
            if let Some(n) = num_cache_clusters {
                body.insert("num_cache_clusters".into(), json!(n));
            }
            if let Some(r) = replicas {
                body.insert("replicas_per_node_group".into(), json!(r));
            }
            body.insert("automatic_failover_enabled".into(), json!(automatic_failover));
            body.insert("multi_az_enabled".into(), json!(multi_az));
            let mut group = client.post("/v1/replication-groups", &Value::Object(body))?;
            let id = output::text(&group["replication_group_id"]);
            if shared.wait {
                group = wait(client, &path(&id), &id, Goal::Status("available"), timeout)?.unwrap_or(group);
            }
            show_group(&group, output, shared.auth_token.as_deref());
        }
        GroupCommand::List => {
            let groups = all_pages(client, "/v1/replication-groups", "replication_groups")?;
            match output {
                Output::Table => output::table(&output::GROUP_HEADER, &output::group_rows(&groups)),
                Output::Json => output::json(&Value::Array(groups)),
                Output::Env => anyhow::bail!(ENV_IS_FOR_ONE),
            }
        }
        GroupCommand::Describe { name } => show_group(&client.get(&path(&name))?, output, None),
        GroupCommand::Modify { name, description, automatic_failover, primary, shared } => {
            let mut body = shared_body(&shared)?;
            if body.remove("auth_token").is_some()
                || body.remove("port").is_some()
                || body.remove("engine_version").is_some()
                || body.remove("cache_node_type").is_some()
            {
                anyhow::bail!("a group's modify changes its description, failover, windows, retention and tags");
            }
            if let Some(d) = description {
                body.insert("replication_group_description".into(), json!(d));
            }
            if let Some(f) = automatic_failover {
                body.insert("automatic_failover_enabled".into(), json!(f));
            }
            let before = client.get(&path(&name))?;
            let moves_primary = primary.as_deref().is_some_and(|p| output::primary_member(&before) != Some(p));
            if let Some(p) = &primary {
                body.insert("primary_cluster_id".into(), json!(p));
            }
            let failures_before =
                if shared.wait && moves_primary { wait::failover_failures(client, &name).len() } else { 0 };
            let mut group = client.patch(&path(&name), &Value::Object(body))?;
            if shared.wait && moves_primary {
                group = wait::wait_for_failover(client, &path(&name), &name, &before, failures_before, timeout)?;
            } else if shared.wait {
                group = wait(client, &path(&name), &name, Goal::Status("available"), timeout)?.unwrap_or(group);
            }
            show_group(&group, output, None);
        }
        GroupCommand::TestFailover { name, wait: block } => {
            let before = client.get(&path(&name))?;
            let failures_before = if block { wait::failover_failures(client, &name).len() } else { 0 };
            let group = client.post(&format!("{}/test-failover", path(&name)), &json!({"node_group_id": "0001"}))?;
            if block {
                let now = wait::wait_for_failover(client, &path(&name), &name, &before, failures_before, timeout)?;
                show_group(&now, output, None);
                return Ok(());
            }
            show_group(&group, output, None);
        }
        GroupCommand::Delete { name, wait: block } => {
            let group = client.delete(&path(&name))?;
            if block {
                wait(client, &path(&name), &name, Goal::Gone, timeout)?;
            } else {
                show_group(&group, output, None);
            }
        }
    }
    Ok(())
}

/// Follows `marker` through every page of a list.
fn all_pages(client: &Client, path: &str, key: &str) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page_path = match &marker {
            Some(m) => format!("{path}?marker={m}"),
            None => path.to_owned(),
        };
        let page = client.get(&page_path)?;
        items.extend(page[key].as_array().cloned().unwrap_or_default());
        match page["marker"].as_str() {
            Some(next) => marker = Some(next.to_owned()),
            None => return Ok(items),
        }
    }
}
