#!/usr/bin/env bash
# History at scale (issue #17): grows a SQLite ledger to 3,000,000 calls (1,000,000 on one account) once, starts the
# gateway on it and times every account endpoint and export of the heavy account (bench/History/measure.py), the
# metered-call p50 there and on a small database, then lets the hold compaction run and measures storage again.
# Knobs: DB=/tmp/aigw-history/history.db (kept between runs; delete it to grow again), RUNS=7, NO_BUILD=1,
# CALLS/HEAVY/ACCOUNTS/DAYS (see grow.sh), PG=postgresql://... to grow and measure on PostgreSQL instead (grow-pg.sh;
# CALLS defaults to 1,000,000 there). Loopback only; stops what it started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
db=${DB:-/tmp/aigw-history/history.db}
cd "$repo"
[ -n "${NO_BUILD:-}" ] || dotnet build src/AiGateway -c Release -v q -nologo -clp:ErrorsOnly
if [ -n "${PG:-}" ]; then
  target="$PG"; connection="Host=127.0.0.1;Username=postgres;Password=postgres;Database=${PG##*/}"; provider=Postgres
  if [ -z "${NO_GROW:-}" ]; then start=$(date +%s); "$here/grow-pg.sh" "$PG"; echo "grown in $(( $(date +%s) - start )) s"; fi
else
  target="$db"; connection="Data Source=$db"; provider=Sqlite
  if [ ! -f "$db" ]; then start=$(date +%s); "$here/grow.sh" "$db"; echo "grown in $(( $(date +%s) - start )) s"; fi
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
python3 "$here/upstream.py" "$up_port" & up=$!
admin="bench-admin-$RANDOM$RANDOM"
gw=""
start_gateway() { # connection string, then extra VAR=value settings
  local conn=$1; shift
  port=$(free_port)
  log=$(mktemp /tmp/aigw-history-gateway.XXXXXX.log)
  env Gateway__AdminKey="$admin" Ledger__Provider="$provider" ConnectionStrings__Ledger="$conn" Serilog__MinimumLevel__Default=Warning \
    RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 OPENAI_API_KEY=bench \
    ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$up_port/" "$@" \
    dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
  gw=$!
  for _ in $(seq 1 180); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 1; done
  echo "gateway did not start: $log"; return 1
}
stop_gateway() { kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; gw=""; }
trap 'stop_gateway; kill "$up" 2>/dev/null || true' EXIT
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $provider $target"
echo "storage as grown (before compaction):"; python3 "$here/measure.py" --storage "$target"
# 1. The endpoints, with the hold compaction off so it does not run meanwhile.
start_gateway "$connection" History__ResolvedHoldRetention=00:00:00
METERED=1 python3 "$here/measure.py" "http://127.0.0.1:$port" "$admin" "$target" "$gw"
stop_gateway
# 2. The metered call on a small (fresh) database.
small=$(mktemp -d /tmp/aigw-history-small.XXXXXX)
if [ -n "${PG:-}" ]; then
  psql "${PG%/*}/postgres" -qc "DROP DATABASE IF EXISTS aigw_history_small" -c "CREATE DATABASE aigw_history_small" >/dev/null
  start_gateway "Host=127.0.0.1;Username=postgres;Password=postgres;Database=aigw_history_small"
else
  start_gateway "Data Source=$small/small.db"
fi
python3 "$here/measure.py" --metered "http://127.0.0.1:$port" "$admin" "$gw"
stop_gateway; rm -rf "$small"
# 3. The hold compaction (default settings) on the large database: wait until the holds stop shrinking.
start_gateway "$connection"
t0=$(date +%s); c0=$(awk '{print $14 + $15}' "/proc/$gw/stat")
rows() { local q="SELECT (SELECT COUNT(*) FROM credit_holds) + (SELECT COUNT(*) FROM ledger_entries)"; if [ -n "${PG:-}" ]; then psql "$PG" -Atc "$q"; else sqlite3 "$db" "$q"; fi; }
last=-1; while true; do sleep 30; n=$(rows); [ "$n" = "$last" ] && break; last=$n; done
echo "- hold compaction: $(( $(date +%s) - t0 - 30 )) s wall, gateway CPU $(( ($(awk '{print $14 + $15}' "/proc/$gw/stat") - c0) / $(getconf CLK_TCK) )) s; holds + movements left $last"
stop_gateway
echo "storage after compaction:"; python3 "$here/measure.py" --storage "$target"
