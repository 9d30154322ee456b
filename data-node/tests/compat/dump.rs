//! DUMP and RESTORE: payloads move between us and redis-server both ways,
//! and a damaged one is refused as redis-server refuses it.

use crate::common::{Node, cmd, err_of};
use crate::persistence::{RedisServer, contents, populate, temp_dir, tool, ttl_ms};

/// DUMPs every key of databases 0 and 5 from `from` and RESTOREs it into `to`, TTLs kept.
fn copy_every_key(from: &mut redis::Connection, to: &mut redis::Connection) {
    for db in [0, 5] {
        let _: () = cmd("SELECT").arg(db).query(from).unwrap();
        let _: () = cmd("SELECT").arg(db).query(to).unwrap();
        let keys: Vec<String> = cmd("KEYS").arg("*").query(from).unwrap();
        for key in keys {
            let payload: Vec<u8> = cmd("DUMP").arg(&key).query(from).unwrap();
            let ttl = ttl_ms(from, &key).max(0);
            let _: () = cmd("RESTORE").arg(&key).arg(ttl).arg(payload).query(to).unwrap();
        }
    }
    let _: () = cmd("SELECT").arg(0).query(from).unwrap();
    let _: () = cmd("SELECT").arg(0).query(to).unwrap();
}

#[test]
fn payloads_move_between_us_and_redis_server_both_ways() {
    let Some(redis_server) = tool("redis-server") else { return };
    let dir = temp_dir("dump");
    let redis = RedisServer::start(&redis_server, &dir);
    let mut theirs = redis.try_conn().expect("connect");
    let node = Node::start();
    let mut ours = node.conn();

    // redis-server's compact encodings (listpack, intset, quicklist) into ours.
    populate(&mut theirs);
    let expected = contents(&mut theirs);
    copy_every_key(&mut theirs, &mut ours);
    assert_eq!(contents(&mut ours), expected);
    assert!((1..=600_000).contains(&ttl_ms(&mut ours, "str:ttl")), "the TTL came along");

    // And ours back into an emptied redis-server.
    let _: () = cmd("FLUSHALL").query(&mut theirs).unwrap();
    copy_every_key(&mut ours, &mut theirs);
    assert_eq!(contents(&mut theirs), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn restore_options_and_damaged_payloads() {
    let node = Node::start();
    let mut c = node.conn();
    let _: () = cmd("RPUSH").arg("l").arg("a").arg("b").query(&mut c).unwrap();
    let payload: Vec<u8> = cmd("DUMP").arg("l").query(&mut c).unwrap();
    assert_eq!(cmd("DUMP").arg("missing").query::<Option<Vec<u8>>>(&mut c).unwrap(), None);

    let busy = err_of(cmd("RESTORE").arg("l").arg(0).arg(&payload).query(&mut c));
    assert_eq!(busy, "BUSYKEY Target key name already exists.");
    let _: () = cmd("RESTORE").arg("l").arg(5000).arg(&payload).arg("REPLACE").query(&mut c).unwrap();
    assert!((1..=5000).contains(&ttl_ms(&mut c, "l")));
    let list: Vec<String> = cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(list, ["a", "b"]);

    // A TTL already past: nothing is left.
    let _: () = cmd("RESTORE").arg("gone").arg(1).arg(&payload).arg("ABSTTL").query(&mut c).unwrap();
    assert_eq!(cmd("EXISTS").arg("gone").query::<i64>(&mut c).unwrap(), 0);

    let _: () = cmd("RESTORE").arg("idle").arg(0).arg(&payload).arg("IDLETIME").arg(1000).query(&mut c).unwrap();
    let idle: i64 = cmd("OBJECT").arg("IDLETIME").arg("idle").query(&mut c).unwrap();
    assert!((1000..1010).contains(&idle), "{idle}");

    let mut flipped = payload.clone();
    flipped[2] ^= 0x20;
    let wrong = err_of(cmd("RESTORE").arg("x").arg(0).arg(&flipped).query(&mut c));
    assert_eq!(wrong, "ERR DUMP payload version or checksum are wrong");
    assert_eq!(err_of(cmd("RESTORE").arg("x").arg(0).arg("short").query(&mut c)), wrong);
    let syntax = err_of(cmd("RESTORE").arg("x").arg(0).arg(&payload).arg("SOON").query(&mut c));
    assert_eq!(syntax, "ERR syntax error");
    assert_eq!(
        err_of(cmd("RESTORE").arg("x").arg(-1).arg(&payload).query(&mut c)),
        "ERR Invalid TTL value, must be >= 0"
    );
    let freq = err_of(cmd("RESTORE").arg("x").arg(0).arg(&payload).arg("FREQ").arg(300).query(&mut c));
    assert_eq!(freq, "ERR Invalid FREQ value, must be >= 0 and <= 255");

    // A list claiming 3 elements but holding 2, with a checksum that matches.
    let mut body = payload[..payload.len() - 10].to_vec();
    body[1] = 3;
    body.extend_from_slice(&payload[payload.len() - 10..payload.len() - 8]);
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(err_of(cmd("RESTORE").arg("x").arg(0).arg(&body).query(&mut c)), "ERR Bad data format");
    assert_eq!(cmd("EXISTS").arg("x").query::<i64>(&mut c).unwrap(), 0);
}

/// Redis's CRC-64 (Jones, reflected), bit by bit: slow, and independent of ours.
fn crc64(bytes: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut crc = 0u64;
    for &b in bytes {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    crc
}
