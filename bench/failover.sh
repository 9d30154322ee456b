#!/usr/bin/env bash
# Failover timings for a 1+2 group with automatic failover, medians of N runs
# (default 5), on the docker runtime (RUNTIME=process for processes). The
# primary is killed (DISRUPT=test-failover: asked to hand over instead):
#   detection  kill → FailoverStarted event
#   promotion  kill → "Failover ... completed" event
#   sentinel   kill → the first SET accepted by the primary the Sentinel port names
#   describe   kill → the first SET accepted through the endpoint describe names
#   names      kill → `<group>-primary` on the new primary's container (docker)
# and how many writes acknowledged with WAIT 1 were lost (aim: 0).
# Usage: bench/failover.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
runtime=${RUNTIME:-docker}
disrupt=${DISRUPT:-kill}

cargo build --release --quiet -p control-plane -p data-node
scripts/build-static --quiet
node_bin=$([[ $runtime == docker ]] && echo target/x86_64-unknown-linux-gnu/release/data-node || echo target/release/data-node)

dir=$(mktemp -d)
port=$((18700 + RANDOM % 200))
sentinel=$((port + 200))
target/release/control-plane --listen 127.0.0.1:$port --data-dir "$dir" --runtime "$runtime" \
    --data-node-bin "$node_bin" --health-interval-ms 200 --sentinel-listen 127.0.0.1:$sentinel >/dev/null 2>"$dir/log" &
cp_pid=$!
trap 'kill $cp_pid 2>/dev/null; docker ps -aq --filter name=ferrocache-fo- | xargs -r docker rm -f >/dev/null; docker network ls -q --filter name=ferrocache-group-fo- | xargs -r docker network rm >/dev/null; docker volume ls -q --filter name=ferrocache-fo- | xargs -r docker volume rm >/dev/null; rm -rf "$dir"' EXIT
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
# Waits until a SET succeeds on a primary other than $2, found by `$1 $g`; prints "host port".
until_written() {
    local h p
    while true; do
        read -r h p _ < <($1 "$g") || true
        if [[ -n $h && "$h $p" != "$2" && $(redis-cli -h "$h" -p "$p" SET probe 1 2>/dev/null) == OK ]]; then
            echo "$h $p"
            return
        fi
        sleep 0.01
    done
}
discovered() { redis-cli -p "$sentinel" SENTINEL get-master-addr-by-name "$1" | tr '\n' ' '; }
named() { # the member cluster whose container holds <group>-primary
    for c in $(docker ps -q --filter "label=ferrocache.group=$1"); do
        if docker inspect -f "{{json .NetworkSettings.Networks}}" "$c" | grep -q "\"$1-primary\""; then
            docker inspect -f '{{index .Config.Labels "ferrocache.cluster"}}' "$c"
        fi
    done
}

detect=(); promote=(); via_sentinel=(); via_describe=(); names=(); lost=0
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
    if [[ $disrupt == test-failover ]]; then
        api -o /dev/null -X POST "$url/v1/replication-groups/$g/test-failover" -H 'content-type: application/json' \
            -d '{"node_group_id":"0001"}'
    elif [[ $runtime == docker ]]; then
        docker kill "ferrocache-$member-0001" >/dev/null
    else
        kill -9 "$(cat "$dir/nodes/$member/0001/pid")"
    fi
    # Sentinel first, so its figure does not include the describe polls.
    until_written discovered "$host $p" >/dev/null
    via_sentinel+=($(($(now_ms) - t0)))
    read -r nh np < <(until_written primary "$host $p")
    via_describe+=($(($(now_ms) - t0)))
    if [[ $runtime == docker ]]; then
        until [[ -n $(named "$g") && $(named "$g") != "$member" ]]; do sleep 0.01; done
        names+=($(($(now_ms) - t0)))
    fi
    detect+=($(($(event_ms "$g" FailoverStarted) - t0)))
    promote+=($(($(event_ms "$g" "completed in") - t0)))
    for k in $(seq "$acked"); do
        [[ $(redis-cli -h "$nh" -p "$np" GET "k$k") == "$k" ]] || lost=$((lost + 1))
    done
    api -o /dev/null -X DELETE "$url/v1/replication-groups/$g"
    until [[ $(api -o /dev/null -w '%{http_code}' "$url/v1/replication-groups/$g") == 404 ]]; do sleep 0.1; done
done
report() { (($# > 1)) && printf '%-24s median %5d ms  (runs: %s)\n' "$1" "$(printf '%s\n' "${@:2}" | median)" "${*:2}"; }
printf 'runtime %s, %s, %d runs, health checks every 200 ms, 3 misses to fail over\n' "$runtime" "$disrupt" "$runs"
report 'detection' "${detect[@]}"
report 'promotion' "${promote[@]}"
report 'writes ok via Sentinel' "${via_sentinel[@]}"
report 'writes ok via describe' "${via_describe[@]}"
report 'names moved' "${names[@]}"
printf 'acknowledged writes lost: %d\n' "$lost"
