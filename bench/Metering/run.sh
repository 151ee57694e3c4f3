#!/usr/bin/env bash
# Metering overhead benchmark (issue #5), all on loopback in one run:
#   (a) client -> nginx directly, (b) client -> gateway with metering off, (c) client -> gateway, metered;
#   max throughput (wrk, JSON and SSE), latency p50/p99 at a fixed rate (fixedrate.mjs), and the gateway's RSS
#   with STREAMS concurrent slow metered streams. Prints a summary and writes it to results-latest.md.
#   With METRICS=1 also (d): the metered gateway with the Prometheus endpoint on and scraped every second (run after (c),
#   so load changes between phases show; bench/Metering/metrics-ab.sh alternates the two for a steadier ratio).
# Knobs (env): METRICS=0 DURATION=10 (wrk seconds) CONNECTIONS=32 RATE=500 LAT_SECONDS=15 WARMUP=10 STREAMS=1000 TC_DELAY_MS=0
#              STREAM_SECONDS=20 SKIP_MEMORY=1 NO_BUILD=1 KEEP_LOGS=1 RESULTS=path (default results-latest.md; "-" = don't write)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
RATE=${RATE:-500}
LAT_SECONDS=${LAT_SECONDS:-15}
WARMUP=${WARMUP:-10}
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
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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
  ConnectionStrings__Ledger="Data Source=$tmp/bench.db" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="$3" \
  OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning \
  Metering__Enabled="$2" \
  Telemetry__PrometheusEnabled="${GW_TELEMETRY:-false}" \
  Metering__JournalPath="$tmp/journal-$1.jsonl" \
  Ledger__Leases="${LEASES:-true}" \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
  DOTNET_TC_CallCountingDelayMs="${TC_DELAY_MS:-0}" \
    taskset -c "$GW_CPU" dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "$GW" >"$tmp/gateway-$1.log" 2>&1 &
  GW_PID=$!
  pids+=("$GW_PID")
  wait_http "$GW/healthz" 60
  log "gateway ($1, metering $2) on $GW, pid $GW_PID"
}
stop_gateway() { kill "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; }
admin() { curl -fsS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2" "$GW$1"; }

# --- measurements ---------------------------------------------------------------------------------------------------
declare -A R
cpu_ticks() { [ -n "${GW_PID:-}" ] && [ -r "/proc/$GW_PID/stat" ] && awk '{ print $14 + $15 }' "/proc/$GW_PID/stat" || echo 0; }
ledger_tx() { [ -n "${GW:-}" ] && curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$GW/admin/ledger/stats" 2>/dev/null | json transactions 2>/dev/null || echo 0; }
wrk_rps() { # label url stream(0/1) -> R[label]=req/s, R[label.non2xx], R[label.cpu] (gateway CPU µs per request), R[label.tx] (ledger tx per 1,000)
  local out t0 t1 x0 x1 n
  t0=$(cpu_ticks); x0=$(ledger_tx)
  out=$(BENCH_KEY="${KEY:-}" BENCH_STREAM="$3" load wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/post.lua" "$2")
  t1=$(cpu_ticks); x1=$(ledger_tx)
  echo "$out" >"$tmp/wrk-$1.txt"
  n=$(awk '/requests in/ { print $1 }' <<<"$out")
  R[$1.cpu]=$(awk -v t="$((t1 - t0))" -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0 && t > 0) printf "%.0f", t * 1000000 / hz / n; else print "-" }')
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
  BENCH_KEY="${KEY:-}" BENCH_STREAM=0 load wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$here/post.lua" "$2" >/dev/null
  BENCH_KEY="${KEY:-}" BENCH_STREAM=1 load wrk -t1 -c"$CONNECTIONS" -d1s -s "$here/post.lua" "$2" >/dev/null
  wrk_rps "$1.json" "$2" 0
  wrk_rps "$1.sse" "$2" 1
  fixed_rate "$1" "$2"
}

KEY="" measure a "http://127.0.0.1:$NGINX_PORT/v1/chat/completions"

start_gateway b false "http://127.0.0.1:$NGINX_PORT/"
account=$(admin /admin/accounts '{"name":"bench"}' | json id)
KEY=$(admin "/admin/accounts/$account/keys" '{"name":"bench"}' | json key)
admin "/admin/accounts/$account/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
check=$(curl -fsS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$GW/openai/v1/chat/completions")
[ "$check" = 200 ] || { echo "gateway (b) answered $check" >&2; exit 1; }
measure b "$GW/openai/v1/chat/completions"
stop_gateway

start_gateway c true "http://127.0.0.1:$NGINX_PORT/"
hdr=$(curl -fsS -D - -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$GW/openai/v1/chat/completions")
grep -qi '^x-credits-charged' <<<"$hdr" || { echo "metered call was not charged: $hdr" >&2; exit 1; }
measure c "$GW/openai/v1/chat/completions"
calls_c=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM call_records").fetchone()[0])' "$tmp/bench.db" 2>/dev/null || echo "?")
stop_gateway

if [ "${METRICS:-0}" = 1 ]; then
  # (d) = (c) with the metrics export on: every instrument listened to, and a scrape every second as Prometheus would.
  GW_TELEMETRY=true start_gateway d true "http://127.0.0.1:$NGINX_PORT/"
  curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" || { echo "gateway (d): /metrics did not answer" >&2; exit 1; }
  ( while kill -0 "$GW_PID" 2>/dev/null; do curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" || true; sleep 1; done ) &
  pids+=($!)
  measure d "$GW/openai/v1/chat/completions"
  scraped=$(curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$GW/metrics" | awk '/^aigateway_calls_total/ { s += $NF } END { printf "%d", s }')
  stop_gateway
fi

# --- memory with many open streams -------------------------------------------------------------------------------
if [ -z "${SKIP_MEMORY:-}" ]; then
  SLOW_PORT=$(free_port)
  taskset -c "$LOAD_CPU" node "$here/slow-sse.mjs" "$SLOW_PORT" "$STREAM_SECONDS" >"$tmp/slow-sse.log" 2>&1 &
  pids+=($!)
  start_gateway m true "http://127.0.0.1:$SLOW_PORT/"
  rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }
  # Warm the metered streaming path (JIT, pools) on the fast path first: a short burst of non-streaming calls, then
  # a few slow streams, so the baseline is a warm gateway rather than a cold one.
  BENCH_KEY=$KEY BENCH_STREAM_SECONDS=1 load node "$here/streams.mjs" "$GW/openai/v1/chat/completions" 200 0 >/dev/null
  threads() { awk '/^Threads:/ { print $2 }' "/proc/$GW_PID/status"; }
  dbfds() { find "/proc/$GW_PID/fd" -lname "$tmp/bench.db" 2>/dev/null | wc -l; } # one per open SQLite connection
  ( while kill -0 "$GW_PID" 2>/dev/null; do echo "$(date +%s.%N) $(rss) $(threads) $(dbfds)"; sleep 1; done ) >"$tmp/rss.txt" 2>/dev/null &
  pids+=($!)
  sleep 5
  t_start=$(date +%s.%N)
  log "opening $STREAMS streams of ${STREAM_SECONDS}s"
  streams_out=$(BENCH_KEY=$KEY load node "$here/streams.mjs" "$GW/openai/v1/chat/completions" "$STREAMS" 3)
  t_end=$(date +%s.%N)
  log "streams: $streams_out"
  sleep 15
  R[m.streams]=$streams_out
  # open = highest RSS while every stream is open (after the 3 s ramp, before the first can end); peak = highest at all.
  read -r m_base m_open m_peak m_after m_thr m_db < <(awk -v s="$t_start" -v e="$t_end" -v d="$STREAM_SECONDS" '
    $1 < s { base = $2 } $1 >= s + 4 && $1 <= s + d && $2 > open { open = $2 }
    $1 >= s && $1 <= e + 2 { if ($2 > peak) peak = $2; if ($3 > thr) thr = $3; if ($4 > db) db = $4 } $1 > e { after = $2 }
    END { print base, open, peak, after, thr, db }' "$tmp/rss.txt")
  R[m.samples]=$(awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 / 1024 }' "$tmp/rss.txt")
  R[m.dbsamples]=$(awk '{ printf "%s%d/%d", (NR > 1 ? " " : ""), $3, $4 }' "$tmp/rss.txt")
  stop_gateway
fi

# --- summary ------------------------------------------------------------------------------------------------------
f() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; } # a − b (awk -v does not evaluate expressions)
add50b=$(f "${R[b.p50]}" "${R[a.p50]}"); add99b=$(f "${R[b.p99]}" "${R[a.p99]}")
add50c=$(f "${R[c.p50]}" "${R[a.p50]}"); add99c=$(f "${R[c.p99]}" "${R[a.p99]}")
ratio=$(awk -v c="${R[c.json]}" -v b="${R[b.json]}" 'BEGIN { printf "%.2f", c / b }')
ratio_sse=$(awk -v c="${R[c.sse]}" -v b="${R[b.sse]}" 'BEGIN { printf "%.2f", c / b }')
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=" ? v >= t : v <= t); print (ok ? "PASS" : "FAIL") }'; }

{
  echo "# Metering benchmark — latest run"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src || echo '+changes'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -r), .NET $(dotnet --version)."
  echo "Loopback only; load generators and nginx pinned to CPU $LOAD_CPU, gateway to CPU $GW_CPU; SQLite ledger on $(df -P "$tmp" | awk 'NR==2 { print $1 }')."
  echo "Load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg); machine CPU busy just before each phase (others' load; ~0 = quiet): ${others}."
  echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s; fixed rate $RATE req/s for ${LAT_SECONDS}s after ${WARMUP}s warm-up (bench/Metering/fixedrate.mjs, 64 keep-alive connections); gateways run with DOTNET_TC_CallCountingDelayMs=${TC_DELAY_MS:-0}."
  echo
  echo "| path | JSON req/s | SSE req/s | p50 ms @${RATE}/s | p99 ms @${RATE}/s | p99.9 ms | added p50 | added p99 | errors (wrk non-2xx json/sse; fixed-rate) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
  echo "| (a) nginx direct | ${R[a.json]} | ${R[a.sse]} | ${R[a.p50]} | ${R[a.p99]} | ${R[a.p999]} | — | — | ${R[a.json.non2xx]}/${R[a.sse.non2xx]}; ${R[a.bad]} |"
  echo "| (b) gateway, metering off | ${R[b.json]} | ${R[b.sse]} | ${R[b.p50]} | ${R[b.p99]} | ${R[b.p999]} | $add50b | $add99b | ${R[b.json.non2xx]}/${R[b.sse.non2xx]}; ${R[b.bad]} |"
  echo "| (c) gateway, metered | ${R[c.json]} | ${R[c.sse]} | ${R[c.p50]} | ${R[c.p99]} | ${R[c.p999]} | $add50c | $add99c | ${R[c.json.non2xx]}/${R[c.sse.non2xx]}; ${R[c.bad]} |"
  echo
  echo "Metered ÷ unmetered throughput: JSON **$ratio**, SSE **$ratio_sse** (call records written in (c): $calls_c; credit leases: ${LEASES:-true})."
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
  echo
  echo "| target (issue #5) | measured | verdict |"
  echo "|---|---:|---|"
  echo "| metered max throughput ≥ 50% of (b) | $ratio | $(verdict "$ratio" 0.5 '>=') |"
  echo "| added p50 (c − a) ≤ 1 ms at $RATE req/s | $add50c ms | $(verdict "$add50c" 1 '<=') |"
  echo "| added p99 (c − a) ≤ 3 ms at $RATE req/s | $add99c ms | $(verdict "$add99c" 3 '<=') |"
  if [ -z "${SKIP_MEMORY:-}" ]; then
    per=$(awk -v p="$m_open" -v b="$m_base" -v n="$STREAMS" 'BEGIN { printf "%.1f", (p - b) / n }')
    perpeak=$(awk -v p="$m_peak" -v b="$m_base" -v n="$STREAMS" 'BEGIN { printf "%.1f", (p - b) / n }')
    echo
    echo "Memory with $STREAMS concurrent metered streams (slow upstream: 1 event/s for ${STREAM_SECONDS}s), gateway RSS:"
    echo
    echo "| baseline MiB | all open MiB | peak MiB | after (15 s) MiB | per open stream KiB | per stream at peak KiB | max threads | max SQLite connections | streams |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    echo "| $((m_base / 1024)) | $((m_open / 1024)) | $((m_peak / 1024)) | $((m_after / 1024)) | $per | $perpeak | $m_thr | $m_db | \`${R[m.streams]}\` |"
    echo
    echo "RSS samples (MiB, 1 s apart): ${R[m.samples]}"
    echo
    echo "Threads/SQLite connections, same samples: ${R[m.dbsamples]}"
  fi
} >"$tmp/summary.md"

echo
cat "$tmp/summary.md"
if [ "$RESULTS" != "-" ]; then cp "$tmp/summary.md" "$RESULTS"; log "written to $RESULTS"; fi
