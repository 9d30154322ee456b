//! Test harness: starts the real `control-plane` binary on a fresh data dir,
//! talks to it over HTTP, and cleans up whatever a test leaves behind (node
//! processes, containers, networks, volumes), even when the test fails.
//!
//! - `ControlPlane`: the binary, started, killed with SIGKILL, restarted.
//! - `Api`: a blocking JSON client with the admin token (or any other).
//! - `Runtime`: which node runtime a control plane uses, and its leftovers.
//! - `scenarios`: the checks every runtime must pass (one conformance suite).
//! - `backups`: snapshot, download, restore and import, on every runtime.
//! - `parameters`: parameter groups, checked with CONFIG GET on the nodes.

mod api;
pub mod backups;
pub mod failover;
pub mod memcached;
pub mod parameters;
pub mod scenarios;
pub mod standalone;
pub mod under_load;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use api::{Api, Reply};

/// `target/debug` (or wherever cargo put this test binary's siblings).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug
    exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
}

fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.is_file(), "{} is missing: run `cargo build --workspace --bins` (scripts/test does)", path.display());
    path
}

/// The static data-node the docker runtime puts in its image.
pub fn static_data_node() -> PathBuf {
    let path = std::env::var_os("FERRO_TEST_STATIC_DATA_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| bin_dir().join("../x86_64-unknown-linux-gnu/release/data-node"));
    assert!(
        path.is_file(),
        "{} is missing: build it with RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
         --target x86_64-unknown-linux-gnu -p data-node (scripts/test does)",
        path.display()
    );
    path
}

/// Whether Docker tests can run. Under CI a missing engine is a failure, not a skip.
pub fn docker_available() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !answers && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no Docker engine answers `docker info`: Docker tests must run in CI");
    }
    if !answers {
        eprintln!("skipping: no Docker engine answers `docker info`");
    }
    answers
}

/// A name prefix no other test (or test run) uses: every resource a test
/// makes starts with it, and cleanup finds them by it.
pub fn unique_prefix(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let pid = std::process::id() % 100_000;
    format!("{tag}{pid}x{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

#[derive(Debug, Clone)]
pub enum Runtime {
    Process,
    Docker,
    /// The process runtime with a data-node binary that never answers.
    Broken {
        ready_timeout_secs: u64,
    },
}

/// A control plane's data dir; on drop, kills node processes still running
/// from it and removes it.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new(prefix: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!("ferrocache-it-{prefix}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp data dir");
        DataDir(dir)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        for pid in processes_under(&self.0) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
        let owner = self.0.to_string_lossy();
        for claim in std::fs::read_dir(port_claims()).into_iter().flatten().filter_map(Result::ok) {
            if std::fs::read_to_string(claim.path()).is_ok_and(|holder| holder == owner) {
                let _ = std::fs::remove_file(claim.path());
            }
        }
    }
}

/// The pid of a process-runtime node: the first node of `member`, a cluster
/// of the control plane whose data dir is `data_dir`.
pub fn node_pid(data_dir: &Path, member: &str) -> i32 {
    std::fs::read_to_string(data_dir.join("nodes").join(member).join("0001/pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid")
}

/// SIGKILL a process-runtime node (see `node_pid`).
pub fn kill_node_process(data_dir: &Path, member: &str) {
    let pid = node_pid(data_dir, member);
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Pids of live processes whose command line names a path under `dir`.
pub fn processes_under(dir: &Path) -> Vec<i32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != std::process::id() as i32)
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
                .is_some_and(|state| state != 'Z');
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            alive && cmdline.split(|b| *b == 0).any(|arg| arg.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// Docker objects whose name starts with `ferrocache-<prefix>`.
pub fn docker_objects(prefix: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let filter = format!("name=ferrocache-{prefix}");
    let list = |args: &[&str]| -> Vec<String> {
        let out = Command::new("docker").args(args).output().expect("docker CLI");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
    };
    let mut networks = vec!["network", "ls", "--format", "{{.Name}}"];
    let network_filters = network_filters(prefix);
    networks.extend(network_filters.iter().map(String::as_str));
    (
        list(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]),
        list(&networks),
        list(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]),
    )
}

/// `docker network ls` filters for a test's networks (a cluster's and a
/// group's are named apart; filters on one key are or-ed).
fn network_filters(prefix: &str) -> Vec<String> {
    ["cluster", "group"]
        .iter()
        .flat_map(|kind| ["--filter".to_owned(), format!("name=ferrocache-{kind}-{prefix}")])
        .collect()
}

/// Removes a test's docker objects on drop, whatever happened.
pub struct DockerCleanup(pub String);

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        let filter = ["--filter".to_owned(), format!("name=ferrocache-{}", self.0)];
        let ids = |args: &[&str], filters: &[String]| -> Vec<String> {
            let out = Command::new("docker").args(args).args(filters).arg("-q").output();
            out.map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect()).unwrap_or_default()
        };
        // By id: names may be ambiguous (Docker lets networks share one).
        let containers = ids(&["ps", "-a"], &filter);
        let networks = ids(&["network", "ls"], &network_filters(&self.0));
        let volumes = ids(&["volume", "ls"], &filter);
        let run = |args: Vec<&str>| {
            let _ = Command::new("docker").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
        };
        for c in &containers {
            run(vec!["rm", "-f", "-v", c]);
        }
        for n in &networks {
            run(vec!["network", "rm", n]);
        }
        for v in &volumes {
            run(vec!["volume", "rm", "-f", v]);
        }
    }
}

/// 50 host ports of 21000-29999 that no other control plane started by a
/// test holds: a claim file per range, made with `create_new`, names the
/// data dir that owns it (a restart on the same dir finds its own claim). A
/// node of another test on one of our ports would answer our PINGs.
fn node_ports(data_dir: &Path) -> (u16, u16) {
    let claims = port_claims();
    let _ = std::fs::create_dir_all(&claims);
    let owner = data_dir.to_string_lossy().into_owned();
    for slot in 0..180u32 {
        let low = 21_000 + slot as u16 * 50;
        let claim = claims.join(low.to_string());
        let ours = match std::fs::OpenOptions::new().write(true).create_new(true).open(&claim) {
            Ok(mut file) => std::io::Write::write_all(&mut file, owner.as_bytes()).is_ok() && ports_free(low),
            Err(_) => match std::fs::read_to_string(&claim) {
                Ok(holder) if holder == owner => true,
                // A claim whose data dir is gone was left by an earlier test,
                // whose nodes may not all be gone yet: only free ports will do.
                Ok(holder) if !Path::new(&holder).exists() && ports_free(low) => std::fs::write(&claim, &owner).is_ok(),
                _ => false,
            },
        };
        if ours {
            return (low, low + 49);
        }
    }
    panic!("no free range of test node ports");
}

/// Whether nothing listens on the 50 ports from `low` (a node an earlier
/// test left running would answer our PINGs, or take a container's port).
fn ports_free(low: u16) -> bool {
    (low..low + 50).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
}

fn port_claims() -> PathBuf {
    std::env::temp_dir().join("ferrocache-test-ports")
}

/// Runs `f` on a control plane's store, through the store's own API (a
/// stopped control plane's, or beside a running one: SQLite's WAL lets both).
pub fn with_store<T>(data_dir: &Path, f: impl AsyncFnOnce(&control_plane::store::Store) -> T) -> T {
    use control_plane::store::{PortRange, Store};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let path = data_dir.join("control-plane.sqlite");
        // The port range only matters to inserts of new nodes, which tests do not make here.
        let store = Store::open(&path, PortRange { low: 1, high: 1 }).await.expect("opening the store");
        let out = f(&store).await;
        store.close().await;
        out
    })
}

pub struct ControlPlane {
    child: Child,
    pub url: String,
    /// The Sentinel-compatible discovery port's address.
    pub sentinel: Option<String>,
    pub token: String,
    pub data_dir: PathBuf,
    /// The host ports its nodes get, inclusive (claimed for this test alone).
    pub node_ports: (u16, u16),
}

impl ControlPlane {
    pub fn start(data_dir: &Path, runtime: &Runtime) -> ControlPlane {
        ControlPlane::start_with(data_dir, runtime, &[])
    }

    /// Starts with `extra` flags after the harness's own (later ones win).
    pub fn start_with(data_dir: &Path, runtime: &Runtime, extra: &[&str]) -> ControlPlane {
        let mut command = Command::new(binary("control-plane"));
        let node_ports = node_ports(data_dir);
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--node-ports")
            .arg(format!("{}-{}", node_ports.0, node_ports.1))
            .args(["--health-interval-ms", "100", "--sentinel-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FERRO_") {
                command.env_remove(name);
            }
        }
        match runtime {
            Runtime::Process => {
                command.args(["--runtime", "process"]).arg("--data-node-bin").arg(binary("data-node"));
            }
            Runtime::Docker => {
                command.args(["--runtime", "docker"]).arg("--data-node-bin").arg(static_data_node());
            }
            Runtime::Broken { ready_timeout_secs } => {
                // Runs, never listens. Its command line names the data dir,
                // so DataDir's drop finds and kills it.
                let script = data_dir.join("never-answers");
                std::fs::write(&script, "#!/bin/sh\nwhile :; do sleep 1; done\n").expect("writing the script");
                std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                    .expect("making the script executable");
                command
                    .args(["--runtime", "process", "--data-node-bin"])
                    .arg(&script)
                    .arg("--node-ready-timeout")
                    .arg(ready_timeout_secs.to_string());
            }
        }
        command.args(extra);
        let mut child = command.spawn().expect("starting control-plane");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("reading the ready line");
        // "control-plane ready, listening on ADDR, sentinel on ADDR"
        let addresses = line
            .trim()
            .split_once("listening on ")
            .map(|(_, a)| a.to_owned())
            .unwrap_or_else(|| panic!("control-plane did not start: {line:?}"));
        let (address, sentinel) = match addresses.split_once(", sentinel on ") {
            Some((api, sentinel)) => (api.to_owned(), Some(sentinel.to_owned())),
            None => (addresses, None),
        };
        let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("bootstrap token file");
        ControlPlane {
            child,
            url: format!("http://{address}"),
            sentinel,
            token,
            data_dir: data_dir.to_path_buf(),
            node_ports,
        }
    }

    /// SIGTERM, as `docker stop` sends; returns how the process ended.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the control plane did not stop within {within:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn api(&self) -> Api {
        Api::new(&self.url, Some(&self.token))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.kill9();
    }
}
