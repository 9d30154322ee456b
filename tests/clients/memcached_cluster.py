"""An ElastiCache cluster client's view of a memcached cluster: Auto
Discovery from one endpoint (`config get cluster`), then pymemcache's
HashClient across the nodes found. Every key written must read back, and
each node is asked which of the keys it holds.

usage: memcached_cluster.py HOST:PORT TAG
prints {"version": N, "nodes": ["ip:port", ...], "held": {"ip:port": keys}}
"""

import json
import socket
import sys

from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient


def discover(host, port):
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(b"config get cluster\r\n")
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                raise SystemExit(f"connection closed after {reply!r}")
            reply += chunk
    header, rest = reply.split(b"\r\n", 1)
    if not header.startswith(b"CONFIG cluster 0 "):
        raise SystemExit(f"unexpected reply {reply!r}")
    body = rest[: int(header.split()[3])].decode()
    version, nodes = body.split("\n", 1)
    servers = []
    for node in nodes.split():
        name, ip, node_port = node.split("|")
        servers.append((ip or name, int(node_port)))
    return int(version), servers


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    tag = sys.argv[2]
    version, servers = discover(host, int(port))
    client = HashClient(servers, connect_timeout=5, timeout=5)
    keys = {f"{tag}:{i}": f"value-{i}".encode() for i in range(200)}
    for key, value in keys.items():
        if not client.set(key, value, noreply=False):
            raise SystemExit(f"set {key} failed")
    for key, value in keys.items():
        got = client.get(key)
        if got != value:
            raise SystemExit(f"get {key}: {got!r}, wrote {value!r}")
    held = {}
    for server in servers:
        node = Client(server, connect_timeout=5, timeout=5)
        held[f"{server[0]}:{server[1]}"] = len(node.get_many(list(keys)))
        node.close()
    print(json.dumps({"version": version, "nodes": [f"{h}:{p}" for h, p in servers], "held": held}))


main()
