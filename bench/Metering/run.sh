#!/usr/bin/env bash
# Metering overhead benchmark (issue #5), all on loopback in one run:
#   (a) client -> nginx directly, (b) client -> gateway with metering off, (c) client -> gateway, metered;
#   max throughput (wrk, JSON and SSE), latency p50/p99 at a fixed rate (fixedrate.mjs), and the gateway's RSS
#   with STREAMS concurrent slow metered streams. Prints a summary and writes it to results-latest.md.
#   With METRICS=1 also (d): the metered gateway with the Prometheus endpoint on and scraped every second (run after (c),
#   so load changes between phases show; bench/Metering/metrics-ab.sh alternates the two for a steadier ratio).
#   With PG=1 also (p): two metered gateways (leases on, own instance ids and journals) on one fresh PostgreSQL database,
#   behind an nginx round-robin balancer, one hot account: the same wrk and fixed-rate runs as (c), CPU per request of
#   both gateways and of the database's backends, ledger and PostgreSQL transactions per 1,000 calls, the books checked
#   after the gateways stop; and SEQ sequential calls on (c) and on one PostgreSQL gateway (latency of a lone call).
# Knobs (env): METRICS=0 DURATION=10 (wrk seconds) CONNECTIONS=32 RATE=500 LAT_SECONDS=15 WARMUP=10 STREAMS=1000 TC_DELAY_MS=0
#              GW_WARMUP=45 (wrk warm-up seconds of each gateway (b)/(c)/(d) before its measurements: the tiered JIT takes
#              about a minute of load to settle, and a gateway measured sooner pays its rejits per request)
#              STREAM_SECONDS=20 SKIP_MEMORY=1 NO_BUILD=1 KEEP_LOGS=1 (also keeps the PostgreSQL database)
#              ROUNDS=3 (b and c alive at once and measured in alternating runs, ROUNDS rounds, medians reported and
#              every round's ratios listed; 1 = the old single pass: b measured and stopped, then c)
#              RESULTS=path (default results-latest.md; "-" = don't write)
#              LEASES=true (Ledger:Leases of every metered gateway)
#              PG=0 PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres PG_PASSWORD=postgres (a database aigw_bench_* is
#              created and dropped) PG_WARMUP=30 (wrk warm-up seconds of (p)) SEQ=300 (sequential calls, PG=1 only)
#              SKIP_THROUGHPUT=1 (memory phase only: no (a)-(d)/(p))
#              MEM_VARIANTS="default" (memory phase once per entry "label" or "label=VAR=value,VAR2=value": extra
#              environment of that gateway, e.g. "default conserve=DOTNET_GCConserveMemory=5"); the heap figures need
#              dotnet-counters and dotnet-gcdump (installed into DOTNET_TOOLS=/tmp/aigw-bench-tools when missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
RATE=${RATE:-500}
LAT_SECONDS=${LAT_SECONDS:-15}
WARMUP=${WARMUP:-10}
GW_WARMUP=${GW_WARMUP:-45}
ROUNDS=${ROUNDS:-3}
STREAMS=${STREAMS:-1000}
STREAM_SECONDS=${STREAM_SECONDS:-20}
RESULTS=${RESULTS:-$here/results-latest.md}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# --- tools (idempotent) -------------------------------------------------------------------------------------------
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  log "installing nginx and wrk from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx wrk >/dev/null
fi
command -v node >/dev/null || { echo "node is required (Debian: apt-get install nodejs)" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "the .NET SDK is required" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- processes, cleanup -------------------------------------------------------------------------------------------
tmp="$(mktemp -d /tmp/aigw-bench.XXXXXX)"
pids=()
PG_DB=""
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DB" ] && [ -z "${KEEP_LOGS:-}" ]; then PGPASSWORD="$PG_PASSWORD" psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qAtc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  if [ "$rc" -ne 0 ] || [ -n "${KEEP_LOGS:-}" ]; then echo "exit $rc; logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(process.argv[1].split(".").reduce((v,k)=>v?.[k],o))})' "$1"; }

f() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; } # a − b (awk -v does not evaluate expressions)
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=" ? v >= t : v <= t); print (ok ? "PASS" : "FAIL") }'; }
ratio_of() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", (y > 0 ? x / y : 0) }'; }

# Pin load (wrk, node, nginx) and the gateway to different cores when there are two.
if [ "$(nproc)" -ge 2 ]; then LOAD_CPU=0; GW_CPU=1; else LOAD_CPU=0; GW_CPU=0; fi
load() { taskset -c "$LOAD_CPU" "$@"; } # foreground only: a backgrounded function's $! is a subshell, not the process
busy_others() { # CPU busy % over 1 s while this benchmark is idle: > ~10 means someone else is using the machine
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat); sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); u = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", 100 * u / (u + i) }'
}
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- upstreams ----------------------------------------------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$tmp/nginx-body" "$tmp/nginx-proxy" "$tmp/nginx-fastcgi" "$tmp/nginx-uwsgi" "$tmp/nginx-scgi"
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NGINX_PORT#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c "$LOAD_CPU" nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do curl -fsS -o /dev/null -X POST "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" 2>/dev/null && break; sleep 0.1; done
curl -fsS -X POST "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" | grep -q '"usage"'
curl -fsS -X POST -H 'X-Bench-Stream: 1' "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" | grep -q 'data: \[DONE\]'
log "nginx on 127.0.0.1:$NGINX_PORT"

# --- gateway ------------------------------------------------------------------------------------------------------
cd "$repo"
if [ -z "${NO_BUILD:-}" ]; then
  log "building the gateway (Release)"
  dotnet build src/AiGateway -c Release -v q -nologo >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
fi
ADMIN_KEY="bench-admin-$RANDOM$RANDOM"
GW_PID=""
start_gateway() { # name metering-enabled upstream-url
  GW_PORT=$(free_port)
  GW="http://127.0.0.1:$GW_PORT"
  Gateway__AdminKey="$ADMIN_KEY" \
  Ledger__Provider="${GW_PROVIDER:-Sqlite}" \
  ConnectionStrings__Ledger="${GW_DB:-Data Source=$tmp/bench.db}" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="$3" \
  OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning \
  Metering__Enabled="$2" \
  Telemetry__PrometheusEnabled="${GW_TELEMETRY:-false}" \
  Metering__JournalPath="$tmp/journal-$1.jsonl" \
  Ledger__Leases="${LEASES:-true}" \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
  DOTNET_TC_CallCountingDelayMs="${TC_DELAY_MS:-0}" \
    env ${GW_ENV:-} taskset -c "$GW_CPU" dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "$GW" >"$tmp/gateway-$1.log" 2>&1 &
  GW_PID=$!
  pids+=("$GW_PID")
  wait_http "$GW/healthz" 60
  log "gateway ($1, metering $2) on $GW, pid $GW_PID"
}
stop_gateway() { kill "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; }
admin() { curl -fsS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2" "$GW$1"; }

# --- measurements ---------------------------------------------------------------------------------------------------
declare -A R
# CPU ticks of the gateway(s) measured (CPU_PIDS: several, summed) and their ledger transactions (TX_URLS: several, summed).
cpu_ticks() { local p t=0; for p in ${CPU_PIDS:-${GW_PID:-}}; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
ledger_tx() { local u x t=0; for u in ${TX_URLS:-${GW:-}}; do x=$(curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$u/admin/ledger/stats" 2>/dev/null | json transactions 2>/dev/null || echo 0); t=$((t + ${x:-0})); done; echo "$t"; }
# PostgreSQL round trips of the gateways' ledger transactions (`roundTrips` of `GET /admin/ledger/stats`; 0 on SQLite), summed.
ledger_rt() { local u x t=0; for u in ${TX_URLS:-${GW:-}}; do x=$(curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$u/admin/ledger/stats" 2>/dev/null | json roundTrips 2>/dev/null || echo 0); t=$((t + ${x:-0})); done; echo "$t"; }
cpu_each() { local p; for p in ${CPU_PIDS:-${GW_PID:-}}; do [ -r "/proc/$p/stat" ] && awk '{ printf "%d ", $14 + $15 }' "/proc/$p/stat" || printf '0 '; done; }
pg_cpu_ticks() { :; }  # redefined by the PG phase: CPU ticks of the bench database's backends
pg_xacts() { echo 0; } # redefined by the PG phase: the bench database's committed transactions
wrk_rps() { # label url stream(0/1) -> R[label]=req/s, R[label.non2xx], R[label.cpu] (gateway CPU µs per request), R[label.tx] (ledger tx per 1,000)
  local out t0 t1 x0 x1 n d0 d1 q0 q1 e0 e1 r0 r1
  t0=$(cpu_ticks); x0=$(ledger_tx); d0=$(pg_cpu_ticks); q0=$(pg_xacts); e0=$(cpu_each); r0=$(ledger_rt)
  out=$(BENCH_KEY="${KEY:-}" BENCH_STREAM="$3" load wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/post.lua" "$2")
  t1=$(cpu_ticks); x1=$(ledger_tx); d1=$(pg_cpu_ticks); q1=$(pg_xacts); e1=$(cpu_each); r1=$(ledger_rt)
  echo "$out" >"$tmp/wrk-$1.txt"
  n=$(awk '/requests in/ { print $1 }' <<<"$out")
  R[$1.n]=${n:-0}
  # Each gateway's CPU per request it served (round-robin: requests ÷ gateways), "a/b".
  R[$1.cpueach]=$(awk -v a="$e0" -v b="$e1" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { k = split(a, x, " "); split(b, y, " ")
    for (i = 1; i <= k; i++) printf "%s%s", (i > 1 ? "/" : ""), (n > 0 ? sprintf("%.0f", (y[i] - x[i]) * 1000000 / hz / (n / k)) : "-") }')
  R[$1.cpu]=$(awk -v t="$((t1 - t0))" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0 && t > 0) printf "%.0f", t * 1000000 / hz / n; else print "-" }')
  if [ -n "$d0" ]; then
    R[$1.dbcpu]=$(awk -v t="$((d1 - d0))" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0 && t > 0) printf "%.0f", t * 1000000 / hz / n; else print "-" }')
    R[$1.pgtx]=$(awk -v x="$((q1 - q0))" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.0f", x * 1000 / n; else print "-" }')
    R[$1.rt]=$(awk -v x="$((r1 - r0))" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.2f", x / n; else print "-" }')
  fi
  R[$1.tx]=$(awk -v x="$((x1 - x0))" -v n="${n:-0}" 'BEGIN { if (n > 0 && x > 0) printf "%.1f", x * 1000 / n; else print "-" }')
  R[$1]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  R[$1.non2xx]=$(awk '/Non-2xx/ { print $5 } /Socket errors/ { e = 1 } END { }' <<<"$out")
  R[$1.non2xx]=${R[$1.non2xx]:-0}
  grep -q 'Socket errors' <<<"$out" && R[$1.non2xx]="${R[$1.non2xx]}+sockerr"
  log "$1: ${R[$1]} req/s (non-2xx: ${R[$1.non2xx]}), gateway CPU ${R[$1.cpu]} µs/request, ledger transactions ${R[$1.tx]} per 1,000 requests"
}
fixed_rate() { # label url
  local out
  out=$(BENCH_KEY="${KEY:-}" load node "$here/fixedrate.mjs" "$2" "$RATE" "$LAT_SECONDS" "$WARMUP")
  echo "$out" >"$tmp/lat-$1.json"
  R[$1.p50]=$(json p50 <<<"$out"); R[$1.p99]=$(json p99 <<<"$out"); R[$1.p999]=$(json p999 <<<"$out")
  R[$1.bad]=$(node -e 'const o=JSON.parse(process.argv[1]);console.log(o.non200+o.errors+o.lost)' "$out")
  R[$1.lag]=$(json lagP99Ms <<<"$out")
  log "$1: p50 ${R[$1.p50]} ms, p99 ${R[$1.p99]} ms, p99.9 ${R[$1.p999]} ms at $RATE req/s (bad: ${R[$1.bad]}, generator lag p99 ${R[$1.lag]} ms)"
}
others=""
measure() { # label url
  log "== $1: $2"
  others="${others:+$others, }$1 $(busy_others)%"
  BENCH_KEY="${KEY:-}" BENCH_STREAM=0 load wrk -t1 -c"$CONNECTIONS" -d"${MEASURE_WARMUP:-$WARMUP}s" -s "$here/post.lua" "$2" >/dev/null
  BENCH_KEY="${KEY:-}" BENCH_STREAM=1 load wrk -t1 -c"$CONNECTIONS" -d1s -s "$here/post.lua" "$2" >/dev/null
  wrk_rps "$1.json" "$2" 0
  wrk_rps "$1.sse" "$2" 1
  fixed_rate "$1" "$2"
}

seq_calls() { # label url: SEQ sequential calls (one at a time) -> R[label.s50/s90/s99] ms, R[label.scpu] gateway CPU ms per call, R[label.stx] ledger tx per call
  local out t0 t1 x0 x1 q0 q1 r0 r1
  BENCH_KEY="$KEY" load node "$here/sequential.mjs" "$2" 0 50 >/dev/null
  t0=$(cpu_ticks); x0=$(ledger_tx); q0=$(pg_xacts); r0=$(ledger_rt)
  out=$(BENCH_KEY="$KEY" load node "$here/sequential.mjs" "$2" "$SEQ" 0)
  t1=$(cpu_ticks); x1=$(ledger_tx); q1=$(pg_xacts); r1=$(ledger_rt)
  echo "$out" >"$tmp/seq-$1.json"
  R[$1.s50]=$(json p50 <<<"$out"); R[$1.s90]=$(json p90 <<<"$out"); R[$1.s99]=$(json p99 <<<"$out")
  R[$1.sbad]=$(node -e 'const o=JSON.parse(process.argv[1]);console.log(o.non200+o.errors)' "$out")
  R[$1.scpu]=$(awk -v t="$((t1 - t0))" -v n="$SEQ" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t * 1000 / hz / n }')
  R[$1.stx]=$(awk -v x="$((x1 - x0))" -v n="$SEQ" 'BEGIN { printf "%.2f", x / n }')
  R[$1.spgtx]=$(awk -v x="$((q1 - q0))" -v n="$SEQ" 'BEGIN { printf "%.2f", x / n }')
  R[$1.srt]=$(awk -v x="$((r1 - r0))" -v n="$SEQ" 'BEGIN { printf "%.2f", x / n }')
  log "$1 sequential: p50 ${R[$1.s50]} ms, p90 ${R[$1.s90]} ms, p99 ${R[$1.s99]} ms, gateway CPU ${R[$1.scpu]} ms/call, ledger tx ${R[$1.stx]}/call, round trips ${R[$1.srt]}/call"
}
SEQ=${SEQ:-300}
PG_WARMUP=${PG_WARMUP:-30}
PG_HOST=${PG_HOST:-127.0.0.1}; PG_PORT=${PG_PORT:-5432}; PG_USER=${PG_USER:-postgres}; PG_PASSWORD=${PG_PASSWORD:-postgres}
bench_account() { # name -> ACCOUNT, KEY on the gateway $GW (100,000,000 credits)
  ACCOUNT=$(admin /admin/accounts "{\"name\":\"$1\"}" | json id)
  KEY=$(admin "/admin/accounts/$ACCOUNT/keys" '{"name":"bench"}' | json key)
  admin "/admin/accounts/$ACCOUNT/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
}

if [ -z "${SKIP_THROUGHPUT:-}" ]; then
KEY="" measure a "http://127.0.0.1:$NGINX_PORT/v1/chat/completions"

check_b() {
  check=$(curl -fsS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$GW/openai/v1/chat/completions")
  [ "$check" = 200 ] || { echo "gateway (b) answered $check" >&2; exit 1; }
}
check_c() {
  hdr=$(curl -fsS -D - -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$GW/openai/v1/chat/completions")
  grep -qi '^x-credits-charged' <<<"$hdr" || { echo "metered call was not charged: $hdr" >&2; exit 1; }
}
median() { # format values… (non-numeric values, e.g. "-", left out)
  local fmt=$1; shift
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk -v fmt="$fmt" '{ a[NR] = $1 } END {
    if (NR == 0) print "-"; else printf fmt "\n", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}
if [ "$ROUNDS" -le 1 ]; then
  # One pass: (b) measured, stopped, then (c) — a change in others' load between the two falls on one side only.
  start_gateway b false "http://127.0.0.1:$NGINX_PORT/"
  bench_account bench
  check_b
  MEASURE_WARMUP=$GW_WARMUP measure b "$GW/openai/v1/chat/completions"
  stop_gateway
  start_gateway c true "http://127.0.0.1:$NGINX_PORT/"
  check_c
  MEASURE_WARMUP=$GW_WARMUP measure c "$GW/openai/v1/chat/completions"
else
  # Alternated: (b) and (c) alive at once (each its own database), warmed one after the other, then ROUNDS rounds of
  # JSON, SSE and fixed-rate runs, each run once per gateway back to back (the order flips every round); the tables
  # show each figure's median over the rounds, and every round's ratios are listed, so a minute of others' load that
  # lands on one gateway's run shows as one odd round instead of deciding the ratio.
  declare -A ALT_GW ALT_PID ALT_KEY
  use() { GW=${ALT_GW[$1]}; GW_PID=${ALT_PID[$1]}; KEY=${ALT_KEY[$1]}; }
  GW_DB="Data Source=$tmp/bench-b.db" start_gateway b false "http://127.0.0.1:$NGINX_PORT/"
  bench_account bench; check_b
  ALT_GW[b]=$GW; ALT_PID[b]=$GW_PID; ALT_KEY[b]=$KEY
  start_gateway c true "http://127.0.0.1:$NGINX_PORT/"
  bench_account bench; check_c
  ALT_GW[c]=$GW; ALT_PID[c]=$GW_PID; ALT_KEY[c]=$KEY
  for side in b c; do
    use $side; log "== $side: warm-up ${GW_WARMUP}s"
    BENCH_KEY="$KEY" BENCH_STREAM=0 load wrk -t1 -c"$CONNECTIONS" -d"${GW_WARMUP}s" -s "$here/post.lua" "$GW/openai/v1/chat/completions" >/dev/null
    BENCH_KEY="$KEY" BENCH_STREAM=1 load wrk -t1 -c"$CONNECTIONS" -d1s -s "$here/post.lua" "$GW/openai/v1/chat/completions" >/dev/null
  done
  R[rounds]=""
  for ((round = 1; round <= ROUNDS; round++)); do
    order="b c"; [ $((round % 2)) = 0 ] && order="c b"
    others="${others:+$others, }round $round $(busy_others)%"
    for kind in json sse; do
      for side in $order; do use $side; wrk_rps "$side.$kind.$round" "$GW/openai/v1/chat/completions" $([ $kind = sse ] && echo 1 || echo 0); done
    done
    for side in $order; do use $side; fixed_rate "$side.$round" "$GW/openai/v1/chat/completions"; done
    R[rounds]+="| $round ($order) | ${R[b.json.$round]} / ${R[c.json.$round]} = $(ratio_of "${R[c.json.$round]}" "${R[b.json.$round]}") | ${R[b.sse.$round]} / ${R[c.sse.$round]} = $(ratio_of "${R[c.sse.$round]}" "${R[b.sse.$round]}") | ${R[b.json.$round.cpu]} / ${R[c.json.$round.cpu]} = $(ratio_of "${R[c.json.$round.cpu]}" "${R[b.json.$round.cpu]}") | ${R[b.sse.$round.cpu]} / ${R[c.sse.$round.cpu]} = $(ratio_of "${R[c.sse.$round.cpu]}" "${R[b.sse.$round.cpu]}") | ${R[b.$round.p50]} / ${R[c.$round.p50]} | ${R[b.$round.p99]} / ${R[c.$round.p99]} |"$'\n'
  done
  for side in b c; do
    for kind in json sse; do
      for field in "" .cpu .tx; do
        vals=(); for ((round = 1; round <= ROUNDS; round++)); do vals+=("${R[$side.$kind.$round$field]}"); done
        R[$side.$kind$field]=$(median "$([ "$field" = .tx ] && echo %.1f || echo %.0f)" "${vals[@]}")
      done
      n2=0; for ((round = 1; round <= ROUNDS; round++)); do n2=$((n2 + ${R[$side.$kind.$round.non2xx]%%+*})); done
      R[$side.$kind.non2xx]=$n2
    done
    for field in p50 p99 p999; do
      vals=(); for ((round = 1; round <= ROUNDS; round++)); do vals+=("${R[$side.$round.$field]}"); done
      R[$side.$field]=$(median %.3f "${vals[@]}")
    done
    bad=0; for ((round = 1; round <= ROUNDS; round++)); do bad=$((bad + ${R[$side.$round.bad]:-0})); done
    R[$side.bad]=$bad
  done
  # The ratios the targets are judged by: the median of the rounds' own ratios (both sides of a ratio ran in the same minute).
  for kind in json sse; do
    for field in "" .cpu; do
      vals=(); for ((round = 1; round <= ROUNDS; round++)); do vals+=("$(ratio_of "${R[c.$kind.$round$field]}" "${R[b.$kind.$round$field]}")"); done
      R[ratio.$kind$field]=$(median %.2f "${vals[@]}")
    done
  done
  GW_PID=${ALT_PID[b]} stop_gateway
  use c
fi
[ "${PG:-0}" = 1 ] && seq_calls c "$GW/openai/v1/chat/completions"
calls_c=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM call_records").fetchone()[0])' "$tmp/bench.db" 2>/dev/null || echo "?")
stop_gateway

if [ "${METRICS:-0}" = 1 ]; then
  # (d) = (c) with the metrics export on: every instrument listened to, and a scrape every second as Prometheus would.
  GW_TELEMETRY=true start_gateway d true "http://127.0.0.1:$NGINX_PORT/"
  curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" || { echo "gateway (d): /metrics did not answer" >&2; exit 1; }
  ( while kill -0 "$GW_PID" 2>/dev/null; do curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" || true; sleep 1; done ) &
  pids+=($!)
  MEASURE_WARMUP=$GW_WARMUP measure d "$GW/openai/v1/chat/completions"
  scraped=$(curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" | awk '/^aigateway_calls_total/ { s += $NF } END { printf "%d", s }')
  stop_gateway
fi

# --- PostgreSQL: two gateways, one database, one hot account ------------------------------------------------------
if [ "${PG:-0}" = 1 ]; then
  command -v psql >/dev/null || { echo "PG=1 needs psql" >&2; exit 1; }
  pgsql() { PGPASSWORD="$PG_PASSWORD" psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "${2:-$PG_DB}" -qAtF ' ' -c "$1"; }
  PG_DB="aigw_bench_$(date +%s)_$$"
  pgsql "CREATE DATABASE $PG_DB" postgres >/dev/null
  pg_conn="Host=$PG_HOST;Port=$PG_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=$PG_DB"
  # The bench database's backends (the gateways' pooled connections, not this psql): CPU ticks, summed.
  pg_cpu_ticks() {
    local p t=0
    for p in $(pgsql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
      [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t"
  }
  # Committed transactions of the bench database (the gateways' writes and their autocommit reads).
  pg_xacts() { pgsql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
  # Both gateways on the gateway CPU (the same CPU budget as (c)); PostgreSQL runs wherever the kernel puts it.
  GW_PROVIDER=Postgres GW_DB="$pg_conn" GW_ENV="Ledger__InstanceId=bench-p1" start_gateway p1 true "http://127.0.0.1:$NGINX_PORT/"
  P1=$GW; P1_PID=$GW_PID
  GW_PROVIDER=Postgres GW_DB="$pg_conn" GW_ENV="Ledger__InstanceId=bench-p2" start_gateway p2 true "http://127.0.0.1:$NGINX_PORT/"
  P2=$GW; P2_PID=$GW_PID
  GW=$P1 bench_account bench-pg
  pg_account=$ACCOUNT
  for u in "$P1" "$P2"; do
    hdr=$(curl -fsS -D - -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$u/openai/v1/chat/completions")
    grep -qi '^x-credits-charged' <<<"$hdr" || { echo "metered call on $u was not charged: $hdr" >&2; exit 1; }
  done
  LB_PORT=$(free_port)
  cat >"$tmp/lb.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/lb.pid;
error_log $tmp/lb-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx-body;
    proxy_temp_path $tmp/nginx-proxy;
    fastcgi_temp_path $tmp/nginx-fastcgi;
    uwsgi_temp_path $tmp/nginx-uwsgi;
    scgi_temp_path $tmp/nginx-scgi;
    keepalive_requests 1000000;
    upstream gateways { server 127.0.0.1:${P1##*:}; server 127.0.0.1:${P2##*:}; keepalive 64; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$LB_PORT backlog=4096;
        location / { proxy_pass http://gateways; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
    }
}
EOF
  taskset -c "$LOAD_CPU" nginx -e "$tmp/lb-error.log" -p "$tmp" -c "$tmp/lb.conf" &
  pids+=($!)
  LB="http://127.0.0.1:$LB_PORT"
  for _ in $(seq 50); do curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$LB/openai/v1/chat/completions" 2>/dev/null && break; sleep 0.1; done
  log "balancer on $LB: gateways $P1 (pid $P1_PID), $P2 (pid $P2_PID), PostgreSQL database $PG_DB"
  # A longer warm-up: each gateway sees half the calls, at a few hundred calls/s, and runs its hot code unoptimized
  # until tiered compilation caught up (with 10 s the first PostgreSQL runs measured JIT work: 10-25 ms CPU per call).
  # What the bench database's backends do during (p), sampled every 50 ms from pg_stat_activity: a backend waiting for
  # a row lock, one idle inside a transaction (waiting for its gateway's next round trip — with the locks it took), one
  # waiting for its commit's WAL flush. Shown as the mean number of backends in each state.
  ( while :; do
      pgsql "SELECT CASE WHEN wait_event_type = 'Lock' THEN 'lock' WHEN state LIKE 'idle in transaction%' THEN 'idle-in-tx'
               WHEN wait_event = 'WALSync' OR wait_event = 'WALWrite' THEN 'wal' ELSE 'running' END
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'" >>"$tmp/pg-activity.txt" 2>/dev/null
      echo "--" >>"$tmp/pg-activity.txt"; sleep 0.05
    done ) &
  activity_pid=$!
  MEASURE_WARMUP=$PG_WARMUP GW=$P1 CPU_PIDS="$P1_PID $P2_PID" TX_URLS="$P1 $P2" measure p "$LB/openai/v1/chat/completions"
  kill "$activity_pid" 2>/dev/null || true; wait "$activity_pid" 2>/dev/null || true
  R[p.activity]=$(awk '$0 == "--" { n++; next } { c[$1]++ } END { if (n == 0) { print "-"; exit }
    printf "%d samples: waiting for a row lock %.2f, idle in a transaction %.2f, flushing WAL %.2f, running %.2f", n, c["lock"] / n, c["idle-in-tx"] / n, c["wal"] / n, c["running"] / n }' "$tmp/pg-activity.txt")
  log "PostgreSQL backends during (p), mean number per state: ${R[p.activity]}"
  GW=$P1 GW_PID=$P1_PID seq_calls p1 "$P1/openai/v1/chat/completions"
  # Stop both (graceful: queued settlements written, leases returned), then check the books of the hot account.
  kill "$P1_PID" "$P2_PID" 2>/dev/null || true; wait "$P1_PID" "$P2_PID" 2>/dev/null || true
  read -r b_granted b_charged b_consumed b_overage b_lotbad b_charges b_records b_recorded b_unrecorded b_nocharge b_leases b_markers b_holds < <(pgsql "
    SELECT (SELECT SUM(amount) FROM credit_lots WHERE account_id = '$pg_account'),
           (SELECT COALESCE(SUM(amount), 0) FROM credit_charges WHERE account_id = '$pg_account'),
           (SELECT SUM(consumed) FROM credit_lots WHERE account_id = '$pg_account'),
           (SELECT overage FROM ledger_accounts WHERE account_id = '$pg_account'),
           (SELECT COUNT(*) FROM credit_lots WHERE account_id = '$pg_account' AND remaining + consumed + expired + revoked <> amount),
           (SELECT COUNT(*) FROM credit_charges WHERE account_id = '$pg_account'),
           (SELECT COUNT(*) FROM call_records WHERE account_id = '$pg_account'),
           (SELECT COALESCE(SUM(charged_micro), 0) FROM call_records WHERE account_id = '$pg_account'),
           (SELECT COUNT(*) FROM credit_charges c WHERE c.account_id = '$pg_account' AND NOT EXISTS (SELECT 1 FROM call_records r WHERE r.request_id = c.request_id AND r.charged_micro = c.amount)),
           (SELECT COUNT(*) FROM call_records r WHERE r.account_id = '$pg_account' AND r.charged_micro > 0 AND NOT EXISTS (SELECT 1 FROM credit_charges c WHERE c.request_id = r.request_id)),
           (SELECT COUNT(*) FROM credit_leases), (SELECT COUNT(*) FROM lease_admissions),
           (SELECT COUNT(*) FROM credit_holds WHERE status = 'active')")
  # Requests cut by wrk at the end of each run (the balancer drops the upstream request) are logged as errors: counted apart.
  b_logerr=$(cat "$tmp/gateway-p1.log" "$tmp/gateway-p2.log" | grep -cE '^\[[0-9:]+ (ERR|FTL)\]' || true)
  b_aborts=$(cat "$tmp/gateway-p1.log" "$tmp/gateway-p2.log" | grep -A1 -E '^\[[0-9:]+ ERR\]' | grep -cE '^(System.OperationCanceledException|Microsoft.AspNetCore.Server.Kestrel.Core.BadHttpRequestException: Unexpected end of request content)' || true)
  books_ok=$(awk -v g="$b_granted" -v c="$b_charged" -v k="$b_consumed" -v o="$b_overage" -v lb="$b_lotbad" -v rc="$b_recorded" \
    -v u="$b_unrecorded" -v nc="$b_nocharge" -v h="$b_holds" -v m="$b_markers" \
    'BEGIN { print (c <= g && k + o == c && lb == 0 && rc == c && u == 0 && nc == 0 && h == 0 && m == 0) ? "OK" : "NOT OK" }')
  log "books after (p): $books_ok (granted $b_granted, charged $b_charged in $b_charges charges, $b_records call records charging $b_recorded; charges without their record $b_unrecorded, records without their charge $b_nocharge; lots consumed $b_consumed + debt $b_overage; leases left $b_leases, markers $b_markers, active holds $b_holds; gateway log errors $b_logerr, of them client aborts $b_aborts)"
fi
fi # SKIP_THROUGHPUT

# --- memory with many open streams -------------------------------------------------------------------------------
DOTNET_TOOLS=${DOTNET_TOOLS:-/tmp/aigw-bench-tools}
tool() { # name -> path of a dotnet diagnostics tool (installed into DOTNET_TOOLS when missing), or nothing
  if command -v "$1" >/dev/null; then command -v "$1"; return; fi
  [ -x "$DOTNET_TOOLS/$1" ] || dotnet tool install --tool-path "$DOTNET_TOOLS" "$1" >/dev/null 2>&1 || true
  [ -x "$DOTNET_TOOLS/$1" ] && echo "$DOTNET_TOOLS/$1"
}
declare -a MEM_LABELS=()
memory_phase() { # label extra-env: 1,000 slow streams on a fresh gateway and database -> R[m.<label>.*]
  local label=$1 t_start t_end t_gc streams_out counters_pid="" m_base m_open m_peak m_after m_gc m_thr m_db
  GW_DB="Data Source=$tmp/mem-$label.db" GW_ENV="$2" start_gateway "m-$label" true "http://127.0.0.1:$SLOW_PORT/"
  bench_account "mem-$label"
  MEM_LABELS+=("$label")
  rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }
  threads() { awk '/^Threads:/ { print $2 }' "/proc/$GW_PID/status"; }
  dbfds() { find "/proc/$GW_PID/fd" -lname "$tmp/mem-$label.db" 2>/dev/null | wc -l; } # one per open SQLite connection
  # Warm the metered streaming path (JIT, pools) with a few short slow streams, so the baseline is a warm gateway.
  BENCH_KEY=$KEY BENCH_STREAM_SECONDS=1 load node "$here/streams.mjs" "$GW/openai/v1/chat/completions" 200 0 >/dev/null
  ( while kill -0 "$GW_PID" 2>/dev/null; do echo "$(date +%s.%N) $(rss) $(threads) $(dbfds)"; sleep 1; done ) >"$tmp/rss-$label.txt" 2>/dev/null &
  pids+=($!)
  if [ -n "$COUNTERS" ]; then
    "$COUNTERS" collect -p "$GW_PID" --counters System.Runtime --refresh-interval 1 --format csv -o "$tmp/counters-$label.csv" >/dev/null 2>&1 &
    counters_pid=$!; pids+=("$counters_pid")
  fi
  sleep 5
  t_start=$(date +%s.%N)
  log "memory ($label${2:+: $2}): opening $STREAMS streams of ${STREAM_SECONDS}s"
  streams_out=$(BENCH_KEY=$KEY load node "$here/streams.mjs" "$GW/openai/v1/chat/completions" "$STREAMS" 3)
  t_end=$(date +%s.%N)
  log "streams: $streams_out"
  sleep 15
  t_gc=$(date +%s.%N)
  # A full blocking collection, induced by taking a GC heap dump: what stays after it is not garbage waiting for a GC.
  if [ -n "$GCDUMP" ]; then timeout 60 "$GCDUMP" collect -p "$GW_PID" -o "$tmp/heap-$label.gcdump" >"$tmp/gcdump-$label.log" 2>&1 || true; sleep 5; fi
  R[m.$label.streams]=$streams_out
  # open = highest RSS while every stream is open (after the 3 s ramp, before the first can end); peak = highest at all;
  # after = 15 s after the end; gc = after the induced collection.
  read -r m_base m_open m_peak m_after m_gc m_thr m_db < <(awk -v s="$t_start" -v e="$t_end" -v d="$STREAM_SECONDS" -v g="$t_gc" '
    $1 < s { base = $2 } $1 >= s + 4 && $1 <= s + d && $2 > open { open = $2 }
    $1 >= s && $1 <= e + 2 { if ($2 > peak) peak = $2; if ($3 > thr) thr = $3; if ($4 > db) db = $4 } $1 > e && $1 <= g { after = $2 } $1 > g { gc = $2 }
    END { print base + 0, open + 0, peak + 0, after + 0, (gc ? gc : "-"), thr + 0, db + 0 }' "$tmp/rss-$label.txt")
  R[m.$label.row]="$((m_base / 1024)) | $((m_open / 1024)) | $((m_peak / 1024)) | $((m_after / 1024)) | $( [ "$m_gc" = - ] && echo - || echo $((m_gc / 1024)) ) | $(awk -v p="$m_open" -v b="$m_base" -v n="$STREAMS" 'BEGIN { printf "%.1f", (p - b) / n }') | $(awk -v a="$m_after" -v b="$m_base" 'BEGIN { printf "%+.0f %%", 100 * (a - b) / b }') | $( [ "$m_gc" = - ] && echo - || awk -v a="$m_gc" -v b="$m_base" 'BEGIN { printf "%+.0f %%", 100 * (a - b) / b }') | $m_thr | $m_db"
  R[m.$label.samples]=$(awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 / 1024 }' "$tmp/rss-$label.txt")
  if [ -n "$counters_pid" ]; then
    kill "$counters_pid" 2>/dev/null || true; wait "$counters_pid" 2>/dev/null || true
    # GC heap after the last collection (all generations) and GC committed memory, MiB, at the same four moments.
    R[m.$label.heap]=$(python3 - "$tmp/counters-$label.csv" "$t_start" "$t_end" "$STREAM_SECONDS" "$t_gc" <<'PY' 2>/dev/null || echo "-"
import csv, sys, datetime
path, s, e, d, g = sys.argv[1], *map(float, sys.argv[2:])
rows = {}
for r in csv.reader(open(path)):
    if len(r) < 5 or r[0] == "Timestamp": continue
    t = datetime.datetime.strptime(r[0], "%m/%d/%Y %H:%M:%S").timestamp()
    x = rows.setdefault(t, {"heap": 0.0})
    if r[2].startswith("dotnet.gc.last_collection.heap.size"): x["heap"] += float(r[4])
    elif r[2].startswith("dotnet.gc.last_collection.memory.committed_size"): x["committed"] = float(r[4])
ts = sorted(t for t in rows if "committed" in rows[t] and rows[t]["heap"] > 0)
def at(sel):
    c = [t for t in ts if sel(t)]
    return "-" if not c else "%.0f/%.0f" % (rows[c[-1]]["heap"] / 2**20, rows[c[-1]]["committed"] / 2**20)
opn = [t for t in ts if s + 4 <= t <= s + d]
print(" | ".join([at(lambda t: t < s), "-" if not opn else "%.0f/%.0f" % (max(rows[t]["heap"] for t in opn) / 2**20, max(rows[t]["committed"] for t in opn) / 2**20),
                  at(lambda t: e < t <= g), at(lambda t: t > g + 2)]))
PY
)
  fi
  stop_gateway
}
if [ -z "${SKIP_MEMORY:-}" ]; then
  COUNTERS=$(tool dotnet-counters || true); GCDUMP=$(tool dotnet-gcdump || true)
  SLOW_PORT=$(free_port)
  taskset -c "$LOAD_CPU" node "$here/slow-sse.mjs" "$SLOW_PORT" "$STREAM_SECONDS" >"$tmp/slow-sse.log" 2>&1 &
  pids+=($!)
  for v in ${MEM_VARIANTS:-default}; do
    label=${v%%=*}; envs=""
    [ "$v" != "$label" ] && envs=$(tr ',' ' ' <<<"${v#*=}")
    memory_phase "$label" "$envs"
  done
fi

# --- summary ------------------------------------------------------------------------------------------------------

{
  echo "# Metering benchmark — latest run"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo '+changes'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -r), .NET $(dotnet --version)."
  echo "Loopback only; load generators and nginx pinned to CPU $LOAD_CPU, gateway(s) to CPU $GW_CPU; SQLite ledger on $(df -P "$tmp" | awk 'NR==2 { print $1 }')."
  echo "Load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg); machine CPU busy just before each phase (others' load; ~0 = quiet): ${others:-not sampled}."
  if [ -z "${SKIP_THROUGHPUT:-}" ]; then
  add50b=$(f "${R[b.p50]}" "${R[a.p50]}"); add99b=$(f "${R[b.p99]}" "${R[a.p99]}")
  add50c=$(f "${R[c.p50]}" "${R[a.p50]}"); add99c=$(f "${R[c.p99]}" "${R[a.p99]}")
  ratio=${R[ratio.json]:-$(ratio_of "${R[c.json]}" "${R[b.json]}")}; ratio_sse=${R[ratio.sse]:-$(ratio_of "${R[c.sse]}" "${R[b.sse]}")}
  echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s; fixed rate $RATE req/s for ${LAT_SECONDS}s after ${WARMUP}s warm-up (bench/Metering/fixedrate.mjs, 64 keep-alive connections); each gateway warmed ${GW_WARMUP}s with wrk first; gateways run with DOTNET_TC_CallCountingDelayMs=${TC_DELAY_MS:-0}."
  echo
  echo "| path | JSON req/s | SSE req/s | p50 ms @${RATE}/s | p99 ms @${RATE}/s | p99.9 ms | added p50 | added p99 | errors (wrk non-2xx json/sse; fixed-rate) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  echo "| (a) nginx direct | ${R[a.json]} | ${R[a.sse]} | ${R[a.p50]} | ${R[a.p99]} | ${R[a.p999]} | — | — | ${R[a.json.non2xx]}/${R[a.sse.non2xx]}; ${R[a.bad]} |"
  echo "| (b) gateway, metering off | ${R[b.json]} | ${R[b.sse]} | ${R[b.p50]} | ${R[b.p99]} | ${R[b.p999]} | $add50b | $add99b | ${R[b.json.non2xx]}/${R[b.sse.non2xx]}; ${R[b.bad]} |"
  echo "| (c) gateway, metered | ${R[c.json]} | ${R[c.sse]} | ${R[c.p50]} | ${R[c.p99]} | ${R[c.p999]} | $add50c | $add99c | ${R[c.json.non2xx]}/${R[c.sse.non2xx]}; ${R[c.bad]} |"
  if [ "${PG:-0}" = 1 ]; then
    echo "| (p) 2 metered gateways on PostgreSQL, nginx round-robin | ${R[p.json]} | ${R[p.sse]} | ${R[p.p50]} | ${R[p.p99]} | ${R[p.p999]} | $(f "${R[p.p50]}" "${R[a.p50]}") | $(f "${R[p.p99]}" "${R[a.p99]}") | ${R[p.json.non2xx]}/${R[p.sse.non2xx]}; ${R[p.bad]} |"
  fi
  echo
  echo "Metered ÷ unmetered throughput: JSON **$ratio**, SSE **$ratio_sse** (call records written in (c): $calls_c; credit leases: ${LEASES:-true})."
  if [ "$ROUNDS" -gt 1 ]; then
    echo
    echo "(b) and (c) alive at once, measured in $ROUNDS alternated rounds: the figures in the tables are medians over the rounds,"
    echo "the ratios (above and in the verdicts) the medians of the rounds' own ratios. Each round, (b) / (c) = ratio:"
    echo
    echo "| round (order) | JSON req/s | SSE req/s | JSON CPU µs/req | SSE CPU µs/req | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s' "${R[rounds]}"
  fi
  if [ "${METRICS:-0}" = 1 ]; then
    echo
    echo "| (d) metered, metrics on + scraped 1/s | ${R[d.json]} | ${R[d.sse]} | ${R[d.p50]} | ${R[d.p99]} | ${R[d.p999]} | $(f "${R[d.p50]}" "${R[a.p50]}") | $(f "${R[d.p99]}" "${R[a.p99]}") | ${R[d.json.non2xx]}/${R[d.sse.non2xx]}; ${R[d.bad]} |"
    echo
    echo "Metrics on ÷ off (d ÷ c) throughput: JSON **$(awk -v d="${R[d.json]}" -v c="${R[c.json]}" 'BEGIN { printf "%.3f", d / c }')**, SSE **$(awk -v d="${R[d.sse]}" -v c="${R[c.sse]}" 'BEGIN { printf "%.3f", d / c }')**; CPU µs/request JSON ${R[c.json.cpu]} → ${R[d.json.cpu]}, SSE ${R[c.sse.cpu]} → ${R[d.sse.cpu]} (aigateway_calls_total at the end of (d): $scraped)."
  fi
  echo
  echo "Gateway CPU per request (CPU time ÷ requests during the wrk run; not blurred by others' load) and ledger database"
  echo 'transactions per 1,000 requests (`aigateway.ledger.transactions`, via `GET /admin/ledger/stats`):'
  echo
  echo "| path | JSON CPU µs/req | SSE CPU µs/req | JSON ledger tx / 1,000 | SSE ledger tx / 1,000 |"
  echo "|---|---:|---:|---:|---:|"
  echo "| (b) gateway, metering off | ${R[b.json.cpu]} | ${R[b.sse.cpu]} | ${R[b.json.tx]} | ${R[b.sse.tx]} |"
  echo "| (c) gateway, metered | ${R[c.json.cpu]} | ${R[c.sse.cpu]} | ${R[c.json.tx]} | ${R[c.sse.tx]} |"
  if [ "${PG:-0}" = 1 ]; then
    echo "| (p) both gateways together (each: p1/p2) | ${R[p.json.cpu]} (${R[p.json.cpueach]}) | ${R[p.sse.cpu]} (${R[p.sse.cpueach]}) | ${R[p.json.tx]} | ${R[p.sse.tx]} |"
    echo
    echo "PostgreSQL, two gateways ÷ SQLite, one gateway (p ÷ c): JSON **$(ratio_of "${R[p.json]}" "${R[c.json]}")**, SSE **$(ratio_of "${R[p.sse]}" "${R[c.sse]}")** (target ≥ 0.5)."
    echo "PostgreSQL backends of the bench database: CPU µs per request JSON ${R[p.json.dbcpu]}, SSE ${R[p.sse.dbcpu]}; committed PostgreSQL transactions (writes and autocommit reads, \`pg_stat_database.xact_commit\`) per 1,000 requests JSON ${R[p.json.pgtx]}, SSE ${R[p.sse.pgtx]}; round trips of the ledger's transactions (\`roundTrips\` of \`GET /admin/ledger/stats\`) per request JSON ${R[p.json.rt]}, SSE ${R[p.sse.rt]}."
    echo "PostgreSQL backends during (p) (\`pg_stat_activity\` every 50 ms), mean number per state: ${R[p.activity]}."
    echo "Books of the hot account after both gateways stopped: **$books_ok** — granted $b_granted µcr, charged $b_charged µcr in $b_charges charges; $b_records call records charging $b_recorded µcr (charges without their record: $b_unrecorded, records without their charge: $b_nocharge); lots consumed $b_consumed + debt $b_overage; lots not adding up: $b_lotbad; left: leases $b_leases, admission markers $b_markers, active holds $b_holds. Gateway log lines at ERR/FTL: $b_logerr, of them $b_aborts requests cut by wrk at the end of a run (the balancer drops them; not charged)."
    echo
    echo "Sequential calls (one at a time on one keep-alive connection, $SEQ after 50 warm-up; the latency of a lone call):"
    echo
    echo "| gateway | p50 ms | p90 ms | p99 ms | gateway CPU ms per call | ledger tx per call | PostgreSQL tx per call | ledger round trips per call | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    echo "| (c) SQLite | ${R[c.s50]} | ${R[c.s90]} | ${R[c.s99]} | ${R[c.scpu]} | ${R[c.stx]} | — | — | ${R[c.sbad]} |"
    echo "| (p1) PostgreSQL, one of the two gateways | ${R[p1.s50]} | ${R[p1.s90]} | ${R[p1.s99]} | ${R[p1.scpu]} | ${R[p1.stx]} | ${R[p1.spgtx]} | ${R[p1.srt]} | ${R[p1.sbad]} |"
  fi
  echo
  echo "| target (issue #5) | measured | verdict |"
  echo "|---|---:|---|"
  echo "| metered max throughput ≥ 50% of (b) | $ratio | $(verdict "$ratio" 0.5 '>=') |"
  echo "| added p50 (c − a) ≤ 1 ms at $RATE req/s | $add50c ms | $(verdict "$add50c" 1 '<=') |"
  echo "| added p99 (c − a) ≤ 3 ms at $RATE req/s | $add99c ms | $(verdict "$add99c" 3 '<=') |"
  cpu_ratio=${R[ratio.json.cpu]:-$(ratio_of "${R[c.json.cpu]}" "${R[b.json.cpu]}")}; cpu_ratio_sse=${R[ratio.sse.cpu]:-$(ratio_of "${R[c.sse.cpu]}" "${R[b.sse.cpu]}")}
  echo
  echo "| target (issue #13) | measured | verdict |"
  echo "|---|---:|---|"
  echo "| metered throughput ≥ 0.5× (b), JSON / SSE | $ratio / $ratio_sse | $(verdict "$ratio" 0.5 '>=') / $(verdict "$ratio_sse" 0.5 '>=') |"
  echo "| CPU per metered request ≤ 2× (b), JSON / SSE | $cpu_ratio / $cpu_ratio_sse | $(verdict "$cpu_ratio" 2 '<=') / $(verdict "$cpu_ratio_sse" 2 '<=') |"
  echo "| added p50 (c − a) ≤ 0.5 ms at $RATE req/s | $add50c ms | $(verdict "$add50c" 0.5 '<=') |"
  echo "| added p99 (c − a) ≤ 3 ms at $RATE req/s | $add99c ms | $(verdict "$add99c" 3 '<=') |"
  echo "| ledger transactions per 1,000 metered calls ≤ 20 (the issue counts them at saturation; here $CONNECTIONS connections) | ${R[c.json.tx]} / ${R[c.sse.tx]} | $(verdict "${R[c.json.tx]}" 20 '<=') / $(verdict "${R[c.sse.tx]}" 20 '<=') |"
  fi
  if [ -z "${SKIP_MEMORY:-}" ]; then
    echo
    echo "Memory with $STREAMS concurrent metered streams (slow upstream: 1 event/s for ${STREAM_SECONDS}s), gateway RSS (MiB); each"
    echo "variant a fresh gateway and database; *after GC* = 5 s after a full blocking collection induced by \`dotnet-gcdump collect\`:"
    echo
    echo "| variant | baseline | all open | peak | after (15 s) | after GC | per open stream KiB | after ÷ baseline | after GC ÷ baseline | max threads | max SQLite connections |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for l in "${MEM_LABELS[@]}"; do echo "| $l | ${R[m.$l.row]} |"; done
    echo
    echo "GC heap after the last collection / GC committed (MiB; \`dotnet-counters\`, System.Runtime) at the same moments:"
    echo
    echo "| variant | baseline | all open (max) | after (15 s) | after GC |"
    echo "|---|---:|---:|---:|---:|"
    for l in "${MEM_LABELS[@]}"; do echo "| $l | ${R[m.$l.heap]:--} |"; done
    echo
    for l in "${MEM_LABELS[@]}"; do echo "- $l: streams \`${R[m.$l.streams]}\`; RSS samples (MiB, 1 s apart): ${R[m.$l.samples]}"; done
  fi
} >"$tmp/summary.md"

echo
cat "$tmp/summary.md"
if [ "$RESULTS" != "-" ]; then cp "$tmp/summary.md" "$RESULTS"; log "written to $RESULTS"; fi
