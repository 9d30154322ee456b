"""redis-py, unmodified, against a data node: RESP2 and RESP3.

Run by tests/compat/clients.rs with the node's port as the only argument.
"""
import sys

import redis

port = int(sys.argv[1])
for proto in (2, 3):
    r = redis.Redis(port=port, protocol=proto)
    r.flushall()
    assert r.set("a", "1") is True
    assert r.get("a") == b"1"
    assert r.hset("h", mapping={"x": 1, "y": 2}) == 2
    assert r.hgetall("h") == {b"x": b"1", b"y": b"2"}
    r.zadd("z", {"m": 1.5, "n": 2})
    assert [list(p) for p in r.zrange("z", 0, -1, withscores=True)] == [[b"m", 1.5], [b"n", 2.0]]
    pipe = r.pipeline(transaction=True)
    pipe.incr("c")
    pipe.incr("c")
    assert pipe.execute() == [1, 2]
    assert r.blpop("nothing", timeout=0.1) is None
    ps = r.pubsub()
    ps.subscribe("ch")
    assert ps.get_message(timeout=1)["type"] == "subscribe"
    assert r.publish("ch", "hi") == 1
    assert ps.get_message(timeout=1)["data"] == b"hi"
    assert str(r.info()["redis_version"]).startswith("7")
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    r.set("t", 1, ex=100)
    assert r.ttl("t") == 100
    assert sorted(r.scan_iter("*")) == [b"a", b"c", b"h", b"t", b"z"]
    try:
        r.lpush("a", "x")
        raise AssertionError("WRONGTYPE expected")
    except redis.ResponseError as e:
        assert str(e).startswith("WRONGTYPE"), e
print("redis-py ok")
