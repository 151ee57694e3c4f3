#!/usr/bin/env bash
# The README's run command: builds and starts the gateway on SQLite (data/aigateway.db) with the sample config.
# With no provider key in the environment it runs in demo mode: the provider clusters point at a local WireMock
# serving sample provider responses, and a demo account with a key (and credits) is created and printed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

PORT="${PORT:-8080}"
DEMO="${DEMO:-auto}"
if [ "$DEMO" = auto ]; then
  if [ -n "${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}${GEMINI_API_KEY:-}" ]; then DEMO=0; else DEMO=1; fi
fi

require_dotnet
log "dotnet build (Release)"
dotnet build src/AiGateway/AiGateway.csproj -c Release -nologo -clp:ErrorsOnly -v:q
mkdir -p data

if [ -z "${Gateway__AdminKey:-}" ]; then
  # A local admin key, made once and kept out of the repository (data/ is ignored).
  [ -s data/admin-key.txt ] || (head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 > data/admin-key.txt)
  export Gateway__AdminKey="$(cat data/admin-key.txt)"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [ "$DEMO" = 1 ]; then
  install_wiremock
  WM_PORT="${WIREMOCK_PORT:-8089}"
  log "demo mode: WireMock on 127.0.0.1:$WM_PORT serving scripts/demo/mappings (no provider key set)"
  java -jar "$WIREMOCK_JAR" --port "$WM_PORT" --bind-address 127.0.0.1 --root-dir scripts/demo --disable-banner \
    > data/wiremock.log 2>&1 &
  pids+=($!)
  # Placeholder provider keys: WireMock ignores them, and real keys are never needed for the demo.
  export OPENAI_API_KEY=demo-openai ANTHROPIC_API_KEY=demo-anthropic GEMINI_API_KEY=demo-gemini DEEPSEEK_API_KEY=demo-deepseek
  for provider in openai anthropic gemini; do
    export "ReverseProxy__Clusters__${provider}__Destinations__primary__Address=http://127.0.0.1:$WM_PORT/$provider/"
  done
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$WM_PORT/__admin/health" >/dev/null 2>&1 && break; sleep 0.2; done
fi

log "starting AiGateway on http://127.0.0.1:$PORT (SQLite data/aigateway.db, config/ sample)"
dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$PORT" &
pids+=($!)
GW="http://127.0.0.1:$PORT"
for _ in $(seq 1 150); do curl -sf "$GW/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

echo
echo "Admin key (data/admin-key.txt): $Gateway__AdminKey"
if [ "$DEMO" = 1 ]; then
  if [ ! -s data/demo-key.txt ]; then
    # First demo run: one account, one key, and some credits to spend.
    admin=(-sf -H "Authorization: Bearer $Gateway__AdminKey" -H "Content-Type: application/json")
    account=$(curl "${admin[@]}" -X POST "$GW/admin/accounts" -d '{"name":"demo"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
    curl "${admin[@]}" -X POST "$GW/admin/accounts/$account/keys" -d '{"name":"demo"}' | sed -E 's/.*"key":"([^"]+)".*/\1/' > data/demo-key.txt
    curl "${admin[@]}" -X POST "$GW/admin/accounts/$account/grants" \
      -d '{"kind":"bonus","credits":100,"reason":"demo credits","idempotencyKey":"demo-welcome"}' >/dev/null 2>&1 || true
  fi
  KEY="$(cat data/demo-key.txt)"
  cat <<MSG
Demo account key (data/demo-key.txt): $KEY
Try a call (answered by the local WireMock, metered by the gateway):
  curl -s $GW/openai/v1/chat/completions -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
       -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}' -i
  curl -s $GW/v1/credits -H "Authorization: Bearer $KEY"
Dashboard: $GW/dashboard/ (sign in with the key above, or with the admin key to pick an account)
Press Ctrl+C to stop.
MSG
fi
wait "${pids[-1]}"
