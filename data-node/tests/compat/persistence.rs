//! RDB snapshots, checked against the real thing: what SAVE writes passes
//! redis-check-rdb and loads into redis-server 7; what redis-server writes
//! (intsets, listpacks, quicklists, LZF and integer strings) loads into ours;
//! and our own snapshot survives a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Node, cmd};

/// `name` from apt, or None outside CI (skip); under CI its absence is a failure.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var("CI").is_err(), "{name} is required under CI (scripts/test installs it)");
        eprintln!("{name} not installed: skipping (scripts/test installs it; CI requires it)");
    }
    found
}

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrocache-rdb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub(crate) struct RedisServer {
    child: Child,
    pub(crate) port: u16,
}

impl RedisServer {
    pub(crate) fn start(binary: &Path, dir: &Path) -> RedisServer {
        RedisServer::start_with(binary, dir, &[])
    }

    pub(crate) fn start_with(binary: &Path, dir: &Path, extra: &[&str]) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.try_conn().is_none() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub(crate) fn try_conn(&self) -> Option<redis::Connection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).ok()?;
        let mut con = client.get_connection().ok()?;
        cmd("PING").query::<String>(&mut con).ok()?;
        Some(con)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keys in each of redis-server's encodings: small and large, integers of every width.
pub(crate) fn populate(con: &mut redis::Connection) {
    let run = |con: &mut redis::Connection, c: &mut redis::Cmd| c.query::<redis::Value>(con).expect("populate");
    run(con, cmd("SET").arg("str:short").arg("hello"));
    run(con, cmd("SET").arg("str:int").arg("123456789"));
    run(con, cmd("SET").arg("str:neg").arg("-42"));
    run(con, cmd("SET").arg("str:long").arg("abc".repeat(300)));
    run(con, cmd("SET").arg("str:bin").arg((0..=255u8).collect::<Vec<u8>>()));
    run(con, cmd("SET").arg("str:ttl").arg("soon").arg("PX").arg(600_000));
    let ints = ["a", "1", "-1", "4096", "-5000", "70000", "-8388608", "2147483648", "-9223372036854775808"];
    run(con, cmd("RPUSH").arg("list:small").arg(&ints[..]).arg("x".repeat(100)).arg("y".repeat(5000)));
    let many: Vec<String> = (0..3000).map(|i| format!("item-{i}")).collect();
    run(con, cmd("RPUSH").arg("list:big").arg(&many));
    run(con, cmd("SADD").arg("set:ints").arg((1..=100).collect::<Vec<i64>>()));
    run(con, cmd("SADD").arg("set:wide").arg(&[1i64, 70_000, 5_000_000_000, -5_000_000_000][..]));
    run(con, cmd("SADD").arg("set:strs").arg(&["x", "y", "z"][..]));
    run(con, cmd("SADD").arg("set:big").arg(&many[..1000]));
    run(con, cmd("HSET").arg("hash:small").arg(&["f1", "v1", "f2", "2", "f3", "-300"][..]));
    let fields: Vec<String> = (0..300).flat_map(|i| [format!("field-{i}"), format!("value-{i}")]).collect();
    run(con, cmd("HSET").arg("hash:big").arg(&fields));
    run(con, cmd("ZADD").arg("zset:small").arg(&["1.5", "a", "-2", "b", "inf", "c", "0", "d", "10000000000", "e"][..]));
    let scored: Vec<String> = (0..300).flat_map(|i| [format!("{}.25", i), format!("m-{i}")]).collect();
    run(con, cmd("ZADD").arg("zset:big").arg(&scored));
    run(con, cmd("SELECT").arg(5));
    run(con, cmd("SET").arg("elsewhere").arg("in db 5"));
    run(con, cmd("SELECT").arg(0));
}

/// Every key of databases 0 and 5 as comparable text.
pub(crate) fn contents(con: &mut redis::Connection) -> BTreeMap<(u8, String), String> {
    let mut out = BTreeMap::new();
    for db in [0u8, 5] {
        let _: () = cmd("SELECT").arg(db).query(con).expect("SELECT");
        let keys: Vec<String> = cmd("KEYS").arg("*").query(con).expect("KEYS");
        for key in keys {
            let kind: String = cmd("TYPE").arg(&key).query(con).expect("TYPE");
            let value = match kind.as_str() {
                "string" => format!("{:?}", cmd("GET").arg(&key).query::<Vec<u8>>(con).expect("GET")),
                "list" => {
                    format!("{:?}", cmd("LRANGE").arg(&key).arg(0).arg(-1).query::<Vec<String>>(con).expect("LRANGE"))
                }
                "set" => {
                    let mut members: Vec<String> = cmd("SMEMBERS").arg(&key).query(con).expect("SMEMBERS");
                    members.sort();
                    format!("{members:?}")
                }
                "hash" => {
                    format!("{:?}", cmd("HGETALL").arg(&key).query::<BTreeMap<String, String>>(con).expect("HGETALL"))
                }
                "zset" => {
                    let pairs: Vec<(String, f64)> =
                        cmd("ZRANGE").arg(&key).arg(0).arg(-1).arg("WITHSCORES").query(con).expect("ZRANGE");
                    format!("{pairs:?}")
                }
                other => panic!("unexpected type {other}"),
            };
            out.insert((db, key), format!("{kind}:{value}"));
        }
    }
    let _: () = cmd("SELECT").arg(0).query(con).expect("SELECT");
    out
}

pub(crate) fn ttl_ms(con: &mut redis::Connection, key: &str) -> i64 {
    cmd("PTTL").arg(key).query(con).expect("PTTL")
}

#[test]
fn our_snapshot_passes_redis_check_rdb_and_loads_into_redis_server() {
    let (Some(check), Some(redis_server)) = (tool("redis-check-rdb"), tool("redis-server")) else { return };
    let dir = temp_dir("ours");
    let node = Node::start_with(&["--dir", dir.to_str().expect("utf-8 path")]);
    let mut con = node.conn();
    populate(&mut con);
    let expected = contents(&mut con);
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    drop(node);

    let rdb = dir.join("dump.rdb");
    let checked = Command::new(check).arg(&rdb).output().expect("redis-check-rdb");
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success() && report.contains("RDB looks OK"), "{report}");

    let redis = RedisServer::start(&redis_server, &dir);
    let mut con = redis.try_conn().expect("connect");
    assert_eq!(contents(&mut con), expected);
    assert!((1..=600_000).contains(&ttl_ms(&mut con, "str:ttl")), "the TTL came along");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_servers_snapshot_loads_into_ours() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("theirs");
    let redis = RedisServer::start(&redis_server, &dir);
    let mut con = redis.try_conn().expect("connect");
    populate(&mut con);
    let expected = contents(&mut con);
    assert_eq!(expected.len(), 17, "every key populated");
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    drop(redis);

    let node = Node::start_with(&["--dir", dir.to_str().expect("utf-8 path")]);
    let mut con = node.conn();
    assert_eq!(contents(&mut con), expected);
    assert!((1..=600_000).contains(&ttl_ms(&mut con, "str:ttl")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_survives_a_restart_and_bgsave_reports_progress() {
    let dir = temp_dir("restart");
    let args = ["--dir", dir.to_str().expect("utf-8 path")];
    let node = Node::start_with(&args);
    let mut con = node.conn();
    populate(&mut con);
    let expected = contents(&mut con);
    let before: i64 = cmd("LASTSAVE").query(&mut con).expect("LASTSAVE");
    let reply: String = cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(reply, "Background saving started");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = cmd("INFO").arg("persistence").query(&mut con).expect("INFO");
        if info.contains("rdb_bgsave_in_progress:0") && dir.join("dump.rdb").is_file() {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "BGSAVE never finished: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cmd("LASTSAVE").query::<i64>(&mut con).expect("LASTSAVE") >= before);
    drop(node);

    let node = Node::start_with(&args);
    let mut con = node.conn();
    assert_eq!(contents(&mut con), expected);

    // A corrupt snapshot stops the start, as redis-server's does.
    let rdb = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&rdb).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    drop(node);
    std::fs::write(&rdb, &bytes).expect("write");
    let status = Command::new(env!("CARGO_BIN_EXE_data-node"))
        .args(["--port", "0", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(!status.success(), "a corrupt RDB must not be served");
    let _ = std::fs::remove_dir_all(&dir);
}
