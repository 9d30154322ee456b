use crate::common::{Node, cmd, err_of};
use redis::{Commands, Value};
use std::time::Duration;

#[test]
fn publish_reaches_channel_and_pattern_subscribers() {
    let n = Node::start();
    let mut sub = n.conn();
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut ps = sub.as_pubsub();
    ps.subscribe("news").unwrap();
    ps.psubscribe("n*").unwrap();
    let mut c = n.conn();
    assert_eq!(cmd("PUBLISH").arg("news").arg("hi").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("PUBLISH").arg("other").arg("x").query::<i64>(&mut c).unwrap(), 0);
    let mut got = Vec::new();
    for _ in 0..2 {
        let m = ps.get_message().unwrap();
        got.push((
            m.get_channel_name().to_string(),
            m.get_payload::<String>().unwrap(),
            m.get_pattern::<Option<String>>().unwrap(),
        ));
    }
    got.sort();
    assert_eq!(got, vec![("news".into(), "hi".into(), None), ("news".into(), "hi".into(), Some("n*".into()))]);
    assert_eq!(cmd("PUBSUB").arg("NUMSUB").arg("news").query::<(String, i64)>(&mut c).unwrap(), ("news".into(), 1));
    assert_eq!(cmd("PUBSUB").arg("NUMPAT").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("PUBSUB").arg("CHANNELS").query::<Vec<String>>(&mut c).unwrap(), vec!["news"]);
}

#[test]
fn subscriber_mode_refuses_other_commands_in_resp2() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.roundtrip(b"SUBSCRIBE a\r\n", b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    raw.roundtrip(
        b"GET k\r\n",
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    raw.roundtrip(b"PING\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    raw.roundtrip(b"UNSUBSCRIBE\r\n", b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n");
    raw.roundtrip(b"GET k\r\n", b"$-1\r\n");
}

#[test]
fn resp3_subscribers_get_push_messages_and_may_run_commands() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.hello3();
    raw.roundtrip(b"SUBSCRIBE c\r\n", b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
    raw.roundtrip(b"GET k\r\n", b"_\r\n");
    cmd("PUBLISH").arg("c").arg("m").query::<i64>(&mut n.conn()).unwrap();
    assert_eq!(raw.read_exact_len(31), b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n".to_vec());
}

#[test]
fn multi_exec_discard() {
    let n = Node::start();
    let mut c = n.conn();
    let (a, b): (i64, i64) = redis::pipe().atomic().incr("x", 1).incr("x", 2).query(&mut c).unwrap();
    assert_eq!((a, b), (1, 3));
    let mut raw = n.raw();
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"SET a 1\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"INCR a\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"LPUSH a x\r\n", b"+QUEUED\r\n");
    raw.roundtrip(
        b"EXEC\r\n",
        b"*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"MULTI\r\n", b"-ERR MULTI calls can not be nested\r\n");
    raw.roundtrip(b"SET a\r\n", b"-ERR wrong number of arguments for 'set' command\r\n");
    raw.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    raw.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
    raw.roundtrip(b"DISCARD\r\n", b"-ERR DISCARD without MULTI\r\n");
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"SET a 5\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"DISCARD\r\n", b"+OK\r\n");
    raw.roundtrip(b"GET a\r\n", b"$1\r\n2\r\n");
}

#[test]
fn watch_aborts_exec_on_write_and_on_expiry() {
    let n = Node::start();
    let mut c = n.conn();
    let mut other = n.conn();
    let mut raw = n.raw();
    raw.roundtrip(b"WATCH w\r\n", b"+OK\r\n");
    let _: () = other.set("w", 1).unwrap();
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"SET w 2\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"EXEC\r\n", b"*-1\r\n");
    assert_eq!(c.get::<_, i64>("w").unwrap(), 1);
    // Untouched watched keys let EXEC through.
    raw.roundtrip(b"WATCH w\r\n", b"+OK\r\n");
    let _: () = other.get::<_, i64>("w").map(|_| ()).unwrap();
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"SET w 3\r\n", b"+QUEUED\r\n");
    raw.roundtrip(b"EXEC\r\n", b"*1\r\n+OK\r\n");
    // (A watched key that expires also aborts: tests/clock/expiry.rs.)
    raw.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    raw.roundtrip(b"WATCH x\r\n", b"-ERR WATCH inside MULTI is not allowed\r\n");
    assert_eq!(err_of(cmd("UNWATCH").arg("x").query(&mut c)), "ERR wrong number of arguments for 'unwatch' command");
}

#[test]
fn exec_is_atomic_for_other_clients() {
    let n = Node::start();
    let url = n.url();
    let writer = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        for _ in 0..300 {
            let _: (i64, i64) = redis::pipe().atomic().incr("a", 1).incr("b", 1).query(&mut c).unwrap();
        }
    });
    let mut c = n.conn();
    for _ in 0..300 {
        let (a, b): (Option<i64>, Option<i64>) = redis::pipe().atomic().get("a").get("b").query(&mut c).unwrap();
        assert_eq!(a, b);
    }
    writer.join().unwrap();
    let v: Value = cmd("MGET").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(v, Value::Array(vec![Value::BulkString(b"300".to_vec()), Value::BulkString(b"300".to_vec())]));
}

/// Writes that change nothing leave a WATCH intact: a flush of a missing key,
/// an SMOVE into a set that already holds the member.
#[test]
fn watch_survives_writes_that_change_nothing() {
    let n = Node::start();
    let mut c = n.conn();
    let mut other = n.conn();
    let exec_ok = |c: &mut redis::Connection| -> Option<Vec<String>> {
        redis::pipe().atomic().cmd("PING").query::<Option<Vec<String>>>(c).unwrap()
    };

    let _: () = cmd("WATCH").arg("absent").query(&mut c).unwrap();
    let _: () = cmd("FLUSHALL").query(&mut other).unwrap();
    assert_eq!(exec_ok(&mut c), Some(vec!["PONG".to_string()]));

    let _: () = cmd("SET").arg("present").arg(1).query(&mut other).unwrap();
    let _: () = cmd("WATCH").arg("present").query(&mut c).unwrap();
    let _: () = cmd("FLUSHDB").query(&mut other).unwrap();
    assert_eq!(exec_ok(&mut c), None, "a flush that deletes a watched key aborts");

    let _: i64 = cmd("SADD").arg("src").arg("a").arg("b").query(&mut other).unwrap();
    let _: i64 = cmd("SADD").arg("dst").arg("a").query(&mut other).unwrap();
    let _: () = cmd("WATCH").arg("dst").query(&mut c).unwrap();
    assert_eq!(cmd("SMOVE").arg("src").arg("dst").arg("a").query::<i64>(&mut other).unwrap(), 1);
    assert_eq!(exec_ok(&mut c), Some(vec!["PONG".to_string()]));
}

/// A command refused while a script is busy spoils the transaction around
/// it, and a refused EXEC discards it with the reason.
#[test]
fn exec_refused_while_a_script_is_busy_discards_the_transaction() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("busy-reply-threshold").arg(10).query(&mut c).unwrap();
    let _: () = cmd("SET").arg("xx").arg(1).query(&mut c).unwrap();
    let mut tx = n.raw();
    tx.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    tx.roundtrip(b"INCR xx\r\n", b"+QUEUED\r\n");
    let mut looping = n.raw();
    looping.send(b"EVAL \"while true do end\" 0\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let abort = b"-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    tx.roundtrip(b"EXEC\r\n", abort);
    assert_eq!(cmd("SCRIPT").arg("KILL").query::<String>(&mut c).unwrap(), "OK");
    let killed = looping.read_exact_len(5);
    assert_eq!(killed, b"-ERR ", "the script's caller hears it was killed");
    tx.roundtrip(b"PING\r\n", b"+PONG\r\n");
    assert_eq!(cmd("GET").arg("xx").query::<i64>(&mut c).unwrap(), 1);
}

#[test]
fn swapdb_trades_data_and_touches_watchers_of_live_keys() {
    let n = Node::start();
    let mut c = n.conn();
    let _: () = cmd("SET").arg("x").arg("in db0").query(&mut c).unwrap();
    let _: () = cmd("SELECT").arg(1).query(&mut c).unwrap();
    let _: () = cmd("SET").arg("y").arg("in db1").arg("EX").arg(100).query(&mut c).unwrap();
    let _: () = cmd("SELECT").arg(0).query(&mut c).unwrap();

    let mut watcher = n.conn();
    let _: () = cmd("WATCH").arg("x").query(&mut watcher).unwrap();
    let mut untouched = n.conn();
    let _: () = cmd("WATCH").arg("absent").query(&mut untouched).unwrap();

    assert_eq!(cmd("SWAPDB").arg(0).arg(1).query::<String>(&mut c).unwrap(), "OK");
    assert_eq!(cmd("GET").arg("y").query::<String>(&mut c).unwrap(), "in db1");
    assert!((1..=100).contains(&cmd("TTL").arg("y").query::<i64>(&mut c).unwrap()), "the TTL moved along");
    assert_eq!(cmd("EXISTS").arg("x").query::<i64>(&mut c).unwrap(), 0);
    let _: () = cmd("SELECT").arg(1).query(&mut c).unwrap();
    assert_eq!(cmd("GET").arg("x").query::<String>(&mut c).unwrap(), "in db0");

    let exec = |c: &mut redis::Connection| redis::pipe().atomic().cmd("PING").query::<Option<Vec<String>>>(c).unwrap();
    assert_eq!(exec(&mut watcher), None, "x left db 0: its watcher's transaction aborts");
    assert_eq!(exec(&mut untouched), Some(vec!["PONG".to_string()]), "a key absent from both dbs is untouched");
    assert_eq!(err_of(cmd("SWAPDB").arg(0).arg(99).query(&mut c)), "ERR DB index is out of range");
    assert_eq!(err_of(cmd("SWAPDB").arg("a").arg(1).query(&mut c)), "ERR invalid first DB index");
}

#[test]
fn shard_channels_are_a_namespace_of_their_own() {
    let n = Node::start();
    let mut sub = n.raw();
    sub.roundtrip(b"SSUBSCRIBE orders\r\n", b"*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n");
    sub.roundtrip(b"SUBSCRIBE orders\r\n", b"*3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n");
    let mut c = n.conn();
    let shard: Vec<String> = cmd("PUBSUB").arg("SHARDCHANNELS").query(&mut c).unwrap();
    assert_eq!(shard, ["orders"]);
    let counts: Vec<redis::Value> = cmd("PUBSUB").arg("SHARDNUMSUB").arg("orders").arg("none").query(&mut c).unwrap();
    assert_eq!(counts[1], redis::Value::Int(1));
    assert_eq!(counts[3], redis::Value::Int(0));
    assert_eq!(cmd("SPUBLISH").arg("orders").arg("o-1").query::<i64>(&mut c).unwrap(), 1);
    let smessage = b"*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$3\r\no-1\r\n";
    assert_eq!(sub.read_exact_len(smessage.len()), smessage);
    assert_eq!(cmd("PUBLISH").arg("orders").arg("p-1").query::<i64>(&mut c).unwrap(), 1, "only the plain subscription");
    let message = b"*3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$3\r\np-1\r\n";
    assert_eq!(sub.read_exact_len(message.len()), message);
    sub.roundtrip(b"SUNSUBSCRIBE\r\n", b"*3\r\n$12\r\nsunsubscribe\r\n$6\r\norders\r\n:0\r\n");
    assert_eq!(cmd("SPUBLISH").arg("orders").arg("o-2").query::<i64>(&mut c).unwrap(), 0);
}
