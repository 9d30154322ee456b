//! What a script holds while it runs: the shards it touches, to its end.
//! Commands on other keys may be served meanwhile; commands that read the
//! whole keyspace's figures (INFO, DBSIZE, MEMORY STATS) work from inside a
//! script or a transaction; a script over maxmemory neither hangs nor
//! evicts while it holds its shards.

use std::time::Duration;

use crate::common::{Node, cmd, err_of};
use crate::replication::wait_until;

/// A connection that fails the test instead of hanging it.
fn conn(n: &Node) -> redis::Connection {
    let c = n.conn();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// A script sets `a`, runs for 300 ms by the server's clock, then sets `a`
/// again: it takes `a`'s shard on first use and holds it to its end. On two
/// workers, clients reading `a` and `b` meanwhile never see the first value
/// of `a`. (Whether `b` is answered before the script ends depends on which
/// worker tokio gives the reader's connection to; bench/ measures that.)
#[test]
fn a_script_is_atomic_on_the_shards_it_takes_as_it_goes() {
    let n = Node::start_with(&["--threads", "2"]);
    let mut setup = conn(&n);
    let () = cmd("SET").arg("b").arg("untouched").query(&mut setup).unwrap();
    let script = "redis.call('SET', KEYS[1], 'during')
        local t0 = redis.call('TIME')
        while true do
            local t = redis.call('TIME')
            if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 300000 then break end
        end
        redis.call('SET', KEYS[1], 'done')
        return 'finished'";
    let mut runner = conn(&n);
    let running = std::thread::spawn(move || cmd("EVAL").arg(script).arg(1).arg("a").query::<String>(&mut runner));
    let mut other = conn(&n);
    wait_until("the script has run", || {
        let b: String = cmd("GET").arg("b").query(&mut other).unwrap();
        assert_eq!(b, "untouched");
        let a: Option<String> = cmd("GET").arg("a").query(&mut other).unwrap();
        assert_ne!(a.as_deref(), Some("during"), "a script's first write was seen before its end");
        a.as_deref() == Some("done")
    });
    assert_eq!(running.join().unwrap().unwrap(), "finished");
}

/// INFO reads every shard's counters; a script or a transaction holding
/// some shards used to wait for itself there, and the node stopped.
#[test]
fn keyspace_figures_from_scripts_and_transactions() {
    for threads in ["1", "2"] {
        let n = Node::start_with(&["--threads", threads]);
        let mut c = conn(&n);
        let () = cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
        let info: String = cmd("EVAL").arg("return redis.call('INFO', 'all')").arg(1).arg("k").query(&mut c).unwrap();
        assert!(info.contains("db0:keys=1,expires=0"), "{info}");
        assert!(info.contains("rdb_changes_since_last_save:1"), "{info}");
        let size: i64 = cmd("EVAL").arg("return redis.call('DBSIZE')").arg(0).query(&mut c).unwrap();
        assert_eq!(size, 1);
        let keys: i64 = cmd("EVAL")
            .arg("local s = redis.call('MEMORY', 'STATS') for i = 1, #s, 2 do if s[i] == 'keys.count' then return s[i + 1] end end")
            .arg(0)
            .query(&mut c)
            .unwrap();
        assert_eq!(keys, 1);
        let (set, info): (String, String) =
            redis::pipe().atomic().cmd("SET").arg("k2").arg("v").cmd("INFO").arg("keyspace").query(&mut c).unwrap();
        assert_eq!(set, "OK");
        assert!(info.contains("db0:keys=2"), "{info}");
        let refused = err_of(cmd("EVAL").arg("return redis.call('CONFIG', 'RESETSTAT')").arg(0).query(&mut c));
        assert!(refused.contains("not allowed from script"), "{refused}");
    }
}

/// Redis refuses a script's writes by the memory state from before it
/// began and evicts nothing while it runs. A long script over maxmemory
/// under allkeys-lru runs to its end, and the next command evicts; under
/// noeviction its writes are refused with OOM, its reads still served.
#[test]
fn a_script_over_maxmemory_runs_without_evicting_midway() {
    let n = Node::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = conn(&n);
    let fill = "for i = 1, 30000 do redis.call('SET', 'f' .. i, string.rep('x', 100)) end return redis.call('DBSIZE')";
    let size: i64 = cmd("EVAL").arg(fill).arg(0).query(&mut c).unwrap();
    assert_eq!(size, 30000, "nothing is evicted while the script runs");
    let () = cmd("SET").arg("after").arg("x").query(&mut c).unwrap();
    let stats: String = cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(!stats.contains("evicted_keys:0\r"), "{stats}");

    let () = cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("noeviction").query(&mut c).unwrap();
    let () = cmd("CONFIG").arg("SET").arg("maxmemory").arg("1").query(&mut c).unwrap();
    let refused = err_of(cmd("EVAL").arg("return redis.call('SET', KEYS[1], 'x')").arg(1).arg("after").query(&mut c));
    assert!(refused.starts_with("OOM command not allowed"), "{refused}");
    let read: String = cmd("EVAL").arg("return redis.call('GET', KEYS[1])").arg(1).arg("after").query(&mut c).unwrap();
    assert_eq!(read, "x");
}

/// A script queued in MULTI borrows the transaction's locks and gives them
/// back: the commands after it in the same EXEC still run (the connection
/// used to drop there).
#[test]
fn commands_after_a_script_in_a_transaction_still_run() {
    let n = Node::start();
    let mut c = conn(&n);
    let (set_by_script, set, got): (String, String, String) = redis::pipe()
        .atomic()
        .cmd("EVAL")
        .arg("return redis.call('SET', KEYS[1], 'from script')")
        .arg(1)
        .arg("k1")
        .cmd("SET")
        .arg("k2")
        .arg("v")
        .cmd("GET")
        .arg("k1")
        .query(&mut c)
        .unwrap();
    assert_eq!((set_by_script.as_str(), set.as_str(), got.as_str()), ("OK", "OK", "from script"));
}

/// Scripts that INCR undeclared keys in shuffled orders (taking shards in
/// any order) beside MGETs over all of them (taking shards in ascending
/// order) and plain INCRs, on two workers: nobody deadlocks (a hang fails
/// the read timeout) and no increment is lost.
#[test]
fn scripts_taking_shards_out_of_order_beside_multi_key_commands_finish() {
    const KEYS: usize = 16;
    const ROUNDS: usize = 400;
    let n = Node::start_with(&["--threads", "2"]);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("counter:{i}")).collect();
    let incr_each = "for _, k in ipairs(ARGV) do redis.call('INCR', k) end return #ARGV";
    std::thread::scope(|s| {
        for offset in [3, 7] {
            let keys = &keys;
            let n = &n;
            s.spawn(move || {
                let mut c = conn(n);
                let mut pipe = redis::pipe();
                for round in 0..ROUNDS {
                    let mut order: Vec<&String> = keys.iter().collect();
                    order.rotate_left((round * offset) % KEYS);
                    if round % 2 == 1 {
                        order.reverse();
                    }
                    pipe.cmd("EVAL").arg(incr_each).arg(0).arg(order);
                }
                let _: Vec<i64> = pipe.query(&mut c).unwrap();
            });
        }
        for _ in 0..2 {
            let (keys, n) = (&keys, &n);
            s.spawn(move || {
                let mut c = conn(n);
                for round in 0..ROUNDS {
                    let _: Vec<Option<i64>> = cmd("MGET").arg(keys).query(&mut c).unwrap();
                    let _: i64 = cmd("INCR").arg(&keys[round % KEYS]).query(&mut c).unwrap();
                }
            });
        }
    });
    let mut c = conn(&n);
    let values: Vec<i64> = cmd("MGET").arg(&keys).query(&mut c).unwrap();
    assert_eq!(values.iter().sum::<i64>(), (2 * ROUNDS * KEYS + 2 * ROUNDS) as i64, "{values:?}");
}
