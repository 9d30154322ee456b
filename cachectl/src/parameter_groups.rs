//! `cachectl parameter-group ...`: parameter groups, and `--wait` following
//! a change to every cluster that uses the group.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::args::{Output, ParameterGroupCommand};
use crate::client::Client;
use crate::output;

const POLL: Duration = Duration::from_millis(500);
const GROUP_HEADER: [&str; 3] = ["NAME", "FAMILY", "DESCRIPTION"];
const PARAMETER_HEADER: [&str; 5] = ["PARAMETER", "VALUE", "SOURCE", "ALLOWED", "CHANGE TYPE"];

pub fn run(client: &Client, command: ParameterGroupCommand, output: Output, timeout: Duration) -> Result<()> {
    if output == Output::Env {
        bail!("--output env prints a cluster's or a group's endpoint; parameter groups print as a table or JSON");
    }
    let path = |name: &str| format!("/v1/parameter-groups/{name}");
    match command {
        ParameterGroupCommand::Create { name, family, description } => {
            let body = json!({"cache_parameter_group_name": name, "cache_parameter_group_family": family,
                              "description": description});
            show_groups(&[client.post("/v1/parameter-groups", &body)?], output);
        }
        ParameterGroupCommand::List => {
            let groups = crate::all_pages(client, "/v1/parameter-groups", "cache_parameter_groups")?;
            show_groups(&groups, output);
        }
        ParameterGroupCommand::Describe { name } => {
            show_parameters(&client.get(&format!("{}/parameters", path(&name)))?["parameters"], output);
        }
        ParameterGroupCommand::Modify { name, set, wait } => {
            let mut values = Vec::new();
            for pair in &set {
                let Some((parameter, value)) = pair.split_once('=') else {
                    bail!("--set {pair:?}: expected NAME=VALUE");
                };
                values.push(json!({"parameter_name": parameter, "parameter_value": value}));
            }
            let group = client.patch(&path(&name), &json!({"parameter_name_values": values}))?;
            finish(client, &name, group, wait.wait, output, timeout)?;
        }
        ParameterGroupCommand::Reset { name, parameters, wait } => {
            let body = if parameters.is_empty() {
                json!({"reset_all_parameters": true})
            } else {
                let named: Vec<Value> = parameters.iter().map(|p| json!({"parameter_name": p})).collect();
                json!({"parameter_name_values": named})
            };
            let group = client.post(&format!("{}/reset", path(&name)), &body)?;
            finish(client, &name, group, wait.wait, output, timeout)?;
        }
        ParameterGroupCommand::Delete { name } => show_groups(&[client.delete(&path(&name))?], output),
        ParameterGroupCommand::Defaults { family } => {
            let defaults = client.get(&format!("/v1/engine-default-parameters?family={family}"))?;
            show_parameters(&defaults["engine_defaults"]["parameters"], output);
        }
    }
    Ok(())
}

fn finish(client: &Client, name: &str, group: Value, block: bool, output: Output, timeout: Duration) -> Result<()> {
    if block {
        wait_applied(client, name, timeout)?;
    }
    show_groups(&[group], output);
    Ok(())
}

/// Polls every cluster using the group until none is still `applying`,
/// printing each cluster's status as it changes; those left
/// `pending-reboot` are named with what waits.
fn wait_applied(client: &Client, name: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut said = std::collections::HashMap::new();
    loop {
        let clusters = crate::all_pages(client, "/v1/cache-clusters", "cache_clusters")?;
        let users: Vec<&Value> =
            clusters.iter().filter(|c| c["cache_parameter_group"]["cache_parameter_group_name"] == name).collect();
        let mut applying = 0;
        for cluster in &users {
            let id = output::text(&cluster["cache_cluster_id"]);
            let status = output::text(&cluster["cache_parameter_group"]["parameter_apply_status"]);
            applying += usize::from(status == "applying");
            if said.get(&id) != Some(&status) {
                match status.as_str() {
                    "pending-reboot" => {
                        let waiting: Vec<String> = cluster["cache_parameter_group"]["pending_reboot_parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(output::text)
                            .collect();
                        eprintln!("{id}: pending-reboot ({} apply at its next reboot)", waiting.join(", "));
                    }
                    _ => eprintln!("{id}: {status}"),
                }
                said.insert(id, status);
            }
        }
        if applying == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{applying} cluster(s) still applying {name} after {}s", timeout.as_secs());
        }
        std::thread::sleep(POLL);
    }
}

fn show_groups(groups: &[Value], output: Output) {
    if output == Output::Json {
        return output::json(&if groups.len() == 1 { groups[0].clone() } else { Value::Array(groups.to_vec()) });
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            ["cache_parameter_group_name", "cache_parameter_group_family", "description"]
                .iter()
                .map(|k| output::text(&g[*k]))
                .collect()
        })
        .collect();
    output::table(&GROUP_HEADER, &rows);
}

fn show_parameters(parameters: &Value, output: Output) {
    if output == Output::Json {
        return output::json(parameters);
    }
    let rows: Vec<Vec<String>> = parameters
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            ["parameter_name", "parameter_value", "source", "allowed_values", "change_type"]
                .iter()
                .map(|k| output::text(&p[*k]))
                .collect()
        })
        .collect();
    output::table(&PARAMETER_HEADER, &rows);
}
