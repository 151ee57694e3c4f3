#!/usr/bin/env bash
# CPU per leased settlement of CreditLedger.SettleLeasedBatchAsync on SQLite (see Program.cs), or on PostgreSQL with
# LEDGER_BATCH_PG=<connection string of an empty database> (CPU is this process's: the server's is not counted).
# Usage: bench/LedgerBatch/run.sh [calls per size] [sizes, e.g. 1,8,26,64] [modes: money,records]
# Pinned to one core like the gateway in bench/Metering (CPU=1 by default). PERF=1 records a perf profile (call graphs,
# JIT names from the runtime's perf map) of the whole run into perf.data here and prints the top symbols.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build -c Release -v q -nologo -clp:ErrorsOnly LedgerBatchBench.csproj >/dev/null
dll=bin/Release/net10.0/LedgerBatchBench.dll
export DOTNET_TC_CallCountingDelayMs=0
if [ -n "${PERF:-}" ]; then
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F "${PERF_HZ:-1999}" -g -o perf.data -- \
    taskset -c "${CPU:-1}" dotnet "$dll" "$@"
  perf report -i perf.data --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -"${TOP:-60}"
else
  taskset -c "${CPU:-1}" dotnet "$dll" "$@"
fi
