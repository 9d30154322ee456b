//! HyperLogLogs are redis-server's bytes: the same PFADDs leave the same
//! string on both servers, sparse or dense, and a sketch either one wrote
//! counts the same on the other.

use crate::common::{Node, cmd, err_of};
use crate::persistence::{RedisServer, temp_dir, tool};

/// The same sketches built on one connection: small (sparse), large
/// (dense) and merged.
fn build(c: &mut redis::Connection) {
    let _: i64 = cmd("PFADD").arg("small").arg(&["a", "b", "c", "hello", "world"][..]).query(c).unwrap();
    for batch in 0..60 {
        let items: Vec<String> = (0..100).map(|i| format!("item-{batch}-{i}")).collect();
        let _: i64 = cmd("PFADD").arg("large").arg(&items).query(c).unwrap();
    }
    let _: i64 = cmd("PFCOUNT").arg("small").query(c).unwrap();
    let _: () = cmd("PFMERGE").arg("merged").arg("small").arg("large").query(c).unwrap();
}

fn bytes(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    cmd("GET").arg(key).query(c).unwrap()
}

#[test]
fn sketches_are_byte_for_byte_redis_servers() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("hll");
    let redis = RedisServer::start(&redis_server, &dir);
    let mut theirs = redis.try_conn().expect("connect");
    let node = Node::start();
    let mut ours = node.conn();
    build(&mut theirs);
    build(&mut ours);
    for key in ["small", "large", "merged"] {
        assert_eq!(bytes(&mut ours, key), bytes(&mut theirs, key), "{key}");
        let encoding = |c: &mut redis::Connection| cmd("PFDEBUG").arg("ENCODING").arg(key).query::<String>(c).unwrap();
        assert_eq!(encoding(&mut ours), encoding(&mut theirs), "{key}");
    }
    let count = |c: &mut redis::Connection| cmd("PFCOUNT").arg("small").arg("large").query::<i64>(c).unwrap();
    assert_eq!(count(&mut ours), count(&mut theirs));

    // A sketch written there counts the same here.
    let theirs_large = bytes(&mut theirs, "large");
    let _: () = cmd("SET").arg("copied").arg(&theirs_large).query(&mut ours).unwrap();
    let copied: i64 = cmd("PFCOUNT").arg("copied").query(&mut ours).unwrap();
    assert_eq!(copied, cmd("PFCOUNT").arg("large").query::<i64>(&mut theirs).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_or_foreign_values_are_refused() {
    let node = Node::start();
    let mut c = node.conn();
    assert_eq!(cmd("PFADD").arg("h").query::<i64>(&mut c).unwrap(), 1, "PFADD without elements creates it");
    assert_eq!(cmd("PFCOUNT").arg("h").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("PFADD").arg("h").arg("a").arg("b").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("PFADD").arg("h").arg("a").arg("b").query::<i64>(&mut c).unwrap(), 0);

    let _: i64 = cmd("APPEND").arg("h").arg("hello").query(&mut c).unwrap();
    assert_eq!(err_of(cmd("PFCOUNT").arg("h").query(&mut c)), "INVALIDOBJ Corrupted HLL object detected");
    let _: i64 = cmd("SETRANGE").arg("h").arg(0).arg("0123").query(&mut c).unwrap();
    let not_hll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    assert_eq!(err_of(cmd("PFCOUNT").arg("h").query(&mut c)), not_hll);
    assert_eq!(err_of(cmd("PFADD").arg("h").arg("x").query(&mut c)), not_hll);
    let _: i64 = cmd("RPUSH").arg("list").arg("x").query(&mut c).unwrap();
    assert_eq!(
        err_of(cmd("PFMERGE").arg("dst").arg("list").query(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(cmd("EXISTS").arg("dst").query::<i64>(&mut c).unwrap(), 0);

    // Random damage to a dense sketch: an answer or an error, the node keeps serving.
    let items: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    let _: i64 = cmd("PFADD").arg("d").arg(&items).query(&mut c).unwrap();
    for at in (16..12304).step_by(997) {
        let _: i64 = cmd("SETRANGE").arg("d").arg(at).arg("\u{7f}").query(&mut c).unwrap();
        let _ = cmd("PFCOUNT").arg("d").query::<redis::Value>(&mut c);
        let _ = cmd("PFADD").arg("d").arg(at).query::<redis::Value>(&mut c);
    }
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
}
