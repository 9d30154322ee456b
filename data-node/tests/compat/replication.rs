//! Replication against real peers: our node following ours, redis-server
//! following ours, ours following redis-server, and a replica repointed to a
//! promoted one continuing with a partial resync, as a failover does.

use std::time::{Duration, Instant};

use crate::common::{Node, cmd};
use crate::persistence::{RedisServer, contents, populate, temp_dir, tool};

pub fn info(con: &mut redis::Connection, section: &str) -> String {
    cmd("INFO").arg(section).query(con).expect("INFO")
}

pub fn field(con: &mut redis::Connection, section: &str, name: &str) -> String {
    info(con, section).lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_owned)).unwrap_or_default()
}

pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn link_up(con: &mut redis::Connection) {
    wait_until("the replica's link is up", || field(con, "replication", "master_link_status") == "up");
}

/// Writes of every kind after the initial sync, including the ones replicas
/// must not recompute (SPOP) and a transaction.
fn write_more(con: &mut redis::Connection) {
    let _: () = cmd("SET").arg("counter").arg(10).query(con).expect("SET");
    let _: i64 = cmd("INCRBY").arg("counter").arg(5).query(con).expect("INCRBY");
    let _: i64 = cmd("RPUSH").arg("list:big").arg("tail").query(con).expect("RPUSH");
    let _: Vec<String> = cmd("SPOP").arg("set:big").arg(3).query(con).expect("SPOP");
    let _: String = cmd("SPOP").arg("set:strs").query(con).expect("SPOP");
    let _: i64 = cmd("EXPIRE").arg("str:short").arg(600).query(con).expect("EXPIRE");
    let _: () = cmd("MULTI").query(con).expect("MULTI");
    let _: String = cmd("HSET").arg("hash:small").arg("f9").arg("v9").query(con).expect("queued");
    let _: String = cmd("ZINCRBY").arg("zset:small").arg(1).arg("a").query(con).expect("queued");
    let _: redis::Value = cmd("EXEC").query(con).expect("EXEC");
    let _: () = cmd("SELECT").arg(5).query(con).expect("SELECT");
    let _: () = cmd("SET").arg("late").arg("in db 5").query(con).expect("SET");
    let _: () = cmd("SELECT").arg(0).query(con).expect("SELECT");
}

#[test]
fn a_replica_follows_its_primary_and_refuses_writes() {
    let primary = Node::start();
    let mut p = primary.conn();
    populate(&mut p);
    let replica = Node::start_with(&["--replicaof", &format!("127.0.0.1 {}", primary.port)]);
    let mut r = replica.conn();
    link_up(&mut r);
    write_more(&mut p);
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut p).expect("WAIT");
    assert_eq!(acked, 1, "the replica acknowledged every write");
    assert_eq!(contents(&mut r), contents(&mut p));
    assert!(cmd("PTTL").arg("str:short").query::<i64>(&mut r).expect("PTTL") > 0);

    let refused = cmd("SET").arg("k").arg("v").query::<()>(&mut r).expect_err("read-only");
    assert!(refused.to_string().contains("You can't write against a read only replica"), "{refused}");
    let role: Vec<redis::Value> = cmd("ROLE").query(&mut r).expect("ROLE");
    assert_eq!(role.len(), 5);
    assert_eq!(field(&mut p, "replication", "connected_slaves"), "1");
    assert!(field(&mut p, "replication", "slave0").contains("state=online"));
    let waited: Result<i64, _> = cmd("WAIT").arg(0).arg(0).query(&mut r);
    assert!(waited.is_err(), "WAIT is refused on a replica");

    // Writes without a key reach the replica too (FLUSHALL once panicked here).
    let _: () = cmd("FLUSHALL").query(&mut p).expect("FLUSHALL");
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut p).expect("WAIT");
    assert_eq!(acked, 1);
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).expect("DBSIZE"), 0);
}

#[test]
fn redis_server_replicates_from_ours_and_sees_expiries() {
    let Some(redis_server) = tool("redis-server") else { return };
    let primary = Node::start();
    let mut p = primary.conn();
    populate(&mut p);
    let dir = temp_dir("repl-theirs");
    let replica =
        RedisServer::start_with(&redis_server, &dir, &["--replicaof", "127.0.0.1", &primary.port.to_string()]);
    let mut r = replica.try_conn().expect("connect");
    link_up(&mut r);
    write_more(&mut p);
    let _: () = cmd("SET").arg("short-lived").arg("x").arg("PX").arg(100).query(&mut p).expect("SET");
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).expect("WAIT"), 1);
    // A redis-server replica never expires keys itself: it keeps them (DBSIZE
    // counts them) until the primary's DEL arrives.
    let size = |con: &mut redis::Connection| cmd("DBSIZE").query::<i64>(con).expect("DBSIZE");
    let before = size(&mut r);
    wait_until("the key expired on the primary", || {
        cmd("EXISTS").arg("short-lived").query::<i64>(&mut p).expect("EXISTS") == 0
    });
    wait_until("the expired key's DEL reached the replica", || size(&mut r) == before - 1);
    assert_eq!(contents(&mut r), contents(&mut p));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ours_replicates_from_redis_server() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("repl-ours");
    // Diskless, as redis-server 7 defaults to: the snapshot arrives EOF-delimited.
    let primary = RedisServer::start_with(&redis_server, &dir, &["--repl-diskless-sync-delay", "0"]);
    let mut p = primary.try_conn().expect("connect");
    populate(&mut p);
    let replica = Node::start_with(&["--replicaof", &format!("127.0.0.1 {}", primary.port)]);
    let mut r = replica.conn();
    link_up(&mut r);
    write_more(&mut p);
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).expect("WAIT"), 1);
    assert_eq!(contents(&mut r), contents(&mut p));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replica_repointed_to_a_promoted_one_continues_partially() {
    let primary = Node::start();
    let mut p = primary.conn();
    populate(&mut p);
    let of_primary = format!("127.0.0.1 {}", primary.port);
    let a = Node::start_with(&["--replicaof", &of_primary]);
    let b = Node::start_with(&["--replicaof", &of_primary]);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    link_up(&mut ca);
    link_up(&mut cb);
    write_more(&mut p);
    assert_eq!(cmd("WAIT").arg(2).arg(5000).query::<i64>(&mut p).expect("WAIT"), 2);
    let expected = contents(&mut p);
    drop(p);
    drop(primary);

    // The failover's moves: promote A, repoint B at it.
    let _: () = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut ca).expect("promote");
    let _: () = cmd("REPLICAOF").arg("127.0.0.1").arg(a.port).query(&mut cb).expect("repoint");
    link_up(&mut cb);
    assert_eq!(field(&mut ca, "stats", "sync_partial_ok"), "1", "B continued from A's history");
    assert_eq!(field(&mut ca, "stats", "sync_full"), "0");
    let _: () = cmd("SET").arg("after-failover").arg("yes").query(&mut ca).expect("A takes writes");
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut ca).expect("WAIT"), 1);
    assert_eq!(cmd("GET").arg("after-failover").query::<String>(&mut cb).expect("GET"), "yes");
    let mut now = contents(&mut cb);
    now.remove(&(0, "after-failover".to_owned()));
    assert_eq!(now, expected, "B kept everything through the repointing");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_enough_replicas() {
    let primary = Node::start();
    let mut p = primary.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query(&mut p).expect("CONFIG SET");
    let refused = cmd("SET").arg("k").arg("v").query::<()>(&mut p).expect_err("no replica yet");
    assert!(refused.to_string().contains("Not enough good replicas to write"), "{refused}");
    let _: String =
        cmd("GET").arg("k").query::<Option<String>>(&mut p).map(|v| v.unwrap_or_default()).expect("reads still work");

    let replica = Node::start_with(&["--replicaof", &format!("127.0.0.1 {}", primary.port)]);
    let mut r = replica.conn();
    link_up(&mut r);
    wait_until("the primary counts a good replica", || cmd("SET").arg("k").arg("v").query::<()>(&mut p).is_ok());
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut p).expect("GET"), "v");
}

#[test]
fn a_restarted_replica_continues_with_a_partial_resync() {
    let primary = Node::start();
    let mut p = primary.conn();
    populate(&mut p);
    let dir = temp_dir("replica-restart");
    let of = format!("127.0.0.1 {}", primary.port);
    let args = ["--dir", dir.to_str().expect("utf-8 path"), "--replicaof", &of];
    let replica = Node::start_with(&args);
    link_up(&mut replica.conn());
    write_more(&mut p);
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).expect("WAIT"), 1);

    replica.terminate();
    let _: () = cmd("SET").arg("while-down").arg(1).query(&mut p).expect("SET");
    let _: i64 = cmd("INCR").arg("counter").query(&mut p).expect("INCR");

    let replica = Node::start_with(&args);
    let mut r = replica.conn();
    link_up(&mut r);
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).expect("WAIT"), 1);
    assert_eq!(field(&mut p, "stats", "sync_full"), "1", "one full sync: the first");
    assert_eq!(field(&mut p, "stats", "sync_partial_ok"), "1", "the restart continued");
    assert_eq!(contents(&mut r), contents(&mut p), "nothing missed, nothing applied twice");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Like a redis-server replica, ours leaves expiry to its primary: a key
/// past its time is hidden from clients at once, but stays (DBSIZE counts it)
/// until the primary's DEL arrives.
#[test]
fn a_replica_hides_expired_keys_and_waits_for_the_primarys_del() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("repl-expiry");
    let primary = RedisServer::start_with(
        &redis_server,
        &dir,
        &["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"],
    );
    let mut p = primary.try_conn().expect("connect");
    // The primary expires keys only when they are touched, so the DEL comes when we say.
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut p).expect("DEBUG");
    let _: () = cmd("SET").arg("brief").arg("x").arg("PX").arg(200).query(&mut p).expect("SET");
    let _: () = cmd("SET").arg("lasting").arg("y").query(&mut p).expect("SET");
    let replica = Node::start_with(&["--replicaof", &format!("127.0.0.1 {}", primary.port)]);
    let mut r = replica.conn();
    link_up(&mut r);
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).expect("WAIT"), 1);
    // redis-server's clock is its own: wait for its 200 ms to pass.
    wait_until("the replica hides the expired key", || {
        cmd("GET").arg("brief").query::<Option<String>>(&mut r).expect("GET").is_none()
    });
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).expect("DBSIZE"), 2, "but not deleted by the replica");
    // Touching it on the primary expires it there, and the DEL follows.
    assert_eq!(cmd("GET").arg("brief").query::<Option<String>>(&mut p).expect("GET"), None);
    wait_until("the primary's DEL removed the key", || cmd("DBSIZE").query::<i64>(&mut r).expect("DBSIZE") == 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An idle link is kept up by the primary's PINGs (repl-ping-replica-period);
/// a primary that goes silent (frozen with SIGSTOP: no FIN, no RST) is
/// noticed after repl-timeout. Meanwhile the replica serves its data unless
/// replica-serve-stale-data is no.
#[test]
fn a_silent_primary_is_noticed_after_repl_timeout() {
    let primary = Node::start();
    let mut p = primary.conn();
    let _: () = cmd("SET").arg("kept").arg("1").query(&mut p).expect("SET");
    let _: () = cmd("CONFIG").arg("SET").arg("repl-ping-replica-period").arg(1).query(&mut p).expect("CONFIG SET");
    let replica = Node::start();
    let mut r = replica.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("repl-timeout").arg(3).query(&mut r).expect("CONFIG SET");
    let _: () = cmd("REPLICAOF").arg("127.0.0.1").arg(primary.port).query(&mut r).expect("REPLICAOF");
    link_up(&mut r);

    // Idle for longer than the timeout: the PINGs keep the first link (no second sync).
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(field(&mut p, "stats", "sync_full"), "1");
    assert_eq!(field(&mut p, "stats", "sync_partial_ok"), "0", "the link was dropped and resumed");
    let quiet: u64 = field(&mut r, "replication", "master_last_io_seconds_ago").parse().expect("a number");
    assert!(quiet <= 2, "the primary's PINGs count as traffic: {quiet}");

    primary.signal("STOP");
    wait_until("the replica notices the silent primary", || {
        field(&mut r, "replication", "master_link_status") == "down"
    });
    assert_eq!(cmd("GET").arg("kept").query::<String>(&mut r).expect("stale data served"), "1");
    let _: () = cmd("CONFIG").arg("SET").arg("replica-serve-stale-data").arg("no").query(&mut r).expect("CONFIG SET");
    let refused = cmd("GET").arg("kept").query::<String>(&mut r).expect_err("MASTERDOWN");
    assert!(refused.to_string().contains("Link with MASTER is down"), "{refused}");
    assert!(info(&mut r, "replication").contains("role:slave"), "INFO still answers");

    primary.signal("CONT");
    link_up(&mut r);
    assert_eq!(cmd("GET").arg("kept").query::<String>(&mut r).expect("GET"), "1");
}
