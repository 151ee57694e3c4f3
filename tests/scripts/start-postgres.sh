#!/usr/bin/env bash
# Starts a local PostgreSQL 15 for the ledger tests and benchmark. Idempotent: safe to run repeatedly.
# Must run as root (installs the package if missing; pg_ctlcluster starts the server as the postgres user).
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql/15/main ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi

# pg_stat_statements, preloaded, with planning counted: PostgresPlanCacheTests counts how often the ledger's statements
# are planned, and bench/Metering/pg-statements.sh reads the server's time per statement. Changing it needs a restart.
conf=/etc/postgresql/15/main/conf.d/aigateway.conf
want=$'shared_preload_libraries = \'pg_stat_statements\'\npg_stat_statements.track_planning = on'
restart=0
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" > "$conf"
  restart=1
fi

if ! pg_ctlcluster 15 main status >/dev/null 2>&1; then
  pg_ctlcluster 15 main start
elif [ "$restart" = 1 ]; then
  pg_ctlcluster 15 main restart
fi

# Wait for the local socket before changing the password.
for _ in $(seq 1 60); do
  if su postgres -c "pg_isready -q"; then break; fi
  sleep 0.5
done
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres';\""

# Then wait until TCP on 127.0.0.1:5432 accepts password logins, which is what the tests use.
for _ in $(seq 1 60); do
  if PGPASSWORD=postgres psql -h 127.0.0.1 -p 5432 -U postgres -tAc "select 1" >/dev/null 2>&1; then
    echo "PostgreSQL is accepting connections on 127.0.0.1:5432"
    exit 0
  fi
  sleep 0.5
done
echo "PostgreSQL did not accept connections on 127.0.0.1:5432" >&2
exit 1
