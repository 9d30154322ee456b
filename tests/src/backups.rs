//! Backup and restore, the same on every runtime: a cluster full of every
//! type (with TTLs, over several databases) is snapshotted while it takes
//! writes, downloaded (redis-check-rdb accepts it), restored into a new
//! cluster and a new group holding the same keys, values and TTLs; a
//! corrupted snapshot refuses to restore, saying why; an uploaded RDB
//! (redis-server's) imports and restores; a garbage upload is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::scenarios::connect;
use crate::{Api, ControlPlane};

const WAIT: Duration = Duration::from_secs(120);

/// Key counts per type and database: 100k keys in all.
const STRINGS: usize = 60_000;
const COLLECTIONS: usize = 10_000;

fn endpoint(body: &Value) -> (String, u16) {
    let e = &body["cache_nodes"][0]["endpoint"];
    (e["address"].as_str().expect("address").to_owned(), e["port"].as_u64().expect("port") as u16)
}

fn group_primary(body: &Value) -> (String, u16) {
    let e = &body["node_groups"][0]["primary_endpoint"];
    (e["address"].as_str().expect("address").to_owned(), e["port"].as_u64().expect("port") as u16)
}

fn fill(con: &mut redis::Connection) {
    for db in [0, 3] {
        let _: () = redis::cmd("SELECT").arg(db).query(con).expect("SELECT");
        let mut pipe = redis::pipe();
        for i in 0..STRINGS / 2 {
            let cmd = pipe.cmd("SET").arg(format!("s:{i}")).arg(format!("value-{db}-{i}")).ignore();
            if i % 10 == 0 {
                cmd.cmd("PEXPIRE").arg(format!("s:{i}")).arg(3_600_000 + i as u64).ignore();
            }
            if pipe.len() >= 5_000 {
                let _: () = pipe.query(con).expect("fill strings");
                pipe = redis::pipe();
            }
        }
        for i in 0..COLLECTIONS / 2 {
            pipe.cmd("HSET").arg(format!("h:{i}")).arg("f1").arg(i).arg("f2").arg("two").ignore();
            pipe.cmd("RPUSH").arg(format!("l:{i}")).arg("a").arg(i).arg("c").ignore();
            pipe.cmd("SADD").arg(format!("set:{i}")).arg("x").arg(i).ignore();
            pipe.cmd("ZADD").arg(format!("z:{i}")).arg(1.5).arg("m1").arg(i).arg("m2").ignore();
            if i % 7 == 0 {
                pipe.cmd("EXPIRE").arg(format!("z:{i}")).arg(7200).ignore();
            }
            if pipe.len() >= 5_000 {
                let _: () = pipe.query(con).expect("fill collections");
                pipe = redis::pipe();
            }
        }
        let _: () = redis::cmd("PFADD").arg("hll").arg(&["a", "b", "c"][..]).query(con).expect("PFADD");
        let _: () = pipe.query(con).expect("fill");
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).expect("SELECT");
}

/// (database, key) → (value, expiry).
type Keys = BTreeMap<(u8, Vec<u8>), (Vec<u8>, i64)>;

/// Every key of databases 0 and 3 with its value (as DUMP's payload: the
/// same value dumps the same) and its expiry (unix ms; negative: none).
fn contents(con: &mut redis::Connection) -> Keys {
    let mut out = BTreeMap::new();
    for db in [0u8, 3] {
        let _: () = redis::cmd("SELECT").arg(db).query(con).expect("SELECT");
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
        for chunk in keys.chunks(2_000) {
            let mut pipe = redis::pipe();
            for key in chunk {
                // Sets and hashes have no order: their members, sorted, stand for them.
                match key.split(|b| *b == b':').next() {
                    Some(b"set") => pipe.cmd("SMEMBERS").arg(key),
                    Some(b"h") => pipe.cmd("HGETALL").arg(key),
                    _ => pipe.cmd("DUMP").arg(key),
                };
                pipe.cmd("PEXPIRETIME").arg(key);
            }
            let replies: Vec<redis::Value> = pipe.query(con).expect("values and PEXPIRETIME");
            for (key, pair) in chunk.iter().zip(replies.chunks(2)) {
                let dump = match &pair[0] {
                    redis::Value::Array(items) => {
                        let mut items: Vec<Vec<u8>> =
                            items.iter().map(|v| redis::from_redis_value(v.clone()).expect("member")).collect();
                        items.sort();
                        items.concat()
                    }
                    other => redis::from_redis_value::<Vec<u8>>(other.clone()).expect("dump"),
                };
                let at: i64 = redis::from_redis_value(pair[1].clone()).expect("pexpiretime");
                out.insert((db, key.clone()), (dump, at));
            }
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).expect("SELECT");
    out
}

/// Same keys and values; expiry times within a second.
fn assert_same(found: &Keys, expected: &Keys) {
    assert_eq!(found.len(), expected.len(), "key counts differ");
    for (key, (dump, at)) in expected {
        let Some((found_dump, found_at)) = found.get(key) else { panic!("{key:?} is missing") };
        assert_eq!(found_dump, dump, "{key:?} has another value");
        assert!((found_at - at).abs() <= 1000, "{key:?}: expires at {found_at} ms, expected {at} ms");
    }
}

fn wait_snapshot(api: &Api, name: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let body = api.get(&format!("/v1/snapshots/{name}")).body;
        let status = body["snapshot_status"].as_str().unwrap_or("").to_owned();
        if status == wanted {
            return body;
        }
        assert!(status != "failed", "snapshot {name} failed: {body}\nevents: {}", api.get("/v1/events").body);
        assert!(Instant::now() < deadline, "snapshot {name} still {status:?}: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var("CI").is_err(), "{name} is required under CI (scripts/test installs it)");
        eprintln!("{name} not installed: skipping its checks");
    }
    found
}

pub fn snapshot_and_restore(cp: &ControlPlane, prefix: &str) {
    let api = cp.api();
    let source = format!("{prefix}-src");
    let created =
        api.post("/v1/cache-clusters", &json!({"cache_cluster_id": source, "cache_node_type": "cache.t3.small"}));
    assert_eq!(created.status, 201, "{}", created.body);
    let body = api.wait_status(&format!("/v1/cache-clusters/{source}"), "available", WAIT);
    let (address, port) = endpoint(&body);
    let mut con = connect(&address, port);
    fill(&mut con);
    let expected = contents(&mut con);
    assert!(expected.len() >= 100_000, "{} keys", expected.len());

    // Snapshot while a writer keeps writing keys of its own.
    let name = format!("{prefix}-snap");
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let acked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (address, stop, acked) = (address.clone(), Arc::new(AtomicBool::new(false)), acked.clone());
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut con = connect(&address, port);
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let _: () = redis::cmd("SET").arg(format!("during:{n}")).arg(n).query(&mut con).expect("SET");
                n += 1;
                acked.store(n, Ordering::Release);
            }
        });
        (stop, handle)
    };
    while acked.load(Ordering::Acquire) < 100 {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Every write acknowledged before the snapshot was asked for is in it.
    let before_snapshot = acked.load(Ordering::Acquire);
    let reply = api.post("/v1/snapshots", &json!({"snapshot_name": name, "cache_cluster_id": source}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["snapshot_status"], "creating");
    assert_eq!(reply.body["snapshot_source"], "manual");
    let again = api.post("/v1/snapshots", &json!({"snapshot_name": name, "cache_cluster_id": source}));
    assert_eq!((again.status, again.code()), (409, "SnapshotAlreadyExistsFault"), "{}", again.body);
    let described = wait_snapshot(&api, &name, "available");
    writer.0.store(true, Ordering::Relaxed);
    writer.1.join().expect("writer");
    assert_eq!(described["cache_node_type"], "cache.t3.small");
    assert_eq!(described["engine"], "redis");
    assert!(described["size_bytes"].as_i64().unwrap_or(0) > 1_000_000, "{described}");
    assert_eq!(described["bytes_written"], described["size_bytes"]);
    assert!(described["data_size_bytes"].as_i64().unwrap_or(0) > 0, "{described}");
    let listed = api.get(&format!("/v1/snapshots?cache_cluster_id={source}&snapshot_source=manual")).body;
    assert_eq!(listed["snapshots"].as_array().map(Vec::len), Some(1), "{listed}");

    // The download is the file, its SHA-256 in a header, and redis-check-rdb accepts it.
    let (status, sha, bytes) =
        api.transfer("GET", &format!("/v1/snapshots/{name}/download"), None, "x-snapshot-sha256");
    assert_eq!(status, 200);
    assert_eq!(sha.as_deref(), described["sha256"].as_str());
    assert_eq!(Some(control_plane::backup::files::sha256_hex(&bytes).as_str()), described["sha256"].as_str());
    let downloaded = cp.data_dir.join("downloaded.rdb");
    std::fs::write(&downloaded, &bytes).expect("write the download");
    if let Some(check) = tool("redis-check-rdb") {
        let out = std::process::Command::new(check).arg(&downloaded).output().expect("redis-check-rdb");
        assert!(out.status.success(), "redis-check-rdb: {}", String::from_utf8_lossy(&out.stdout));
    }

    // Restore into a new cluster: the keys as they were, none written during the snapshot missing.
    let restored = format!("{prefix}-r");
    let reply = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": restored, "snapshot_name": name}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = api.wait_status(&format!("/v1/cache-clusters/{restored}"), "available", WAIT);
    assert_eq!(body["cache_node_type"], "cache.t3.small", "a restore defaults to the snapshot's node type");
    let (a, p) = endpoint(&body);
    let mut found = contents(&mut connect(&a, p));
    let during = found.keys().filter(|(_, key)| key.starts_with(b"during:")).count() as u64;
    assert!(during >= before_snapshot, "{during} of the writer's keys restored, {before_snapshot} acknowledged before");
    for n in 0..before_snapshot {
        assert!(found.contains_key(&(0, format!("during:{n}").into_bytes())), "during:{n} is missing");
    }
    found.retain(|(_, key), _| !key.starts_with(b"during:"));
    assert_same(&found, &expected);

    // Into a new group: the primary holds it, and its replica synced it.
    let group = format!("{prefix}-g");
    let reply = api.post(
        "/v1/replication-groups",
        &json!({"replication_group_id": group, "replication_group_description": "restored",
                "num_cache_clusters": 2, "snapshot_name": name}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = api.wait_status(&format!("/v1/replication-groups/{group}"), "available", WAIT);
    let (a, p) = group_primary(&body);
    let mut on_primary = contents(&mut connect(&a, p));
    on_primary.retain(|(_, key), _| !key.starts_with(b"during:"));
    assert_same(&on_primary, &expected);
    let replica = api.get(&format!("/v1/cache-clusters/{group}-002")).body;
    let (a, p) = endpoint(&replica);
    // Available means synced: the replica holds it all already.
    let mut on_replica = contents(&mut connect(&a, p));
    on_replica.retain(|(_, key), _| !key.starts_with(b"during:"));
    assert_same(&on_replica, &expected);

    // A group's snapshot is taken from its replica.
    let of_group = format!("{prefix}-gsnap");
    let reply = api.post("/v1/snapshots", &json!({"snapshot_name": of_group, "replication_group_id": group}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let taken = wait_snapshot(&api, &of_group, "available");
    assert_eq!(taken["cache_cluster_id"], format!("{group}-002"), "{taken}");
    assert_eq!(
        (taken["replication_group_id"].as_str(), taken["num_cache_nodes"].as_i64()),
        (Some(group.as_str()), Some(2))
    );
    assert_eq!(api.delete(&format!("/v1/snapshots/{of_group}")).status, 200);

    // A node type too small for the data is refused.
    let reply = api.post(
        "/v1/cache-clusters",
        &json!({"cache_cluster_id": format!("{prefix}-tiny"), "snapshot_name": name, "cache_node_type": "cache.t3.micro"}),
    );
    if described["data_size_bytes"].as_i64().unwrap_or(0) > 400 << 20 {
        assert_eq!(reply.code(), "InvalidParameterCombination", "{}", reply.body);
    }

    corrupt_copies_refuse_to_restore(cp, prefix, &name);
    imports(cp, prefix, &downloaded, &expected);

    // A delete with a final snapshot writes it before the node goes;
    // deleting a cluster keeps its manual snapshots.
    let last = format!("{prefix}-final");
    let deleting = api.delete(&format!("/v1/cache-clusters/{source}?final_snapshot_identifier={last}"));
    assert_eq!(deleting.status, 202, "{}", deleting.body);
    api.wait_gone(&format!("/v1/cache-clusters/{source}"), WAIT);
    let final_snapshot = wait_snapshot(&api, &last, "available");
    assert!(final_snapshot["size_bytes"].as_i64() >= described["size_bytes"].as_i64(), "{final_snapshot}");
    assert_eq!(api.get(&format!("/v1/snapshots/{name}")).status, 200);
    assert_eq!(api.delete(&format!("/v1/snapshots/{last}")).status, 200);
    let deleted = api.delete(&format!("/v1/snapshots/{name}"));
    assert_eq!((deleted.status, deleted.body["snapshot_status"].as_str()), (200, Some("deleting")), "{}", deleted.body);
    let gone = api.get(&format!("/v1/snapshots/{name}"));
    assert_eq!((gone.status, gone.code()), (404, "SnapshotNotFoundFault"));
    assert!(!cp.data_dir.join("snapshots").join(format!("{name}.rdb")).exists());
}

/// A copy whose file is then damaged: a restore from it fails, with an event saying why.
fn corrupt_copies_refuse_to_restore(cp: &ControlPlane, prefix: &str, name: &str) {
    let api = cp.api();
    let copy = format!("{prefix}-copy");
    let reply = api.post(&format!("/v1/snapshots/{name}/copy"), &json!({"target_snapshot_name": copy}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let copied = wait_snapshot(&api, &copy, "available");
    let original = api.get(&format!("/v1/snapshots/{name}")).body;
    assert_eq!(copied["sha256"], original["sha256"]);
    let file = cp.data_dir.join("snapshots").join(format!("{copy}.rdb"));
    let mut bytes = std::fs::read(&file).expect("the copy's file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&file, &bytes).expect("damage it");
    let cluster = format!("{prefix}-bad");
    let reply = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": cluster, "snapshot_name": copy}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    api.wait_status(&format!("/v1/cache-clusters/{cluster}"), "create-failed", WAIT);
    let events = api.get(&format!("/v1/events?source_identifier={cluster}")).body.to_string();
    assert!(events.contains("corrupt") && events.contains("SHA-256"), "{events}");
    assert_eq!(api.delete(&format!("/v1/snapshots/{copy}")).status, 200);
}

/// Our own download and redis-server's dump import as snapshots and
/// restore; bytes that are no RDB are refused.
fn imports(cp: &ControlPlane, prefix: &str, downloaded: &Path, expected: &Keys) {
    let api = cp.api();
    let garbage = api.transfer(
        "POST",
        &format!("/v1/snapshots/import?snapshot_name={prefix}-junk"),
        Some(b"not an rdb".to_vec()),
        "x",
    );
    assert_eq!(garbage.0, 400, "{}", String::from_utf8_lossy(&garbage.2));
    assert!(String::from_utf8_lossy(&garbage.2).contains("InvalidParameterValue"));
    assert_eq!(api.get(&format!("/v1/snapshots/{prefix}-junk")).status, 404);

    let name = format!("{prefix}-up");
    let bytes = std::fs::read(downloaded).expect("download");
    let (status, _, body) =
        api.transfer("POST", &format!("/v1/snapshots/import?snapshot_name={name}"), Some(bytes), "x");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let imported = wait_snapshot(&api, &name, "available");
    assert!(imported["data_size_bytes"].as_i64().unwrap_or(0) > 0, "{imported}");
    let cluster = format!("{prefix}-up");
    let reply = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": cluster, "snapshot_name": name}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = api.wait_status(&format!("/v1/cache-clusters/{cluster}"), "available", WAIT);
    let (a, p) = endpoint(&body);
    let mut found = contents(&mut connect(&a, p));
    found.retain(|(_, key), _| !key.starts_with(b"during:"));
    assert_same(&found, expected);

    let Some(redis_server) = tool("redis-server") else { return };
    // Our download loads into redis-server 7 as its dump.rdb.
    let ours = cp.data_dir.join("redis-server-loads-ours");
    std::fs::create_dir_all(&ours).expect("dir");
    std::fs::copy(downloaded, ours.join("dump.rdb")).expect("copy the download");
    let (server, mut con) = start_redis_server(&redis_server, &ours);
    let keys: usize = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    let in_db0 = expected.keys().filter(|(db, _)| *db == 0).count();
    assert!(keys >= in_db0, "redis-server loaded {keys} keys into db 0 of our snapshot, expected {in_db0} at least");
    drop(server);

    let dir = cp.data_dir.join("redis-server");
    std::fs::create_dir_all(&dir).expect("dir");
    let (server, mut con) = start_redis_server(&redis_server, &dir);
    let _: () = redis::cmd("HSET").arg("from-redis").arg("f").arg("v").query(&mut con).expect("HSET");
    let _: () = redis::cmd("RPUSH").arg("list").arg(&["1", "2", "3"][..]).query(&mut con).expect("RPUSH");
    let _: () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    drop(server);
    let bytes = std::fs::read(dir.join("dump.rdb")).expect("redis-server's dump");
    let name = format!("{prefix}-rs");
    let (status, _, body) =
        api.transfer("POST", &format!("/v1/snapshots/import?snapshot_name={name}"), Some(bytes), "x");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let cluster = format!("{prefix}-rs");
    let reply = api.post("/v1/cache-clusters", &json!({"cache_cluster_id": cluster, "snapshot_name": name}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let body = api.wait_status(&format!("/v1/cache-clusters/{cluster}"), "available", WAIT);
    let (a, p) = endpoint(&body);
    let mut con = connect(&a, p);
    let value: String = redis::cmd("HGET").arg("from-redis").arg("f").query(&mut con).expect("HGET");
    assert_eq!(value, "v");
    let list: Vec<String> = redis::cmd("LRANGE").arg("list").arg(0).arg(-1).query(&mut con).expect("LRANGE");
    assert_eq!(list, ["1", "2", "3"]);
}

/// A redis-server process, killed when dropped.
struct RedisServer(std::process::Child);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// redis-server on a free port with `dir` as its data dir (it loads a dump.rdb there).
fn start_redis_server(binary: &Path, dir: &Path) -> (RedisServer, redis::Connection) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let child = std::process::Command::new(binary)
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(RedisServer)
        .expect("redis-server");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/").as_str()).expect("url");
        // While it loads, redis-server answers -LOADING: wait for a PING.
        if let Ok(mut con) = client.get_connection()
            && redis::cmd("PING").query::<String>(&mut con).is_ok()
        {
            return (child, con);
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}
