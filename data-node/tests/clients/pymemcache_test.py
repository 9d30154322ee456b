"""pymemcache, unmodified, against the data node in memcached mode: every
command it offers, with noreply both ways, and the errors it raises."""

import sys
import time

from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import (
    MemcacheClientError,
    MemcacheIllegalInputError,
    MemcacheServerError,
)

port = int(sys.argv[1])
mc = Client(("127.0.0.1", port), default_noreply=False, connect_timeout=5, timeout=5)
quiet = Client(("127.0.0.1", port), default_noreply=True, timeout=5)


def check(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


mc.flush_all()
check(mc.version(), b"1.6.18", "version")

# set / get / flags (pymemcache returns bytes without a serde)
check(mc.set("k", b"v1", expire=0, flags=7), True, "set")
check(mc.get("k"), b"v1", "get")
check(mc.get("missing"), None, "get miss")
check(mc.get("missing", default=b"d"), b"d", "get default")
check(quiet.set("q", b"quiet"), True, "set noreply")
check(quiet.get("q"), b"quiet", "get after noreply set, same connection")
check(mc.raw_command("mg k f v", b"v1\r\n").startswith(b"VA 2 f7\r\n"), True, "flags kept")

# many
check(mc.set_many({"a": b"1", "b": b"2", "c": b"3"}), [], "set_many")
check(mc.get_many(["a", "b", "c", "nope"]), {"a": b"1", "b": b"2", "c": b"3"}, "get_many")
check(mc.delete_many(["a", "b"]), True, "delete_many")
check(mc.get_many(["a", "b", "c"]), {"c": b"3"}, "get_many after delete")

# add / replace / append / prepend
check(mc.add("k", b"x", noreply=False), False, "add existing")
check(mc.add("new", b"x", noreply=False), True, "add new")
check(mc.replace("absent", b"x", noreply=False), False, "replace absent")
check(mc.replace("new", b"y", noreply=False), True, "replace")
check(mc.append("new", b"z", noreply=False), True, "append")
check(mc.prepend("new", b"w", noreply=False), True, "prepend")
check(mc.get("new"), b"wyz", "append/prepend result")
check(mc.append("absent", b"z", noreply=False), False, "append absent")

# gets / cas
value, cas = mc.gets("new")
check(value, b"wyz", "gets value")
check(mc.cas("new", b"swapped", cas), True, "cas match")
check(mc.cas("new", b"again", cas), False, "cas stale")
check(mc.cas("absent", b"x", b"1"), None, "cas missing")
check(mc.get("new"), b"swapped", "after cas")
check(mc.gets_many(["new", "absent"])["new"][0], b"swapped", "gets_many")

# incr / decr
mc.set("n", b"10")
check(mc.incr("n", 5), 15, "incr")
check(mc.decr("n", 20), 0, "decr floors at 0")
check(mc.incr("absent", 1), None, "incr missing")
mc.set("n", b"18446744073709551615")
check(mc.incr("n", 2), 1, "incr wraps")
mc.set("s", b"text")
try:
    mc.incr("s", 1)
    raise AssertionError("incr of a non-number should fail")
except MemcacheClientError as e:
    check("cannot increment or decrement non-numeric value" in str(e), True, f"incr error text {e}")

# delete / touch / expiry
check(mc.delete("k", noreply=False), True, "delete")
check(mc.delete("k", noreply=False), False, "delete missing")
mc.set("t", b"x", expire=100)
check(mc.touch("t", 1, noreply=False), True, "touch")
check(mc.touch("absent", 1, noreply=False), False, "touch missing")
mc.set("gone", b"x", expire=-1)
check(mc.get("gone"), None, "negative exptime is expired")
mc.set("abs", b"x", expire=int(time.time()) + 3600)
check(mc.get("abs"), b"x", "absolute exptime")
check(mc.raw_command("mg abs t", b"\r\n").startswith(b"HD t3"), True, "absolute exptime ttl")
check(mc.raw_command("gat 50 abs", b"END\r\n"), b"VALUE abs 0 1\r\nx\r\n", "gat")
check(mc.raw_command("mg abs t", b"\r\n"), b"HD t50", "gat sets ttl")

# flush_all, stats, cache_memlimit, verbosity-free commands
check(mc.flush_all(noreply=False), True, "flush_all")
check(mc.get("abs"), None, "flushed")
stats = mc.stats()
for name in [b"pid", b"uptime", b"curr_items", b"total_items", b"cmd_get", b"get_hits", b"get_misses", b"limit_maxbytes", b"threads"]:
    check(name in stats, True, f"stats has {name!r}")
settings = mc.stats("settings")
check(settings[b"item_size_max"], 1048576, "stats settings")
check(mc.cache_memlimit(128), True, "cache_memlimit")
check(mc.stats()[b"limit_maxbytes"], 128 << 20, "cache_memlimit applied")

# errors pymemcache raises before sending, and the server's own
try:
    mc.set("bad key", b"x")
    raise AssertionError("a key with a space should be refused")
except MemcacheIllegalInputError:
    pass
big = Client(("127.0.0.1", port), allow_unicode_keys=False, timeout=5)
try:
    big.set("huge", b"x" * (2 << 20), noreply=False)
    raise AssertionError("an item over -I should be refused")
except MemcacheServerError as e:
    check("object too large for cache" in str(e), True, f"too large text {e}")
check(big.set("after", b"fine", noreply=False), True, "usable after too large")
check(big.get("after"), b"fine", "value after too large")

# meta commands through raw_command
mc.set("m", b"hi", flags=3)
check(mc.raw_command("mg m v f k O9", b"hi\r\n").startswith(b"VA 2 f3 km O9\r\n"), True, "mg")
check(mc.raw_command("md m O1", b"\r\n"), b"HD O1", "md")
check(mc.raw_command("mg m v", b"\r\n"), b"EN", "mg after md")

# HashClient across two connections to the same node behaves as one cache
hc = HashClient([("127.0.0.1", port)], use_pooling=True)
for i in range(100):
    hc.set(f"h{i}", str(i).encode())
check(all(hc.get(f"h{i}") == str(i).encode() for i in range(100)), True, "HashClient round trip")

print("pymemcache: all checks passed")
