//! `cachectl`: the ferrocache control plane from a shell or a CI job.
//!
//! - `args`: the command line.
//! - `client`: the REST API over HTTP, errors carrying ElastiCache's codes.
//! - `output`: tables, JSON, and `KEY=value` lines for CI.
//! - `wait`: `--wait`, polling and printing each state change.
//! - `snapshots`: `cachectl snapshot ...`, with `--wait` showing progress.
//! - `parameter_groups`: `cachectl parameter-group ...`, with `--wait` following the nodes.

mod args;
mod client;
mod output;
mod parameter_groups;
mod snapshots;
mod wait;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use serde_json::{Map, Value, json};

use args::{Cli, ClusterCommand, Command, GroupCommand, NodeSettings, Output, TokenCommand, Windows};
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
        Command::Snapshot(command) => snapshots::run(&client, command, output, timeout),
        Command::ParameterGroup(command) => parameter_groups::run(&client, command, output, timeout),
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
        Command::NodeTypes => {
            let types = client.get("/v1/cache-node-types")?;
            catalogue(
                &types["cache_node_types"],
                output,
                &[
                    ("NODE TYPE", "cache_node_type"),
                    ("MEMORY GIB", "memory_gib"),
                    ("VCPUS", "vcpus"),
                    ("MAXMEMORY BYTES", "maxmemory_bytes"),
                ],
            )
        }
        Command::EngineVersions => {
            let versions = client.get("/v1/engine-versions")?;
            catalogue(
                &versions["engine_versions"],
                output,
                &[
                    ("ENGINE", "engine"),
                    ("VERSION", "engine_version"),
                    ("PARAMETER GROUP FAMILY", "cache_parameter_group_family"),
                    ("DEFAULT", "is_default"),
                ],
            )
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "cachectl", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                // `cachectl completions bash | head` is not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
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

/// A catalogue (node types, engine versions) as a table of `columns`, or its JSON.
fn catalogue(items: &Value, output: Output, columns: &[(&str, &str)]) -> Result<()> {
    match output {
        Output::Json => output::json(items),
        Output::Env => anyhow::bail!("--output env prints a cluster's or a group's endpoint; use table or json"),
        Output::Table => {
            let header: Vec<&str> = columns.iter().map(|(title, _)| *title).collect();
            let rows: Vec<Vec<String>> = items
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| columns.iter().map(|(_, key)| output::text(&item[*key])).collect())
                .collect();
            output::table(&header, &rows);
        }
    }
    Ok(())
}

/// Puts `value` in `body` under `key` when it is given.
fn put(body: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        body.insert(key.to_owned(), v.into());
    }
}

/// The body fields of what a cluster or group is made of.
fn settings_body(settings: NodeSettings, body: &mut Map<String, Value>) {
    put(body, "cache_node_type", settings.node_type);
    put(body, "engine_version", settings.engine_version);
    put(body, "port", settings.port);
    put(body, "auth_token", settings.auth_token);
}

/// The body fields of the windows, retention and tags.
fn windows_body(windows: Windows) -> Result<Map<String, Value>> {
    let mut body = Map::new();
    put(&mut body, "preferred_maintenance_window", windows.maintenance_window);
    put(&mut body, "snapshot_retention_limit", windows.snapshot_retention_limit);
    put(&mut body, "snapshot_window", windows.snapshot_window);
    put(&mut body, "cache_parameter_group_name", windows.parameter_group);
    if !windows.tags.is_empty() {
        let mut tags = Vec::new();
        for tag in &windows.tags {
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
    let until_available = |name: &str, fallback: Value| -> Result<Value> {
        Ok(wait(client, &path(name), name, Goal::Status("available"), timeout)?.unwrap_or(fallback))
    };
    match command {
        ClusterCommand::Create { name, engine, num_cache_nodes, snapshot, settings, windows, wait } => {
            let auth_token = settings.auth_token.clone();
            let mut body = windows_body(windows)?;
            settings_body(settings, &mut body);
            body.insert("engine".into(), json!(engine));
            put(&mut body, "num_cache_nodes", num_cache_nodes);
            put(&mut body, "snapshot_name", snapshot);
            body.insert("cache_cluster_id".into(), json!(name));
            let mut cluster = client.post("/v1/cache-clusters", &Value::Object(body))?;
            let id = output::text(&cluster["cache_cluster_id"]);
            if wait.wait {
                cluster = until_available(&id, cluster)?;
            }
            show_cluster(&cluster, output, auth_token.as_deref());
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
        ClusterCommand::Modify { name, node_type, num_cache_nodes, remove_nodes, apply_immediately, windows, wait } => {
            let mut body = windows_body(windows)?;
            put(&mut body, "cache_node_type", node_type);
            put(&mut body, "num_cache_nodes", num_cache_nodes);
            if !remove_nodes.is_empty() {
                body.insert("cache_node_ids_to_remove".into(), json!(remove_nodes));
            }
            body.insert("apply_immediately".into(), json!(apply_immediately));
            let mut cluster = client.patch(&path(&name), &Value::Object(body))?;
            if wait.wait {
                cluster = until_available(&name, cluster)?;
            }
            show_cluster(&cluster, output, None);
        }
        ClusterCommand::Delete { name, final_snapshot, wait: block } => {
            let cluster = client.delete(&delete_path(&path(&name), final_snapshot))?;
            if block.wait {
                wait(client, &path(&name), &name, Goal::Gone, timeout)?;
            } else {
                show_cluster(&cluster, output, None);
            }
        }
        ClusterCommand::Reboot { name, nodes, wait } => {
            let mut cluster =
                client.post(&format!("{}/reboot", path(&name)), &json!({"cache_node_ids_to_reboot": nodes}))?;
            if wait.wait {
                cluster = until_available(&name, cluster)?;
            }
            show_cluster(&cluster, output, None);
        }
    }
    Ok(())
}

fn group(client: &Client, command: GroupCommand, output: Output, timeout: Duration) -> Result<()> {
    let path = |name: &str| format!("/v1/replication-groups/{name}");
    let until_available = |name: &str, fallback: Value| -> Result<Value> {
        Ok(wait(client, &path(name), name, Goal::Status("available"), timeout)?.unwrap_or(fallback))
    };
    // `increase` or `decrease` the replica count to `count`.
    let resize = |name: &str, direction: &str, count: u8, block: bool| -> Result<Value> {
        let body = json!({"new_replica_count": count, "apply_immediately": true});
        let group = client.post(&format!("{}/{direction}-replica-count", path(name)), &body)?;
        if block { until_available(name, group) } else { Ok(group) }
    };
    match command {
        GroupCommand::Create {
            name,
            description,
            num_cache_clusters,
            replicas,
            automatic_failover,
            multi_az,
            snapshot,
            settings,
            windows,
            wait,
        } => {
            let auth_token = settings.auth_token.clone();
            let mut body = windows_body(windows)?;
            settings_body(settings, &mut body);
            put(&mut body, "snapshot_name", snapshot);
            body.insert("replication_group_id".into(), json!(name));
            body.insert("replication_group_description".into(), json!(description));
            put(&mut body, "num_cache_clusters", num_cache_clusters);
            put(&mut body, "replicas_per_node_group", replicas);
            body.insert("automatic_failover_enabled".into(), json!(automatic_failover));
            body.insert("multi_az_enabled".into(), json!(multi_az));
            let mut group = client.post("/v1/replication-groups", &Value::Object(body))?;
            let id = output::text(&group["replication_group_id"]);
            if wait.wait {
                group = until_available(&id, group)?;
            }
            show_group(&group, output, auth_token.as_deref());
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
        GroupCommand::Modify { name, description, automatic_failover, primary, windows, wait } => {
            let mut body = windows_body(windows)?;
            put(&mut body, "replication_group_description", description);
            put(&mut body, "automatic_failover_enabled", automatic_failover);
            let before = client.get(&path(&name))?;
            let moves_primary = primary.as_deref().is_some_and(|p| output::primary_member(&before) != Some(p));
            put(&mut body, "primary_cluster_id", primary);
            let failures_before =
                if wait.wait && moves_primary { wait::failover_failures(client, &name).len() } else { 0 };
            let mut group = client.patch(&path(&name), &Value::Object(body))?;
            if wait.wait && moves_primary {
                group = wait::wait_for_failover(client, &path(&name), &name, &before, failures_before, timeout)?;
            } else if wait.wait {
                group = until_available(&name, group)?;
            }
            show_group(&group, output, None);
        }
        GroupCommand::IncreaseReplicas { name, count, wait } => {
            show_group(&resize(&name, "increase", count, wait.wait)?, output, None);
        }
        GroupCommand::DecreaseReplicas { name, count, wait } => {
            show_group(&resize(&name, "decrease", count, wait.wait)?, output, None);
        }
        GroupCommand::TestFailover { name, wait } => {
            let before = client.get(&path(&name))?;
            let failures_before = if wait.wait { wait::failover_failures(client, &name).len() } else { 0 };
            let group = client.post(&format!("{}/test-failover", path(&name)), &json!({"node_group_id": "0001"}))?;
            if wait.wait {
                let now = wait::wait_for_failover(client, &path(&name), &name, &before, failures_before, timeout)?;
                show_group(&now, output, None);
                return Ok(());
            }
            show_group(&group, output, None);
        }
        GroupCommand::Delete { name, final_snapshot, wait: block } => {
            let group = client.delete(&delete_path(&path(&name), final_snapshot))?;
            if block.wait {
                wait(client, &path(&name), &name, Goal::Gone, timeout)?;
            } else {
                show_group(&group, output, None);
            }
        }
    }
    Ok(())
}

/// A DELETE's path, asking for a final snapshot when one is named.
fn delete_path(path: &str, final_snapshot: Option<String>) -> String {
    match final_snapshot {
        Some(name) => format!("{path}?final_snapshot_identifier={name}"),
        None => path.to_owned(),
    }
}

/// Follows `marker` through every page of a list (`path` may carry a query).
fn all_pages(client: &Client, path: &str, key: &str) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    let joiner = if path.contains('?') { '&' } else { '?' };
    loop {
        let page_path = match &marker {
            Some(m) => format!("{path}{joiner}marker={m}"),
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
