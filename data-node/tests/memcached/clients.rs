//! Real clients: pymemcache (tests/clients/pymemcache_test.py) and
//! libmemcached's protocol checker, memccapable.

use std::process::Command;

use crate::reference::{memcached, node, text};

fn installed(program: &str, probe: &[&str], how: &str) -> bool {
    if Command::new(program).args(probe).output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "{how} is required under CI (scripts/test installs it)");
    eprintln!("{how} is not installed: skipping (scripts/test installs it)");
    false
}

#[test]
fn pymemcache_works_for_every_command() {
    if !installed("python3", &["-c", "import pymemcache"], "pymemcache") {
        return;
    }
    let n = node(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/pymemcache_test.py");
    let out = Command::new("python3").arg(script).arg(n.port.to_string()).output().expect("run python3");
    assert!(out.status.success(), "pymemcache_test.py failed:\n{}{}", text(&out.stdout), text(&out.stderr));
}

/// memccapable's verdict per test: (name, passed).
fn capable(port: u16) -> Vec<(String, bool)> {
    let out = Command::new("memccapable")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "5"])
        .output()
        .expect("run memccapable");
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, verdict) = l.rsplit_once('[')?;
            Some((name.trim().to_owned(), verdict.starts_with("pass")))
        })
        .collect()
}

#[test]
fn memccapable_passes_what_it_passes_against_memcached() {
    if !installed("sh", &["-c", "command -v memccapable"], "memccapable (libmemcached-tools)") {
        return;
    }
    let Some(reference) = memcached(&[]) else { return };
    let theirs = capable(reference.port);
    assert!(theirs.len() > 20, "memccapable ran no tests against memcached: {theirs:?}");
    let n = node(&[]);
    let ours = capable(n.port);
    let failed: Vec<&String> = theirs
        .iter()
        .filter(|(name, passed)| *passed && !ours.contains(&(name.clone(), true)))
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "memccapable tests memcached passes and we do not: {failed:?}\nours: {ours:?}");
}
