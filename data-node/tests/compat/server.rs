use crate::common::{Node, cmd, err_of};
use redis::Commands;

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

#[test]
fn info_has_redis_field_names() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = c.set("a", 1).unwrap();
    let _: Option<String> = c.get("a").unwrap();
    let _: Option<String> = c.get("nope").unwrap();
    let info: String = cmd("INFO").query(&mut c).unwrap();
    for section in
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Keyspace"]
    {
        assert!(info.contains(section), "{section} missing");
    }
    assert_eq!(info_field(&info, "keyspace_hits"), "1");
    assert_eq!(info_field(&info, "keyspace_misses"), "1");
    assert_eq!(info_field(&info, "connected_clients"), "1");
    assert_eq!(info_field(&info, "role"), "master");
    assert_eq!(info_field(&info, "db0"), "keys=1,expires=0,avg_ttl=0");
    assert!(info_field(&info, "used_memory").parse::<u64>().unwrap() > 0);
    let only: String = cmd("INFO").arg("clients").query(&mut c).unwrap();
    assert!(!only.contains("# Memory"));
}

#[test]
fn config_get_set_and_client_commands() {
    let n = Node::start_with(&["--maxmemory", "64mb"]);
    let mut c = n.conn();
    let got: Vec<String> = cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut c).unwrap();
    assert_eq!(got, vec!["maxmemory".to_string(), (64u64 << 20).to_string()]);
    let _: () = cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("allkeys-lfu").query(&mut c).unwrap();
    let got: Vec<String> = cmd("CONFIG").arg("GET").arg("maxmemory-p*").query(&mut c).unwrap();
    assert_eq!(got, vec!["maxmemory-policy".to_string(), "allkeys-lfu".to_string()]);
    assert!(
        err_of(cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("bogus").query(&mut c))
            .starts_with("ERR CONFIG SET failed")
    );
    let _: () = cmd("CONFIG").arg("SET").arg("save").arg("").query(&mut c).unwrap();
    let _: () = cmd("CLIENT").arg("SETNAME").arg("tester").query(&mut c).unwrap();
    assert_eq!(cmd("CLIENT").arg("GETNAME").query::<String>(&mut c).unwrap(), "tester");
    let list: String = cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert!(list.contains("name=tester"), "{list}");
    assert_eq!(
        err_of(cmd("CLIENT").arg("SETNAME").arg("a b").query(&mut c)),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let id: i64 = cmd("CLIENT").arg("ID").query(&mut c).unwrap();
    let mut victim = n.conn();
    let vid: i64 = cmd("CLIENT").arg("ID").query(&mut victim).unwrap();
    assert_eq!(cmd("CLIENT").arg("KILL").arg("ID").arg(vid).query::<i64>(&mut c).unwrap(), 1);
    assert!(cmd("PING").query::<String>(&mut victim).is_err());
    assert!(id != vid);
    let (secs, micros): (String, String) = cmd("TIME").query(&mut c).unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_700_000_000 && micros.parse::<u64>().unwrap() < 1_000_000);
    assert!(cmd("COMMAND").arg("COUNT").query::<i64>(&mut c).unwrap() > 150);
    let info: redis::Value = cmd("COMMAND").arg("INFO").arg("get").query(&mut c).unwrap();
    assert!(format!("{info:?}").contains("readonly"));
    let _: () = cmd("SLOWLOG").arg("RESET").query(&mut c).unwrap();
    assert_eq!(cmd("SLOWLOG").arg("LEN").query::<i64>(&mut c).unwrap(), 0);
}

fn fill(c: &mut redis::Connection, n: usize, prefix: &str) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.set(format!("{prefix}{i}"), "x".repeat(100)).ignore();
    }
    let _: () = pipe.query(c).unwrap();
}

#[test]
fn noeviction_refuses_writes_past_maxmemory() {
    let n = Node::start_with(&["--maxmemory", "1mb"]);
    let mut c = n.conn();
    let mut refused = None;
    for i in 0..20_000 {
        if let Err(e) = c.set::<_, _, ()>(format!("k{i}"), "x".repeat(100)) {
            refused = Some(e.to_string());
            break;
        }
    }
    let refused = refused.expect("writes past maxmemory must be refused");
    assert!(refused.contains("command not allowed when used memory > 'maxmemory'"), "{refused}");
    // Reads and deletes still work.
    assert_eq!(c.get::<_, String>("k0").unwrap().len(), 100);
    assert_eq!(c.del::<_, i64>("k0").unwrap(), 1);
}

#[test]
fn allkeys_lru_evicts_cold_keys_and_stays_under_the_limit() {
    let n = Node::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = n.conn();
    fill(&mut c, 40_000, "k");
    let info: String = cmd("INFO").arg("all").query(&mut c).unwrap();
    let used: u64 = info_field(&info, "used_memory").parse().unwrap();
    let evicted: u64 = info_field(&info, "evicted_keys").parse().unwrap();
    // Like Redis, room is made before a write, so one write's worth may exceed.
    assert!(used <= (2 << 20) + 1024, "used {used}");
    assert!(evicted > 10_000, "evicted {evicted}");
    let size: u64 = cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size + evicted, 40_000);
}

#[test]
fn volatile_ttl_evicts_only_keys_with_a_ttl() {
    let n = Node::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", "volatile-ttl"]);
    let mut c = n.conn();
    fill(&mut c, 3000, "p");
    for i in 0..30_000 {
        if cmd("SET").arg(format!("v{i}")).arg("x".repeat(100)).arg("EX").arg(1000 + i).query::<()>(&mut c).is_err() {
            break;
        }
    }
    // Every persistent key survives.
    for i in (0..3000).step_by(100) {
        assert!(c.exists::<_, bool>(format!("p{i}")).unwrap(), "p{i} evicted");
    }
    let info: String = cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info_field(&info, "evicted_keys").parse::<u64>().unwrap() > 0);
}

#[test]
fn every_eviction_policy_keeps_within_maxmemory() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random"] {
        let n = Node::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", policy]);
        let mut c = n.conn();
        fill(&mut c, 2000, "persistent");
        let mut pipe = redis::pipe();
        for i in 0..30_000 {
            pipe.cmd("SET").arg(format!("v{i}")).arg("x".repeat(100)).arg("EX").arg(3600).ignore();
        }
        let _: () = pipe.query(&mut c).unwrap();
        let info: String = cmd("INFO").arg("all").query(&mut c).unwrap();
        let used: u64 = info_field(&info, "used_memory").parse().unwrap();
        let evicted: u64 = info_field(&info, "evicted_keys").parse().unwrap();
        // Eviction runs before a write: the write itself (and the table growth
        // it may cause) can end a little above the limit, as in Redis.
        assert!(used <= (2 << 20) + 64 * 1024, "{policy}: used {used}");
        assert!(evicted > 1000, "{policy}: evicted {evicted}");
        if policy.starts_with("volatile") {
            for i in (0..2000).step_by(50) {
                assert!(c.exists::<_, bool>(format!("persistent{i}")).unwrap(), "{policy} evicted a persistent key");
            }
        }
        let avg_ttl: u64 = info_field(&info, "db0").rsplit('=').next().unwrap().parse().unwrap();
        assert!(avg_ttl > 3_500_000 && avg_ttl <= 3_600_000, "{policy}: avg_ttl {avg_ttl}");
    }
}

/// CLIENT PAUSE WRITE holds writes (not reads) until CLIENT UNPAUSE; ALL
/// holds everything until the timeout.
#[test]
fn client_pause_holds_commands_until_it_ends() {
    use std::sync::mpsc;
    use std::time::Duration;
    let n = Node::start();
    let mut admin = n.conn();
    let _: () = admin.set("before", 1).unwrap();
    let _: () = cmd("CLIENT").arg("PAUSE").arg(60_000).arg("WRITE").query(&mut admin).unwrap();
    let mut reader = n.conn();
    assert_eq!(reader.get::<_, i64>("before").unwrap(), 1, "reads go on during a WRITE pause");

    let (done, held) = mpsc::channel();
    let mut writer = n.conn();
    std::thread::spawn(move || {
        let written: redis::RedisResult<()> = writer.set("during", 2);
        let _ = done.send(written);
    });
    assert!(held.recv_timeout(Duration::from_millis(300)).is_err(), "the write waits for the pause to end");
    let info: String = cmd("INFO").arg("clients").query(&mut admin).unwrap();
    assert!(info.contains("blocked_clients:1"), "a held client counts as blocked: {info}");
    let _: () = cmd("CLIENT").arg("UNPAUSE").query(&mut admin).unwrap();
    held.recv_timeout(Duration::from_secs(10)).expect("UNPAUSE releases the write").unwrap();
    assert_eq!(reader.get::<_, i64>("during").unwrap(), 2);

    // ALL (the default) holds reads too, and ends by itself.
    let _: () = cmd("CLIENT").arg("PAUSE").arg(200).query(&mut admin).unwrap();
    let (done, held) = mpsc::channel();
    std::thread::spawn(move || {
        let read: redis::RedisResult<i64> = reader.get("during");
        let _ = done.send(read);
    });
    assert_eq!(held.recv_timeout(Duration::from_secs(10)).expect("the pause ends at its timeout").unwrap(), 2);

    let mut c = n.conn();
    for (args, error) in [
        (&["PAUSE", "abc"][..], "ERR timeout is not an integer or out of range"),
        (&["PAUSE", "-1"], "ERR timeout is negative"),
        (&["PAUSE", "10", "BOGUS"], "ERR CLIENT PAUSE mode must be WRITE or ALL"),
    ] {
        assert_eq!(err_of(cmd("CLIENT").arg(args).query(&mut c)), error);
    }
}

/// Shapes client libraries parse: INFO's cluster section, PUBSUB NUMSUB as
/// a flat array in RESP3 too, and a slow log that takes everything at 0.
#[test]
fn shapes_clients_rely_on() {
    let n = Node::start();
    let mut c = n.conn3();
    let info: String = cmd("INFO").arg("cluster").query(&mut c).unwrap();
    assert!(info.contains("# Cluster") && info.contains("cluster_enabled:0"), "{info}");
    let numsub: redis::Value = cmd("PUBSUB").arg("NUMSUB").arg("a").arg("b").query(&mut c).unwrap();
    assert!(matches!(&numsub, redis::Value::Array(items) if items.len() == 4), "{numsub:?}");
    let () = cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(0).query(&mut c).unwrap();
    let () = cmd("SLOWLOG").arg("RESET").query(&mut c).unwrap();
    let () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let len: i64 = cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert!(len >= 1, "every command is logged at 0: {len}");
}

#[test]
fn info_commandstats_and_errorstats_count_calls_rejections_and_failures() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("s").arg("v").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("s").arg("w").query(&mut c).unwrap();
    let _ = cmd("LPUSH").arg("s").arg("x").query::<redis::Value>(&mut c);
    let _ = cmd("GET").query::<redis::Value>(&mut c);
    let default: String = cmd("INFO").query(&mut c).unwrap();
    assert!(!default.contains("cmdstat_"), "commandstats is not a default section");
    let stats: String = cmd("INFO").arg("commandstats").arg("errorstats").query(&mut c).unwrap();
    let line = |prefix: &str| stats.lines().find(|l| l.starts_with(prefix)).unwrap_or_default().to_string();
    assert!(line("cmdstat_set:").starts_with("cmdstat_set:calls=2,usec="), "{stats}");
    assert!(line("cmdstat_lpush:").ends_with("rejected_calls=0,failed_calls=1"), "{stats}");
    assert!(line("cmdstat_get:").ends_with("rejected_calls=1,failed_calls=0"), "{stats}");
    assert_eq!(line("errorstat_WRONGTYPE:"), "errorstat_WRONGTYPE:count=1");
    assert_eq!(line("errorstat_ERR:"), "errorstat_ERR:count=1");
    let _: () = cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let stats: String = cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    assert!(!stats.contains("errorstat_"), "{stats}");
}

#[test]
fn client_list_by_id_and_kill_by_local_address() {
    let n = Node::start();
    let mut me = n.conn();
    let mut other = n.conn();
    let my_id: i64 = cmd("CLIENT").arg("ID").query(&mut me).unwrap();
    let other_id: i64 = cmd("CLIENT").arg("ID").query(&mut other).unwrap();
    let listed: String = cmd("CLIENT").arg("LIST").arg("ID").arg(other_id).arg(999).arg(my_id).query(&mut me).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with(&format!("id={other_id} ")), "{listed}");
    assert!(lines[1].starts_with(&format!("id={my_id} ")) && lines[1].contains(" cmd=client|list "), "{listed}");
    assert_eq!(err_of(cmd("CLIENT").arg("LIST").arg("ID").arg("x").query(&mut me)), "ERR Invalid client ID");

    let laddr = lines[0].split(' ').find_map(|f| f.strip_prefix("laddr=")).unwrap().to_string();
    let killed: i64 = cmd("CLIENT").arg("KILL").arg("LADDR").arg(&laddr).query(&mut me).unwrap();
    assert!(killed >= 1, "every other client on {laddr}");
    assert!(cmd("PING").query::<String>(&mut other).is_err(), "the other connection is gone");
    assert_eq!(cmd("PING").query::<String>(&mut me).unwrap(), "PONG", "SKIPME yes by default");
    assert_eq!(err_of(cmd("CLIENT").arg("KILL").arg("SKIPME").arg("maybe").query(&mut me)), "ERR syntax error");
    assert_eq!(err_of(cmd("CLIENT").arg("KILL").arg("USER").arg("nobody").query(&mut me)), "ERR No such user 'nobody'");
}

#[test]
fn memory_stats_module_list_and_lolwut() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let stats: std::collections::HashMap<String, redis::Value> = cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
    assert_eq!(stats.get("keys.count"), Some(&redis::Value::Int(1)));
    assert!(stats.contains_key("peak.allocated") && stats.contains_key("db.0"), "{stats:?}");
    let doctor: String = cmd("MEMORY").arg("DOCTOR").query(&mut c).unwrap();
    assert!(doctor.starts_with("Hi Sam"), "{doctor}");
    let modules: Vec<String> = cmd("MODULE").arg("LIST").query(&mut c).unwrap();
    assert!(modules.is_empty());
    assert_eq!(
        err_of(cmd("MODULE").arg("LOAD").arg("/tmp/x.so").query(&mut c)),
        "ERR Error loading the extension. Please check the server logs."
    );
    let lolwut: String = cmd("LOLWUT").query(&mut c).unwrap();
    assert_eq!(lolwut, "Redis ver. 7.0.15\n");
}

/// What CLIENT PAUSE WRITE lets through and holds, as redis-server does.
#[test]
fn client_pause_write_lets_read_only_scripts_through_and_holds_expiry() {
    let n = Node::start();
    let mut admin = n.conn();
    let info_field = |c: &mut redis::Connection, name: &str| -> String {
        let info: String = cmd("INFO").arg("stats").query(c).unwrap();
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().to_string()
    };
    // A pause queued in a transaction starts when the transaction ends.
    let replies: Vec<String> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("soon")
        .arg("gone")
        .arg("PX")
        .arg(20)
        .cmd("CLIENT")
        .arg("PAUSE")
        .arg(60_000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    assert_eq!(replies, ["OK", "OK"]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let expired = info_field(&mut admin, "expired_keys");
    assert_eq!(cmd("GET").arg("soon").query::<Option<String>>(&mut admin).unwrap(), None, "hidden once expired");
    assert_eq!(info_field(&mut admin, "expired_keys"), expired, "but not deleted while paused");

    let read_only: String = cmd("EVAL").arg("#!lua flags=no-writes\nreturn 'read'").arg(0).query(&mut admin).unwrap();
    assert_eq!(read_only, "read", "a no-writes script is not held");
    let err = err_of(cmd("EVAL_RO").arg("return redis.call('publish', 'ch', 'm')").arg(0).query(&mut admin));
    assert!(err.starts_with("ERR Write commands are not allowed from read-only scripts."), "{err}");

    let _: () = cmd("CLIENT").arg("UNPAUSE").query(&mut admin).unwrap();
    assert_eq!(cmd("GET").arg("soon").query::<Option<String>>(&mut admin).unwrap(), None);
    assert_eq!(info_field(&mut admin, "expired_keys").parse::<u64>().unwrap(), expired.parse::<u64>().unwrap() + 1);
}
