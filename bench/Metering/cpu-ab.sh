#!/usr/bin/env bash
# Gateway CPU per request of two builds side by side (issue #13): builds A and B (folders holding a built gateway,
# e.g. main's code and a branch), each as (b) metering off, (n) metered with the ledger and the call-record store
# skipped, and (c) metered in full, all alive at once against one nginx upstream and measured in alternating short
# wrk runs (JSON, then SSE) so that the machine's changing load falls on all of them alike. Prints CPU µs per request
# (gateway CPU time ÷ requests: the figure a busy machine blurs least) and req/s per gateway, and B ÷ A.
# (n) needs bench/Metering/experiments/skip-ledger-and-record.patch applied to both builds (AIGW_EXP_NOLEDGER=1,
# AIGW_EXP_NORECORD=1); without it (n) is the same as (c).
# Before measuring, every gateway is loaded at once for WARMUP=60 s (half JSON, half SSE): the tiered JIT needs about
# a minute of load to settle (background services' code reaches its call counts by time, not by requests), and a
# gateway measured while it still rejits pays that JIT per request; warming all gateways together warms them alike.
# The table after the first shows the tiered-compilation thread's CPU per request during the measured runs: near 0
# when the JIT has settled (it does not count the JIT work of request threads, nor of a compilation thread that ended
# between the first and last sample).
# Knobs: A=dir B=dir (default: this repo for both), A_ENV / B_ENV="NAME=value …" (extra environment of A's / B's
# gateways, e.g. the same build twice with B_ENV=DOTNET_TieredPGO=0), MODES="b n c", ROUNDS=4, SECONDS_PER_RUN=3,
# CONNECTIONS=32, WARMUP=60.
# Needs nginx, wrk, node and built gateways (dotnet build src/AiGateway -c Release in each folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
A=${A:-$repo}; B=${B:-$repo}
MODES=${MODES:-b n c}; ROUNDS=${ROUNDS:-4}; SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}; CONNECTIONS=${CONNECTIONS:-32}; WARMUP=${WARMUP:-60}
tmp=$(mktemp -d /tmp/aigw-cpu-ab.XXXXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(process.argv[1].split(".").reduce((v,k)=>v?.[k],o))})' "$1"; }
if [ "$(nproc)" -ge 2 ]; then LOAD_CPU=0; GW_CPU=1; else LOAD_CPU=0; GW_CPU=0; fi
NGINX_PORT=$(free_port)
mkdir -p "$tmp/nginx-body" "$tmp/nginx-proxy" "$tmp/nginx-fastcgi" "$tmp/nginx-uwsgi" "$tmp/nginx-scgi"
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NGINX_PORT#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c "$LOAD_CPU" nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
sleep 1
ADMIN_KEY="ab-admin-$RANDOM$RANDOM"
declare -A URL PID KEY
start() { # name dir mode extra-env
  local port metering=true skip=0; port=$(free_port)
  [ "$3" = b ] && metering=false; [ "$3" = n ] && skip=1
  env ${4:-} Gateway__AdminKey="$ADMIN_KEY" ConnectionStrings__Ledger="Data Source=$tmp/$1.db" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NGINX_PORT/" OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning Metering__Enabled="$metering" Metering__JournalPath="$tmp/journal-$1.jsonl" \
  Ledger__InstanceIdPath="$tmp/instance-$1" AIGW_EXP_NOLEDGER=$skip AIGW_EXP_NORECORD=$skip \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
  DOTNET_TC_CallCountingDelayMs=0 taskset -c "$GW_CPU" dotnet "$2/src/AiGateway/bin/Release/net10.0/AiGateway.dll" \
    --urls "http://127.0.0.1:$port" >"$tmp/gw-$1.log" 2>&1 &
  PID[$1]=$!; pids+=($!); URL[$1]="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -fsS -o /dev/null "${URL[$1]}/healthz" 2>/dev/null && break; sleep 0.2; done
  # A free port can be taken by someone else meanwhile: make sure it is this gateway that answers.
  kill -0 "${PID[$1]}" || { echo "gateway $1 did not start: $(tail -3 "$tmp/gw-$1.log")" >&2; exit 1; }
  a() { curl -fsS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2" "${URL[$g]}$1"; }
  local g=$1 acc; acc=$(a /admin/accounts '{"name":"bench"}' | json id); KEY[$1]=$(a "/admin/accounts/$acc/keys" '{"name":"b"}' | json key)
  a "/admin/accounts/$acc/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
}
names=()
for m in $MODES; do for x in A B; do
  dir=$A; extra=${A_ENV:-}; [ $x = B ] && dir=$B && extra=${B_ENV:-}
  start "$x$m" "$dir" "$m" "$extra"; names+=("$x$m")
done; done
echo "gateways: ${names[*]} (A=$A ${A_ENV:-}, B=$B ${B_ENV:-})" >&2
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run() { # gateway stream seconds -> "requests ticks non2xx"
  local t0 t1 out
  t0=$(ticks "${PID[$1]}")
  out=$(BENCH_KEY="${KEY[$1]}" BENCH_STREAM=$2 taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$3s" -s "$here/post.lua" "${URL[$1]}/openai/v1/chat/completions")
  t1=$(ticks "${PID[$1]}")
  echo "$(awk '/requests in/ { print $1 }' <<<"$out") $((t1 - t0)) $(awk '/Non-2xx/ { print $5 } END { print 0 }' <<<"$out" | head -1)"
}
# Warm-up (JIT, pools), not counted: all gateways under load at once, so each has had the same wall time to settle.
warm=()
for g in "${names[@]}"; do (run "$g" 0 $((WARMUP / 2)) >/dev/null; run "$g" 1 $((WARMUP - WARMUP / 2)) >/dev/null) & warm+=($!); done
wait "${warm[@]}" # (not a bare wait: nginx is a child too)
jit() { # gateway pid -> "tid:ticks" of its tiered-compilation threads (comm ".NET Tiered Com…")
  local t; for t in /proc/$1/task/*; do [[ $(cat "$t/comm" 2>/dev/null) == .NET\ Tiered* ]] && echo "${t##*/}:$(awk '{ print $14 + $15 }' "$t/stat")"; done; true; }
declare -A J0
for g in "${names[@]}"; do J0[$g]=$(jit "${PID[$g]}" | tr '\n' ' '); done
declare -A N T E
for r in $(seq "$ROUNDS"); do
  for g in "${names[@]}"; do for s in 0 1; do
    read -r n t e < <(run "$g" "$s" "$SECONDS_PER_RUN")
    N[$g.$s]=$(( ${N[$g.$s]:-0} + n )); T[$g.$s]=$(( ${T[$g.$s]:-0} + t )); E[$g.$s]=$(( ${E[$g.$s]:-0} + e ))
    echo "round $r $g stream=$s: $n requests, $t ticks, non-2xx $e" >&2
  done; done
done
hz=$(getconf CLK_TCK); total=$((ROUNDS * SECONDS_PER_RUN))
declare -A JIT
for g in "${names[@]}"; do # ticks of the compilation threads since the warm-up ended (a new thread counts whole)
  JIT[$g]=$(jit "${PID[$g]}" | awk -v before="${J0[$g]}" 'BEGIN { n = split(before, b, " "); for (i = 1; i <= n; i++) { split(b[i], p, ":"); s[p[1]] = p[2] } }
    { split($0, p, ":"); d += p[2] - (p[1] in s ? s[p[1]] : 0) } END { print d + 0 }')
done
printf '| mode | answer | A µs/req | B µs/req | B ÷ A | A req/s | B req/s | non-2xx A/B |\n|---|---|---:|---:|---:|---:|---:|---|\n'
for m in $MODES; do for s in 0 1; do
  awk -v m="$m" -v s="$s" -v na="${N[A$m.$s]}" -v nb="${N[B$m.$s]}" -v ta="${T[A$m.$s]}" -v tb="${T[B$m.$s]}" -v hz="$hz" -v d="$total" \
      -v ea="${E[A$m.$s]}" -v eb="${E[B$m.$s]}" 'BEGIN {
    name = (m == "b") ? "(b) metering off" : (m == "n") ? "(n) metered, ledger + record store skipped" : "(c) metered in full"
    ca = ta * 1e6 / hz / na; cb = tb * 1e6 / hz / nb
    printf "| %s | %s | %.1f | %.1f | %.2f | %.0f | %.0f | %d/%d |\n", name, (s ? "SSE" : "JSON"), ca, cb, cb / ca, na / d, nb / d, ea, eb }'
done; done
echo
printf '| gateway | tiered-JIT thread µs/req during the measured runs |\n|---|---:|\n'
for g in "${names[@]}"; do
  awk -v g="$g" -v j="${JIT[$g]}" -v n=$(( ${N[$g.0]} + ${N[$g.1]} )) -v hz="$hz" 'BEGIN { printf "| %s | %.1f |\n", g, j * 1e6 / hz / n }'
done
