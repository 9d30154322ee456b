#!/usr/bin/env bash
# Side-by-side: redis-server 7 and the data node on loopback, driven by the
# same redis-benchmark; prints throughput and memory ratios (data-node / redis),
# and each server's CPU time per request (ratio redis / data-node: >1 is cheaper).
# Usage: bench/redis_compare.sh [requests-per-test at -P 1] [keys-for-memory]
# TESTS takes redis-benchmark's test names and these arbitrary commands:
# evalsha (a script that INCRs a key), pfadd, setbit, geoadd (random keys or members).
# (at -P 16 each test sends ten times as many requests, so it lasts long enough to measure)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-200000}
KEYS=${2:-1000000}
TESTS=${TESTS:-set,get,incr,lpush,lpop,hset,zadd}
CLIENT_THREADS=${CLIENT_THREADS:-1}
REDIS_PORT=16379
NODE_PORT=16380

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
# NODE_BIN runs another build of the node (an A/B against an older commit, say).
NODE_BIN=${NODE_BIN:-target/release/data-node}
[[ $NODE_BIN == target/release/data-node ]] && cargo build --release -q -p data-node

redis-server --port $REDIS_PORT --save "" --appendonly no --daemonize no >/dev/null &
REDIS_PID=$!
# NODE_FLAGS passes extra flags to the data node, e.g. NODE_FLAGS="--threads 1".
# Its own dir: the node saves its data there when it is stopped.
NODE_DIR=$(mktemp -d)
"$NODE_BIN" --port $NODE_PORT --dir "$NODE_DIR" ${NODE_FLAGS:-} >/dev/null &
NODE_PID=$!
trap 'kill $REDIS_PID $NODE_PID 2>/dev/null; sleep 0.2; rm -rf "$NODE_DIR"' EXIT
sleep 0.5

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
TICK_US=$((1000000 / $(getconf CLK_TCK)))

INCR_SCRIPT="return redis.call('incr', KEYS[1])"
# The command line of an arbitrary-command test; empty for redis-benchmark's own tests.
custom_command() {
    case $1 in
        evalsha) echo "EVALSHA $(echo -n "$INCR_SCRIPT" | sha1sum | cut -d' ' -f1) 1 counter:__rand_int__" ;;
        pfadd) echo "PFADD hll element:__rand_int__" ;;
        setbit) echo "SETBIT bitmap:__rand_int__ 100 1" ;;
        geoadd) echo "GEOADD geo 13.361389 38.115556 member:__rand_int__" ;;
    esac
}

bench() { # port pid pipeline test → "rps cpu_us_per_request" (the server's own CPU time)
    local n=$N
    [[ $3 -gt 1 ]] && n=$((N * 10))
    local before after rps command
    command=$(custom_command "$4")
    local what=(-t "$4")
    # shellcheck disable=SC2206 # the command's words are meant to split
    [[ -n $command ]] && what=(-r 1000000 $command)
    before=$(cpu_ticks "$2")
    rps=$(redis-benchmark -p "$1" -c 50 -n "$n" -P "$3" --threads "$CLIENT_THREADS" --csv -q "${what[@]}" 2>/dev/null |
        awk -F'","' 'NR==2 { gsub(/"/, "", $2); print $2 }')
    after=$(cpu_ticks "$2")
    echo "$rps $(echo "($after - $before) * $TICK_US / $n" | bc -l)"
}

info_field() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }

load_keys() { # port: SET key:000000000001 .. with a 3-byte value, like redis-benchmark's keys
    python3 - "$KEYS" <<'PY' | redis-cli -p "$1" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    k = f"key:{i:012d}"
    out.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n$3\r\nxxx\r\n")
PY
}

# Memory first, on fresh servers: freed benchmark data would hide RSS growth.
r_used0=$(info_field $REDIS_PORT used_memory); n_used0=$(info_field $NODE_PORT used_memory)
r_rss0=$(rss $REDIS_PID); n_rss0=$(rss $NODE_PID)
load_keys $REDIS_PORT
load_keys $NODE_PORT
r_used=$(( $(info_field $REDIS_PORT used_memory) - r_used0 )); n_used=$(( $(info_field $NODE_PORT used_memory) - n_used0 ))
r_rss=$(( $(rss $REDIS_PID) - r_rss0 )); n_rss=$(( $(rss $NODE_PID) - n_rss0 ))
echo
printf '%-24s %12s %12s %8s\n' "memory, $KEYS keys" redis node ratio
printf '%-24s %12.1f %12.1f %8.2f\n' "used_memory bytes/key" "$(echo "$r_used / $KEYS" | bc -l)" "$(echo "$n_used / $KEYS" | bc -l)" "$(echo "$n_used / $r_used" | bc -l)"
printf '%-24s %12.1f %12.1f %8.2f\n' "RSS growth bytes/key" "$(echo "$r_rss / $KEYS" | bc -l)" "$(echo "$n_rss / $KEYS" | bc -l)" "$(echo "$n_rss / $r_rss" | bc -l)"
printf '%-24s %12s %12.2f\n' "node used/RSS growth" "" "$(echo "$n_used / $n_rss" | bc -l)"
for port in $REDIS_PORT $NODE_PORT; do
    redis-cli -p $port FLUSHALL >/dev/null
    redis-cli -p $port SCRIPT LOAD "$INCR_SCRIPT" >/dev/null
done
echo
# With one client thread, throughput at -P 1 is bounded by redis-benchmark
# itself (~100% of a core, the servers well below): the CPU each server
# spends per request says more there. CLIENT_THREADS=2 lets the client use
# both cores. ROUNDS>1 repeats each test and reports medians.
ROUNDS=${ROUNDS:-1}
echo "redis-benchmark threads: $CLIENT_THREADS"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-8s %-4s %11s %11s %6s   %9s %9s %6s\n' test pipe redis_rps node_rps ratio redis_us node_us ratio
for P in 1 16; do
    for t in ${TESTS//,/ }; do
        r_rps=(); n_rps=(); r_cpu=(); n_cpu=()
        for _ in $(seq "$ROUNDS"); do
            # One server at a time: the two benchmarks must not share the cores.
            read -r rr rc < <(bench $REDIS_PORT $REDIS_PID $P $t)
            read -r nr nc < <(bench $NODE_PORT $NODE_PID $P $t)
            r_rps+=("$rr"); n_rps+=("$nr"); r_cpu+=("$rc"); n_cpu+=("$nc")
        done
        rr=$(printf '%s\n' "${r_rps[@]}" | median); nr=$(printf '%s\n' "${n_rps[@]}" | median)
        rc=$(printf '%s\n' "${r_cpu[@]}" | median); nc=$(printf '%s\n' "${n_cpu[@]}" | median)
        printf '%-8s %-4s %11.0f %11.0f %6.2f   %9.2f %9.2f %6.2f\n' "$(echo "$t" | tr a-z A-Z)" "P$P" \
            "$rr" "$nr" "$(echo "$nr / $rr" | bc -l)" "$rc" "$nc" "$(echo "$rc / $nc" | bc -l)"
    done
done
