#!/usr/bin/env bash
# Cost of the metrics export on the metered path (issue #15): two metered gateways alive at once against one nginx
# upstream, (c) metrics off and (d) metrics on with /metrics scraped every second, measured in alternating short wrk
# runs (JSON and SSE) so that the machine's changing load falls on both alike. Prints throughput and gateway CPU per
# request, on ÷ off, over ROUNDS rounds after one warm-up round. Knobs: ROUNDS=5 SECONDS_PER_RUN=3 NO_BUILD=1.
# Needs nginx, wrk, node and the .NET SDK (run.sh installs nginx and wrk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
if [ -z "${NO_BUILD:-}" ]; then dotnet build "$repo/src/AiGateway" -c Release -v q -nologo >/dev/null; fi
tmp=$(mktemp -d /tmp/aigw-metrics-ab.XXXXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(process.argv[1].split(".").reduce((v,k)=>v?.[k],o))})' "$1"; }
NGINX_PORT=$(free_port)
mkdir -p "$tmp/nginx-body" "$tmp/nginx-proxy" "$tmp/nginx-fastcgi" "$tmp/nginx-uwsgi" "$tmp/nginx-scgi"
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NGINX_PORT#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c 0 nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
sleep 1
ADMIN_KEY="ab-admin-$RANDOM$RANDOM"
declare -A URL PID
start() { # name telemetry
  local port; port=$(free_port)
  Gateway__AdminKey="$ADMIN_KEY" ConnectionStrings__Ledger="Data Source=$tmp/$1.db" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NGINX_PORT/" OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning Metering__JournalPath="$tmp/journal-$1.jsonl" Ledger__InstanceIdPath="$tmp/instance-$1" \
  Telemetry__PrometheusEnabled="$2" RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
  DOTNET_TC_CallCountingDelayMs=0 taskset -c 1 dotnet $repo/src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$port" >"$tmp/gw-$1.log" 2>&1 &
  PID[$1]=$!; pids+=($!); URL[$1]="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -fsS -o /dev/null "${URL[$1]}/healthz" 2>/dev/null && break; sleep 0.2; done
  # A free port can be taken by someone else meanwhile: make sure it is this gateway that answers.
  kill -0 "${PID[$1]}" || { echo "gateway $1 did not start: $(tail -3 "$tmp/gw-$1.log")" >&2; exit 1; }
}
start c false; start d true
curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "${URL[d]}/metrics"
declare -A KEY
for g in c d; do
  a() { curl -fsS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2" "${URL[$g]}$1"; }
  acc=$(a /admin/accounts '{"name":"bench"}' | json id); KEY[$g]=$(a "/admin/accounts/$acc/keys" '{"name":"b"}' | json key)
  a "/admin/accounts/$acc/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
done
( while kill -0 "${PID[d]}" 2>/dev/null; do curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "${URL[d]}/metrics" || true; sleep 1; done ) & pids+=($!)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run() { # gateway stream seconds -> "rps ticks"
  local t0 t1 out
  t0=$(ticks "${PID[$1]}")
  out=$(BENCH_KEY="${KEY[$1]}" BENCH_STREAM=$2 taskset -c 0 wrk -t1 -c32 -d"$3s" -s "$here/post.lua" "${URL[$1]}/openai/v1/chat/completions")
  t1=$(ticks "${PID[$1]}")
  echo "$(awk '/requests in/ { print $1 }' <<<"$out") $((t1 - t0))"
}
for g in c d; do run $g 0 4 >/dev/null; run $g 1 3 >/dev/null; done # warm-up (JIT, pools), not counted
declare -A N T
for r in $(seq "$ROUNDS"); do
  for g in c d; do for s in 0 1; do
    read -r n t < <(run $g $s "$SECONDS_PER_RUN"); N[$g.$s]=$(( ${N[$g.$s]:-0} + n )); T[$g.$s]=$(( ${T[$g.$s]:-0} + t ))
    echo "round $r $g stream=$s: $n requests, $t ticks"
  done; done
done
hz=$(getconf CLK_TCK)
for s in 0 1; do
  awk -v nc="${N[c.$s]}" -v nd="${N[d.$s]}" -v tc="${T[c.$s]}" -v td="${T[d.$s]}" -v hz="$hz" -v s="$s" 'BEGIN {
    printf "%s: requests off %d on %d (on/off %.3f); CPU us/request off %.0f on %.0f (on/off %.3f)\n", (s ? "SSE" : "JSON"), nc, nd, nd / nc, tc * 1e6 / hz / nc, td * 1e6 / hz / nd, (td / nd) / (tc / nc) }'
done
curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "${URL[d]}/metrics" | awk '/^aigateway_calls_total/ { s += $NF } END { print "aigateway_calls_total on (d):", s }'
