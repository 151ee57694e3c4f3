#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, then runs every test.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
started=$(date +%s)

require_dotnet
install_wiremock
if [ -x tests/scripts/start-postgres.sh ]; then
  log "PostgreSQL for the ledger tests"
  tests/scripts/start-postgres.sh
fi
if [ -x tests/scripts/install-chromium.sh ]; then
  log "Chromium for the dashboard tests"
  tests/scripts/install-chromium.sh
fi

log "dotnet build (Release)"
dotnet build AiGateway.sln -c Release -nologo -clp:ErrorsOnly -v:q

log "dotnet test"
results="$REPO_ROOT/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
set +e
dotnet test AiGateway.sln -c Release --no-build -nologo --results-directory "$results" \
  --logger "console;verbosity=normal" --logger "trx;LogFilePrefix=tests" -- RunConfiguration.TestSessionTimeout=1500000 2>&1 | tee "$results/console.log" \
  | grep -E --line-buffered '^\s*(Passed|Failed|Skipped) |Passed!|Failed!|error|Error Message|Assert' 
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over the test assemblies' TRX counters.
read -r passed failed skipped < <(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*' \
  | sed -E 's/.* passed="([0-9]+)" failed="([0-9]+)".* notExecuted="([0-9]+)".*/\1 \2 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
echo "Test run took $(( $(date +%s) - started )) s; results in artifacts/test-results"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then echo "No test ran." >&2; exit 1; fi
exit "$status"
