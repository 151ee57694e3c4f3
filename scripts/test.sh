#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine (PostgreSQL, Chromium, node with the
# official OpenAI Node SDK; the upstream provider stubs run in-process on WireMock.Net, so no Java), builds once in
# Release, then runs every test project of AiGateway.sln side by side, printing one line per project as it finishes
# (and a progress line every minute). Full logs and TRX files land in artifacts/test-results/; the console keeps
# only results and failures.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
started=$(date +%s)

require_dotnet
if [ -x tests/scripts/start-postgres.sh ]; then
  log "PostgreSQL for the ledger tests"
  tests/scripts/start-postgres.sh >/dev/null
fi
if [ -x tests/scripts/install-chromium.sh ]; then
  log "Chromium for the dashboard tests"
  tests/scripts/install-chromium.sh >/dev/null
fi
if [ -x tests/scripts/install-node-sdk.sh ]; then
  log "node and the OpenAI Node SDK for the unified endpoint tests"
  tests/scripts/install-node-sdk.sh >/dev/null
fi

results="$REPO_ROOT/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"

log "dotnet build (Release)"
build_started=$(date +%s)
if ! dotnet build AiGateway.sln -c Release -nologo -v:q > "$results/build.log" 2>&1; then
  grep -E ': error ' "$results/build.log" | sort -u >&2 || tail -n 30 "$results/build.log" >&2
  echo "Build failed; full log in artifacts/test-results/build.log" >&2
  echo "0 passed, 0 failed, 0 skipped"
  exit 1
fi
# Warnings by name on one line (file:line code), details in the log.
# (grep finds nothing on a clean build: '|| true' keeps pipefail + set -e from ending the script here.)
warnings=$( { grep -E ': warning ' "$results/build.log" || true; } | sort -u \
  | sed -E 's|^.*/([^/(]+)\(([0-9]+),[0-9]+\): warning ([A-Za-z0-9]+):.*|\1:\2 \3|' | paste -sd, - | sed 's/,/, /g')
echo "build: $(( $(date +%s) - build_started )) s${warnings:+; warnings (details in artifacts/test-results/build.log): $warnings}"

# Every test project of the solution (IsTestProject), each run by its own 'dotnet test' with its own log and TRX.
mapfile -t projects < <(dotnet sln AiGateway.sln list | grep -E '\.csproj$' | tr '\\' '/' \
  | while read -r p; do grep -q '<IsTestProject>true</IsTestProject>' "$p" && echo "$p"; done)
if [ -n "${TEST_PROJECTS:-}" ]; then
  # Optional: only the named projects, e.g. TEST_PROJECTS="AiGateway.Tests AiGateway.Tokenizers.Tests".
  mapfile -t projects < <(for p in "${projects[@]}"; do [[ " $TEST_PROJECTS " == *" $(basename "$p" .csproj) "* ]] && echo "$p"; done)
fi
[ ${#projects[@]} -gt 0 ] || { echo "No test project found in AiGateway.sln" >&2; echo "0 passed, 0 failed, 0 skipped"; exit 1; }
log "dotnet test: ${#projects[@]} projects side by side (${projects[*]##*/})"

counters() {
  # "passed failed skipped" from one TRX file (zeros when it is missing).
  grep -o '<Counters [^>]*' "$1" 2>/dev/null \
    | sed -E 's/.* passed="([0-9]+)" failed="([0-9]+)".* notExecuted="([0-9]+)".*/\1 \2 \3/' | head -n 1 | grep . || echo "0 0 0"
}

declare -A pid_of name_of start_of
for project in "${projects[@]}"; do
  name="$(basename "$project" .csproj)"
  start_of[$name]=$(date +%s)
  dotnet test "$project" -c Release --no-build -nologo --results-directory "$results" \
    --logger "console;verbosity=normal" --logger "trx;LogFileName=$name.trx" \
    -- RunConfiguration.TestSessionTimeout=1500000 > "$results/$name.log" 2>&1 &
  pid_of[$name]=$!
  name_of[$!]=$name
done

# A line per minute while projects run, so a long run never looks stuck.
(
  while sleep 60; do
    line=""
    for name in "${!pid_of[@]}"; do
      kill -0 "${pid_of[$name]}" 2>/dev/null || continue
      done_count=$(grep -cE '^\s*(Passed|Failed|Skipped) ' "$results/$name.log" 2>/dev/null || true)
      line+=" $name: ${done_count:-0} done;"
    done
    [ -n "$line" ] && echo "  … $(( $(date +%s) - started )) s:${line%;}"
  done
) &
ticker=$!

status=0
running=("${pid_of[@]}")
while [ ${#running[@]} -gt 0 ]; do
  set +e
  wait -n -p finished "${running[@]}"
  code=$?
  set -e
  name="${name_of[$finished]}"
  still=(); for p in "${running[@]}"; do [ "$p" = "$finished" ] || still+=("$p"); done; running=("${still[@]}")
  [ "$code" -eq 0 ] || status=$code
  read -r p f s < <(counters "$results/$name.trx")
  printf '%-28s %5d passed, %d failed, %d skipped (%d s)%s\n' "$name" "$p" "$f" "$s" \
    "$(( $(date +%s) - ${start_of[$name]} ))" "$([ "$code" -eq 0 ] || echo " — exit code $code, log: artifacts/test-results/$name.log")"
  if [ "$code" -ne 0 ]; then
    # Each failed test with its message (stack traces stay in the log).
    awk '/^[[:space:]]*Failed [^!]/ {show=1; n=0} /^[[:space:]]*Stack Trace:/ {show=0} show && n++ < 12' "$results/$name.log" >&2
    grep -qE '^[[:space:]]*Failed ' "$results/$name.log" || tail -n 15 "$results/$name.log" >&2
  fi
done
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true

# One closing line for the whole run, summed over the test projects' TRX counters.
read -r passed failed skipped < <(for trx in "$results"/*.trx; do counters "$trx"; done | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
echo "Test run took $(( $(date +%s) - started )) s; results in artifacts/test-results"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then echo "No test ran." >&2; exit 1; fi
exit "$status"
