//! What replicas are sent for time-dependent writes, and how a replica
//! treats TTLs, with each node's clock moved on its own.

use crate::harness::{Harness, START_MS, commands, sent};

/// A TTL set relative to now reaches replicas as the absolute time the
/// primary computed: a replica that applies it 1.5 s later (from the backlog
/// after a restart, say) expires the key at the same moment.
#[test]
fn relative_ttls_replicate_as_absolute_times() {
    let mut primary = Harness::new();
    primary.run(&["SET", "session", "x"]);
    let mut link = primary.attach_replica();
    let _snapshot = sent(&mut link);
    primary.run(&["EXPIRE", "session", "3"]);
    primary.run(&["SET", "token", "t", "EX", "3"]);
    let stream = sent(&mut link);
    let at = (START_MS + 3000).to_string();
    let written: Vec<Vec<String>> = commands(&stream).into_iter().filter(|c| c[0] != "SELECT").collect();
    assert_eq!(written, [vec!["PEXPIREAT", "session", &at], vec!["SET", "token", "t", "PXAT", &at]]);

    let mut replica = Harness::at(START_MS + 1500).into_replica();
    replica.apply_from_primary(b"*3\r\n$3\r\nSET\r\n$7\r\nsession\r\n$1\r\nx\r\n");
    replica.apply_from_primary(&stream);
    assert_eq!(replica.run(&["PTTL", "session"]), ":1500\r\n");
    assert_eq!(replica.run(&["PTTL", "token"]), ":1500\r\n");
}

/// A replica never deletes a key for its TTL: it hides it once expired, and
/// waits for the primary's DEL (the primary sends one when it expires it).
#[test]
fn a_replica_hides_expired_keys_until_the_primarys_del() {
    let mut primary = Harness::new();
    let mut link = primary.attach_replica();
    let _snapshot = sent(&mut link);
    primary.run(&["SET", "brief", "x", "PX", "200"]);
    primary.run(&["SET", "lasting", "y"]);
    let mut replica = Harness::new().into_replica();
    replica.apply_from_primary(&sent(&mut link));

    primary.advance(400);
    replica.advance(400);
    replica.tick();
    assert_eq!(replica.run(&["GET", "brief"]), "$-1\r\n", "hidden once expired");
    assert_eq!(replica.run(&["DBSIZE"]), ":2\r\n", "but not deleted by the replica");

    primary.tick();
    let del = sent(&mut link);
    assert!(commands(&del).contains(&vec!["DEL".to_owned(), "brief".to_owned()]), "{del:?}");
    replica.apply_from_primary(&del);
    assert_eq!(replica.run(&["DBSIZE"]), ":1\r\n");
}

/// WAIT's deadline and min-replicas-max-lag read the same clock.
#[test]
fn min_replicas_max_lag_counts_by_the_clock() {
    let mut primary = Harness::new();
    let link = primary.attach_replica();
    primary.run(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    primary.run(&["CONFIG", "SET", "min-replicas-max-lag", "10"]);
    assert_eq!(primary.run(&["SET", "k", "v"]), "+OK\r\n", "attached just now");
    primary.advance(10_001);
    assert_eq!(primary.run(&["SET", "k", "v"]), "-NOREPLICAS Not enough good replicas to write.\r\n");
    primary.server.replication().record_ack(&link, 0, primary.server.now_ms());
    assert_eq!(primary.run(&["SET", "k", "v"]), "+OK\r\n", "an ACK makes it good again");
}
