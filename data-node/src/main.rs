use clap::Parser;
use data_node::config::{Flags, Protocol};
use data_node::server::Server;

/// mimalloc: Lua's strings and tables, keys and replies are many small
/// allocations, which it serves from per-thread pages for less than glibc.
#[global_allocator]
static ALLOCATOR: data_node::allocator::Mimalloc = data_node::allocator::Mimalloc;

fn main() -> std::process::ExitCode {
    let flags = match Flags::parse().resolve() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("data-node: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match data_node::start_runtime(&flags) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("data-node: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let addr = format!("{}:{}", flags.bind, flags.port());
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("data-node: cannot listen on {addr}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
        let server = Server::new(&flags);
        if let Ok(a) = listener.local_addr() {
            server.live().port.store(a.port() as usize, std::sync::atomic::Ordering::Relaxed);
        }
        for (name, value) in &flags.config {
            if let Err(e) = data_node::params::set(&server, name.as_bytes(), value.as_bytes()) {
                eprintln!("data-node: --config {name}={value}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        if flags.protocol == Protocol::Memcached {
            // memcached keeps nothing across restarts, and neither do we in its place.
            let cache = data_node::memcache::Memcache::new(server, &flags);
            println!("data-node ready, listening on {local}");
            tokio::select! {
                _ = data_node::serve_memcached(listener, cache) => {}
                _ = shutdown_signal() => eprintln!("data-node: shutting down"),
            }
            return std::process::ExitCode::SUCCESS;
        }
        if let Err(code) = load_snapshot(&server) {
            return code;
        }
        if let Some((host, port)) = flags.replicaof.clone() {
            server.replication().follow(server.keyspace(), host, port);
        }
        // Tests and scripts read this line to learn the port.
        println!("data-node ready, listening on {local}");
        tokio::select! {
            _ = data_node::serve(listener, server.clone()) => {}
            _ = shutdown_signal() => save_on_shutdown(&server),
        }
        std::process::ExitCode::SUCCESS
    })
}

/// Like redis-server: start from the snapshot in --dir, refuse to start on a bad one.
fn load_snapshot(server: &Server) -> Result<(), std::process::ExitCode> {
    let rdb = server.live().rdb_path();
    if rdb.is_file() {
        match data_node::rdb::load(server.keyspace(), &rdb) {
            Ok(loaded) => {
                eprintln!("data-node: loaded {} keys from {}", loaded.keys, rdb.display());
                server.persistence().loaded(loaded.keys, loaded.expired);
                let libraries = data_node::cmd::scripting::install(
                    server.scripts(),
                    &loaded.functions,
                    data_node::cmd::scripting::Restore::Flush,
                );
                if let Err(e) = libraries {
                    eprintln!("data-node: cannot load the function libraries of {}: {e}", rdb.display());
                    return Err(std::process::ExitCode::FAILURE);
                }
                if let Some((replid, offset)) = loaded.replication {
                    server.replication().adopt_history(replid, offset);
                }
            }
            Err(e) => {
                eprintln!("data-node: cannot load {}: {e}", rdb.display());
                return Err(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(())
}

/// Saves the data before the process ends.
fn save_on_shutdown(server: &Server) {
    eprintln!("data-node: shutting down");
    // Clients wait from here on and the commands under way finish
    // (they hold shard locks): the snapshot and the stream position agree.
    server.pause().start(u64::MAX, true);
    server.replication().stop_following();
    drop(server.keyspace().lock_all());
    // Saved with its place in the stream (a replica's in its
    // primary's, a primary's in its own), so that after a restart
    // it and its replicas continue with a partial resync.
    if let Some((replid, offset)) = server.replication().history() {
        let rdb = server.live().rdb_path();
        let functions = server.scripts().library_codes();
        let header = data_node::rdb::Header {
            now_ms: server.now_ms(),
            used_memory: server.used_memory() as usize,
            replication: Some((&replid, offset)),
            functions: &functions,
        };
        match data_node::rdb::save(server.keyspace(), &rdb, &header, &mut |_| {}) {
            Ok(keys) => eprintln!("data-node: saved {keys} keys to {} at offset {offset}", rdb.display()),
            Err(e) => eprintln!("data-node: saving {} failed: {e}", rdb.display()),
        }
    }
}

/// SIGTERM (docker stop; we may be PID 1, which gets no default handler) or Ctrl-C.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
