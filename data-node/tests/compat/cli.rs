//! redis-cli, unmodified, against the data node.

use crate::common::Node;
use std::process::Command;

fn redis_cli(n: &Node, args: &[&str]) -> Option<String> {
    let out = match Command::new("redis-cli").args(["-p", &n.port.to_string()]).args(args).output() {
        Ok(o) => o,
        Err(_) if std::env::var("CI").is_err() => {
            eprintln!("redis-cli not installed: skipping (scripts/test installs it; CI requires it)");
            return None;
        }
        Err(e) => panic!("redis-cli is required under CI: {e}"),
    };
    assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

#[test]
fn redis_cli_drives_the_node() {
    let n = Node::start();
    let Some(pong) = redis_cli(&n, &["PING"]) else { return };
    assert_eq!(pong, "PONG");
    assert_eq!(redis_cli(&n, &["SET", "greeting", "hello"]).unwrap(), "OK");
    assert_eq!(redis_cli(&n, &["GET", "greeting"]).unwrap(), "hello");
    assert_eq!(redis_cli(&n, &["RPUSH", "l", "a", "b"]).unwrap(), "2");
    assert_eq!(redis_cli(&n, &["LRANGE", "l", "0", "-1"]).unwrap(), "a\nb");
    assert_eq!(redis_cli(&n, &["-3", "HSET", "h", "f", "v"]).unwrap(), "1");
    assert_eq!(redis_cli(&n, &["NOSUCH"]).unwrap(), "ERR unknown command 'NOSUCH', with args beginning with:");
    assert!(redis_cli(&n, &["INFO", "server"]).unwrap().contains("redis_version:7.0"));
    // --pipe mode: redis-cli's mass insertion protocol.
    let mut child = Command::new("redis-cli")
        .args(["-p", &n.port.to_string(), "--pipe"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("SET mass:{i} {i}\r\n"));
    }
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("errors: 0, replies: 1000"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(redis_cli(&n, &["DBSIZE"]).unwrap(), "1003");
}
