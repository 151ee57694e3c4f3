#!/usr/bin/env bash
# Micro-benchmarks of the non-ledger pieces of a metered call (issue #13): parse, estimate, usage from JSON and SSE,
# credit headers, call record, forward bookkeeping (Polly). Default: the `cpu` mode (thread CPU time and bytes
# allocated per operation: robust on a shared machine); MODE=bdn runs the same benchmarks under BenchmarkDotNet.
# A/B: A=<folder with another checkout> runs that checkout's copy of this project too, alternating, ROUNDS times.
# Knobs: MODE=cpu|bdn FILTER= (benchmark name part) ROUNDS=2 A= NO_BUILD=1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
MODE=${MODE:-cpu}; FILTER=${FILTER:-}; ROUNDS=${ROUNDS:-2}
rel=bench/Metering/Micro
# Tier-1 code at once, as the benchmark gateways run (bench/Metering/run.sh): otherwise the first benchmark times tier-0 code.
export DOTNET_TC_CallCountingDelayMs=0
build() { [ -n "${NO_BUILD:-}" ] || dotnet build "$1" -c Release -v q -nologo -clp:ErrorsOnly >/dev/null; }
build "$here"
[ -z "${A:-}" ] || { mkdir -p "$A/$rel"; cp "$here"/*.cs "$here"/*.csproj "$A/$rel/"; build "$A/$rel"; }
if [ "$MODE" = bdn ]; then cd "$here" && exec dotnet bin/Release/net10.0/MeteringMicro.dll --filter "*${FILTER}*"; fi
for r in $(seq "$ROUNDS"); do
  [ -z "${A:-}" ] || { echo "== A ($A), round $r"; (cd "$A/$rel" && dotnet bin/Release/net10.0/MeteringMicro.dll cpu "$FILTER" 7); }
  echo "== B (this checkout), round $r"; (cd "$here" && dotnet bin/Release/net10.0/MeteringMicro.dll cpu "$FILTER" 7)
done
