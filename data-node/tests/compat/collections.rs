use crate::common::{Node, cmd, err_of};
use redis::Commands;

#[test]
fn hashes() {
    let n = Node::start();
    let mut c = n.conn();
    assert_eq!(cmd("HSET").arg("h").arg("a").arg(1).arg("b").arg(2).query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("HSET").arg("h").arg("a").arg(3).query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(c.hget::<_, _, i64>("h", "a").unwrap(), 3);
    assert_eq!(cmd("HSETNX").arg("h").arg("a").arg(9).query::<i64>(&mut c).unwrap(), 0);
    let _: () = cmd("HMSET").arg("h").arg("c").arg("x").query(&mut c).unwrap();
    assert_eq!(
        cmd("HMGET").arg("h").arg("a").arg("zz").query::<Vec<Option<String>>>(&mut c).unwrap(),
        vec![Some("3".into()), None]
    );
    let all: std::collections::HashMap<String, String> = c.hgetall("h").unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(c.hlen::<_, i64>("h").unwrap(), 3);
    let mut keys: Vec<String> = c.hkeys("h").unwrap();
    keys.sort();
    assert_eq!(keys, vec!["a", "b", "c"]);
    assert_eq!(cmd("HVALS").arg("h").query::<Vec<String>>(&mut c).unwrap().len(), 3);
    assert_eq!(cmd("HINCRBY").arg("h").arg("a").arg(10).query::<i64>(&mut c).unwrap(), 13);
    assert_eq!(cmd("HINCRBYFLOAT").arg("h").arg("f").arg("1.5").query::<String>(&mut c).unwrap(), "1.5");
    assert_eq!(err_of(cmd("HINCRBY").arg("h").arg("c").arg(1).query(&mut c)), "ERR hash value is not an integer");
    assert_eq!(cmd("HSTRLEN").arg("h").arg("c").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("HEXISTS").arg("h").arg("c").query::<i64>(&mut c).unwrap(), 1);
    let (cursor, items): (u64, Vec<String>) = cmd("HSCAN").arg("h").arg(0).arg("MATCH").arg("a").query(&mut c).unwrap();
    assert_eq!((cursor, items), (0, vec!["a".to_string(), "13".to_string()]));
    let f: String = cmd("HRANDFIELD").arg("h").query(&mut c).unwrap();
    assert!(all.contains_key(&f) || f == "f");
    assert_eq!(cmd("HRANDFIELD").arg("h").arg(10).query::<Vec<String>>(&mut c).unwrap().len(), 4);
    assert_eq!(cmd("HRANDFIELD").arg("h").arg(-10).query::<Vec<String>>(&mut c).unwrap().len(), 10);
    assert_eq!(cmd("HRANDFIELD").arg("h").arg(2).arg("WITHVALUES").query::<Vec<String>>(&mut c).unwrap().len(), 4);
    assert_eq!(cmd("HDEL").arg("h").arg("a").arg("b").arg("c").arg("f").query::<i64>(&mut c).unwrap(), 4);
    // The last field gone, the key is gone.
    assert_eq!(c.exists::<_, i64>("h").unwrap(), 0);
    assert_eq!(err_of(cmd("HSET").arg("h").arg("a").query(&mut c)), "ERR wrong number of arguments for 'hset' command");
}

#[test]
fn lists() {
    let n = Node::start();
    let mut c = n.conn();
    assert_eq!(cmd("RPUSH").arg("l").arg("a").arg("b").arg("c").query::<i64>(&mut c).unwrap(), 3);
    assert_eq!(cmd("LPUSH").arg("l").arg("z").query::<i64>(&mut c).unwrap(), 4);
    assert_eq!(cmd("LPUSHX").arg("nope").arg("z").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("RPUSHX").arg("l").arg("d").query::<i64>(&mut c).unwrap(), 5);
    assert_eq!(
        cmd("LRANGE").arg("l").arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap(),
        vec!["z", "a", "b", "c", "d"]
    );
    assert_eq!(cmd("LRANGE").arg("l").arg(-2).arg(100).query::<Vec<String>>(&mut c).unwrap(), vec!["c", "d"]);
    assert_eq!(cmd("LINDEX").arg("l").arg(-1).query::<String>(&mut c).unwrap(), "d");
    assert_eq!(cmd("LINDEX").arg("l").arg(99).query::<Option<String>>(&mut c).unwrap(), None);
    let _: () = cmd("LSET").arg("l").arg(0).arg("y").query(&mut c).unwrap();
    assert_eq!(err_of(cmd("LSET").arg("l").arg(99).arg("y").query(&mut c)), "ERR index out of range");
    assert_eq!(err_of(cmd("LSET").arg("none").arg(0).arg("y").query(&mut c)), "ERR no such key");
    assert_eq!(cmd("LINSERT").arg("l").arg("BEFORE").arg("b").arg("ab").query::<i64>(&mut c).unwrap(), 6);
    assert_eq!(cmd("LINSERT").arg("l").arg("AFTER").arg("zz").arg("x").query::<i64>(&mut c).unwrap(), -1);
    let _: () = cmd("RPUSH").arg("l").arg("a").arg("a").query(&mut c).unwrap();
    assert_eq!(cmd("LPOS").arg("l").arg("a").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("LPOS").arg("l").arg("a").arg("RANK").arg(-1).query::<i64>(&mut c).unwrap(), 7);
    assert_eq!(cmd("LPOS").arg("l").arg("a").arg("COUNT").arg(0).query::<Vec<i64>>(&mut c).unwrap(), vec![1, 6, 7]);
    assert_eq!(cmd("LREM").arg("l").arg(-2).arg("a").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("LLEN").arg("l").query::<i64>(&mut c).unwrap(), 6);
    let _: () = cmd("LTRIM").arg("l").arg(1).arg(-2).query(&mut c).unwrap();
    assert_eq!(cmd("LRANGE").arg("l").arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap(), vec!["a", "ab", "b", "c"]);
    assert_eq!(cmd("LPOP").arg("l").query::<String>(&mut c).unwrap(), "a");
    assert_eq!(cmd("RPOP").arg("l").arg(2).query::<Vec<String>>(&mut c).unwrap(), vec!["c", "b"]);
    assert_eq!(cmd("LPOP").arg("nope").arg(2).query::<Option<Vec<String>>>(&mut c).unwrap(), None);
    assert_eq!(cmd("LMOVE").arg("l").arg("m").arg("LEFT").arg("RIGHT").query::<String>(&mut c).unwrap(), "ab");
    assert_eq!(c.exists::<_, i64>("l").unwrap(), 0);
    let _: () = cmd("RPUSH").arg("m").arg("x").query(&mut c).unwrap();
    assert_eq!(cmd("RPOPLPUSH").arg("m").arg("m").query::<String>(&mut c).unwrap(), "x");
    assert_eq!(cmd("LRANGE").arg("m").arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap(), vec!["x", "ab"]);
    let popped: (String, Vec<String>) =
        cmd("LMPOP").arg(2).arg("empty").arg("m").arg("RIGHT").arg("COUNT").arg(5).query(&mut c).unwrap();
    assert_eq!(popped, ("m".to_string(), vec!["ab".to_string(), "x".to_string()]));
    assert_eq!(err_of(cmd("LMPOP").arg(0).arg("m").arg("LEFT").query(&mut c)), "ERR numkeys should be greater than 0");
    let _: () = c.set("s", 1).unwrap();
    assert_eq!(cmd("LMOVE").arg("m2").arg("s").arg("LEFT").arg("LEFT").query::<Option<String>>(&mut c).unwrap(), None);
    let _: () = cmd("RPUSH").arg("m2").arg("keep").query(&mut c).unwrap();
    assert_eq!(
        err_of(cmd("LMOVE").arg("m2").arg("s").arg("LEFT").arg("LEFT").query(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        cmd("LLEN").arg("m2").query::<i64>(&mut c).unwrap(),
        1,
        "nothing popped when the destination is the wrong type"
    );
}

#[test]
fn blocking_pops_wake_on_push_and_time_out() {
    let n = Node::start();
    let mut waiter = n.conn();
    let start = std::time::Instant::now();
    let none: Option<(String, String)> = cmd("BLPOP").arg("q").arg(0.2).query(&mut waiter).unwrap();
    assert_eq!(none, None);
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    let url = n.url();
    let pusher = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: i64 = cmd("RPUSH").arg("q2").arg("hello").query(&mut c).unwrap();
        let _: i64 = cmd("ZADD").arg("z").arg(5).arg("m").query(&mut c).unwrap();
        let _: i64 = cmd("RPUSH").arg("src").arg("moved").query(&mut c).unwrap();
    });
    let got: (String, String) = cmd("BRPOP").arg("q1").arg("q2").arg(5).query(&mut waiter).unwrap();
    assert_eq!(got, ("q2".into(), "hello".into()));
    let z: (String, String, f64) = cmd("BZPOPMIN").arg("z").arg(5).query(&mut waiter).unwrap();
    assert_eq!(z, ("z".into(), "m".into(), 5.0));
    let v: String = cmd("BLMOVE").arg("src").arg("dst").arg("LEFT").arg("RIGHT").arg(5).query(&mut waiter).unwrap();
    assert_eq!(v, "moved");
    pusher.join().unwrap();
    assert_eq!(err_of(cmd("BLPOP").arg("q").arg(-1).query(&mut waiter)), "ERR timeout is negative");
    assert_eq!(err_of(cmd("BLPOP").arg("q").arg("x").query(&mut waiter)), "ERR timeout is not a float or out of range");
    let none: Option<(String, Vec<String>)> =
        cmd("BLMPOP").arg(0.05).arg(1).arg("q").arg("LEFT").query(&mut waiter).unwrap();
    assert_eq!(none, None);
}

#[test]
fn sets() {
    let n = Node::start();
    let mut c = n.conn();
    assert_eq!(cmd("SADD").arg("a").arg(1).arg(2).arg(3).arg(3).query::<i64>(&mut c).unwrap(), 3);
    let _: () = cmd("SADD").arg("b").arg(2).arg(3).arg(4).query(&mut c).unwrap();
    assert_eq!(cmd("SCARD").arg("a").query::<i64>(&mut c).unwrap(), 3);
    assert_eq!(cmd("SISMEMBER").arg("a").arg(1).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("SMISMEMBER").arg("a").arg(1).arg(9).query::<Vec<i64>>(&mut c).unwrap(), vec![1, 0]);
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    assert_eq!(sorted(cmd("SINTER").arg("a").arg("b").query(&mut c).unwrap()), vec![2, 3]);
    assert_eq!(sorted(cmd("SUNION").arg("a").arg("b").query(&mut c).unwrap()), vec![1, 2, 3, 4]);
    assert_eq!(sorted(cmd("SDIFF").arg("a").arg("b").query(&mut c).unwrap()), vec![1]);
    assert_eq!(cmd("SINTERCARD").arg(2).arg("a").arg("b").arg("LIMIT").arg(1).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("SINTERSTORE").arg("i").arg("a").arg("b").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("SUNIONSTORE").arg("u").arg("a").arg("b").query::<i64>(&mut c).unwrap(), 4);
    assert_eq!(cmd("SDIFFSTORE").arg("d").arg("a").arg("b").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(sorted(c.smembers("d").unwrap()), vec![1]);
    assert_eq!(cmd("SMOVE").arg("a").arg("b").arg(1).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("SMOVE").arg("a").arg("b").arg(1).query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("SREM").arg("b").arg(1).arg(2).query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("SRANDMEMBER").arg("u").arg(-6).query::<Vec<i64>>(&mut c).unwrap().len(), 6);
    assert_eq!(cmd("SRANDMEMBER").arg("u").arg(6).query::<Vec<i64>>(&mut c).unwrap().len(), 4);
    let popped: Vec<i64> = cmd("SPOP").arg("u").arg(3).query(&mut c).unwrap();
    assert_eq!(popped.len(), 3);
    assert_eq!(cmd("SCARD").arg("u").query::<i64>(&mut c).unwrap(), 1);
    let (cur, members): (u64, Vec<i64>) = cmd("SSCAN").arg("b").arg(0).query(&mut c).unwrap();
    assert_eq!((cur, sorted(members)), (0, vec![3, 4]));
    assert_eq!(err_of(cmd("SPOP").arg("u").arg(-1).query(&mut c)), "ERR value is out of range, must be positive");
}

#[test]
fn sorted_sets() {
    let n = Node::start();
    let mut c = n.conn();
    assert_eq!(cmd("ZADD").arg("z").arg(1).arg("a").arg(2).arg("b").arg(3).arg("c").query::<i64>(&mut c).unwrap(), 3);
    assert_eq!(cmd("ZADD").arg("z").arg("CH").arg(5).arg("a").arg(2).arg("b").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("ZADD").arg("z").arg("NX").arg(9).arg("a").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("ZADD").arg("z").arg("GT").arg("CH").arg(1).arg("a").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("ZADD").arg("z").arg("INCR").arg(1).arg("a").query::<f64>(&mut c).unwrap(), 6.0);
    assert_eq!(
        err_of(cmd("ZADD").arg("z").arg("NX").arg("XX").arg(1).arg("a").query(&mut c)),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        err_of(cmd("ZADD").arg("z").arg("GT").arg("LT").arg(1).arg("a").query(&mut c)),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(err_of(cmd("ZADD").arg("z").arg("x").arg("a").query(&mut c)), "ERR value is not a valid float");
    assert_eq!(cmd("ZSCORE").arg("z").arg("a").query::<f64>(&mut c).unwrap(), 6.0);
    assert_eq!(
        cmd("ZMSCORE").arg("z").arg("a").arg("q").query::<Vec<Option<f64>>>(&mut c).unwrap(),
        vec![Some(6.0), None]
    );
    assert_eq!(cmd("ZINCRBY").arg("z").arg("0.5").arg("b").query::<f64>(&mut c).unwrap(), 2.5);
    assert_eq!(cmd("ZCARD").arg("z").query::<i64>(&mut c).unwrap(), 3);
    assert_eq!(cmd("ZRANK").arg("z").arg("c").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("ZREVRANK").arg("z").arg("c").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("ZCOUNT").arg("z").arg("(2.5").arg("+inf").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("ZRANGE").arg("z").arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap(), vec!["b", "c", "a"]);
    assert_eq!(
        cmd("ZRANGE").arg("z").arg(0).arg(0).arg("REV").arg("WITHSCORES").query::<Vec<String>>(&mut c).unwrap(),
        vec!["a", "6"]
    );
    assert_eq!(
        cmd("ZRANGE").arg("z").arg("(3").arg("-inf").arg("BYSCORE").arg("REV").query::<Vec<String>>(&mut c).unwrap(),
        vec!["b"]
    );
    assert_eq!(
        cmd("ZRANGE")
            .arg("z")
            .arg(0)
            .arg(10)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(1)
            .arg(1)
            .query::<Vec<String>>(&mut c)
            .unwrap(),
        vec!["c"]
    );
    assert_eq!(
        cmd("ZRANGEBYSCORE").arg("z").arg(3).arg(6).arg("WITHSCORES").query::<Vec<String>>(&mut c).unwrap(),
        vec!["c", "3", "a", "6"]
    );
    assert_eq!(cmd("ZREVRANGEBYSCORE").arg("z").arg(6).arg(3).query::<Vec<String>>(&mut c).unwrap(), vec!["a", "c"]);
    assert_eq!(cmd("ZREVRANGE").arg("z").arg(0).arg(1).query::<Vec<String>>(&mut c).unwrap(), vec!["a", "c"]);
    assert_eq!(
        err_of(cmd("ZRANGE").arg("z").arg(0).arg(1).arg("LIMIT").arg(0).arg(1).query(&mut c)),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(err_of(cmd("ZRANGEBYSCORE").arg("z").arg("x").arg(1).query(&mut c)), "ERR min or max is not a float");
    let _: () =
        cmd("ZADD").arg("lex").arg(0).arg("a").arg(0).arg("b").arg(0).arg("c").arg(0).arg("d").query(&mut c).unwrap();
    assert_eq!(cmd("ZRANGEBYLEX").arg("lex").arg("[b").arg("(d").query::<Vec<String>>(&mut c).unwrap(), vec!["b", "c"]);
    assert_eq!(
        cmd("ZREVRANGEBYLEX").arg("lex").arg("+").arg("[c").query::<Vec<String>>(&mut c).unwrap(),
        vec!["d", "c"]
    );
    assert_eq!(cmd("ZLEXCOUNT").arg("lex").arg("-").arg("+").query::<i64>(&mut c).unwrap(), 4);
    assert_eq!(
        err_of(cmd("ZLEXCOUNT").arg("lex").arg("b").arg("+").query(&mut c)),
        "ERR min or max not valid string range item"
    );
    assert_eq!(cmd("ZREMRANGEBYLEX").arg("lex").arg("[a").arg("[b").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("ZREMRANGEBYRANK").arg("lex").arg(0).arg(0).query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(cmd("ZREMRANGEBYSCORE").arg("lex").arg("-inf").arg("+inf").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(c.exists::<_, i64>("lex").unwrap(), 0);
    let _: () = cmd("ZADD").arg("y").arg(10).arg("a").arg(1).arg("x").query(&mut c).unwrap();
    assert_eq!(
        cmd("ZUNIONSTORE").arg("u").arg(2).arg("z").arg("y").arg("WEIGHTS").arg(1).arg(2).query::<i64>(&mut c).unwrap(),
        4
    );
    assert_eq!(cmd("ZSCORE").arg("u").arg("a").query::<f64>(&mut c).unwrap(), 26.0);
    assert_eq!(
        cmd("ZINTERSTORE").arg("i").arg(2).arg("z").arg("y").arg("AGGREGATE").arg("MAX").query::<i64>(&mut c).unwrap(),
        1
    );
    assert_eq!(cmd("ZSCORE").arg("i").arg("a").query::<f64>(&mut c).unwrap(), 10.0);
    assert_eq!(cmd("ZDIFFSTORE").arg("d").arg(2).arg("z").arg("y").query::<i64>(&mut c).unwrap(), 2);
    assert_eq!(cmd("ZUNION").arg(2).arg("z").arg("y").query::<Vec<String>>(&mut c).unwrap().len(), 4);
    assert_eq!(cmd("ZINTERCARD").arg(2).arg("z").arg("y").query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(
        err_of(cmd("ZUNIONSTORE").arg("u").arg(0).arg("z").query(&mut c)),
        "ERR at least 1 input key is needed for 'zunionstore' command"
    );
    assert_eq!(cmd("ZPOPMIN").arg("u").query::<Vec<String>>(&mut c).unwrap(), vec!["x", "2"]);
    assert_eq!(cmd("ZPOPMAX").arg("u").arg(2).query::<Vec<String>>(&mut c).unwrap(), vec!["a", "26", "c", "3"]);
    assert_eq!(cmd("ZRANDMEMBER").arg("z").arg(-5).query::<Vec<String>>(&mut c).unwrap().len(), 5);
    let (cur, items): (u64, Vec<String>) = cmd("ZSCAN").arg("z").arg(0).query(&mut c).unwrap();
    assert_eq!((cur, items.len()), (0, 6));
}

#[test]
fn zmpop_bzmpop_and_zrangestore() {
    let n = Node::start();
    let mut c = n.conn();
    let _: i64 = cmd("ZADD").arg("z").arg(1).arg("a").arg(2).arg("b").arg(3).arg("c").query(&mut c).unwrap();
    let got: (String, Vec<(String, f64)>) =
        cmd("ZMPOP").arg(2).arg("none").arg("z").arg("MAX").arg("COUNT").arg(2).query(&mut c).unwrap();
    assert_eq!(got, ("z".into(), vec![("c".into(), 3.0), ("b".into(), 2.0)]));
    let none: Option<(String, Vec<(String, f64)>)> = cmd("ZMPOP").arg(1).arg("none").arg("MIN").query(&mut c).unwrap();
    assert_eq!(none, None);
    assert_eq!(err_of(cmd("ZMPOP").arg(1).arg("z").arg("SIDEWAYS").query(&mut c)), "ERR syntax error");
    assert_eq!(
        err_of(cmd("ZMPOP").arg(1).arg("z").arg("MIN").arg("COUNT").arg(0).query(&mut c)),
        "ERR count should be greater than 0"
    );
    let got: (String, Vec<(String, f64)>) = cmd("BZMPOP").arg(0.1).arg(1).arg("z").arg("MIN").query(&mut c).unwrap();
    assert_eq!(got, ("z".into(), vec![("a".into(), 1.0)]));
    let timed_out: Option<(String, Vec<(String, f64)>)> =
        cmd("BZMPOP").arg(0.05).arg(1).arg("z").arg("MIN").query(&mut c).unwrap();
    assert_eq!(timed_out, None);

    let _: i64 = cmd("ZADD").arg("src").arg(1).arg("a").arg(2).arg("b").arg(3).arg("c").query(&mut c).unwrap();
    assert_eq!(cmd("ZRANGESTORE").arg("dst").arg("src").arg(1).arg(-1).query::<i64>(&mut c).unwrap(), 2);
    let stored: Vec<(String, f64)> = cmd("ZRANGE").arg("dst").arg(0).arg(-1).arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(stored, [("b".to_string(), 2.0), ("c".to_string(), 3.0)]);
    let by_score: i64 = cmd("ZRANGESTORE")
        .arg("dst")
        .arg("src")
        .arg(3)
        .arg(1)
        .arg("BYSCORE")
        .arg("REV")
        .arg("LIMIT")
        .arg(0)
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(by_score, 1);
    assert_eq!(cmd("ZRANGESTORE").arg("dst").arg("missing").arg(0).arg(-1).query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(cmd("EXISTS").arg("dst").query::<i64>(&mut c).unwrap(), 0, "an empty result deletes the destination");
    assert_eq!(
        err_of(cmd("ZRANGESTORE").arg("d").arg("src").arg(0).arg(-1).arg("WITHSCORES").query(&mut c)),
        "ERR syntax error"
    );
}
