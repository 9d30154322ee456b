#!/usr/bin/env bash
# Failover timings for a 1+2 group with automatic failover, medians of N runs
# (default 5), on the docker runtime (RUNTIME=process for processes):
#   detection  kill of the primary → FailoverStarted event
#   promotion  kill → "Failover ... completed" event
#   writes     kill → the first SET accepted through the endpoint describe names
# and how many writes acknowledged with WAIT 1 were lost (aim: 0).
# Usage: bench/failover.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
runtime=${RUNTIME:-docker}

cargo build --release --quiet -p control-plane -p data-node
scripts/build-static --quiet
node_bin=$([[ $runtime == docker ]] && echo target/x86_64-unknown-linux-gnu/release/data-node || echo target/release/data-node)

dir=$(mktemp -d)
port=$((18700 + RANDOM % 200))
target/release/control-plane --listen 127.0.0.1:$port --data-dir "$dir" --runtime "$runtime" \
    --data-node-bin "$node_bin" --health-interval-ms 200 >/dev/null 2>"$dir/log" &
cp_pid=$!
trap 'kill $cp_pid 2>/dev/null; docker ps -aq --filter name=ferrocache-fo- | xargs -r docker rm -f >/dev/null; docker network ls -q --filter name=ferrocache-fo- | xargs -r docker network rm >/dev/null; docker volume ls -q --filter name=ferrocache-fo- | xargs -r docker volume rm >/dev/null; rm -rf "$dir"' EXIT
url=http://127.0.0.1:$port
until [[ -s $dir/admin-token ]] && curl -s -o /dev/null "$url/healthz"; do sleep 0.05; done
auth=(-H "Authorization: Bearer $(cat "$dir/admin-token")")
now_ms() { date +%s%3N; }
api() { curl -s "${auth[@]}" "$@"; }
primary() { api "$url/v1/replication-groups/$1" | python3 -c 'import json,sys; g=json.load(sys.stdin)["node_groups"][0]; e=g["primary_endpoint"]; m=[x["cache_cluster_id"] for x in g["node_group_members"] if x["current_role"]=="primary"][0]; print(e["address"], e["port"], m)'; }
event_ms() { # group text → ms of the first event containing text, or empty
    api "$url/v1/events?source_identifier=$1" | python3 -c '
import json,sys,datetime
for e in json.load(sys.stdin)["events"]:
    if sys.argv[1] in e["message"]:
        print(int(datetime.datetime.fromisoformat(e["date"].replace("Z","+00:00")).timestamp()*1000)); break' "$2"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

detect=(); promote=(); writes=(); lost=0
for i in $(seq "$runs"); do
    g=fo-$i
    api -o /dev/null -X POST "$url/v1/replication-groups" -H 'content-type: application/json' \
        -d "{\"replication_group_id\":\"$g\",\"replication_group_description\":\"bench\",\"num_cache_clusters\":3,\"automatic_failover_enabled\":true}"
    until [[ $(api "$url/v1/replication-groups/$g" | grep -o '"status":"[a-z-]*"' | head -1) == '"status":"available"' ]]; do sleep 0.05; done
    read -r host p member < <(primary "$g")
    acked=0
    for k in $(seq 200); do
        redis-cli -h "$host" -p "$p" SET "k$k" "$k" >/dev/null
        [[ $(redis-cli -h "$host" -p "$p" WAIT 1 1000) -ge 1 ]] && acked=$k
    done
    t0=$(now_ms)
    if [[ $runtime == docker ]]; then docker kill "ferrocache-$member-0001" >/dev/null; else kill -9 "$(cat "$dir/nodes/$member/0001/pid")"; fi
    while true; do
        read -r nh np nm < <(primary "$g")
        if [[ $nm != "$member" ]] && [[ $(redis-cli -h "$nh" -p "$np" SET probe 1 2>/dev/null) == OK ]]; then break; fi
        sleep 0.01
    done
    writes+=($(($(now_ms) - t0)))
    detect+=($(($(event_ms "$g" FailoverStarted) - t0)))
    promote+=($(($(event_ms "$g" "completed in") - t0)))
    for k in $(seq "$acked"); do
        [[ $(redis-cli -h "$nh" -p "$np" GET "k$k") == "$k" ]] || lost=$((lost + 1))
    done
    api -o /dev/null -X DELETE "$url/v1/replication-groups/$g"
    until [[ $(api -o /dev/null -w '%{http_code}' "$url/v1/replication-groups/$g") == 404 ]]; do sleep 0.1; done
done
printf 'runtime %s, %d runs, health checks every 200 ms, 3 misses to fail over\n' "$runtime" "$runs"
printf 'detection  median %5d ms  (runs: %s)\n' "$(printf '%s\n' "${detect[@]}" | median)" "${detect[*]}"
printf 'promotion  median %5d ms  (runs: %s)\n' "$(printf '%s\n' "${promote[@]}" | median)" "${promote[*]}"
printf 'writes ok  median %5d ms  (runs: %s)\n' "$(printf '%s\n' "${writes[@]}" | median)" "${writes[*]}"
printf 'acknowledged writes lost: %d\n' "$lost"
