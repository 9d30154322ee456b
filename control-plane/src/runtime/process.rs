//! The process runtime: each node a data-node child process on a loopback
//! port, with its own directory under `<data dir>/nodes/<cluster>/<node>/`
//! holding its data, its log and its pid. A node's command line names its
//! directory, which is how a restarted control plane finds it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{Endpoint, NetworkOwner, NodeKey, NodeRuntime, NodeSpec, PrimaryRef, RuntimeError, RuntimeResult};

/// How long a new node has to print its ready line before the reconciler's
/// own readiness wait takes over.
const STARTUP: Duration = Duration::from_secs(5);

pub struct ProcessRuntime {
    binary: PathBuf,
    nodes_dir: PathBuf,
    advertise_host: String,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let what = what.into();
    move |source| RuntimeError::Io { what, source }
}

impl ProcessRuntime {
    pub fn new(binary: PathBuf, nodes_dir: PathBuf, advertise_host: String) -> RuntimeResult<ProcessRuntime> {
        if !binary.is_file() {
            return Err(RuntimeError::Image(format!(
                "data-node binary {} not found (build it with `cargo build -p data-node`, or set FERRO_DATA_NODE_BIN)",
                binary.display()
            )));
        }
        // Nodes start in their own directory: a relative path would not resolve there.
        let binary = binary.canonicalize().map_err(io(format!("resolving {}", binary.display())))?;
        std::fs::create_dir_all(&nodes_dir).map_err(io(format!("creating {}", nodes_dir.display())))?;
        let nodes_dir = nodes_dir.canonicalize().map_err(io(format!("resolving {}", nodes_dir.display())))?;
        Ok(ProcessRuntime { binary, nodes_dir, advertise_host })
    }

    fn node_dir(&self, key: &NodeKey) -> PathBuf {
        self.nodes_dir.join(&key.cache_cluster_id).join(&key.cache_node_id)
    }

    /// The live processes serving the node whose directory is `dir`, found
    /// by their command line (`--dir <dir>`), not by the pid file: a control
    /// plane killed between starting a node and writing its pid file must
    /// still find that node after a restart.
    fn running_pids(&self, dir: &Path) -> Vec<i32> {
        let dir_arg = dir.as_os_str().as_encoded_bytes();
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
                let mut args = cmdline.split(|b| *b == 0);
                let ours = args.any(|arg| arg == b"--dir") && args.next() == Some(dir_arg);
                let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()));
                ours && state.is_some_and(|s| s != 'Z')
            })
            .collect()
    }

    async fn spawn(&self, spec: &NodeSpec, dir: &Path) -> RuntimeResult<()> {
        let logged_before = std::fs::metadata(dir.join("node.log")).map_or(0, |m| m.len());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .map_err(io("opening node.log"))?;
        let log_err = log.try_clone().map_err(io("opening node.log"))?;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(spec.data_node_args(spec.host_port, "127.0.0.1", spec.vcpus.clamp(1, 2)))
            .arg("--dir")
            .arg(dir)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a Ctrl-C aimed at the control plane leaves
            // the caches serving.
            .process_group(0);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FERRO_") {
                command.env_remove(name);
            }
        }
        if let Some(password) = &spec.password {
            command.env("FERRO_REQUIREPASS", password).env("FERRO_MASTERAUTH", password);
        }
        if let Some(primary) = &spec.primary {
            let (host, port) = self.primary_address(primary, spec.port);
            command.env("FERRO_REPLICAOF", format!("{host} {port}"));
        }
        let mut child = command.spawn().map_err(io(format!("starting {}", self.binary.display())))?;
        let pid = child.id().unwrap_or_default();
        std::fs::write(dir.join("pid"), pid.to_string()).map_err(io("writing the pid file"))?;
        // A node that cannot start (its port taken since it was allocated, say)
        // exits at once: found out here, or whatever answers on its port
        // would pass for it.
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            let logged = logged_since(dir, logged_before);
            if logged.contains("data-node ready") {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let last_log = logged.lines().last().unwrap_or("no output").trim().to_owned();
                return Err(RuntimeError::NodeExited { status: status.to_string(), last_log });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Dropping the handle leaves the node running; tokio reaps it if it exits.
        drop(child);
        Ok(())
    }

    async fn stop(&self, dir: &Path) {
        let pids = self.running_pids(dir);
        if pids.is_empty() {
            return;
        }
        pids.iter().for_each(|pid| signal(*pid, libc::SIGTERM));
        for _ in 0..100 {
            if self.running_pids(dir).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pids.iter().for_each(|pid| signal(*pid, libc::SIGKILL));
        while !self.running_pids(dir).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn endpoint(&self, spec: &NodeSpec) -> Endpoint {
        Endpoint { address: self.advertise_host.clone(), port: spec.host_port }
    }

    fn subdirs(dir: &Path) -> RuntimeResult<Vec<String>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("listing {}", dir.display()))(e)),
        };
        Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
}

fn remove_dir(dir: &Path) -> RuntimeResult<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(format!("removing {}", dir.display()))(e)),
        _ => Ok(()),
    }
}

/// What the node wrote to its log after `offset` (the first 64 KiB of it).
fn logged_since(dir: &Path, offset: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut bytes = Vec::new();
    if let Ok(mut log) = std::fs::File::open(dir.join("node.log"))
        && log.seek(SeekFrom::Start(offset)).is_ok()
    {
        let _ = log.take(64 * 1024).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

impl NodeRuntime for ProcessRuntime {
    fn name(&self) -> &'static str {
        "process"
    }

    async fn ensure_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        let dir = self.node_dir(&spec.key());
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        if self.running_pids(&dir).is_empty() {
            self.spawn(spec, &dir).await?;
        }
        Ok(self.endpoint(spec))
    }

    async fn restart_node(&self, spec: &NodeSpec) -> RuntimeResult<Endpoint> {
        self.stop(&self.node_dir(&spec.key())).await;
        self.ensure_node(spec).await
    }

    async fn resize_node(&self, _spec: &NodeSpec) -> RuntimeResult<()> {
        // Processes get no memory or CPU limits; the new maxmemory is set over
        // the wire by the reconciler.
        Ok(())
    }

    async fn remove_node(&self, key: &NodeKey) -> RuntimeResult<()> {
        let dir = self.node_dir(key);
        self.stop(&dir).await;
        remove_dir(&dir)?;
        let cluster_dir = self.nodes_dir.join(&key.cache_cluster_id);
        if Self::subdirs(&cluster_dir)?.is_empty() {
            remove_dir(&cluster_dir)?;
        }
        Ok(())
    }

    async fn remove_network(&self, _owner: &NetworkOwner) -> RuntimeResult<()> {
        // Processes share the host's loopback: there is no network to remove.
        Ok(())
    }

    async fn list_nodes(&self) -> RuntimeResult<Vec<NodeKey>> {
        let mut keys = Vec::new();
        for cluster in Self::subdirs(&self.nodes_dir)? {
            for node in Self::subdirs(&self.nodes_dir.join(&cluster))? {
                keys.push(NodeKey { cache_cluster_id: cluster.clone(), cache_node_id: node });
            }
        }
        Ok(keys)
    }

    fn primary_address(&self, primary: &PrimaryRef, _port: u16) -> (String, u16) {
        ("127.0.0.1".into(), primary.host_port)
    }

    async fn name_endpoints(&self, _group: &str, _primary: &NodeKey, _replicas: &[NodeKey]) -> RuntimeResult<()> {
        Ok(())
    }

    async fn list_networks(&self) -> RuntimeResult<Vec<NetworkOwner>> {
        Ok(Vec::new())
    }
}
