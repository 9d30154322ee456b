//! Clients that misbehave must not cost the server unbounded memory, nor hurt
//! anyone else.

use crate::common::{Node, cmd};
use std::io::Write;
use std::time::{Duration, Instant};

fn rss(n: &Node) -> u64 {
    let info: String = cmd("INFO").arg("memory").query(&mut n.conn()).unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory_rss:")).and_then(|v| v.trim().parse().ok()).unwrap()
}

fn info_field(n: &Node, section: &str, name: &str) -> String {
    let info: String = cmd("INFO").arg(section).query(&mut n.conn()).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().to_string()
}

#[test]
fn a_client_that_never_reads_replies_is_held_back_not_buffered() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("big").arg(vec![b'x'; 1 << 20]).query(&mut c).unwrap();
    let before = rss(&n);
    // 2000 GETs of a 1 MiB value is 2 GiB of replies; this client reads none.
    let mut raw = n.raw();
    raw.0.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let req = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(2000);
    let _ = raw.0.write_all(&req);
    std::thread::sleep(Duration::from_millis(300));
    let grown = rss(&n).saturating_sub(before);
    assert!(grown < 64 << 20, "server buffered {grown} bytes for a client that does not read");
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
}

#[test]
fn a_subscriber_that_falls_behind_is_disconnected() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.roundtrip(b"SUBSCRIBE flood\r\n", b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n");
    // Publish far more than the subscriber's mailbox holds while it reads nothing.
    let mut c = n.conn();
    let payload = vec![b'p'; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let receivers: i64 = cmd("PUBLISH").arg("flood").arg(&payload).query(&mut c).unwrap();
        if receivers == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "slow subscriber never disconnected");
    }
    // Left: the publisher and the connection asking (the same one for
    // every poll: a new one each time left the last one's close racing the
    // count on a loaded machine).
    let mut asking = n.conn();
    let connected = |c: &mut redis::Connection| {
        let info: String = cmd("INFO").arg("clients").query(c).unwrap();
        info.lines().find_map(|l| l.strip_prefix("connected_clients:")).map(|v| v.trim().to_owned())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while connected(&mut asking).as_deref() != Some("2") {
        assert!(Instant::now() < deadline, "slow subscriber still connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(raw.closed());
}

#[test]
fn a_blocked_client_that_hangs_up_is_released() {
    let n = Node::start();
    {
        let mut raw = n.raw();
        raw.send(b"BLPOP never 0\r\n");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(info_field(&n, "clients", "blocked_clients"), "1");
    }
    // Unblocking and deregistering the connection are two steps: wait for both.
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&n, "clients", "blocked_clients") != "0" || info_field(&n, "clients", "connected_clients") != "1" {
        assert!(Instant::now() < deadline, "blocked client never released");
        std::thread::sleep(Duration::from_millis(20));
    }
}
