use crate::common::{Node, cmd};
use redis::Value;

#[test]
fn inline_commands_like_a_person_in_nc() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n");
    raw.roundtrip(b"SET greeting \"hello world\"\n", b"+OK\r\n");
    raw.roundtrip(b"GET greeting\r\n", b"$11\r\nhello world\r\n");
    raw.roundtrip(b"\r\nEXISTS greeting\r\n", b":1\r\n");
}

#[test]
fn pipelined_replies_come_back_in_order() {
    let n = Node::start();
    let mut raw = n.raw();
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let v = i.to_string();
        req.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{v}\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", v.len()).as_bytes(),
        );
        expected.extend_from_slice(format!("+OK\r\n${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    // Sent in awkward chunks to exercise partial frames.
    for chunk in req.chunks(7) {
        raw.send(chunk);
    }
    assert_eq!(raw.read_exact_len(expected.len()), expected);
}

#[test]
fn resp3_types() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.send(b"HELLO 3\r\n");
    let hello = raw.read_exact_len(1);
    assert_eq!(hello, b"%");
    let mut c = n.conn3();
    let _: () = cmd("HSET").arg("h").arg("f").arg("v").query(&mut c).unwrap();
    assert!(matches!(cmd("HGETALL").arg("h").query::<Value>(&mut c).unwrap(), Value::Map(_)));
    let _: () = cmd("SADD").arg("s").arg("m").query(&mut c).unwrap();
    assert!(matches!(cmd("SMEMBERS").arg("s").query::<Value>(&mut c).unwrap(), Value::Set(_)));
    let _: () = cmd("ZADD").arg("z").arg("1.5").arg("m").query(&mut c).unwrap();
    assert_eq!(cmd("ZSCORE").arg("z").arg("m").query::<Value>(&mut c).unwrap(), Value::Double(1.5));
    assert_eq!(cmd("GET").arg("missing").query::<Value>(&mut c).unwrap(), Value::Nil);
    let with: Value = cmd("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(with, Value::Array(vec![Value::Array(vec![Value::BulkString(b"m".to_vec()), Value::Double(1.5)])]));
    let mut raw = n.raw();
    raw.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
    raw.roundtrip(b"HELLO 3\r\n", b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
}

#[test]
fn resp3_nulls_on_the_wire() {
    let n = Node::start();
    let mut raw = n.raw();
    raw.hello3();
    raw.roundtrip(b"GET nothing\r\n", b"_\r\n");
    raw.roundtrip(b"ZADD z 2 m\r\n", b":1\r\n");
    raw.roundtrip(b"ZSCORE z m\r\n", b",2\r\n");
    raw.roundtrip(b"BLPOP nothing 0.01\r\n", b"_\r\n");
}
