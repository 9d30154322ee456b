#!/usr/bin/env bash
# Provisioning time: POST → `available` for a 1-node cluster and a 1+2
# replication group, on the docker and on the process runtime; median of N
# runs (default 5). Aim: under 3 s for the group on Docker.
# Usage: bench/provision.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

cargo build --release --quiet -p control-plane -p data-node
scripts/build-static --quiet
static_node=target/x86_64-unknown-linux-gnu/release/data-node

now_ms() { date +%s%3N; }

# status of the first "status" field in a resource's JSON
status_of() { curl -s "$url$1" -H "Authorization: Bearer $token" | grep -o '"status":"[^"]*"' | head -1 | cut -d'"' -f4; }

wait_for() { # path wanted
    while true; do
        s=$(status_of "$1")
        [[ $s == "$2" ]] && return 0
        [[ $s == create-failed ]] && { echo "create-failed: $1" >&2; return 1; }
        sleep 0.01
    done
}

wait_gone() {
    while [[ $(curl -s -o /dev/null -w '%{http_code}' "$url$1" -H "Authorization: Bearer $token") != 404 ]]; do
        sleep 0.05
    done
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

post() { curl -s -o /dev/null -X POST "$url$1" -H "Authorization: Bearer $token" -H 'content-type: application/json' -d "$2"; }

for runtime in ${RUNTIMES:-docker process}; do
    dir=$(mktemp -d)
    port=$((18500 + RANDOM % 500))
    target/release/control-plane --listen 127.0.0.1:$port --data-dir "$dir" --runtime $runtime \
        --data-node-bin "$([[ $runtime == docker ]] && echo $static_node || echo target/release/data-node)" \
        >/dev/null 2>"$dir/log" &
    cp_pid=$!
    url=http://127.0.0.1:$port
    until [[ -s $dir/admin-token ]] && curl -s -o /dev/null "$url/healthz"; do sleep 0.05; done
    token=$(cat "$dir/admin-token")

    # One unmeasured run so the docker image exists before timing.
    post /v1/cache-clusters '{"cache_cluster_id":"warmup"}'
    wait_for /v1/cache-clusters/warmup available
    curl -s -o /dev/null -X DELETE "$url/v1/cache-clusters/warmup" -H "Authorization: Bearer $token"
    wait_gone /v1/cache-clusters/warmup

    cluster_ms=(); group_ms=()
    for i in $(seq "$runs"); do
        t0=$(now_ms)
        post /v1/cache-clusters "{\"cache_cluster_id\":\"bench-c$i\"}"
        wait_for "/v1/cache-clusters/bench-c$i" available
        cluster_ms+=($(($(now_ms) - t0)))

        t0=$(now_ms)
        post /v1/replication-groups "{\"replication_group_id\":\"bench-g$i\",\"replication_group_description\":\"bench\",\"num_cache_clusters\":3}"
        wait_for "/v1/replication-groups/bench-g$i" available
        group_ms+=($(($(now_ms) - t0)))

        curl -s -o /dev/null -X DELETE "$url/v1/cache-clusters/bench-c$i" -H "Authorization: Bearer $token"
        curl -s -o /dev/null -X DELETE "$url/v1/replication-groups/bench-g$i" -H "Authorization: Bearer $token"
        wait_gone "/v1/cache-clusters/bench-c$i"
        wait_gone "/v1/replication-groups/bench-g$i"
    done
    kill $cp_pid; wait $cp_pid 2>/dev/null || true
    rm -rf "$dir"
    printf '%-8s 1-node cluster: median %5d ms  (runs: %s)\n' $runtime "$(printf '%s\n' "${cluster_ms[@]}" | median)" "${cluster_ms[*]}"
    printf '%-8s 1+2 group:      median %5d ms  (runs: %s)\n' $runtime "$(printf '%s\n' "${group_ms[@]}" | median)" "${group_ms[*]}"
done
