#!/usr/bin/env bash
# History at scale (issue #17): grows a SQLite ledger to 3,000,000 calls (1,000,000 on one account) once, starts the
# gateway on it and times every account endpoint and export of the heavy account (bench/History/measure.py).
# Knobs: DB=/tmp/aigw-history/history.db (kept between runs; delete it to grow again), RUNS=7, NO_BUILD=1,
# CALLS/HEAVY/ACCOUNTS/DAYS (see grow.sh). Loopback only; stops the gateway it started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
db=${DB:-/tmp/aigw-history/history.db}
cd "$repo"
[ -n "${NO_BUILD:-}" ] || dotnet build src/AiGateway -c Release -v q -nologo -clp:ErrorsOnly
if [ ! -f "$db" ]; then
  start=$(date +%s)
  "$here/grow.sh" "$db"
  echo "grown in $(( $(date +%s) - start )) s"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin="bench-admin-$RANDOM$RANDOM"
log=$(mktemp /tmp/aigw-history-gateway.XXXXXX.log)
Gateway__AdminKey="$admin" ConnectionStrings__Ledger="Data Source=$db" Serilog__MinimumLevel__Default=Warning \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 \
  dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
gw=$!
trap 'kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), SQLite file $db"
python3 "$here/measure.py" "http://127.0.0.1:$port" "$admin" "$db" "$gw"
