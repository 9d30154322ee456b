//! `cachectl snapshot ...`: backups, and `--wait` showing their progress.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::args::{Output, SnapshotCommand};
use crate::client::Client;
use crate::output;

const POLL: Duration = Duration::from_millis(500);
const HEADER: [&str; 6] = ["NAME", "STATUS", "SOURCE", "OF", "SIZE", "CREATED"];

pub fn run(client: &Client, command: SnapshotCommand, output: Output, timeout: Duration) -> Result<()> {
    if output == Output::Env {
        bail!("--output env prints a cluster's or a group's endpoint; snapshots print as a table or JSON");
    }
    let path = |name: &str| format!("/v1/snapshots/{name}");
    match command {
        SnapshotCommand::Create { name, cluster, group, wait } => {
            let mut body = json!({"snapshot_name": name});
            match (cluster, group) {
                (Some(c), _) => body["cache_cluster_id"] = json!(c),
                (None, Some(g)) => body["replication_group_id"] = json!(g),
                (None, None) => bail!("give --cluster or --group"),
            }
            let mut snapshot = client.post("/v1/snapshots", &body)?;
            if wait.wait {
                snapshot = wait_available(client, &output::text(&snapshot["snapshot_name"]), timeout)?;
            }
            show(&[snapshot], output);
        }
        SnapshotCommand::List { cluster, group, source } => {
            let mut query = Vec::new();
            for (key, value) in
                [("cache_cluster_id", cluster), ("replication_group_id", group), ("snapshot_source", source)]
            {
                if let Some(v) = value {
                    query.push(format!("{key}={v}"));
                }
            }
            let snapshots = crate::all_pages(client, &format!("/v1/snapshots?{}", query.join("&")), "snapshots")?;
            show(&snapshots, output);
        }
        SnapshotCommand::Describe { name } => show(&[client.get(&path(&name))?], output),
        SnapshotCommand::Copy { name, to, wait } => {
            let mut snapshot = client.post(&format!("{}/copy", path(&name)), &json!({"target_snapshot_name": to}))?;
            if wait.wait {
                snapshot = wait_available(client, &to, timeout)?;
            }
            show(&[snapshot], output);
        }
        SnapshotCommand::Delete { name } => show(&[client.delete(&path(&name))?], output),
        SnapshotCommand::Download { name, file } => {
            let file = file.unwrap_or_else(|| format!("{name}.rdb").into());
            let mut out = HashingWriter::create(&file)?;
            let expected = client.download(&format!("{}/download", path(&name)), "x-snapshot-sha256", &mut out)?;
            let (written, found) = out.finish()?;
            if expected.as_deref() != Some(found.as_str()) {
                let _ = std::fs::remove_file(&file);
                bail!(
                    "the download's SHA-256 is {found}, the control plane recorded {expected:?}: removed {}",
                    file.display()
                );
            }
            eprintln!("{name}: {written} bytes written to {} (SHA-256 {found})", file.display());
        }
        SnapshotCommand::Import { name, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let snapshot = client.upload(&format!("/v1/snapshots/import?snapshot_name={name}"), bytes)?;
            show(&[snapshot], output);
        }
    }
    Ok(())
}

fn show(snapshots: &[Value], output: Output) {
    if output == Output::Json {
        return output::json(&if snapshots.len() == 1 {
            snapshots[0].clone()
        } else {
            Value::Array(snapshots.to_vec())
        });
    }
    let rows: Vec<Vec<String>> = snapshots
        .iter()
        .map(|s| {
            let of =
                if s["replication_group_id"].is_string() { &s["replication_group_id"] } else { &s["cache_cluster_id"] };
            vec![
                output::text(&s["snapshot_name"]),
                output::text(&s["snapshot_status"]),
                output::text(&s["snapshot_source"]),
                output::text(of),
                output::text(&s["size_bytes"]),
                output::text(&s["snapshot_create_time"]),
            ]
        })
        .collect();
    output::table(&HEADER, &rows);
}

/// Polls until the snapshot is available, printing each state change and
/// the bytes written so far; a failed snapshot ends it with the reason.
fn wait_available(client: &Client, name: &str, timeout: Duration) -> Result<Value> {
    let deadline = Instant::now() + timeout;
    let (mut last_status, mut last_bytes) = (String::new(), -1);
    loop {
        let snapshot = client.get(&format!("/v1/snapshots/{name}"))?;
        let status = output::text(&snapshot["snapshot_status"]);
        if status != last_status {
            eprintln!("{name}: {status}");
            last_status = status.clone();
        }
        let bytes = snapshot["bytes_written"].as_i64().unwrap_or(0);
        if status == "creating" && bytes != last_bytes {
            eprintln!("{name}: {bytes} bytes written");
            last_bytes = bytes;
        }
        match status.as_str() {
            "available" => return Ok(snapshot),
            "failed" => bail!("{name} failed: {}", output::text(&snapshot["failure_reason"])),
            _ => {}
        }
        if Instant::now() >= deadline {
            bail!("{name} is still {status} after {}s", timeout.as_secs());
        }
        std::thread::sleep(POLL);
    }
}

/// A file written through a SHA-256.
struct HashingWriter {
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    written: u64,
}

impl HashingWriter {
    fn create(path: &std::path::Path) -> Result<HashingWriter> {
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(HashingWriter { file: std::io::BufWriter::new(file), hasher: Sha256::new(), written: 0 })
    }

    fn finish(mut self) -> Result<(u64, String)> {
        self.file.flush()?;
        let digest = self.hasher.finalize();
        Ok((self.written, digest.iter().map(|b| format!("{b:02x}")).collect()))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
