#!/usr/bin/env bash
# Lone calls on PostgreSQL, statement by statement (issue #13): one metered gateway (Release, CPU 1) on a fresh
# PostgreSQL database behind nginx (CPU 0); a wrk warm-up (WARM=30 s, 32 connections), then ROUNDS=3 × N=300 sequential
# calls (sequential.mjs, 50 warm-up calls each) and, for those calls only: their p50/p90/p99, the gateway's and the
# database backends' CPU, and the server's time per statement from pg_stat_statements (calls, total ms with planning,
# planning ms, plans — a statement planned on every call shows plans = calls).
# Needs pg_stat_statements preloaded by the server with track_planning on: tests/scripts/start-postgres.sh sets both.
# Knobs: DIR=<repo with a Release build> (default this repo), PROVIDER=Postgres|Sqlite (no statement table on SQLite),
# SECOND=1 (a second instance on the same database, warmed up as well, idle during the calls), LOAD=<seconds> (measure a
# saturating wrk run instead of lone calls; with SECOND=1 both instances are loaded), LEASES=true|false, EXTRA_ENV="NAME=value …" (gateway environment), CSX=";Name=value" (appended to the connection
# string, e.g. ";Max Auto Prepare=256"), PGHOST/PGPORT/PGUSER/PGPASSWORD (default 127.0.0.1:5432 postgres/postgres), TOPQ=25.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DIR=${DIR:-$repo}; PROVIDER=${PROVIDER:-Postgres}; N=${N:-300}; ROUNDS=${ROUNDS:-3}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres} PGPASSWORD=${PGPASSWORD:-postgres}
tmp=$(mktemp -d /tmp/aigw-pgstmt.XXXXXX); pids=(); DB=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -n "$DB" ] && psql -qd postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(o[process.argv[1]])})' "$1"; }
NP=$(free_port); mkdir -p "$tmp"/nginx-{body,proxy,fastcgi,uwsgi,scgi}
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NP#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c 0 nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
if [ "$PROVIDER" = Postgres ]; then
  psql -qAtd postgres -c "SHOW shared_preload_libraries" | grep -q pg_stat_statements \
    || { echo "pg_stat_statements is not loaded by the server: run tests/scripts/start-postgres.sh" >&2; exit 1; }
  DB=aigw_pgstmt_$(date +%s)_$$
  psql -qd postgres -c "CREATE DATABASE $DB"
  CS="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Password=$PGPASSWORD;Database=$DB${CSX:-}"
else
  CS="Data Source=$tmp/g.db"
fi
AK=adm$RANDOM$RANDOM
cd "$repo"
start_instance() { # suffix ("" or 2) -> URL<suffix>, GP<suffix>: one metered gateway on CPU 1, its own journal and instance id
  local port; port=$(free_port)
  env ${EXTRA_ENV:-} Gateway__AdminKey="$AK" Ledger__Provider="$PROVIDER" ConnectionStrings__Ledger="$CS" \
    ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NP/" OPENAI_API_KEY=bench \
    Serilog__MinimumLevel__Default=Warning Metering__JournalPath="$tmp/journal$1.jsonl" Ledger__InstanceIdPath="$tmp/instance$1" \
    Ledger__Leases="${LEASES:-true}" RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
    DOTNET_TC_CallCountingDelayMs=0 taskset -c 1 dotnet "$DIR/src/AiGateway/bin/Release/net10.0/AiGateway.dll" --urls "http://127.0.0.1:$port" >"$tmp/gw$1.log" 2>&1 &
  pids+=($!); printf -v "GP$1" '%s' "$!"; printf -v "URL$1" '%s' "http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.2; done
}
start_instance ""
# A second instance on the same database (as run.sh PG=1 runs two), warmed up on the same account; idle while lone calls
# are measured, loaded as well with LOAD.
[ "${SECOND:-0}" = 1 ] && start_instance 2
a() { curl -fsS -X POST -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' -d "$2" "$URL$1"; }
acc=$(a /admin/accounts '{"name":"bench"}' | json id); KEY=$(a "/admin/accounts/$acc/keys" '{"name":"b"}' | json key)
a "/admin/accounts/$acc/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
echo "warm-up: $(BENCH_KEY="$KEY" taskset -c 0 wrk -t1 -c32 -d"${WARM:-30}"s -s "$here/post.lua" "$URL/openai/v1/chat/completions" | grep Requests/sec)"
[ "${SECOND:-0}" = 1 ] && echo "warm-up of the second instance: $(BENCH_KEY="$KEY" taskset -c 0 wrk -t1 -c32 -d"${WARM:-30}"s -s "$here/post.lua" "$URL2/openai/v1/chat/completions" | grep Requests/sec)"
q() { psql -qAtd "$DB" -F ' | ' -c "$1"; }
backend_ticks() {
  local t=0 p
  for p in $(q "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$t"
}
if [ "$PROVIDER" = Postgres ]; then q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null; p0=$(backend_ticks); fi
gw_ticks() { cat "/proc/$GP/stat" ${GP2:+"/proc/$GP2/stat"} | awk '{ t += $14 + $15 } END { print t }'; }
g0=$(gw_ticks)
if [ -n "${LOAD:-}" ]; then
  # LOAD=<seconds>: the statements of a saturating wrk run (32 connections; with SECOND=1 on both instances at once,
  # 16 each, as run.sh PG=1's balancer spreads them) instead of lone calls.
  x0=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
  if [ "${SECOND:-0}" = 1 ]; then
    BENCH_KEY="$KEY" taskset -c 0 wrk -t1 -c16 -d"$LOAD"s -s "$here/post.lua" "$URL2/openai/v1/chat/completions" >"$tmp/wrk2.txt" &
    w2=$!
    BENCH_KEY="$KEY" taskset -c 0 wrk -t1 -c16 -d"$LOAD"s -s "$here/post.lua" "$URL/openai/v1/chat/completions" >"$tmp/wrk1.txt"
    wait "$w2"
    calls=$(( $(grep -h 'requests in' "$tmp/wrk1.txt" "$tmp/wrk2.txt" | awk '{ s += $1 } END { print s }') ))
  else
    BENCH_KEY="$KEY" taskset -c 0 wrk -t1 -c32 -d"$LOAD"s -s "$here/post.lua" "$URL/openai/v1/chat/completions" >"$tmp/wrk1.txt"
    calls=$(grep -h 'requests in' "$tmp/wrk1.txt" | awk '{ print $1 }')
  fi
  echo "load: $calls calls in $LOAD s ($(( calls / LOAD )) calls/s), $(( ($(q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()") - x0) * 1000 / calls )) committed transactions per 1,000 calls"
else
  for _ in $(seq "$ROUNDS"); do BENCH_KEY="$KEY" node "$here/sequential.mjs" "$URL/openai/v1/chat/completions" "$N" 50; done
  calls=$((ROUNDS * (N + 50)))
fi
g1=$(gw_ticks)
hz=$(getconf CLK_TCK)
# What each instance's ledger did (transactions, round trips, lease fall-backs, late-lock retries; since its start).
[ -n "${LOAD:-}" ] && for u in "$URL" ${URL2:+"$URL2"}; do echo "ledger stats of $u: $(curl -fsS -H "Authorization: Bearer $AK" "$u/admin/ledger/stats")"; done
echo "gateway CPU per call${GP2:+ (both instances)}: $(( (g1 - g0) * 1000000 / hz / calls )) µs ($calls calls)"
if [ "$PROVIDER" = Postgres ]; then
  echo "database backends' CPU per call: $(( ($(backend_ticks) - p0) * 1000000 / hz / calls )) µs"
  echo "calls | total ms (with planning) | planning ms | plans | slowest execution ms | statement"
  q "SELECT calls, round((total_exec_time + total_plan_time)::numeric, 1), round(total_plan_time::numeric, 1), plans, round(max_exec_time::numeric, 1),
       left(regexp_replace(query, '\s+', ' ', 'g'), 120) FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY total_exec_time + total_plan_time DESC LIMIT ${TOPQ:-25}"
fi
