//! redis-py, unmodified, against the data node (tests/clients/redis_py.py).

use crate::common::Node;
use std::process::Command;

#[test]
fn redis_py_works_with_resp2_and_resp3() {
    let has_redis_py = Command::new("python3").args(["-c", "import redis"]).status().is_ok_and(|s| s.success());
    if !has_redis_py {
        assert!(std::env::var("CI").is_err(), "redis-py is required under CI (scripts/test installs it)");
        eprintln!("redis-py not installed: skipping (scripts/test installs it)");
        return;
    }
    let n = Node::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/redis_py.py");
    let out = Command::new("python3").arg(script).arg(n.port.to_string()).output().expect("run python3");
    assert!(
        out.status.success(),
        "redis_py.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
