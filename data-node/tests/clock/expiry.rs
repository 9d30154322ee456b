//! TTLs, active expiry, WATCH on an expiring key, idle times and CLIENT
//! PAUSE's deadline, with the clock moved instead of slept through.

use crate::harness::Harness;

#[test]
fn a_ttl_counts_down_and_the_key_is_gone_at_its_end() {
    let mut node = Harness::new();
    assert_eq!(node.run(&["SET", "k", "v", "EX", "10"]), "+OK\r\n");
    node.advance(3_000);
    assert_eq!(node.run(&["TTL", "k"]), ":7\r\n");
    assert_eq!(node.run(&["PTTL", "k"]), ":7000\r\n");
    node.advance(6_999);
    assert_eq!(node.run(&["GET", "k"]), "$1\r\nv\r\n");
    node.advance(1);
    assert_eq!(node.run(&["GET", "k"]), "$-1\r\n");
    assert_eq!(node.run(&["TTL", "k"]), ":-2\r\n");
}

#[test]
fn expired_keys_are_removed_actively_without_access() {
    let mut node = Harness::new();
    for i in 0..500 {
        node.run(&["SET", &format!("t{i}"), "v", "PX", "50"]);
    }
    node.run(&["SET", "keep", "1"]);
    node.tick();
    assert!(node.run(&["INFO", "stats"]).contains("expired_keys:0\r\n"), "nothing is due yet");
    node.advance(50);
    node.tick();
    assert_eq!(node.run(&["DBSIZE"]), ":1\r\n");
    assert!(node.run(&["INFO", "stats"]).contains("expired_keys:500\r\n"));
}

#[test]
fn a_watched_key_that_expires_aborts_exec() {
    let mut node = Harness::new();
    node.run(&["SET", "e", "1", "PX", "50"]);
    assert_eq!(node.run(&["WATCH", "e"]), "+OK\r\n");
    node.advance(100);
    node.run(&["MULTI"]);
    assert_eq!(node.run(&["SET", "x", "1"]), "+QUEUED\r\n");
    assert_eq!(node.run(&["EXEC"]), "*-1\r\n");
    assert_eq!(node.run(&["EXISTS", "x"]), ":0\r\n");
}

#[test]
fn expire_at_a_past_time_deletes_at_once() {
    let mut node = Harness::new();
    node.run(&["SET", "k", "v"]);
    let past = (crate::harness::START_MS / 1000 - 1).to_string();
    assert_eq!(node.run(&["EXPIREAT", "k", &past]), ":1\r\n");
    assert_eq!(node.run(&["EXISTS", "k"]), ":0\r\n");
}

#[test]
fn idle_time_follows_the_clock_and_access_resets_it() {
    let mut node = Harness::new();
    node.run(&["SET", "cold", "1"]);
    node.run(&["SET", "warm", "1"]);
    node.advance(10_000);
    node.tick();
    node.run(&["GET", "warm"]);
    assert_eq!(node.run(&["OBJECT", "IDLETIME", "cold"]), ":10\r\n");
    assert_eq!(node.run(&["OBJECT", "IDLETIME", "warm"]), ":0\r\n");
}

#[test]
fn client_pause_ends_at_its_deadline() {
    let mut node = Harness::new();
    assert_eq!(node.run(&["CLIENT", "PAUSE", "1000", "WRITE"]), "+OK\r\n");
    assert!(node.held(&["SET", "k", "v"]), "writes wait");
    assert!(!node.held(&["GET", "k"]), "reads do not");
    // Active expiry stops too, so the data (and a replica's offset) stand still.
    node.run(&["CLIENT", "UNPAUSE"]);
    node.run(&["SET", "soon", "v", "PX", "10"]);
    node.run(&["CLIENT", "PAUSE", "1000", "WRITE"]);
    node.advance(999);
    node.tick();
    assert!(node.held(&["SET", "k", "v"]));
    assert_eq!(node.run(&["DBSIZE"]), ":1\r\n", "expiry waits for the pause");
    node.advance(1);
    assert!(!node.held(&["SET", "k", "v"]), "the pause ended by itself");
    node.tick();
    assert_eq!(node.run(&["DBSIZE"]), ":1\r\n", "soon expired, k written");
}
