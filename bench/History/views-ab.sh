#!/usr/bin/env bash
# Before vs after a schema change on the same data (issue #17, migration 0015): two builds each start on their own copy
# of one SQLite ledger (the older build's schema; the newer build migrates its copy at start), and every account's admin
# views and exports are fetched from both and compared byte for byte (the summaries' echoed from/to — "now" — aside).
# Usage: OLD=/path/to/old/clone NEW=/path/to/new/clone bench/History/views-ab.sh LEDGER.db   (both clones built Release)
set -uo pipefail
src=${1:?usage: OLD=… NEW=… views-ab.sh LEDGER.db}
work=$(mktemp -d /tmp/aigw-views-ab.XXXXXX)
fetch() { # repo outdir
  local repo=$1 out=$work/$2 db=$work/$2.db port gw a id p f
  cp "$src" "$db"; mkdir -p "$out"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$repo" && env Gateway__AdminKey=views-ab ConnectionStrings__Ledger="Data Source=$db" Serilog__MinimumLevel__Default=Warning \
    dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --urls "http://127.0.0.1:$port" > "$out.log" 2>&1) &
  gw=$!
  for _ in $(seq 1 3600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
  a=(curl -sf -H "Authorization: Bearer views-ab")
  "${a[@]}" "http://127.0.0.1:$port/admin/accounts?limit=100" > "$out/accounts.json"
  for id in $(python3 -c "import json; print(' '.join(i['id'] for i in json.load(open('$out/accounts.json'))['items']))"); do
    for p in "" /keys /balance "/usage?limit=50" "/ledger?limit=50" "/log?limit=50" "/usage/summary?groupBy=key" \
             "/usage/summary?groupBy=day" "/usage/summary?groupBy=model" /usage.csv /ledger.csv; do
      f="$out/$id$(echo "$p" | tr '/?&=:' '_____').out"
      "${a[@]}" "http://127.0.0.1:$port/admin/accounts/$id$p" > "$f" || echo "failed $id$p" >> "$out/errors"
    done
  done
  "${a[@]}" "http://127.0.0.1:$port/admin/usage.csv" > "$out/all-usage.csv" || echo "failed all-usage.csv" >> "$out/errors"
  kill "$gw"; wait "$gw" 2>/dev/null
  sed -i -E 's/"(from|to)":"[^"]*"/"\1":"(now)"/g' "$out"/*.out
}
fetch "${OLD:?OLD=old clone}" old
fetch "${NEW:?NEW=new clone}" new
echo "$(ls "$work/old" | wc -l) responses each, $(du -sh "$work/old" | cut -f1); errors: $(cat "$work"/*/errors 2>/dev/null | wc -l)"
if diff -rq "$work/old" "$work/new"; then echo "identical ($work)"; else echo "DIFFERENT ($work)"; exit 1; fi
