//! Lua scripting and functions, from real clients: the `redis` crate's
//! `Script` (EVALSHA, falling back to EVAL), FUNCTION and FCALL, a busy
//! script killed from another connection, and scripts' effects reaching
//! replicas, ours and redis-server.

use std::time::Duration;

use crate::common::{Node, cmd, err_of};
use crate::persistence::{RedisServer, temp_dir, tool};
use crate::replication::{link_up, wait_until};

#[test]
fn scripts_run_cache_and_convert_replies() {
    let n = Node::start();
    let mut c = n.conn();
    // The redis crate's Script: EVALSHA first, EVAL on NOSCRIPT.
    let incr_by = redis::Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    assert_eq!(incr_by.key("counter").arg(5).invoke::<i64>(&mut c).unwrap(), 5);
    assert_eq!(incr_by.key("counter").arg(2).invoke::<i64>(&mut c).unwrap(), 7);
    let exists: Vec<i64> =
        cmd("SCRIPT").arg("EXISTS").arg(incr_by.get_hash()).arg("0".repeat(40)).query(&mut c).unwrap();
    assert_eq!(exists, vec![1, 0]);
    let () = cmd("SCRIPT").arg("FLUSH").query(&mut c).unwrap();
    let missing = err_of(cmd("EVALSHA").arg(incr_by.get_hash()).arg(0).query(&mut c));
    assert!(missing.starts_with("NOSCRIPT"), "{missing}");
    assert_eq!(incr_by.key("counter").arg(1).invoke::<i64>(&mut c).unwrap(), 8, "reloaded by EVAL");

    let value: redis::Value =
        cmd("EVAL").arg("return {1, 'two', {3}, true, false, 4.7, {ok='FINE'}}").arg(0).query(&mut c).unwrap();
    use redis::Value::{Array, BulkString, Int, Nil, Okay, SimpleString};
    let expected = Array(vec![
        Int(1),
        BulkString(b"two".to_vec()),
        Array(vec![Int(3)]),
        Int(1),
        Nil,
        Int(4),
        SimpleString("FINE".into()),
    ]);
    assert!(value == expected || matches!(&value, Array(items) if items.get(6) == Some(&Okay)), "{value:?}");
    let err = err_of(cmd("EVAL").arg("return redis.call('lpush', KEYS[1], 'x')").arg(1).arg("counter").query(&mut c));
    assert!(err.starts_with("WRONGTYPE"), "{err}");
    let caught: String = cmd("EVAL")
        .arg("local r = redis.pcall('lpush', KEYS[1], 'x'); return r['err']")
        .arg(1)
        .arg("counter")
        .query(&mut c)
        .unwrap();
    assert!(caught.starts_with("WRONGTYPE"), "{caught}");
    let global = err_of(cmd("EVAL").arg("x = 1").arg(0).query(&mut c));
    assert!(global.contains("Attempt to modify a readonly table"), "{global}");
    let read_only = err_of(cmd("EVAL_RO").arg("return redis.call('SET', 'k', 'v')").arg(0).query(&mut c));
    assert!(read_only.contains("Write commands are not allowed from read-only scripts"), "{read_only}");
    let blocking = err_of(cmd("EVAL").arg("return redis.call('BLPOP', 'q', 0)").arg(0).query(&mut c));
    assert!(blocking.contains("not allowed from script"), "{blocking}");
    let syntax = err_of(cmd("EVAL").arg("return (").arg(0).query(&mut c));
    assert!(syntax.starts_with("ERR Error compiling script"), "{syntax}");
}

#[test]
fn functions_load_call_list_and_go() {
    let n = Node::start();
    let mut c = n.conn();
    let library = "#!lua name=counters\n\
        redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\n\
        redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";
    assert_eq!(cmd("FUNCTION").arg("LOAD").arg(library).query::<String>(&mut c).unwrap(), "counters");
    let again = err_of(cmd("FUNCTION").arg("LOAD").arg(library).query(&mut c));
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(cmd("FCALL").arg("bump").arg(1).arg("hits").arg(3).query::<i64>(&mut c).unwrap(), 3);
    assert_eq!(cmd("FCALL_RO").arg("PEEK").arg(1).arg("hits").query::<String>(&mut c).unwrap(), "3");
    let write_ro = err_of(cmd("FCALL_RO").arg("bump").arg(1).arg("hits").arg(1).query(&mut c));
    assert!(write_ro.contains("write flag"), "{write_ro}");
    let listed: redis::Value = cmd("FUNCTION").arg("LIST").query(&mut c).unwrap();
    assert!(format!("{listed:?}").contains("peek"), "{listed:?}");
    let () = cmd("FUNCTION").arg("DELETE").arg("counters").query(&mut c).unwrap();
    let gone = err_of(cmd("FCALL").arg("bump").arg(1).arg("hits").arg(1).query(&mut c));
    assert_eq!(gone, "ERR Function not found");
    let bad = err_of(cmd("FUNCTION").arg("LOAD").arg("#!lua name=bad\nreturn 1").query(&mut c));
    assert_eq!(bad, "ERR No functions registered");
}

/// A script past busy-reply-threshold: others get -BUSY (not a hang), SCRIPT
/// KILL stops it, and the server answers again.
/// A script runs on the worker thread that read it, and gives that thread
/// away once it passes busy-reply-threshold: so even a node with one worker
/// answers BUSY and takes SCRIPT KILL, and a script that catches the kill
/// with pcall is stopped at its next line, as Redis stops it.
#[test]
fn a_busy_script_answers_busy_and_is_killed() {
    let forever = "while true do end";
    let catches_kill = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
    for (threads, script) in [("2", forever), ("1", forever), ("2", catches_kill), ("1", catches_kill)] {
        busy_script_is_killed(&Node::start_with(&["--threads", threads]), script);
    }
}

/// A library's load sets a hook of its own (its timeout); the VM's kill
/// watch comes back after it, so a script run on the same worker afterwards
/// is still stopped by SCRIPT KILL.
#[test]
fn a_busy_script_after_a_library_loads_is_still_killed() {
    let n = Node::start_with(&["--threads", "1"]);
    let mut c = n.conn();
    let library = "#!lua name=lib\nredis.register_function('one', function() return 1 end)";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(library).query(&mut c).unwrap();
    let one: i64 = cmd("FCALL").arg("one").arg(0).query(&mut c).unwrap();
    assert_eq!(one, 1);
    busy_script_is_killed(&n, "while true do end");
}

fn busy_script_is_killed(n: &Node, script: &'static str) {
    let mut c = n.conn();
    let () = cmd("CONFIG").arg("SET").arg("busy-reply-threshold").arg(100).query(&mut c).unwrap();
    let mut runner = n.conn();
    // A script the kill does not stop fails the test here, not by hanging it.
    runner.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let running = std::thread::spawn(move || err_of(cmd("EVAL").arg(script).arg(0).query(&mut runner)));
    let mut other = n.conn();
    other.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    wait_until("another client is answered BUSY", || match cmd("PING").query::<String>(&mut other) {
        Err(e) => e.code() == Some("BUSY") && e.detail().is_some_and(|d| d.contains("SCRIPT KILL")),
        Ok(_) => false, // the script has not started yet
    });
    let () = cmd("SCRIPT").arg("KILL").query(&mut other).unwrap();
    let killed = running.join().unwrap();
    assert!(killed.contains("Script killed by user with SCRIPT KILL"), "{script}: {killed}");
    assert_eq!(cmd("PING").query::<String>(&mut other).unwrap(), "PONG");
    let not_busy = err_of(cmd("SCRIPT").arg("KILL").query(&mut other));
    assert!(not_busy.starts_with("NOTBUSY"), "{not_busy}");
}

/// A script that declares flags (`#!lua ...`) is checked as the command
/// those flags make of it before it runs; one without is checked per command.
#[test]
fn declared_script_flags_are_checked_before_the_script_runs() {
    let n = Node::start();
    let mut c = n.conn();
    let () = cmd("SET").arg("x").arg("some value").query(&mut c).unwrap();
    let eval = |c: &mut redis::Connection, body: &str| cmd("EVAL").arg(body).arg(1).arg("x").query::<redis::Value>(c);
    let read = "return redis.call('get', KEYS[1])";

    let () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query(&mut c).unwrap();
    assert!(eval(&mut c, &format!("#!lua flags=no-writes\n{read}")).is_ok());
    assert!(eval(&mut c, read).is_ok(), "without flags, only its commands are judged");
    for body in [format!("#!lua\n{read}"), "return redis.call('set', KEYS[1], 1)".to_owned()] {
        let refused = err_of(eval(&mut c, &body));
        assert!(refused.starts_with("NOREPLICAS Not enough good replicas to write."), "{body}: {refused}");
    }
    let () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(0).query(&mut c).unwrap();

    let () = cmd("CONFIG").arg("SET").arg("maxmemory").arg(1).query(&mut c).unwrap();
    let refused = err_of(eval(&mut c, &format!("#!lua\n{read}")));
    assert!(refused.starts_with("OOM command not allowed when used memory > 'maxmemory'"), "{refused}");
    for flags in ["allow-oom", "no-writes"] {
        assert!(eval(&mut c, &format!("#!lua flags={flags}\n{read}")).is_ok(), "{flags}");
    }
    let () = cmd("CONFIG").arg("SET").arg("maxmemory").arg(0).query(&mut c).unwrap();

    let engine = err_of(eval(&mut c, "#!not-lua\nreturn 1"));
    assert_eq!(engine, "ERR Unexpected engine in script shebang: #!not-lua");
}

/// What scripts leave in INFO: error replies they return are counted by
/// code, and the script cache and function libraries are counted.
#[test]
fn scripts_show_in_info() {
    let n = Node::start();
    let mut c = n.conn();
    let () = cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let returned = err_of(cmd("EVAL").arg("return redis.error_reply('MY_ERR_CODE custom msg')").arg(0).query(&mut c));
    assert_eq!(returned, "MY_ERR_CODE custom msg");
    let errors: String = cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    assert!(errors.contains("errorstat_MY_ERR_CODE:count=1"), "{errors}");

    let _: String = cmd("SCRIPT").arg("LOAD").arg("return 2").query(&mut c).unwrap();
    let library = "#!lua name=lib\nredis.register_function('f1', function() return 1 end)\nredis.register_function('f2', function() return 2 end)";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(library).query(&mut c).unwrap();
    let memory: String = cmd("INFO").arg("memory").query(&mut c).unwrap();
    for field in ["number_of_cached_scripts:2", "number_of_functions:2", "number_of_libraries:1"] {
        assert!(memory.contains(field), "{field} in {memory}");
    }
}

/// A script's writes reach replicas as its effects, in one transaction;
/// FUNCTION LOAD reaches them as itself. redis-server as the replica when
/// installed, else ours.
#[test]
fn scripts_and_functions_replicate() {
    let primary = Node::start();
    let mut p = primary.conn();
    // Loaded before the replica exists: it arrives with the full sync.
    let early = "#!lua name=early\nredis.register_function('first', function() return 'first' end)";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(early).query(&mut p).unwrap();
    let dir = temp_dir("scripts-repl");
    let (_theirs, _ours, mut r) = match tool("redis-server") {
        Some(path) => {
            let server = RedisServer::start_with(&path, &dir, &["--replicaof", "127.0.0.1", &primary.port.to_string()]);
            let con = server.try_conn().expect("connect");
            (Some(server), None, con)
        }
        None => {
            let node = Node::start_with(&["--replicaof", &format!("127.0.0.1 {}", primary.port)]);
            let con = node.conn();
            (None, Some(node), con)
        }
    };
    link_up(&mut r);
    let script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); return redis.call('TIME')[1]";
    let _: String = cmd("EVAL").arg(script).arg(2).arg("a").arg("n").arg("x").query(&mut p).unwrap();
    let library = "#!lua name=lib\nredis.register_function('setit', function(keys, args) return redis.call('SET', keys[1], args[1]) end)";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(library).query(&mut p).unwrap();
    let () = cmd("FCALL").arg("setit").arg(1).arg("b").arg("y").query(&mut p).unwrap();
    assert_eq!(cmd("WAIT").arg(1).arg(5000).query::<i64>(&mut p).unwrap(), 1);
    wait_until("the replica has the script's effects", || {
        cmd("MGET").arg("a").arg("n").arg("b").query::<Vec<Option<String>>>(&mut r).unwrap_or_default()
            == vec![Some("x".to_owned()), Some("1".to_owned()), Some("y".to_owned())]
    });
    let listed: redis::Value = cmd("FUNCTION").arg("LIST").query(&mut r).unwrap();
    assert!(format!("{listed:?}").contains("setit"), "the library reached the replica: {listed:?}");
    assert!(format!("{listed:?}").contains("first"), "the full sync carried the early library: {listed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Libraries are saved in the RDB (a restart keeps them, redis-server loads
/// them) and FUNCTION DUMP / RESTORE payloads move between us and redis-server.
#[test]
fn libraries_persist_and_move_between_servers() {
    let dir = temp_dir("scripts-rdb");
    let path = dir.to_str().expect("utf-8 path").to_owned();
    let library = "#!lua name=keep\nredis.register_function('kept', function() return 'still here' end)";
    let node = Node::start_with(&["--dir", &path]);
    let _: String = cmd("FUNCTION").arg("LOAD").arg(library).query(&mut node.conn()).unwrap();
    let ours: Vec<u8> = cmd("FUNCTION").arg("DUMP").query(&mut node.conn()).unwrap();
    node.terminate();
    let node = Node::start_with(&["--dir", &path]);
    let mut c = node.conn();
    assert_eq!(cmd("FCALL").arg("kept").arg(0).query::<String>(&mut c).unwrap(), "still here", "after a restart");
    let () = cmd("FUNCTION").arg("FLUSH").query(&mut c).unwrap();
    let () = cmd("FUNCTION").arg("RESTORE").arg(&ours).query(&mut c).unwrap();
    assert_eq!(cmd("FCALL").arg("kept").arg(0).query::<String>(&mut c).unwrap(), "still here", "restored");
    let again = err_of(cmd("FUNCTION").arg("RESTORE").arg(&ours).query(&mut c));
    assert!(again.contains("already exists"), "APPEND refuses a library that exists: {again}");
    let () = cmd("FUNCTION").arg("RESTORE").arg(&ours).arg("REPLACE").query(&mut c).unwrap();
    let mut corrupt = ours.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let refused = err_of(cmd("FUNCTION").arg("RESTORE").arg(&corrupt).arg("FLUSH").query(&mut c));
    assert!(refused.contains("payload version or checksum are wrong"), "{refused}");
    node.terminate();

    let Some(redis_server) = tool("redis-server") else { return };
    let theirs = RedisServer::start(&redis_server, &dir);
    let mut t = theirs.try_conn().expect("connect");
    assert_eq!(cmd("FCALL").arg("kept").arg(0).query::<String>(&mut t).unwrap(), "still here", "from our RDB");
    let their_payload: Vec<u8> = cmd("FUNCTION").arg("DUMP").query(&mut t).unwrap();
    assert_eq!(their_payload, ours, "the same payload, byte for byte");
    let () = cmd("FUNCTION").arg("FLUSH").query(&mut t).unwrap();
    let () = cmd("FUNCTION").arg("RESTORE").arg(&ours).query(&mut t).unwrap();
    assert_eq!(cmd("FCALL").arg("kept").arg(0).query::<String>(&mut t).unwrap(), "still here", "our payload there");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The libraries Redis gives scripts, and their tables read-only.
#[test]
fn cjson_cmsgpack_bit_and_struct_are_there_and_read_only() {
    let n = Node::start();
    let mut c = n.conn();
    let eval = |c: &mut redis::Connection, body: &str| cmd("EVAL").arg(body).arg(0).query::<redis::Value>(c);
    let json = eval(&mut c, "return cjson.encode({1, 2, {a = 'x/y'}})").unwrap();
    assert_eq!(json, redis::Value::BulkString(br#"[1,2,{"a":"x\/y"}]"#.to_vec()));
    let decoded =
        eval(&mut c, "local t = cjson.decode('{\"k\": [true, null, 1.5]}') return {t.k[1], tostring(t.k[3])}").unwrap();
    assert_eq!(decoded, redis::Value::Array(vec![redis::Value::Int(1), redis::Value::BulkString(b"1.5".to_vec())]));
    let packed = eval(&mut c, "return cmsgpack.pack({1, 'a'}, 0.1)").unwrap();
    assert_eq!(packed, redis::Value::BulkString(b"\x92\x01\xa1a\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a".to_vec()));
    let bits = eval(&mut c, "return {bit.band(0xff, 0x0f), bit.tohex(255, 2), bit.lshift(1, 4)}").unwrap();
    let want = [redis::Value::Int(15), redis::Value::BulkString(b"ff".to_vec()), redis::Value::Int(16)];
    assert_eq!(bits, redis::Value::Array(want.to_vec()));
    let st = eval(&mut c, "return struct.unpack('>I2', struct.pack('>I2', 258))").unwrap();
    assert_eq!(st, redis::Value::Int(258));
    for table in ["redis.call", "cjson.encode", "cmsgpack.pack", "bit.lshift", "string.len", "struct.pack"] {
        let err = err_of(cmd("EVAL").arg(format!("{table} = function() return 1 end")).arg(0).query(&mut c));
        assert!(err.contains("Attempt to modify a readonly table"), "{table}: {err}");
    }
    let err = err_of(cmd("EVAL").arg("rawset(cjson, 'encode', nil)").arg(0).query(&mut c));
    assert!(err.contains("Attempt to modify a readonly table"), "{err}");
}

/// Scripts that read a value and write it back changed (racy unless the
/// script is atomic) on several connections at once, with plain commands on
/// the same key from others: on two worker threads, those commands wait for
/// each script's locks in place, and no update is lost.
#[test]
fn scripts_stay_atomic_beside_other_clients_on_two_workers() {
    let n = Node::start_with(&["--threads", "2"]);
    let bump = "local v = tonumber(redis.call('GET', KEYS[1]) or '0'); redis.call('SET', KEYS[1], v + 1); return v + 1";
    const SCRIPTERS: usize = 4;
    const INCRS: usize = 2;
    const ROUNDS: usize = 300;
    std::thread::scope(|s| {
        for _ in 0..SCRIPTERS {
            s.spawn(|| {
                let mut c = n.conn();
                let mut pipe = redis::pipe();
                for _ in 0..ROUNDS {
                    pipe.cmd("EVAL").arg(bump).arg(1).arg("shared");
                }
                let _: Vec<i64> = pipe.query(&mut c).unwrap();
            });
        }
        for _ in 0..INCRS {
            s.spawn(|| {
                let mut c = n.conn();
                for _ in 0..ROUNDS {
                    let _: i64 = cmd("INCR").arg("shared").query(&mut c).unwrap();
                }
            });
        }
    });
    let mut c = n.conn();
    let total: i64 = cmd("GET").arg("shared").query(&mut c).unwrap();
    assert_eq!(total, ((SCRIPTERS + INCRS) * ROUNDS) as i64);
}

/// `redis.setresp(3)` holds for the script that calls it, not the next one.
#[test]
fn setresp_lasts_one_script() {
    let n = Node::start();
    let mut c = n.conn();
    let () = cmd("HSET").arg("h").arg("f").arg("v").query(&mut c).unwrap();
    let map_kind = "local r = redis.call('HGETALL', KEYS[1]); return type(r['map'])";
    let as_resp3: String =
        cmd("EVAL").arg(format!("redis.setresp(3); {map_kind}")).arg(1).arg("h").query(&mut c).unwrap();
    assert_eq!(as_resp3, "table");
    let next: String = cmd("EVAL").arg(map_kind).arg(1).arg("h").query(&mut c).unwrap();
    assert_eq!(next, "nil");
    let bad = err_of(cmd("EVAL").arg("redis.setresp(4)").arg(0).query(&mut c));
    assert!(bad.contains("RESP version must be 2 or 3"), "{bad}");
}
