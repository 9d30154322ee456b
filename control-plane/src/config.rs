//! The control plane's settings: every one a flag with a `FERRO_*` fallback.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::store::PortRange;

#[derive(Debug, Clone, Parser)]
#[command(name = "control-plane", version, about = "ferrocache's REST API and reconciler", args_override_self = true)]
pub struct Config {
    /// Address the REST API listens on.
    #[arg(long, env = "FERRO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the SQLite database, the signing secret, the bootstrap
    /// token and (process runtime) the nodes' data.
    #[arg(long, env = "FERRO_DATA_DIR", default_value = "./ferrocache-data")]
    pub data_dir: PathBuf,

    /// Where nodes run: docker, process, or auto (docker when its socket answers).
    #[arg(long, env = "FERRO_RUNTIME", value_enum, default_value_t = RuntimeKind::Auto)]
    pub runtime: RuntimeKind,

    /// The data-node binary: run as is by the process runtime, copied into the
    /// `FROM scratch` image by the docker runtime (which needs it static).
    /// Default: `data-node` beside this executable.
    #[arg(long, env = "FERRO_DATA_NODE_BIN")]
    pub data_node_bin: Option<PathBuf>,

    /// Address published in node endpoints (and bound by docker's port publishing).
    #[arg(long, env = "FERRO_ADVERTISE_HOST", default_value = "127.0.0.1")]
    pub advertise_host: String,

    /// Host ports for nodes, `LOW-HIGH` (keep it clear of the kernel's ephemeral range).
    #[arg(long, env = "FERRO_NODE_PORTS", value_parser = parse_port_range, default_value = "21000-29999")]
    pub node_ports: PortRange,

    /// Docker engine socket (default: DOCKER_HOST or /var/run/docker.sock).
    #[arg(long, env = "FERRO_DOCKER_SOCKET")]
    pub docker_socket: Option<String>,

    /// Seconds a new or restarted node has to answer PING before its cluster
    /// is marked `create-failed`.
    #[arg(long, env = "FERRO_NODE_READY_TIMEOUT", default_value_t = 30)]
    pub node_ready_timeout: u64,

    /// The Sentinel-compatible discovery port (`off` to disable).
    #[arg(long, env = "FERRO_SENTINEL_LISTEN", default_value = "127.0.0.1:26379")]
    pub sentinel_listen: String,

    /// Milliseconds between health checks of every group's nodes.
    #[arg(long, env = "FERRO_HEALTH_INTERVAL_MS", default_value_t = 500)]
    pub health_interval_ms: u64,

    /// Missed health checks after which a group's primary is failed over.
    #[arg(long, env = "FERRO_FAILOVER_MISSES", default_value_t = 3)]
    pub failover_misses: u32,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Build the `ferrocache/data-node` image from the static data-node binary and exit.
    BuildImage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    Auto,
    Docker,
    Process,
}

fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let (low, high) = text.split_once('-').ok_or("expected LOW-HIGH, e.g. 31000-31999")?;
    let low: u16 = low.trim().parse().map_err(|e| format!("bad low port: {e}"))?;
    let high: u16 = high.trim().parse().map_err(|e| format!("bad high port: {e}"))?;
    if low == 0 || low > high {
        return Err("expected 0 < LOW <= HIGH".into());
    }
    Ok(PortRange { low, high })
}

impl Config {
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("control-plane.sqlite")
    }

    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join("admin-token")
    }

    pub fn nodes_dir(&self) -> PathBuf {
        self.data_dir.join("nodes")
    }

    /// Snapshot files (`<name>.rdb`).
    pub fn snapshots_dir(&self) -> std::path::PathBuf {
        self.data_dir.join("snapshots")
    }

    /// The data-node binary the process runtime runs: the configured one, or
    /// `data-node` beside this executable.
    pub fn process_data_node_bin(&self) -> PathBuf {
        match (&self.data_node_bin, exe_dir()) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => dir.join("data-node"),
            (None, None) => PathBuf::from("data-node"),
        }
    }

    /// The static data-node binary the docker runtime puts in its image: the
    /// configured one, or `data-node` beside this executable if it is static
    /// (as in the control plane's own image), or where `scripts/build-static`
    /// writes it. Read anew at each image build, so one built later is found.
    pub fn static_data_node_bin(&self) -> PathBuf {
        if let Some(path) = &self.data_node_bin {
            return path.clone();
        }
        let Some(dir) = exe_dir() else { return PathBuf::from(STATIC_BUILD) };
        let beside = dir.join("data-node");
        if crate::runtime::image::is_static_binary(&beside) {
            return beside;
        }
        // Run from <root>/target/<profile>/: the static build is under <root>.
        let root = dir.parent().filter(|target| target.ends_with("target")).and_then(std::path::Path::parent);
        root.map_or_else(|| PathBuf::from(STATIC_BUILD), |root| root.join(STATIC_BUILD))
    }
}

/// Where `scripts/build-static` writes the static data node, from the repository root.
pub const STATIC_BUILD: &str = "target/x86_64-unknown-linux-gnu/release/data-node";

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from))
}
