#!/usr/bin/env bash
# CPU profile of the metered path: nginx upstream, one metered gateway (Release, pinned to CPU 1), wrk load on
# CPU 0, dotnet-trace sampling the gateway for TRACE_SECONDS. Prints the top methods by inclusive and exclusive time.
# Needs what run.sh needs plus dotnet-trace (installed into a temp tool path when missing).
# PERF=1 samples on-CPU time with `perf record` instead (JIT names from the runtime's perf map): thread-time sampling
# counts threads waiting in the thread pool as much as running ones, so its top lists are mostly waits; perf's are
# CPU only. Prints the top symbols by own CPU (exclusive) and, with call graphs, by inclusive CPU; the whole report is
# kept with KEEP_LOGS=1 (perf.data + perf-<pid>.map must stay together).
# The gateway inherits the environment: AIGW_EXP_NOLEDGER=1 AIGW_EXP_NORECORD=1 profile the metered path without the
# ledger when experiments/skip-ledger-and-record.patch is applied.
# PG=1 runs the gateway on a fresh PostgreSQL database (aigw_prof_*, dropped at the end; PGHOST/PGPORT/PGUSER/PGPASSWORD,
# default 127.0.0.1:5432 postgres/postgres) with its own instance id, as one of run.sh PG=1's gateways.
# Knobs: TRACE_SECONDS=10, CONNECTIONS=32, STREAM=0|1, METERING=true|false, NO_BUILD=1, KEEP_LOGS=1, TOP=40, PERF=1, PERF_HZ=999, WARMUP=45 (s: the tiered JIT needs about a minute of load to settle; a shorter warm-up profiles rejitting).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
TRACE_SECONDS=${TRACE_SECONDS:-10}; CONNECTIONS=${CONNECTIONS:-32}; STREAM=${STREAM:-0}; METERING=${METERING:-true}; TOP=${TOP:-40}
tmp=$(mktemp -d /tmp/aigw-profile.XXXXXX)
pids=(); DB=""
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres} PGPASSWORD=${PGPASSWORD:-postgres}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -n "$DB" ] && psql -qd postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  if [ -n "${KEEP_LOGS:-}" ]; then echo "logs kept in $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" >&2; }
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log(JSON.parse(s)[process.argv[1]])})' "$1"; }
command -v nginx >/dev/null && command -v wrk >/dev/null || { sudo apt-get install -y -qq nginx-light wrk >/dev/null 2>&1 || apt-get install -y -qq nginx-light wrk >/dev/null; }
TRACE=$(command -v dotnet-trace || true)
WXE=1
# perf resolves JIT code through /tmp/perf-<pid>.map only where the code is mapped once: W^X double-mapping hides it.
if [ -n "${PERF:-}" ]; then PERF_MAP=1; WXE=0; command -v perf >/dev/null || { echo "PERF=1 needs perf (Debian: linux-perf)" >&2; exit 1; }
elif [ -z "$TRACE" ]; then
  dotnet tool install --tool-path "$tmp/tools" dotnet-trace >/dev/null; TRACE="$tmp/tools/dotnet-trace"
fi
if [ "$(nproc)" -ge 2 ]; then LOAD_CPU=0; GW_CPU=1; else LOAD_CPU=0; GW_CPU=0; fi

NGINX_PORT=$(free_port)
mkdir -p "$tmp/nginx-body" "$tmp/nginx-proxy" "$tmp/nginx-fastcgi" "$tmp/nginx-uwsgi" "$tmp/nginx-scgi"
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NGINX_PORT#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c "$LOAD_CPU" nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)

cd "$repo"
[ -n "${NO_BUILD:-}" ] || dotnet build src/AiGateway -c Release -v q -nologo >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
ADMIN_KEY="bench-admin-$RANDOM$RANDOM"; GW_PORT=$(free_port); GW="http://127.0.0.1:$GW_PORT"
PROVIDER=Sqlite; CS="Data Source=$tmp/bench.db"
if [ "${PG:-0}" = 1 ]; then
  DB=aigw_prof_$(date +%s)_$$; psql -qd postgres -c "CREATE DATABASE $DB"
  PROVIDER=Postgres; CS="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Password=$PGPASSWORD;Database=$DB"
fi
Gateway__AdminKey="$ADMIN_KEY" Ledger__Provider="$PROVIDER" ConnectionStrings__Ledger="$CS" \
Metering__JournalPath="$tmp/journal.jsonl" Ledger__InstanceIdPath="$tmp/instance" \
ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NGINX_PORT/" OPENAI_API_KEY=bench \
Serilog__MinimumLevel__Default=Warning Metering__Enabled="$METERING" \
RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
DOTNET_TC_CallCountingDelayMs="${TC_DELAY_MS:-0}" DOTNET_PerfMapEnabled="${PERF_MAP:-0}" DOTNET_EnableWriteXorExecute="$WXE" \
  taskset -c "$GW_CPU" dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "$GW" >"$tmp/gateway.log" 2>&1 &
GW_PID=$!; pids+=("$GW_PID")
for _ in $(seq 600); do curl -fsS -o /dev/null "$GW/healthz" 2>/dev/null && break; sleep 0.1; done
admin() { curl -fsS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2" "$GW$1"; }
account=$(admin /admin/accounts '{"name":"bench"}' | json id)
KEY=$(admin "/admin/accounts/$account/keys" '{"name":"bench"}' | json key)
admin "/admin/accounts/$account/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
URL="$GW/openai/v1/chat/completions"
log "warm-up"
BENCH_KEY="$KEY" BENCH_STREAM="$STREAM" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP:-45}s" -s "$here/post.lua" "$URL" >/dev/null
log "tracing $TRACE_SECONDS s under wrk -c$CONNECTIONS (stream=$STREAM, metering=$METERING)"
BENCH_KEY="$KEY" BENCH_STREAM="$STREAM" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$((TRACE_SECONDS + 4))s" -s "$here/post.lua" "$URL" >"$tmp/wrk.txt" &
wrkpid=$!
sleep 1
if [ -n "${PERF:-}" ]; then
  perf record -F "${PERF_HZ:-999}" -g -p "$GW_PID" -o "$tmp/perf.data" -- sleep "$TRACE_SECONDS" >"$tmp/perf.log" 2>&1 || cat "$tmp/perf.log" >&2
  wait "$wrkpid"
  grep -E 'Requests/sec' "$tmp/wrk.txt" >&2
  # `head` closes the pipe early: without `|| true` pipefail + set -e ended the script after the first list.
  echo "== exclusive (own CPU)"; perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$TOP" | cut -c1-200 || true
  echo "== inclusive (with callees)"; perf report -i "$tmp/perf.data" --children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$TOP" | cut -c1-200 || true
  exit 0
fi
"$TRACE" collect -p "$GW_PID" --profile dotnet-sampled-thread-time --duration "00:00:00:$(printf %02d "$TRACE_SECONDS")" -o "$tmp/trace.nettrace" >"$tmp/trace.log" 2>&1 || cat "$tmp/trace.log" >&2
wait "$wrkpid"
grep -E 'Requests/sec' "$tmp/wrk.txt" >&2
echo "== inclusive"; "$TRACE" report "$tmp/trace.nettrace" topN -n "$TOP" --inclusive 2>&1 | cut -c1-220
echo "== exclusive"; "$TRACE" report "$tmp/trace.nettrace" topN -n "$TOP" 2>&1 | cut -c1-220
