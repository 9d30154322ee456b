use crate::common::{Node, cmd, err_of};
use redis::Commands;

#[test]
fn strings_and_counters() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = c.set("k", "v").unwrap();
    assert_eq!(c.get::<_, String>("k").unwrap(), "v");
    assert_eq!(cmd("SET").arg("k").arg("w").arg("GET").query::<String>(&mut c).unwrap(), "v");
    assert_eq!(cmd("SET").arg("k").arg("x").arg("NX").query::<Option<String>>(&mut c).unwrap(), None);
    assert_eq!(cmd("SET").arg("new").arg("x").arg("XX").query::<Option<String>>(&mut c).unwrap(), None);
    assert_eq!(cmd("SETNX").arg("k").arg("z").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(c.incr::<_, _, i64>("n", 5).unwrap(), 5);
    assert_eq!(cmd("DECR").arg("n").query::<i64>(&mut c).unwrap(), 4);
    assert_eq!(cmd("INCRBYFLOAT").arg("f").arg("10.5").query::<String>(&mut c).unwrap(), "10.5");
    assert_eq!(cmd("INCRBYFLOAT").arg("f").arg("0.1").query::<String>(&mut c).unwrap(), "10.6");
    assert_eq!(cmd("APPEND").arg("s").arg("Hello").query::<i64>(&mut c).unwrap(), 5);
    assert_eq!(cmd("APPEND").arg("s").arg(" World").query::<i64>(&mut c).unwrap(), 11);
    assert_eq!(cmd("STRLEN").arg("s").query::<i64>(&mut c).unwrap(), 11);
    assert_eq!(cmd("GETRANGE").arg("s").arg(0).arg(4).query::<String>(&mut c).unwrap(), "Hello");
    assert_eq!(cmd("GETRANGE").arg("s").arg(-5).arg(-1).query::<String>(&mut c).unwrap(), "World");
    assert_eq!(cmd("SETRANGE").arg("s").arg(6).arg("Redis").query::<i64>(&mut c).unwrap(), 11);
    assert_eq!(c.get::<_, String>("s").unwrap(), "Hello Redis");
    assert_eq!(cmd("SETRANGE").arg("pad").arg(3).arg("x").query::<i64>(&mut c).unwrap(), 4);
    assert_eq!(c.get::<_, Vec<u8>>("pad").unwrap(), b"\0\0\0x");
    let _: () = cmd("MSET").arg("a").arg(1).arg("b").arg(2).query(&mut c).unwrap();
    assert_eq!(
        cmd("MGET").arg("a").arg("b").arg("nope").query::<Vec<Option<i64>>>(&mut c).unwrap(),
        vec![Some(1), Some(2), None]
    );
    assert_eq!(cmd("MSETNX").arg("a").arg(9).arg("c").arg(3).query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(c.exists::<_, i64>("c").unwrap(), 0);
    assert_eq!(cmd("GETDEL").arg("a").query::<String>(&mut c).unwrap(), "1");
    assert_eq!(c.exists::<_, i64>("a").unwrap(), 0);
    assert_eq!(cmd("GETSET").arg("b").arg(7).query::<String>(&mut c).unwrap(), "2");
    // Binary-safe keys and values.
    let key = b"\x00\xffkey\r\n".to_vec();
    let val = vec![0u8, 1, 2, 255, b'\r', b'\n'];
    let _: () = c.set(&key, &val).unwrap();
    assert_eq!(c.get::<_, Vec<u8>>(&key).unwrap(), val);
}

#[test]
fn string_errors_are_redis_words() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = c.set("s", "abc").unwrap();
    assert_eq!(err_of(cmd("INCR").arg("s").query(&mut c)), "ERR value is not an integer or out of range");
    let _: () = c.set("max", i64::MAX).unwrap();
    assert_eq!(err_of(cmd("INCR").arg("max").query(&mut c)), "ERR increment or decrement would overflow");
    assert_eq!(
        err_of(cmd("SET").arg("k").arg("v").arg("EX").arg(0).query(&mut c)),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(err_of(cmd("SET").arg("k").arg("v").arg("NX").arg("XX").query(&mut c)), "ERR syntax error");
    assert_eq!(
        err_of(cmd("SET").arg("k").arg("v").arg("EX").arg("ten").query(&mut c)),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(err_of(cmd("INCRBYFLOAT").arg("s").arg("x").query(&mut c)), "ERR value is not a valid float");
    let _: () = cmd("LPUSH").arg("l").arg("x").query(&mut c).unwrap();
    assert_eq!(
        err_of(cmd("GET").arg("l").query(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(err_of(cmd("GET").query(&mut c)), "ERR wrong number of arguments for 'get' command");
}

#[test]
fn expiry_commands() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("k").arg("v").arg("PX").arg(100_000).query(&mut c).unwrap();
    let pttl: i64 = cmd("PTTL").arg("k").query(&mut c).unwrap();
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut c).unwrap(), 100);
    assert_eq!(cmd("TTL").arg("missing").query::<i64>(&mut c).unwrap(), -2);
    let _: () = c.set("p", 1).unwrap();
    assert_eq!(cmd("TTL").arg("p").query::<i64>(&mut c).unwrap(), -1);
    assert_eq!(cmd("EXPIRE").arg("p").arg(50).arg("XX").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("EXPIRE").arg("p").arg(50).arg("NX").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("EXPIRE").arg("p").arg(10).arg("GT").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("EXPIRE").arg("p").arg(100).arg("GT").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("EXPIRE").arg("p").arg(10).arg("LT").query::<i64>(&mut c).unwrap(), 1);
    let at: i64 = cmd("EXPIRETIME").arg("p").query(&mut c).unwrap();
    let pat: i64 = cmd("PEXPIRETIME").arg("p").query(&mut c).unwrap();
    assert_eq!(at, pat / 1000);
    assert_eq!(cmd("PERSIST").arg("p").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("PERSIST").arg("p").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(
        err_of(cmd("EXPIRE").arg("p").arg(10).arg("NX").arg("XX").query(&mut c)),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    // A TTL in the past deletes the key.
    assert_eq!(cmd("EXPIRE").arg("p").arg(-1).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(c.exists::<_, i64>("p").unwrap(), 0);
    // KEEPTTL keeps it, a plain SET clears it.
    let _: () = cmd("SET").arg("k").arg("w").arg("KEEPTTL").query(&mut c).unwrap();
    assert!(cmd("TTL").arg("k").query::<i64>(&mut c).unwrap() > 0);
    let _: () = c.set("k", "x").unwrap();
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut c).unwrap(), -1);
    // GETEX sets and removes TTLs.
    assert_eq!(cmd("GETEX").arg("k").arg("EX").arg(30).query::<String>(&mut c).unwrap(), "x");
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut c).unwrap(), 30);
    assert_eq!(cmd("GETEX").arg("k").arg("PERSIST").query::<String>(&mut c).unwrap(), "x");
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut c).unwrap(), -1);
}

#[test]
fn generic_key_commands() {
    let n = Node::start();
    let mut c = n.conn();
    for k in ["user:1", "user:2", "order:1"] {
        let _: () = c.set(k, 1).unwrap();
    }
    let mut keys: Vec<String> = c.keys("user:*").unwrap();
    keys.sort();
    assert_eq!(keys, vec!["user:1", "user:2"]);
    assert_eq!(cmd("EXISTS").arg("user:1").arg("user:1").arg("x").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("TYPE").arg("user:1").query::<String>(&mut c).unwrap(), "string");
    assert_eq!(cmd("TYPE").arg("x").query::<String>(&mut c).unwrap(), "none");
    let _: () = cmd("RENAME").arg("user:1").arg("user:9").query(&mut c).unwrap();
    assert_eq!(cmd("RENAMENX").arg("user:9").arg("user:2").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(err_of(cmd("RENAME").arg("nope").arg("x").query(&mut c)), "ERR no such key");
    assert_eq!(cmd("COPY").arg("user:9").arg("copy").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("COPY").arg("user:9").arg("copy").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("COPY").arg("user:9").arg("copy").arg("DB").arg(3).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("MOVE").arg("copy").arg(3).query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("MOVE").arg("copy").arg(4).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("DEL").arg("user:9").arg("user:2").arg("zzz").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("UNLINK").arg("order:1").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("RANDOMKEY").query::<Option<String>>(&mut c).unwrap(), None);
    let _: () = cmd("SELECT").arg(4).query(&mut c).unwrap();
    assert_eq!(c.get::<_, String>("copy").unwrap(), "1");
    assert_eq!(cmd("RANDOMKEY").query::<String>(&mut c).unwrap(), "copy");
    assert_eq!(err_of(cmd("SELECT").arg(16).query(&mut c)), "ERR DB index is out of range");
    let _: () = cmd("FLUSHALL").query(&mut c).unwrap();
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    let _: () = cmd("SELECT").arg(3).query(&mut c).unwrap();
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
}

#[test]
fn scan_returns_every_key_once_per_pass() {
    let n = Node::start();
    let mut c = n.conn();
    for i in 0..2000 {
        let _: () = c.set(format!("k{i}"), i).unwrap();
    }
    let _: () = cmd("LPUSH").arg("alist").arg(1).query(&mut c).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) =
            cmd("SCAN").arg(cursor).arg("MATCH").arg("k1*").arg("COUNT").arg(100).query(&mut c).unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 1111);
    let (_, lists): (u64, Vec<String>) =
        cmd("SCAN").arg(0).arg("TYPE").arg("list").arg("COUNT").arg(100_000).query(&mut c).unwrap();
    assert_eq!(lists, vec!["alist"]);
    assert_eq!(err_of(cmd("SCAN").arg("x").query(&mut c)), "ERR invalid cursor");
}

#[test]
fn object_and_memory() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = c.set("i", 123).unwrap();
    let _: () = c.set("s", "short").unwrap();
    let _: () = c.set("r", "x".repeat(100)).unwrap();
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("i").query::<String>(&mut c).unwrap(), "int");
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("s").query::<String>(&mut c).unwrap(), "embstr");
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("r").query::<String>(&mut c).unwrap(), "raw");
    assert!(cmd("OBJECT").arg("IDLETIME").arg("i").query::<i64>(&mut c).unwrap() >= 0);
    assert!(
        err_of(cmd("OBJECT").arg("FREQ").arg("i").query(&mut c))
            .starts_with("ERR An LFU maxmemory policy is not selected")
    );
    let small: i64 = cmd("MEMORY").arg("USAGE").arg("s").query(&mut c).unwrap();
    let big: i64 = cmd("MEMORY").arg("USAGE").arg("r").query(&mut c).unwrap();
    assert!(big > small + 90, "{small} {big}");
    assert_eq!(cmd("MEMORY").arg("USAGE").arg("none").query::<Option<i64>>(&mut c).unwrap(), None);
}

#[test]
fn bitmaps_set_count_find_and_combine() {
    let n = Node::start();
    let mut c = n.conn();
    let int = |c: &mut redis::Connection, args: &[&str]| -> i64 {
        let mut command = cmd(args[0]);
        for a in &args[1..] {
            command.arg(*a);
        }
        command.query(c).unwrap()
    };
    assert_eq!(int(&mut c, &["SETBIT", "b", "7", "1"]), 0);
    assert_eq!(int(&mut c, &["SETBIT", "b", "7", "1"]), 1, "the bit it was");
    assert_eq!(int(&mut c, &["GETBIT", "b", "7"]), 1);
    assert_eq!(int(&mut c, &["GETBIT", "b", "1000"]), 0, "past the end is zero");
    assert_eq!(cmd("GET").arg("b").query::<Vec<u8>>(&mut c).unwrap(), vec![1u8], "bit 0 is the high bit");
    assert_eq!(int(&mut c, &["SETBIT", "b", "100", "1"]), 0);
    assert_eq!(int(&mut c, &["STRLEN", "b"]), 13);
    assert_eq!(int(&mut c, &["BITCOUNT", "b"]), 2);
    assert_eq!(int(&mut c, &["BITCOUNT", "b", "1", "-1"]), 1);
    assert_eq!(int(&mut c, &["BITCOUNT", "b", "0", "7", "BIT"]), 1);
    assert_eq!(int(&mut c, &["BITPOS", "b", "1"]), 7);
    assert_eq!(int(&mut c, &["BITPOS", "b", "1", "1"]), 100);
    assert_eq!(int(&mut c, &["BITPOS", "b", "0"]), 0);
    assert_eq!(int(&mut c, &["BITPOS", "missing", "0"]), 0);
    assert_eq!(int(&mut c, &["BITPOS", "missing", "1"]), -1);
    let () = cmd("SET").arg("ones").arg(&[0xffu8, 0xff][..]).query(&mut c).unwrap();
    assert_eq!(int(&mut c, &["BITPOS", "ones", "0"]), 16, "no end given: the zeroes after the string");
    assert_eq!(int(&mut c, &["BITPOS", "ones", "0", "0", "-1"]), -1, "an end given: none in range");
    assert_eq!(int(&mut c, &["BITOP", "AND", "and", "b", "ones"]), 13);
    assert_eq!(cmd("GET").arg("and").query::<Vec<u8>>(&mut c).unwrap()[..2], [1u8, 0]);
    assert_eq!(int(&mut c, &["BITOP", "OR", "or", "b", "ones"]), 13);
    assert_eq!(int(&mut c, &["BITCOUNT", "or"]), 17);
    assert_eq!(int(&mut c, &["BITOP", "NOT", "not", "ones"]), 2);
    assert_eq!(int(&mut c, &["BITCOUNT", "not"]), 0);
    assert_eq!(int(&mut c, &["BITOP", "XOR", "gone", "missing"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "gone"]), 0, "an empty result is no key");
    assert_eq!(
        err_of(cmd("SETBIT").arg("b").arg(-1).arg(1).query(&mut c)),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(err_of(cmd("SETBIT").arg("b").arg(1).arg(2).query(&mut c)), "ERR bit is not an integer or out of range");
    assert_eq!(
        err_of(cmd("SETBIT").arg("b").arg(4_294_967_296u64).arg(1).query(&mut c)),
        "ERR bit offset is not an integer or out of range",
        "512 MB is the most a string holds"
    );
    assert!(err_of(cmd("BITOP").arg("NOT").arg("d").arg("a").arg("b").query(&mut c)).contains("single source key"));
    let () = cmd("LPUSH").arg("list").arg("x").query(&mut c).unwrap();
    assert!(err_of(cmd("GETBIT").arg("list").arg(0).query(&mut c)).starts_with("WRONGTYPE"));
}

#[test]
fn sort_orders_by_value_pattern_and_hash_field() {
    let n = Node::start();
    let mut c = n.conn();
    let _: i64 = cmd("RPUSH").arg("ids").arg(3).arg(1).arg(2).query(&mut c).unwrap();
    let _: () = cmd("MSET").arg("w_1").arg(30).arg("w_2").arg(10).arg("w_3").arg(20).query(&mut c).unwrap();
    let _: i64 = cmd("HSET").arg("o_1").arg("name").arg("one").query(&mut c).unwrap();
    let sorted: Vec<String> = cmd("SORT").arg("ids").query(&mut c).unwrap();
    assert_eq!(sorted, ["1", "2", "3"]);
    let by: Vec<String> = cmd("SORT").arg("ids").arg("BY").arg("w_*").arg("DESC").query(&mut c).unwrap();
    assert_eq!(by, ["1", "3", "2"]);
    let got: Vec<Option<String>> = cmd("SORT")
        .arg("ids")
        .arg("LIMIT")
        .arg(0)
        .arg(2)
        .arg("GET")
        .arg("#")
        .arg("GET")
        .arg("o_*->name")
        .query(&mut c)
        .unwrap();
    assert_eq!(got, [Some("1".into()), Some("one".into()), Some("2".into()), None]);
    let native: Vec<String> = cmd("SORT_RO").arg("ids").arg("BY").arg("nosort").query(&mut c).unwrap();
    assert_eq!(native, ["3", "1", "2"]);
    let stored: i64 = cmd("SORT").arg("ids").arg("BY").arg("w_*").arg("STORE").arg("out").query(&mut c).unwrap();
    assert_eq!(stored, 3);
    let out: Vec<String> = cmd("LRANGE").arg("out").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(out, ["2", "3", "1"]);

    let _: i64 = cmd("RPUSH").arg("words").arg("b").arg("a").query(&mut c).unwrap();
    assert_eq!(err_of(cmd("SORT").arg("words").query(&mut c)), "ERR One or more scores can't be converted into double");
    let alpha: Vec<String> = cmd("SORT").arg("words").arg("ALPHA").query(&mut c).unwrap();
    assert_eq!(alpha, ["a", "b"]);
    assert_eq!(err_of(cmd("SORT_RO").arg("words").arg("STORE").arg("x").query(&mut c)), "ERR syntax error");
    assert_eq!(
        err_of(cmd("SORT").arg("w_1").query(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    let keys: Vec<String> = cmd("COMMAND")
        .arg("GETKEYS")
        .arg("SORT")
        .arg("a")
        .arg("STORE")
        .arg("b")
        .arg("STORE")
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(keys, ["a", "c"]);
}

#[test]
fn lcs_string_length_and_ranges() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("MSET").arg("a").arg("ohmytext").arg("b").arg("mynewtext").query(&mut c).unwrap();
    assert_eq!(cmd("LCS").arg("a").arg("b").query::<String>(&mut c).unwrap(), "mytext");
    assert_eq!(cmd("LCS").arg("a").arg("b").arg("LEN").query::<i64>(&mut c).unwrap(), 6);
    // As redis-server answers: the runs from the end, each [a range, b range, length].
    let idx: redis::Value =
        cmd("LCS").arg("a").arg("b").arg("IDX").arg("MINMATCHLEN").arg(2).arg("WITHMATCHLEN").query(&mut c).unwrap();
    let text = format!("{idx:?}");
    let expected = "[bulk-string('\"matches\"'), array([array([array([int(4), int(7)]), array([int(5), int(8)]), int(4)]), array([array([int(2), int(3)]), array([int(0), int(1)]), int(2)])]), bulk-string('\"len\"'), int(6)]";
    assert!(text.contains(expected), "{text}");
    assert_eq!(
        err_of(cmd("LCS").arg("a").arg("b").arg("LEN").arg("IDX").query(&mut c)),
        "ERR If you want both the length and indexes, please just use IDX."
    );
}

#[test]
fn bitfield_reads_writes_and_overflows_as_redis_does() {
    let n = Node::start();
    let mut c = n.conn();
    let got: Vec<Option<i64>> = cmd("BITFIELD")
        .arg("bf")
        .arg("SET")
        .arg("i8")
        .arg(0)
        .arg(-100)
        .arg("GET")
        .arg("u8")
        .arg(0)
        .arg("INCRBY")
        .arg("u2")
        .arg("#5")
        .arg(7)
        .arg("OVERFLOW")
        .arg("SAT")
        .arg("INCRBY")
        .arg("i8")
        .arg(0)
        .arg(-100)
        .arg("OVERFLOW")
        .arg("FAIL")
        .arg("INCRBY")
        .arg("u4")
        .arg(100)
        .arg(20)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, [Some(0), Some(156), Some(3), Some(-128), None]);
    let ro: Vec<i64> = cmd("BITFIELD_RO").arg("bf").arg("GET").arg("i8").arg(0).query(&mut c).unwrap();
    assert_eq!(ro, [-128]);
    assert_eq!(
        err_of(cmd("BITFIELD_RO").arg("bf").arg("SET").arg("i8").arg(0).arg(1).query(&mut c)),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    assert_eq!(
        err_of(cmd("BITFIELD").arg("bf").arg("GET").arg("u64").arg(0).query(&mut c)),
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    );
    assert_eq!(
        err_of(cmd("BITFIELD").arg("bf").arg("SET").arg("u8").arg(4_294_967_296i64).arg(1).query(&mut c)),
        "ERR bit offset is not an integer or out of range",
        "offsets stop at 512 MB"
    );
    assert_eq!(cmd("STRLEN").arg("bf").query::<i64>(&mut c).unwrap(), 13, "grown to the last bit written");
}

#[test]
fn changes_since_last_save_count_writes_that_change_something() {
    let dir = crate::persistence::temp_dir("changes");
    let n = Node::start_with(&["--dir", dir.to_str().expect("utf-8 path")]);
    let mut c = n.conn();
    let changes = |c: &mut redis::Connection| -> i64 {
        let info: String = cmd("INFO").arg("persistence").query(c).unwrap();
        info.lines().find_map(|l| l.strip_prefix("rdb_changes_since_last_save:")).unwrap().trim().parse().unwrap()
    };
    let _: () = cmd("SAVE").query(&mut c).unwrap();
    assert_eq!(changes(&mut c), 0);
    let _: i64 = cmd("SETBIT").arg("b").arg(0).arg(1).query(&mut c).unwrap();
    let _: Vec<i64> = cmd("BITFIELD").arg("f").arg("SET").arg("i5").arg(0).arg(3).query(&mut c).unwrap();
    assert_eq!(changes(&mut c), 2);
    let _: i64 = cmd("SETBIT").arg("b").arg(0).arg(1).query(&mut c).unwrap();
    let _: Vec<i64> = cmd("BITFIELD").arg("f").arg("SET").arg("i5").arg(0).arg(3).query(&mut c).unwrap();
    assert_eq!(changes(&mut c), 2, "writing what is there changes nothing");
    let _: () = cmd("SAVE").query(&mut c).unwrap();
    assert_eq!(changes(&mut c), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
