//! `control-plane`: serve the API and run the reconciler, or build the
//! data-node image (`control-plane build-image`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use control_plane::api::{self, AppState};
use control_plane::auth::{self, Authenticator, Scope};
use control_plane::backup::{BackupWorker, SnapshotFiles};
use control_plane::clock::Clock;
use control_plane::config::{Command, Config, RuntimeKind};
use control_plane::maintenance::MaintenanceWindows;
use control_plane::monitor::Monitor;
use control_plane::parameters::sync::ParameterSync;
use control_plane::reconciler::Reconciler;
use control_plane::runtime::NodeRuntime;
use control_plane::runtime::docker::DockerRuntime;
use control_plane::runtime::image::is_static_binary;
use control_plane::runtime::process::ProcessRuntime;
use control_plane::sentinel::Announcements;
use control_plane::store::Store;
use control_plane::worker::Workers;
use tokio::sync::Notify;

/// The bootstrap admin token lives a year; mint shorter ones with POST /v1/tokens.
const BOOTSTRAP_TOKEN_TTL_SECS: i64 = 365 * 24 * 3600;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(std::env::var("RUST_LOG").ok()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = Config::parse();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    let store = Store::open(&config.database_path(), config.node_ports).await.context("opening the database")?;
    let instance = store.setting_or_insert("instance_id", &auth::random_hex(8)?).await?;

    match config.command {
        Some(Command::BuildImage) => {
            let docker = connect_docker(&config, instance).await?;
            let tag = docker.ensure_image().await?;
            println!("{tag}");
            Ok(())
        }
        None | Some(Command::Serve) => serve(config, store, instance).await,
    }
}

async fn connect_docker(config: &Config, instance: String) -> anyhow::Result<DockerRuntime> {
    DockerRuntime::connect(
        config.docker_socket.as_deref(),
        config.static_data_node_bin(),
        instance,
        config.advertise_host.clone(),
    )
    .await
    .context("connecting to the Docker engine")
}

async fn serve(config: Config, store: Store, instance: String) -> anyhow::Result<()> {
    let authenticator = Arc::new(bootstrap_auth(&config, &store).await?);
    let wake = Arc::new(Notify::new());
    let announcements = Announcements::default();
    let sentinel = match config.sentinel_listen.as_str() {
        "off" | "" => None,
        address => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the sentinel port to {address}"))?,
        ),
    };
    let snapshots = Arc::new(SnapshotFiles::new(config.snapshots_dir()));
    snapshots.ensure_dir().await.with_context(|| format!("creating {}", config.snapshots_dir().display()))?;
    let backups = Arc::new(Notify::new());
    let parameters = Arc::new(Notify::new());
    let state = AppState {
        store: store.clone(),
        auth: authenticator,
        reconcile: Arc::clone(&wake),
        snapshots: Arc::clone(&snapshots),
        backups: Arc::clone(&backups),
        parameters: Arc::clone(&parameters),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the API to {}", config.listen))?;
    let use_docker = match config.runtime {
        RuntimeKind::Docker => true,
        RuntimeKind::Process => false,
        RuntimeKind::Auto => match connect_docker(&config, instance.clone()).await {
            Err(e) => {
                tracing::info!("runtime auto: no Docker engine ({e:#}); running nodes as local processes");
                false
            }
            Ok(_) if !is_static_binary(&config.static_data_node_bin()) => {
                tracing::warn!(
                    "runtime auto: Docker answers, but {} is not a static data-node binary for its FROM scratch \
                     image; running nodes as local processes. For containers, run scripts/build-static (or \
                     scripts/run) and start the control plane again",
                    config.static_data_node_bin().display()
                );
                false
            }
            Ok(_) => true,
        },
    };
    let mut workers = Workers::default();
    let background = Background {
        store: store.clone(),
        wake,
        announcements: announcements.clone(),
        ready_timeout: Duration::from_secs(config.node_ready_timeout),
        health_interval: Duration::from_millis(config.health_interval_ms.max(50)),
        failover_misses: config.failover_misses,
        snapshots,
        backups,
        parameters,
    };
    if use_docker {
        let runtime = Arc::new(connect_docker(&config, instance).await?);
        // Build the node image now, so the first create does not wait for it;
        // a binary that cannot go in it is reported here, not at the first create.
        let image = Arc::clone(&runtime);
        tokio::spawn(async move {
            if let Err(e) = image.ensure_image().await {
                tracing::error!("the data-node image cannot be built: {e}");
            }
        });
        background.start(runtime, &mut workers).await?;
    } else {
        let binary = config.process_data_node_bin();
        if !binary.is_file() {
            tracing::warn!(
                "no data-node binary at {}: creates will fail until it is built (cargo build --release -p data-node, \
                 or scripts/run) or --data-node-bin names one",
                binary.display()
            );
        }
        let runtime = ProcessRuntime::new(binary, config.nodes_dir(), config.advertise_host.clone())?;
        background.start(Arc::new(runtime), &mut workers).await?;
    }
    let address = listener.local_addr()?;
    tracing::info!("control plane listening on {address}");
    let mut ready = format!("control-plane ready, listening on {address}");
    if let Some(sentinel) = sentinel {
        ready.push_str(&format!(", sentinel on {}", sentinel.local_addr()?));
        tokio::spawn(control_plane::sentinel::serve(sentinel, store.clone(), announcements));
    }
    // Tests and scripts read this line to learn the addresses.
    println!("{ready}");
    axum::serve(listener, api::app(state)).with_graceful_shutdown(shutdown_signal()).await?;
    // SIGTERM: the API stopped taking requests; the workers finish the step
    // in flight (a node being created, a failover) and take no other.
    tracing::info!("finishing the work in flight");
    workers.shutdown().await;
    store.close().await;
    tracing::info!("shut down");
    Ok(())
}

/// The loops that change the world: the reconciler, the backup worker, the
/// maintenance windows, the parameter sync and the monitor.
struct Background {
    store: Store,
    wake: Arc<Notify>,
    announcements: Announcements,
    ready_timeout: Duration,
    health_interval: Duration,
    failover_misses: u32,
    snapshots: Arc<SnapshotFiles>,
    backups: Arc<Notify>,
    parameters: Arc<Notify>,
}

impl Background {
    async fn start<R: NodeRuntime>(self, runtime: Arc<R>, workers: &mut Workers) -> anyhow::Result<()> {
        tracing::info!(runtime = runtime.name(), "starting the reconciler and the monitor");
        let reconciler = Reconciler::new(
            self.store.clone(),
            Arc::clone(&runtime),
            Arc::clone(&self.wake),
            self.ready_timeout,
            workers.shutdown_signal(),
            Arc::clone(&self.snapshots),
        );
        let removed = reconciler.sweep_orphans().await.map_err(|e| anyhow::anyhow!("sweeping orphans: {e}"))?;
        if removed > 0 {
            tracing::info!("removed {removed} orphaned node(s) or network(s)");
        }
        workers.spawn(reconciler);
        workers.spawn(BackupWorker::new(self.store.clone(), self.snapshots, self.backups, Clock::system()));
        workers.spawn(MaintenanceWindows::new(self.store.clone(), Clock::system(), Arc::clone(&self.wake)));
        workers.spawn(ParameterSync::new(self.store.clone(), self.parameters));
        let monitor = Monitor::new(
            self.store,
            runtime,
            self.wake,
            self.announcements,
            self.health_interval,
            self.failover_misses,
        );
        workers.spawn(monitor);
        Ok(())
    }
}

/// The signing secret is made on first start, with an admin token written to
/// a file only its owner can read; the log names the file, never the token.
async fn bootstrap_auth(config: &Config, store: &Store) -> anyhow::Result<Authenticator> {
    let fresh = auth::random_hex(32)?;
    let secret = store.setting_or_insert("jwt_secret", &fresh).await?;
    let authenticator = Authenticator::new(secret.as_bytes());
    let token_path = config.admin_token_path();
    if secret == fresh || !token_path.exists() {
        let now = control_plane::clock::now_millis() / 1000;
        let Ok(token) = authenticator.mint("bootstrap-admin", vec![Scope::Admin], now, BOOTSTRAP_TOKEN_TTL_SECS) else {
            bail!("minting the bootstrap token failed");
        };
        auth::write_private_file(&token_path, &token).with_context(|| format!("writing {}", token_path.display()))?;
        tracing::info!("bootstrap admin token written to {}", token_path.display());
    } else {
        tracing::info!("admin token file: {}", token_path.display());
    }
    Ok(authenticator)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return std::future::pending().await,
    };
    let signal = tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    };
    // Said at once: the API may still be answering requests under way.
    tracing::info!("{signal}: shutting down, the API stops taking requests");
}

/// RUST_LOG's directives (default `info`), with sqlx kept at warn unless
/// they name it: `RUST_LOG=debug` should not be a log of every query.
fn log_filter(rust_log: Option<String>) -> tracing_subscriber::EnvFilter {
    let mut directives = rust_log.filter(|d| !d.trim().is_empty()).unwrap_or_else(|| "info".into());
    if !directives.contains("sqlx") {
        directives.push_str(",sqlx=warn");
    }
    tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("control-plane: RUST_LOG={directives:?} is not a filter ({e}); logging at info");
        tracing_subscriber::EnvFilter::new("info,sqlx=warn")
    })
}
