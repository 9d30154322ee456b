//! Clients blocked on keys are served in the order they blocked, keep their
//! deadline across wake-ups that find nothing, and can be unblocked.

use std::time::{Duration, Instant};

use crate::common::{Node, Raw, cmd};

fn blocked_clients(n: &Node) -> usize {
    let info: String = cmd("INFO").arg("clients").query(&mut n.conn()).unwrap();
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).and_then(|v| v.trim().parse().ok()).unwrap()
}

fn wait_blocked(n: &Node, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(n) != count {
        assert!(Instant::now() < deadline, "never saw {count} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends a command and waits until the node counts it as blocked.
fn block(n: &Node, request: &str, already: usize) -> Raw {
    let mut raw = n.raw();
    raw.send(request.as_bytes());
    wait_blocked(n, already + 1);
    raw
}

fn bulk(value: &str) -> String {
    format!("${}\r\n{value}\r\n", value.len())
}

#[test]
fn clients_are_served_in_the_order_they_blocked() {
    let n = Node::start();
    let mut first = block(&n, "BLPOP q 0\r\n", 0);
    let mut second = block(&n, "BLPOP q 0\r\n", 1);
    let mut third = block(&n, "BLPOP q 0\r\n", 2);
    let _: i64 = cmd("RPUSH").arg("q").arg("a").arg("b").arg("c").query(&mut n.conn()).unwrap();
    for (raw, value) in [(&mut first, "a"), (&mut second, "b"), (&mut third, "c")] {
        let want = format!("*2\r\n{}{}", bulk("q"), bulk(value));
        assert_eq!(String::from_utf8_lossy(&raw.read_exact_len(want.len())), want);
    }
    wait_blocked(&n, 0);
}

#[test]
fn a_first_client_that_fails_passes_the_element_to_the_next() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("target1").arg("not a list").query(&mut c).unwrap();
    let mut first = block(&n, "BRPOPLPUSH src target1 0\r\n", 0);
    let mut second = block(&n, "BRPOPLPUSH src target2 0\r\n", 1);
    let _: i64 = cmd("LPUSH").arg("src").arg("foo").query(&mut c).unwrap();
    let wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(first.read_exact_len(wrongtype.len()), wrongtype);
    assert_eq!(String::from_utf8_lossy(&second.read_exact_len(bulk("foo").len())), bulk("foo"));
    let moved: Vec<String> = cmd("LRANGE").arg("target2").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(moved, ["foo"]);
}

#[test]
fn a_client_woken_for_nothing_keeps_its_deadline() {
    let n = Node::start();
    let started = Instant::now();
    let mut waiter = block(&n, "BLPOP q 1\r\n", 0);
    // Pushed and taken back at once, by a transaction: the waiter wakes to
    // nothing, every 150 ms for longer than its timeout.
    let url = n.url();
    let pusher = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        for _ in 0..10 {
            let _: () =
                redis::pipe().atomic().cmd("RPUSH").arg("q").arg("x").cmd("DEL").arg("q").query(&mut c).unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    assert_eq!(waiter.read_exact_len(5), b"*-1\r\n");
    let waited = started.elapsed();
    pusher.join().unwrap();
    assert!(waited < Duration::from_millis(1500), "the wake-ups restarted the timeout: {waited:?}");
}

#[test]
fn client_unblock_ends_the_wait_as_a_timeout_or_an_error() {
    let n = Node::start();
    let mut c = n.conn();
    let mut waiter = n.raw();
    waiter.send(b"CLIENT ID\r\n");
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        line.extend(waiter.read_exact_len(1));
    }
    let id: i64 = String::from_utf8(line).unwrap().trim_start_matches(':').trim().parse().unwrap();
    assert_eq!(cmd("CLIENT").arg("UNBLOCK").arg(id).query::<i64>(&mut c).unwrap(), 0, "not blocked yet");

    waiter.send(b"BLPOP q 0\r\n");
    wait_blocked(&n, 1);
    assert_eq!(cmd("CLIENT").arg("UNBLOCK").arg(id).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(waiter.read_exact_len(5), b"*-1\r\n");

    waiter.send(b"BLMOVE a b LEFT LEFT 0\r\n");
    wait_blocked(&n, 1);
    assert_eq!(cmd("CLIENT").arg("UNBLOCK").arg(id).arg("ERROR").query::<i64>(&mut c).unwrap(), 1);
    let error = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    assert_eq!(waiter.read_exact_len(error.len()), error);
    wait_blocked(&n, 0);
    waiter.roundtrip(b"PING\r\n", b"+PONG\r\n");
}
