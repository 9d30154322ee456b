#!/usr/bin/env bash
# Side-by-side: memcached 1.6 and the data node in memcached mode on loopback,
# driven by the same load generator (memcaslap, libmemcached-tools), then
# memory per item after loading the same items into each.
# Usage: bench/memcached_compare.sh [seconds-per-run] [items-for-memory]
# Prints ops/s for each server and the ratio data-node / memcached.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-10}
ITEMS=${2:-1000000}
MC_PORT=21211
NODE_PORT=21212
THREADS=${THREADS:-2}

if ! command -v memcached >/dev/null || ! command -v memcaslap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached libmemcached-tools >/dev/null
fi
NODE_BIN=${NODE_BIN:-target/release/data-node}
[[ $NODE_BIN == target/release/data-node ]] && cargo build --release -q -p data-node

start_servers() {
    memcached -u "$(id -un)" -l 127.0.0.1 -p $MC_PORT -U 0 -t "$THREADS" -m 2048 &
    MC_PID=$!
    "$NODE_BIN" --protocol memcached --bind 127.0.0.1 --port $NODE_PORT --threads "$THREADS" --memory-limit 2048 >/dev/null &
    NODE_PID=$!
    sleep 0.5
}
stop_servers() {
    kill "$MC_PID" "$NODE_PID" 2>/dev/null || true
    wait "$MC_PID" "$NODE_PID" 2>/dev/null || true
}
trap stop_servers EXIT

# memcaslap's workload file: key and value sizes, then the get/set mix.
config() { # set-proportion get-proportion
    local file
    file=$(mktemp)
    printf 'key\n16 16 1\nvalue\n32 32 1\ncmd\n0 %s\n1 %s\n' "$1" "$2" >"$file"
    echo "$file"
}

run() { # port mix-file concurrency multiget → ops/s
    memcaslap -s "127.0.0.1:$1" -F "$2" -T 1 -c "$3" -d "$4" -t "${SECS}s" 2>/dev/null |
        awk '/^Run time/ { for (i = 1; i <= NF; i++) if ($i == "TPS:") print $(i + 1) }' | tail -1
}

echo "workload                         memcached     data-node   ratio"
start_servers
for mix in "0.1 0.9" "0.5 0.5"; do
    file=$(config $mix)
    for conc in 16 128; do
        for multi in 1 20; do
            mc=$(run $MC_PORT "$file" "$conc" "$multi")
            node=$(run $NODE_PORT "$file" "$conc" "$multi")
            label="set/get ${mix/ /\/} c=$conc get-$multi"
            printf '%-32s %9s   %11s   %5s\n' "$label" "$mc" "$node" "$(awk -v a="$node" -v b="$mc" 'BEGIN { printf "%.2f", a / b }')"
        done
    done
    rm -f "$file"
done
stop_servers

# Memory per item: the same ITEMS items (16-byte keys, 32-byte values) into
# fresh servers, the growth of each process's resident memory divided by ITEMS.
start_servers
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
load() { # port
    python3 - "$1" "$ITEMS" <<'PY'
import socket, sys
port, items = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
value = b"v" * 32
batch = []
for i in range(items):
    batch.append(b"set key:%012d 0 0 32 noreply\r\n%s\r\n" % (i, value))
    if len(batch) == 10000:
        s.sendall(b"".join(batch))
        batch.clear()
s.sendall(b"".join(batch) + b"mn\r\n")
buf = b""
while not buf.endswith(b"MN\r\n"):
    buf += s.recv(65536)
PY
}
echo
echo "memory per item after $ITEMS items (16-byte keys, 32-byte values)"
for server in memcached:$MC_PORT:$MC_PID data-node:$NODE_PORT:$NODE_PID; do
    IFS=: read -r name port pid <<<"$server"
    before=$(rss_kb "$pid")
    load "$port"
    after=$(rss_kb "$pid")
    printf '%-10s %6.1f bytes/item (RSS %d MB -> %d MB)\n' "$name" "$(awk -v a="$after" -v b="$before" -v n="$ITEMS" 'BEGIN { print (a - b) * 1024 / n }')" $((before / 1024)) $((after / 1024))
done
