#!/usr/bin/env bash
# Ledger reserve+settle benchmark. Usage: bench/Ledger/run.sh [sqlite|postgres|all] [pairs] [workers]
# PostgreSQL: run tests/scripts/start-postgres.sh first (or set AIGATEWAY_TEST_POSTGRES).
set -euo pipefail
cd "$(dirname "$0")"
dotnet run -c Release --project LedgerBench.csproj -- "${1:-all}" "${2:-20000}" "${3:-1}"
