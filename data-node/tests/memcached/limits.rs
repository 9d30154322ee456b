//! The item size limit (-I), the memory limit (-m) with LRU eviction, and
//! the stats that show them.

use crate::reference::{node, raw, text};

fn stat(c: &mut crate::reference::Raw, which: &str, name: &str) -> u64 {
    let reply = text(&c.talk(format!("stats{which}\r\n").as_bytes()));
    reply
        .lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {reply}"))
}

#[test]
fn an_item_over_the_size_limit_is_refused_and_its_block_skipped() {
    let n = node(&["--max-item-size", "2k"]);
    let mut c = raw(n.port);
    let big = vec![b'x'; 3000];
    let mut request = b"set big 0 0 3000\r\n".to_vec();
    request.extend_from_slice(&big);
    request.extend_from_slice(b"\r\nget big\r\n");
    assert_eq!(text(&c.talk(&request)), "SERVER_ERROR object too large for cache\r\nEND\r\n");
    // The same through the meta protocol, the block arriving in two writes.
    c.send(b"ms big 3000 T0\r\n");
    c.send(&big[..1000]);
    assert_eq!(text(&c.talk(&[&big[1000..], b"\r\n"].concat())), "SERVER_ERROR object too large for cache\r\n");
    c.send(b"set small 0 0 1900\r\n");
    assert_eq!(text(&c.talk(&[&big[..1900], b"\r\n"].concat())), "STORED\r\n");
    assert_eq!(stat(&mut c, "", "store_too_large"), 2);
    assert_eq!(stat(&mut c, " settings", "item_size_max"), 2048);
}

#[test]
fn past_the_memory_limit_the_least_recently_used_items_go() {
    let n = node(&["--memory-limit", "8"]);
    let mut c = raw(n.port);
    let value = "v".repeat(1000);
    let mut batch = Vec::new();
    for i in 0..20_000 {
        batch.extend_from_slice(format!("set key{i} 0 0 1000 noreply\r\n{value}\r\n").as_bytes());
        if i % 1000 == 999 {
            c.talk(&batch);
            batch.clear();
        }
    }
    assert_eq!(stat(&mut c, "", "limit_maxbytes"), 8 << 20);
    let bytes = stat(&mut c, "", "bytes");
    assert!(bytes <= (8 << 20) + 64 * 1024, "bytes {bytes}");
    let evicted = stat(&mut c, "", "evictions");
    let items = stat(&mut c, "", "curr_items");
    assert!(evicted > 10_000 && items > 4_000, "evicted {evicted}, items {items}");
    assert_eq!(items + evicted, 20_000);
    assert!(text(&c.talk(b"get key19999\r\n")).starts_with("VALUE key19999 0 1000"));
    assert_eq!(stat(&mut c, "", "total_items"), 20_000);
}

#[test]
fn stats_count_what_clients_did() {
    let n = node(&["--threads", "2"]);
    let mut c = raw(n.port);
    c.talk(b"set a 0 0 1\r\nx\r\nget a\r\nget a b\r\ngets b\r\ndelete a\r\ndelete a\r\ntouch b 1\r\nincr b 1\r\n");
    c.talk(b"ms e 1 T-1\r\nx\r\nmg e v\r\nset c 0 0 1\r\nx\r\n");
    let general = text(&c.talk(b"stats\r\n"));
    for name in
        ["pid", "uptime", "time", "version", "curr_connections", "total_connections", "limit_maxbytes", "threads"]
    {
        assert!(general.contains(&format!("STAT {name} ")), "no {name} in {general}");
    }
    let expect = [
        ("cmd_get", 5),
        ("get_hits", 2),
        ("get_misses", 3),
        ("get_expired", 1),
        ("cmd_set", 3),
        ("delete_hits", 1),
        ("delete_misses", 1),
        ("touch_misses", 1),
        ("incr_misses", 1),
        ("curr_items", 1),
        ("total_items", 3),
        ("threads", 2),
        ("cmd_meta", 2),
    ];
    for (name, value) in expect {
        assert_eq!(stat(&mut c, "", name), value, "{name}");
    }
    assert_eq!(stat(&mut c, " settings", "maxbytes"), 64 << 20);
    assert_eq!(stat(&mut c, " items", "items:1:number"), 1);
    assert_eq!(stat(&mut c, " slabs", "active_slabs"), 1);
    assert_eq!(text(&c.talk(b"stats reset\r\n")), "RESET\r\n");
    assert_eq!(stat(&mut c, "", "cmd_get"), 0);
}

#[test]
fn redis_settings_are_refused_in_memcached_mode() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_data-node"))
        .args(["--protocol", "memcached", "--maxmemory", "100mb", "--port", "0"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--memory-limit"), "{}", text(&out.stderr));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_data-node"))
        .args(["-m", "64", "--port", "0"])
        .output()
        .expect("run");
    assert!(!out.status.success() && text(&out.stderr).contains("memcached's"), "{}", text(&out.stderr));
}
