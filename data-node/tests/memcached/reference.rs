//! Helpers: our node in memcached mode, memcached itself, and a raw client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Node;

pub fn node(extra: &[&str]) -> Node {
    let mut args = vec!["--protocol", "memcached"];
    args.extend_from_slice(extra);
    Node::start_with(&args)
}

/// memcached 1.6 on a free port, stopped on drop; None (or a failure under
/// CI, where scripts/test installs it) when it is not installed.
pub struct Memcached {
    child: Child,
    pub port: u16,
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn memcached(extra: &[&str]) -> Option<Memcached> {
    if Command::new("memcached").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "memcached is required under CI (scripts/test installs it)");
        eprintln!("memcached is not installed: skipping the comparison (scripts/test installs it)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut command = Command::new("memcached");
    command.args(["-l", "127.0.0.1", "-U", "0", "-p", &port.to_string()]).args(extra);
    if is_root() {
        command.args(["-u", "root"]);
    }
    let child = command.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn memcached");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "memcached did not start on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Memcached { child, port })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// A raw text-protocol connection.
pub struct Raw(pub TcpStream);

pub fn raw(port: u16) -> Raw {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    Raw(s)
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("write");
    }

    /// Sends `bytes` then `mn` and reads every reply up to the `MN` that
    /// answers it: all the replies to `bytes`, nothing left unread.
    pub fn talk(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.send(bytes);
        self.send(b"mn\r\n");
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        while !got.ends_with(b"MN\r\n") {
            let n = self.0.read(&mut buf).expect("read");
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        got.truncate(got.len() - 4);
        got
    }

    /// What comes until the server closes the connection.
    pub fn until_closed(&mut self) -> Vec<u8> {
        let mut got = Vec::new();
        let _ = self.0.read_to_end(&mut got);
        got
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
