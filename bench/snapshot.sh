#!/usr/bin/env bash
# Snapshot of a ~1 GB dataset, the data node beside redis-server (BGSAVE:
# fork and copy-on-write), each taking SETs over its keys from a writer
# throughout. Prints for each: how long the save took, the extra memory it
# held (redis-server: its child's copy-on-write, rdb_last_cow_size; the data
# node: its RSS growth during the save), and the p99 latency of GETs while
# it saves divided by the p99 without a save. Values are random bytes (LZF
# would shrink redis-server's file of repeated bytes to nothing).
# Usage: bench/snapshot.sh [keys] [value-bytes]     (default 1000000 x 1000 B)
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
SIZE=${2:-1000}
REDIS_PORT=16381
NODE_PORT=16382

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
cargo build --release -q -p data-node

REDIS_DIR=$(mktemp -d)
NODE_DIR=$(mktemp -d)
redis-server --port $REDIS_PORT --save "" --appendonly no --dir "$REDIS_DIR" --daemonize no >/dev/null &
REDIS_PID=$!
target/release/data-node --port $NODE_PORT --dir "$NODE_DIR" >/dev/null &
NODE_PID=$!
trap 'kill $REDIS_PID $NODE_PID 2>/dev/null; wait $REDIS_PID $NODE_PID 2>/dev/null; rm -rf "$REDIS_DIR" "$NODE_DIR"' EXIT
sleep 0.5

load() { # port: key:000000000000 .. (redis-benchmark's key names) with SIZE-byte values
    python3 - "$KEYS" "$SIZE" <<'PY' | redis-cli -p "$1" --pipe >/dev/null
import os, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
noise = os.urandom(1 << 20)
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    at = (i * 7919) % (len(noise) - size)
    value = noise[at:at + size]
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, value))
PY
}

# Resident memory, read from /proc/PID/status: cheap (reading smaps_rollup
# every 50 ms walks the page tables of a 1 GB process and stalls it).
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status"; }

saving() { redis-cli -p "$1" INFO persistence | tr -d '\r' | grep -q '^rdb_bgsave_in_progress:1'; }

get_p99() { # port requests → "rps p99_ms" of GETs of the loaded keys
    redis-benchmark -p "$1" -c 50 -n "$2" -r "$KEYS" -t get --csv -q 2>/dev/null |
        awk -F'","' 'NR==2 { gsub(/"/, "", $2); gsub(/"/, "", $7); print $2, $7 }'
}

writer() { # port: SETs over the loaded keys, 8 clients, until killed (what makes copy-on-write cost)
    redis-benchmark -p "$1" -c 8 -n 1000000000 -r "$KEYS" -d "$SIZE" -t set -q >/dev/null 2>&1 &
    echo $!
}

wait_save() { # port pid → "seconds peak_extra_bytes" from now to the end of the save under way
    local before=$3 peak=$3 now started=$4
    while saving "$1"; do
        now=$(rss "$2")
        ((now > peak)) && peak=$now
        sleep 0.05
    done
    echo "$(echo "$(date +%s.%N) - $started" | bc -l) $((peak - before))"
}

# What a save held beyond the data: redis-server's forked child's copied
# pages (its own rdb_last_cow_size: the parent's RSS does not show them);
# the data node's growth in RSS (no other process) during the save.
extra_memory() { # name port rss_growth
    if [[ $1 == redis ]]; then
        redis-cli -p "$2" INFO persistence | tr -d '\r' | awk -F: '$1=="rdb_last_cow_size" {print $2}'
    else
        echo "$3"
    fi
}

report() { # name port pid
    local used secs rps idle during extra started before w
    used=$(redis-cli -p "$2" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory" {print $2}')
    w=$(writer "$2")
    # The writer runs throughout: idle and during differ by the save alone.
    sleep 1
    read -r rps idle <<<"$(get_p99 "$2" 200000)"
    # A first save sizes the GET run so that it ends inside the timed save.
    before=$(rss "$3")
    started=$(date +%s.%N)
    redis-cli -p "$2" BGSAVE >/dev/null
    sleep 0.05
    read -r secs extra <<<"$(wait_save "$2" "$3" "$before" "$started")"
    sleep 1
    before=$(rss "$3")
    started=$(date +%s.%N)
    redis-cli -p "$2" BGSAVE >/dev/null
    sleep 0.05
    wait_save "$2" "$3" "$before" "$started" >"$NODE_DIR/save-$2" &
    local watcher=$!
    read -r _ during <<<"$(get_p99 "$2" "$(echo "$rps * $secs * 0.7 / 1" | bc)")"
    wait $watcher
    read -r secs extra <"$NODE_DIR/save-$2"
    extra=$(extra_memory "$1" "$2" "$extra")
    kill "$w" 2>/dev/null || true
    printf '%-10s used %6.0f MB  save %6.2f s  extra memory %7.1f MB (%5.1f%% of used)  p99 GET idle %.3f ms, saving %.3f ms (x%.2f)\n' \
        "$1" "$(echo "$used / 1048576" | bc -l)" "$secs" "$(echo "$extra / 1048576" | bc -l)" \
        "$(echo "$extra * 100 / $used" | bc -l)" "$idle" "$during" "$(echo "$during / $idle" | bc -l)"
}

echo "loading $KEYS keys of $SIZE bytes into each server..."
load $REDIS_PORT
load $NODE_PORT
report redis $REDIS_PORT $REDIS_PID
report data-node $NODE_PORT $NODE_PID
