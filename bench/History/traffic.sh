#!/usr/bin/env bash
# Storage per call of real traffic (issue #17): starts the gateway (Release, default settings: credit leases on, hold
# compaction after 7 days) on a fresh SQLite file with the stub upstream, pushes CALLS metered calls through it
# (bench/History/traffic.py) and measures storage per table and index (dbstat) as written; then restarts it with the
# hold compaction's retention at 1 s, as the default would leave the rows after 7 days, and measures again.
# Knobs: DB=/tmp/aigw-traffic/traffic.db (deleted first), CALLS=20000, ACCOUNTS=4, THREADS=8, NO_BUILD=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
db=${DB:-/tmp/aigw-traffic/traffic.db}
cd "$repo"
[ -n "${NO_BUILD:-}" ] || dotnet build src/AiGateway -c Release -v q -nologo -clp:ErrorsOnly
mkdir -p "$(dirname "$db")"; rm -f "$db" "$db-wal" "$db-shm"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
python3 "$here/upstream.py" "$up_port" & up=$!
admin="bench-admin-$RANDOM$RANDOM"
gw=""
start_gateway() { # extra VAR=value settings
  port=$(free_port)
  log=$(mktemp /tmp/aigw-traffic-gateway.XXXXXX.log)
  env Gateway__AdminKey="$admin" ConnectionStrings__Ledger="Data Source=$db" Serilog__MinimumLevel__Default=Warning \
    RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 OPENAI_API_KEY=bench \
    ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$up_port/" "$@" \
    dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
  gw=$!
  for _ in $(seq 1 180); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 1; done
  echo "gateway did not start: $log"; return 1
}
stop_gateway() { kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; gw=""; }
trap 'stop_gateway; kill "$up" 2>/dev/null || true' EXIT
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg), $db"
start_gateway
t0=$(date +%s)
python3 "$here/traffic.py" "http://127.0.0.1:$port" "$admin"
echo "  in $(( $(date +%s) - t0 )) s"
# Rollups fold every few seconds: wait until every call is in them.
for _ in $(seq 1 120); do
  [ "$(sqlite3 "$db" "SELECT (SELECT MAX(id) FROM call_records) <= (SELECT position FROM history_watermarks WHERE name = 'usage_rollups')")" = 1 ] && break
  sleep 1
done
stop_gateway
echo "as written (rows: $(sqlite3 "$db" "SELECT group_concat(t || ' ' || n, ', ') FROM (SELECT 'holds' t, COUNT(*) n FROM credit_holds UNION ALL SELECT 'movements', COUNT(*) FROM ledger_entries UNION ALL SELECT 'charges', COUNT(*) FROM credit_charges UNION ALL SELECT 'allocations', COUNT(*) FROM charge_allocations)")):"
python3 "$here/measure.py" --storage "$db" --indexes
# The hold compaction as the default leaves things after 7 days: retention 1 s, wait until the holds stop shrinking.
start_gateway History__ResolvedHoldRetention=00:00:01
last=-1; while true; do sleep 10; n=$(sqlite3 "$db" "SELECT (SELECT COUNT(*) FROM credit_holds) + (SELECT COUNT(*) FROM ledger_entries)"); [ "$n" = "$last" ] && break; last=$n; done
stop_gateway
echo "after the hold compaction (rows: holds $(sqlite3 "$db" 'SELECT COUNT(*) FROM credit_holds'), movements $(sqlite3 "$db" 'SELECT COUNT(*) FROM ledger_entries')):"
python3 "$here/measure.py" --storage "$db" --indexes
