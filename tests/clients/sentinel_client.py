"""redis-py's Sentinel support against the control plane's discovery port.

Usage: sentinel_client.py HOST PORT GROUP TAG
Discovers the group's primary and replicas, writes and reads a key through
`master_for`, and prints the primary's address and the replica count.
"""
import sys

from redis.sentinel import Sentinel

host, port, group, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sentinel = Sentinel([(host, port)], socket_timeout=2)
primary = sentinel.discover_master(group)
replicas = sentinel.discover_slaves(group)
client = sentinel.master_for(group, socket_timeout=2)
client.set(f"via-sentinel-{tag}", tag)
assert client.get(f"via-sentinel-{tag}") == tag.encode()
print(f"{primary[0]}:{primary[1]} {len(replicas)}")
