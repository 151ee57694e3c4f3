#!/usr/bin/env bash
# CPU per call record stored the way a leased settlement batch stores it, per call_records schema variant (issue #13).
# Usage: bench/Records/run.sh [variant…]; env BATCH, BATCHES, PREFILL, ROUNDS (see Program.cs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dotnet build "$here/RecordsBench.csproj" -c Release -v:q -clp:ErrorsOnly -nologo >/dev/null
exec taskset -c 1 dotnet "$here/bin/Release/net10.0/RecordsBench.dll" "$@"
