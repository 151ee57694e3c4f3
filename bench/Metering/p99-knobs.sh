#!/usr/bin/env bash
# p99 at a fixed 500 req/s for gateway variants, one after the other in one run (issue #13: which knob moves the tail).
# Usage: bench/Metering/p99-knobs.sh SPEC...   SPEC = "label" or "label=VAR=value,VAR2=value" (extra environment of that
# metered gateway, SQLite, leases on, fresh database); label "a" = nginx directly, "b" = the gateway with metering off.
# Each gateway: 5 s wrk warm-up (32 connections, WU), then fixedrate.mjs at 500 req/s for LAT=10 s after 5 s. Needs a
# Release build of src/AiGateway, nginx, wrk, node. Prints p50/p99/p99.9 (ms) per variant; JSON per variant in the temp dir.
# In a SPEC, BUILD=<folder> runs that tree's build instead of this one (e.g. "main=BUILD=/tmp/main" "mine" alternated).
# SEQ=N: after the fixed-rate run, N sequential calls (sequential.mjs, 50 warm-up; the latency of a lone call).
# TIMERS=1: builds with bench/Metering/experiments/handoff-timers.patch write each call's steps to a CSV; the split of
# the fixed-rate run's measured part (and of the sequential calls) is printed by experiments/handoff-timers.py.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(cd "$here/../.." && pwd)"
tmp=$(mktemp -d /tmp/aigw-p99.XXXXXX); pids=(); runs=0
cleanup(){ for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(process.argv[1].split(".").reduce((v,k)=>v?.[k],o))})' "$1"; }
cd $repo
NGINX_PORT=$(free_port)
mkdir -p "$tmp/nginx-body" "$tmp/nginx-proxy" "$tmp/nginx-fastcgi" "$tmp/nginx-uwsgi" "$tmp/nginx-scgi"
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NGINX_PORT#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c 0 nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
sleep 1
ADMIN=adm$RANDOM
fr(){ local t0; t0=$(date +%s%3N); out=$(BENCH_KEY="${KEY:-}" taskset -c 0 node "$here/fixedrate.mjs" "$1" 500 ${LAT:-10} 5); echo "$out" > "$tmp/lat-$2.$((++runs)).json"
  FR_FROM=$((t0 + 5000)); FR_TO=$(date +%s%3N)
  echo "$2 p50 $(json p50 <<<"$out") p99 $(json p99 <<<"$out") p999 $(json p999 <<<"$out") lag $(json lagP99Ms <<<"$out") non200 $(json non200 <<<"$out") busy-before $busy"; }
busyp(){ a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat); sleep 1; b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", 100 * u / (u + i) }'; }
for spec in "$@"; do
  label=${spec%%=*}; envs=""; [ "$spec" != "$label" ] && envs=${spec#*=}; envs=${envs//,/ }
  busy=$(busyp)
  if [ "$label" = a ]; then KEY="" fr "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" a; continue; fi
  metering=true; [ "$label" = b ] && metering=false
  P=$(free_port); GW=http://127.0.0.1:$P
  build=$repo; rest=""
  for e in $envs; do case $e in BUILD=*) build=${e#BUILD=} ;; *) rest="$rest $e" ;; esac; done; envs=$rest
  csv="$tmp/timers-$label.$((runs + 1)).csv"
  Gateway__AdminKey=$ADMIN Ledger__Provider=Sqlite ConnectionStrings__Ledger="Data Source=$tmp/$label.db" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NGINX_PORT/" OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning Metering__Enabled=$metering Telemetry__PrometheusEnabled=false \
  Metering__JournalPath="$tmp/journal-$label.jsonl" Ledger__Leases=true Ledger__InstanceIdPath="$tmp/instance-$label.$runs" \
  AIGW_EXP_TIMERS=${TIMERS:-0} AIGW_EXP_TIMERS_FILE="$csv" \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 DOTNET_TC_CallCountingDelayMs=0 \
  env $envs taskset -c 1 dotnet $build/src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls $GW > "$tmp/gw-$label.$runs.log" 2>&1 &
  gp=$!; pids+=($gp)
  for i in $(seq 600); do curl -fsS -o /dev/null $GW/healthz 2>/dev/null && break; sleep 0.1; done
  adm(){ curl -fsS -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$2" "$GW$1"; }
  ACC=$(adm /admin/accounts "{\"name\":\"b$label\"}" | json id); KEY=$(adm "/admin/accounts/$ACC/keys" '{"name":"bench"}' | json key)
  adm "/admin/accounts/$ACC/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
  BENCH_KEY=$KEY BENCH_STREAM=0 taskset -c 0 wrk -t1 -c32 -d${WU:-5}s -s $here/post.lua $GW/openai/v1/chat/completions >/dev/null
  [ -n "${GCTRACE:-}" ] && { dotnet-counters collect -p $gp --counters System.Runtime -f csv -o $tmp/cnt-$label.csv --refresh-interval 1 >/dev/null 2>&1 & cp=$!; }
  KEY=$KEY fr "$GW/openai/v1/chat/completions" "$label"
  [ -n "${GCTRACE:-}" ] && kill $cp
  if [ "${TIMERS:-0}" = 1 ] && [ "$metering" = true ]; then sleep 1.5; echo "  split at 500 req/s:"; python3 "$here/experiments/handoff-timers.py" "$csv" $FR_FROM $FR_TO; fi
  if [ -n "${SEQ:-}" ]; then
    s0=$(date +%s%3N); out=$(BENCH_KEY=$KEY taskset -c 0 node "$here/sequential.mjs" "$GW/openai/v1/chat/completions" "$SEQ" 50); s1=$(date +%s%3N)
    echo "$out" > "$tmp/seq-$label.$runs.json"
    echo "$label lone call p50 $(json p50 <<<"$out") p90 $(json p90 <<<"$out") p99 $(json p99 <<<"$out") non200 $(json non200 <<<"$out")"
    if [ "${TIMERS:-0}" = 1 ] && [ "$metering" = true ]; then sleep 1.5; echo "  split of a lone call:"; python3 "$here/experiments/handoff-timers.py" "$csv" $s0 $s1; fi
  fi
  kill $gp; wait $gp 2>/dev/null
done
echo "tmp $tmp"
