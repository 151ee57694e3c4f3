#!/usr/bin/env bash
# Runs the .NET tokenizer benchmark and the JS references on the same generated corpus and prints
# ours ÷ fastest JS reference. Needs dotnet and node/npm (the registry is used once for npm ci).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/BenchmarkDotNet.Artifacts"
corpus="$out/corpus.json"
mkdir -p "$out"
cd "$here"

dotnet build -c Release -v q -nologo
dotnet run -c Release --no-build -- corpus "$corpus"

( cd js && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; } && node bench.mjs "$corpus" ) | tee "$out/js-results.txt"
dotnet run -c Release --no-build -- run "$corpus" | tee "$out/dotnet-log.txt"
dotnet run -c Release --no-build -- ab "$corpus" | tee -a "$out/dotnet-log.txt"
grep '^RESULT' "$out/dotnet-log.txt" > "$out/dotnet-results.txt"

echo
echo "== Summary (MB/s of UTF-8 input, single thread) =="
cat "$out/js-results.txt" "$out/dotnet-results.txt" | awk '
  $1 == "RESULT" { v[$2] = $3 }
  END {
    n = split("o200k cl100k", encs, " ")
    for (i = 1; i <= n; i++) {
      e = encs[i]
      ours = v["ours_" e "_mbps"]; tk = v["tiktoken_" e "_mbps"]; gt = v["gpt_tokenizer_" e "_mbps"]
      best = (tk > gt) ? tk : gt
      printf "%-7s ours %8.2f | tiktoken %7.2f | gpt-tokenizer %7.2f | ours / fastest JS = %.2fx\n", e, ours, tk, gt, (best > 0 ? ours / best : 0)
    }
  }'
grep -E 'alloc|load|1mb_|OneMegabyte|LoadVocabulary|Ascii2KB|_ml_|speedup_vs_ml|^RESULT ab_' "$out/dotnet-results.txt" || true
