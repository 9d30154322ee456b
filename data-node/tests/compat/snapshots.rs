//! Snapshots taken while the node serves: point in time under a stream of
//! writes, save points, BGSAVE SCHEDULE, a failed save that leaves the old
//! file whole and stops writes (MISCONF), and redis-cli --rdb.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Node, cmd};
use crate::persistence::{temp_dir, tool};

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = cmd("INFO").arg("persistence").query(con).expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .trim()
        .to_owned()
}

fn wait_for_bgsave(con: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(con, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn fill(con: &mut redis::Connection, keys: usize) {
    for start in (0..keys).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 10_000).min(keys) {
            pipe.cmd("SET").arg(format!("base:{i}")).arg(format!("value-{i}")).ignore();
        }
        let _: () = pipe.query(con).expect("fill");
    }
}

/// A writer counting up: `seq:N` is set for every N in order, and `last`
/// says the highest N so far, on its own shard. A snapshot in time holds
/// `seq:0..=last` exactly, with no gap and nothing past `last`.
#[test]
fn a_bgsave_under_writes_is_one_point_in_time() {
    let dir = temp_dir("point-in-time");
    let args = ["--dir", dir.to_str().expect("utf-8 path")];
    let node = Node::start_with(&args);
    let mut con = node.conn();
    fill(&mut con, 200_000);

    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, mut con) = (acked.clone(), stop.clone(), node.conn());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let _: () = redis::pipe()
                    .cmd("SET")
                    .arg(format!("seq:{n}"))
                    .arg(n)
                    .ignore()
                    .cmd("SET")
                    .arg("last")
                    .arg(n)
                    .ignore()
                    // Overwrites of keys the snapshot still owes.
                    .cmd("SET")
                    .arg(format!("base:{}", n * 7919 % 200_000))
                    .arg("overwritten")
                    .ignore()
                    .cmd("DEL")
                    .arg(format!("base:{}", n * 104_729 % 200_000))
                    .ignore()
                    .query(&mut con)
                    .expect("write");
                acked.store(n, Ordering::Release);
            }
        })
    };
    while acked.load(Ordering::Acquire) < 200 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = acked.load(Ordering::Acquire);
    let reply: String = cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(reply, "Background saving started");
    wait_for_bgsave(&mut con);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "ok");
    assert!(info_field(&mut con, "rdb_saves").parse::<u64>().expect("rdb_saves") >= 1);
    drop(node);

    let node = Node::start_with(&args);
    let mut con = node.conn();
    let last: u64 = cmd("GET").arg("last").query::<String>(&mut con).expect("last").parse().expect("number");
    assert!(last >= before, "a write acknowledged before BGSAVE ({before}) is missing: last is {last}");
    let seq: usize = cmd("EVAL").arg("return #redis.call('KEYS', 'seq:*')").arg(0).query(&mut con).expect("count");
    assert_eq!(seq as u64, last, "the seq:* keys and `last` are from different moments");
    let at_last: Option<String> = cmd("GET").arg(format!("seq:{last}")).query(&mut con).expect("GET");
    assert_eq!(at_last, Some(last.to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_points_save_on_their_own_and_config_shows_them() {
    let node = Node::start_with(&["--save", "3600 1 300 100"]);
    let mut con = node.conn();
    let shown: Vec<String> = cmd("CONFIG").arg("GET").arg("save").query(&mut con).expect("CONFIG GET");
    assert_eq!(shown, ["save", "3600 1 300 100"]);
    let bad = cmd("CONFIG").arg("SET").arg("save").arg("10").query::<()>(&mut con).expect_err("odd count");
    assert!(bad.to_string().contains("Invalid save parameters"), "{bad}");

    let _: () = cmd("CONFIG").arg("SET").arg("save").arg("1 2").query(&mut con).expect("CONFIG SET");
    let _: () = cmd("SET").arg("a").arg("1").query(&mut con).expect("SET");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(info_field(&mut con, "rdb_saves"), "0", "one change is below the save point's two");
    let _: () = cmd("SET").arg("b").arg("2").query(&mut con).expect("SET");
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut con, "rdb_saves") == "0" {
        assert!(Instant::now() < deadline, "the save point never saved");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for_bgsave(&mut con);
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
}

#[test]
fn bgsave_schedule_and_a_second_bgsave() {
    let node = Node::start();
    let mut con = node.conn();
    fill(&mut con, 300_000);
    let reply: String = cmd("BGSAVE").arg("SCHEDULE").query(&mut con).expect("BGSAVE SCHEDULE");
    assert_eq!(reply, "Background saving started", "nothing under way: it starts at once");
    if info_field(&mut con, "rdb_bgsave_in_progress") == "1" {
        let again = cmd("BGSAVE").query::<String>(&mut con).expect_err("one at a time");
        assert!(again.to_string().contains("Background save already in progress"), "{again}");
    }
    wait_for_bgsave(&mut con);
    let bad = cmd("BGSAVE").arg("NOW").query::<String>(&mut con).expect_err("syntax");
    assert!(bad.to_string().contains("syntax error"), "{bad}");
}

/// A save that cannot write its file (here its temporary file's name is
/// taken by a directory; a full disk goes the same way) says why, leaves
/// the last good file whole, and with save points set stops writes until
/// a save succeeds again, as redis-server's stop-writes-on-bgsave-error does.
#[test]
fn a_failed_save_keeps_the_old_file_and_stops_writes_until_one_succeeds() {
    let dir = temp_dir("failed-save");
    let node = Node::start_with(&["--dir", dir.to_str().expect("utf-8 path")]);
    let mut con = node.conn();
    let _: () = cmd("SET").arg("kept").arg("1").query(&mut con).expect("SET");
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    let good = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");

    let blocker = dir.join(format!("dump.tmp-{}", node.pid()));
    std::fs::create_dir(&blocker).expect("block the temporary file");
    let _: () = cmd("SET").arg("more").arg("2").query(&mut con).expect("SET");
    let e = cmd("SAVE").query::<()>(&mut con).expect_err("the save cannot write");
    assert!(e.to_string().contains("Saving the snapshot failed"), "{e}");
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "err");
    assert_eq!(std::fs::read(dir.join("dump.rdb")).expect("dump.rdb"), good, "the last good file is untouched");
    let _: () = cmd("SET").arg("no-save-points").arg("1").query(&mut con).expect("no save points: writes go on");

    let _: () = cmd("CONFIG").arg("SET").arg("save").arg("3600 1").query(&mut con).expect("CONFIG SET");
    let e = cmd("SET").arg("x").arg("1").query::<()>(&mut con).expect_err("MISCONF");
    assert!(e.to_string().contains("MISCONF"), "{e}");
    let read: Option<String> = cmd("GET").arg("kept").query(&mut con).expect("reads go on");
    assert_eq!(read.as_deref(), Some("1"));

    std::fs::remove_dir(&blocker).expect("unblock");
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    let _: () = cmd("SET").arg("x").arg("1").query(&mut con).expect("writes again");
    let _ = std::fs::remove_dir_all(&dir);
}

/// redis-cli --rdb takes the snapshot over the replication handshake
/// (REPLCONF rdb-only 1, SYNC), as our control plane's backups do.
#[test]
fn redis_cli_rdb_pulls_a_snapshot_that_redis_check_rdb_accepts() {
    let (Some(cli), Some(check)) = (tool("redis-cli"), tool("redis-check-rdb")) else { return };
    let node = Node::start();
    let mut con = node.conn();
    crate::persistence::populate(&mut con);
    let dir = temp_dir("cli-rdb");
    let file = dir.join("pulled.rdb");
    let out = std::process::Command::new(cli)
        .args(["-p", &node.port.to_string(), "--rdb"])
        .arg(&file)
        .output()
        .expect("redis-cli");
    assert!(out.status.success(), "redis-cli --rdb: {}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(check).arg(&file).output().expect("redis-check-rdb");
    assert!(out.status.success(), "redis-check-rdb: {}", String::from_utf8_lossy(&out.stdout));
    // The connection closed after the snapshot: the node has no replica attached.
    let info: String = cmd("INFO").arg("replication").query(&mut con).expect("INFO");
    assert!(info.contains("connected_slaves:0"), "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tmpfs of a few hundred KB mounted for one test (root only); unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(tag: &str) -> Option<SmallDisk> {
        let dir = temp_dir(tag);
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            assert!(std::env::var("CI").is_err(), "CI runs as root: mounting a tmpfs must work there");
            eprintln!("cannot mount a tmpfs (not root): skipping the full-disk test");
            return None;
        }
        Some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real full disk: the save fails with the system's word for it, the
/// last good file stays whole and no partial file is left behind.
#[test]
fn a_full_disk_fails_the_save_and_keeps_the_last_good_file() {
    let Some(disk) = SmallDisk::mount("full-disk") else { return };
    let node = Node::start_with(&["--dir", disk.0.to_str().expect("utf-8 path")]);
    let mut con = node.conn();
    let _: () = cmd("SET").arg("small").arg("1").query(&mut con).expect("SET");
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    let good = std::fs::read(disk.0.join("dump.rdb")).expect("dump.rdb");
    let _: () = cmd("SET").arg("big").arg(vec![b'x'; 512 * 1024]).query(&mut con).expect("SET");
    let e = cmd("SAVE").query::<()>(&mut con).expect_err("the disk is full");
    assert!(e.to_string().contains("No space left on device"), "{e}");
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "err");
    assert_eq!(std::fs::read(disk.0.join("dump.rdb")).expect("dump.rdb"), good, "the last good file is whole");
    let left: Vec<_> = std::fs::read_dir(&disk.0).expect("dir").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("dump.rdb")], "no partial file is left");
    let reply: String = cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(reply, "Background saving started");
    wait_for_bgsave(&mut con);
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "err", "a background save fails the same way");
    let _: () = cmd("DEL").arg("big").query(&mut con).expect("DEL");
    let _: () = cmd("SAVE").query(&mut con).expect("room again: it saves");
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "ok");
    // Stopped before the disk goes: its save at shutdown needs the mount.
    node.terminate();
}

#[test]
fn info_counts_the_keys_a_start_left_out_as_expired() {
    let dir = temp_dir("load-expired");
    let args = ["--dir", dir.to_str().expect("utf-8 path")];
    let node = Node::start_with(&args);
    let mut con = node.conn();
    let _: () = cmd("SET").arg("stays").arg("1").query(&mut con).expect("SET");
    let _: () = cmd("SET").arg("goes").arg("1").arg("PX").arg(300).query(&mut con).expect("SET");
    let _: () = cmd("SAVE").query(&mut con).expect("SAVE");
    node.terminate();
    // The saved TTL runs out while the node is down.
    std::thread::sleep(Duration::from_millis(400));
    let node = Node::start_with(&args);
    let mut con = node.conn();
    assert_eq!(info_field(&mut con, "rdb_last_load_keys_loaded"), "1");
    assert_eq!(info_field(&mut con, "rdb_last_load_keys_expired"), "1");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
