#!/usr/bin/env bash
# The README's run command: builds and starts the gateway on SQLite (data/aigateway.db) with the sample config.
# With no provider key in the environment it runs in demo mode: every provider cluster points at a local demo upstream
# (WireMock.Net, tools/MockUpstream, serving scripts/demo/mappings), and a demo account with a key (and credits) is
# created and printed. Needs nothing but the .NET SDK.
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
if [ "$DEMO" = 1 ]; then dotnet build tools/MockUpstream/AiGateway.MockUpstream.csproj -c Release -nologo -clp:ErrorsOnly -v:q; fi
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
  UPSTREAM_PORT="${DEMO_UPSTREAM_PORT:-8089}"
  log "demo mode: demo upstream (WireMock.Net) on 127.0.0.1:$UPSTREAM_PORT serving scripts/demo/mappings (no provider key set)"
  # It writes data/demo-upstream.env: every destination of every cluster in config/proxy.json pointed at itself,
  # and a placeholder for each provider key (never sent anywhere but the demo upstream).
  rm -f data/demo-upstream.env
  dotnet tools/MockUpstream/bin/Release/net10.0/AiGateway.MockUpstream.dll --port "$UPSTREAM_PORT" \
    --mappings scripts/demo/mappings --proxy-config config/proxy.json --env-file data/demo-upstream.env \
    > data/demo-upstream.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s data/demo-upstream.env ] && break; sleep 0.2; done
  [ -s data/demo-upstream.env ] || { cat data/demo-upstream.log >&2; echo "The demo upstream did not start." >&2; exit 1; }
  grep -i warning data/demo-upstream.log >&2 || true
  # shellcheck disable=SC1091
  source data/demo-upstream.env
fi

log "starting AiGateway on http://127.0.0.1:$PORT (SQLite data/aigateway.db, config/ sample)"
dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$PORT" &
pids+=($!)
GW="http://127.0.0.1:$PORT"
for _ in $(seq 1 150); do curl -sf "$GW/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

# The gateway's start-up hints (and the ones below) use $ADMIN_KEY, $KEY and $GW: set here, and printed as an
# export line for another shell.
ADMIN_KEY="$Gateway__AdminKey"
if [ -s data/admin-key.txt ] && [ "$ADMIN_KEY" = "$(cat data/admin-key.txt)" ]; then admin_src='$(cat data/admin-key.txt)'; else admin_src="'$ADMIN_KEY'"; fi
echo
echo "Admin key (Gateway__AdminKey): $ADMIN_KEY"
echo "In another shell:  export GW=$GW ADMIN_KEY=$admin_src"
if [ "$DEMO" = 1 ]; then
  if [ ! -s data/demo-key.txt ]; then
    # First demo run: one account, one key, and some credits to spend.
    admin=(-sf -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json")
    account=$(curl "${admin[@]}" -X POST "$GW/admin/accounts" -d '{"name":"demo"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
    curl "${admin[@]}" -X POST "$GW/admin/accounts/$account/keys" -d '{"name":"demo"}' | sed -E 's/.*"key":"([^"]+)".*/\1/' > data/demo-key.txt
    curl "${admin[@]}" -X POST "$GW/admin/accounts/$account/grants" \
      -d '{"kind":"bonus","credits":100,"reason":"demo credits","idempotencyKey":"demo-welcome"}' >/dev/null 2>&1 || true
  fi
  KEY="$(cat data/demo-key.txt)"
  cat <<MSG
Demo account key (data/demo-key.txt): $KEY
Try it from another shell (every provider route is answered by the local demo upstream and metered by the gateway):
  export GW=$GW KEY=\$(cat data/demo-key.txt) ADMIN_KEY=$admin_src
  curl -s \$GW/openai/v1/chat/completions -H "Authorization: Bearer \$KEY" -H "Content-Type: application/json" \\
       -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}' -i
  curl -sN \$GW/deepseek/v1/chat/completions -H "Authorization: Bearer \$KEY" -H "Content-Type: application/json" \\
       -d '{"model":"deepseek-chat","stream":true,"messages":[{"role":"user","content":"Hello"}]}'
  curl -s \$GW/anthropic/v1/messages -H "x-api-key: \$KEY" -H "Content-Type: application/json" \\
       -d '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Hello"}]}'
  curl -s "\$GW/gemini/v1beta/models/gemini-2.5-flash:generateContent" -H "x-goog-api-key: \$KEY" -H "Content-Type: application/json" \\
       -d '{"contents":[{"parts":[{"text":"Hello"}]}]}'
  curl -s \$GW/v1/credits -H "Authorization: Bearer \$KEY"
  curl -s \$GW/admin/accounts -H "Authorization: Bearer \$ADMIN_KEY"
Dashboard: $GW/dashboard/ (sign in with the key above, or with the admin key to pick an account)
Press Ctrl+C to stop.
MSG
fi
wait "${pids[-1]}"
