#!/usr/bin/env bash
# Where a gateway's CPU goes per request, by thread (issue #13): one gateway (Release, pinned to CPU 1) behind
# nginx, wrk on CPU 0; after a warm-up, one wrk run of SECS seconds, then per request: CPU µs, voluntary (wake-ups,
# waits) and non-voluntary (preempted, or sched_yield by spinning thread-pool workers) context switches per thread
# name (/proc/<pid>/task/*), file-write syscalls and bytes written (/proc/<pid>/io: files only, not sockets), and the
# ledger's transaction counter before/after (GET /admin/ledger/stats).
# Knobs: DIR=<repo with a built gateway> (default this repo), MODE=b (metering off) | c (metered) | n (metered, ledger +
# record skipped: needs experiments/skip-ledger-and-record.patch), STREAM=0|1, C=32 connections, SECS=5, WARM=60 (s: the tiered JIT needs about a minute of load to settle),
# DATA=<folder for ledger, journal, instance id> (default a temp folder; e.g. data/x to put it under the content root),
# EXTRA_ENV="NAME=value …" (e.g. DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0), PW=1 (strace the file writes by fd
# and size for 3 s), STRACE=1 (strace -c: syscalls per request; slows the gateway several-fold), ALLOC=1 (managed bytes
# allocated per request, from dotnet-counters' dotnet.gc.heap.total_allocated — installed into a temp tool path when
# missing; its EventPipe session slows the gateway, so read CPU from a run without it). Minor page faults per request
# are always printed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DIR=${DIR:-$repo}; MODE=${MODE:-c}; SECS=${SECS:-5}; STREAM=${STREAM:-0}; C=${C:-32}
tmp=$(mktemp -d /tmp/aigw-threads.XXXXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(o[process.argv[1]])})' "$1"; }
NP=$(free_port); mkdir -p "$tmp"/nginx-{body,proxy,fastcgi,uwsgi,scgi}
sed -e "s#@TMP@#$tmp#g" -e "s#@PORT@#$NP#g" "$here/nginx.conf.in" > "$tmp/nginx.conf"
taskset -c 0 nginx -e "$tmp/nginx-error.log" -p "$tmp" -c "$tmp/nginx.conf" & pids+=($!)
AK=adm$RANDOM$RANDOM; port=$(free_port); URL=http://127.0.0.1:$port; metering=true; [ "$MODE" = b ] && metering=false
skip=0; [ "$MODE" = n ] && skip=1
cd "$repo"; env ${EXTRA_ENV:-} Gateway__AdminKey="$AK" ConnectionStrings__Ledger="Data Source=${DATA:-$tmp}/g.db" \
  ReverseProxy__Clusters__openai__Destinations__primary__Address="http://127.0.0.1:$NP/" OPENAI_API_KEY=bench \
  Serilog__MinimumLevel__Default=Warning Metering__Enabled="$metering" Metering__JournalPath="${DATA:-$tmp}/journal.jsonl" \
  Ledger__InstanceIdPath="${DATA:-$tmp}/instance" AIGW_EXP_NOLEDGER=$skip AIGW_EXP_NORECORD=$skip \
  RateLimits__PerKeyPerMinute=0 RateLimits__PerAccountPerMinute=0 RateLimits__ConcurrentPerAccount=0 \
  DOTNET_TC_CallCountingDelayMs=0 taskset -c 1 dotnet "$DIR/src/AiGateway/bin/Release/net10.0/AiGateway.dll" --urls "$URL" >"$tmp/gw.log" 2>&1 &
GP=$!; pids+=($GP)
for _ in $(seq 300); do curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break; sleep 0.2; done
a() { curl -fsS -X POST -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' -d "$2" "$URL$1"; }
acc=$(a /admin/accounts '{"name":"bench"}' | json id); KEY=$(a "/admin/accounts/$acc/keys" '{"name":"b"}' | json key)
a "/admin/accounts/$acc/grants" '{"kind":"bonus","credits":100000000,"reason":"bench"}' >/dev/null
w() { BENCH_KEY="$KEY" BENCH_STREAM=$STREAM taskset -c 0 wrk -t1 -c$C -d$1s -s "$here/post.lua" "$URL/openai/v1/chat/completions"; }
w ${WARM:-60} >/dev/null
snap() { set +e; for t in /proc/$GP/task/*; do n=$(cat $t/comm 2>/dev/null| tr ' ' _); s=($(cut -d')' -f2- $t/stat 2>/dev/null)); v=$(awk '/^voluntary/{print $2}' $t/status 2>/dev/null); nv=$(awk '/^nonvoluntary/{print $2}' $t/status 2>/dev/null); [ -n "$v" ] && echo "${t##*/} $n $((s[11]+s[12])) $v $nv"; done; set -e; }
minflt() { cut -d')' -f2- /proc/$GP/stat | awk '{print $8}'; }
if [ -n "${ALLOC:-}" ]; then CNT=$(command -v dotnet-counters || true)
  [ -n "$CNT" ] || { dotnet tool install --tool-path "$tmp/tools" dotnet-counters >/dev/null; CNT="$tmp/tools/dotnet-counters"; }
  ("$CNT" collect -p $GP --counters System.Runtime --refresh-interval 1 --format csv -o "$tmp/counters.csv" >/dev/null 2>&1 &)
  sleep 2; fi
snap > "$tmp/s0"; mf0=$(minflt); io0=($(awk "/syscw|wchar|syscr/{print \$2}" /proc/$GP/io)); tx0=$(curl -fsS -H "Authorization: Bearer $AK" $URL/admin/ledger/stats 2>/dev/null | tr -d "\n" | head -c 300)
if [ -n "${STRACE:-}" ]; then (timeout $((SECS-1)) strace -c -f -p $GP -o "$tmp/strace.txt" >/dev/null 2>&1 &) ; fi
if [ -n "${PW:-}" ]; then (timeout 3 strace -f -e trace=pwrite64,write,fdatasync,fsync -p $GP -o "$tmp/pw.txt" >/dev/null 2>&1 &); fi
t0s=$(date +%s); out=$(w $SECS); t1s=$(date +%s)
snap > "$tmp/s1"; mf1=$(minflt); echo "threads: $(awk "{print \$2}" $tmp/s1 | sort | uniq -c | tr "\n" " ")"
n=$(awk '/requests in/ {print $1}' <<<"$out")
io1=($(awk "/syscw|wchar|syscr/{print \$2}" /proc/$GP/io)); tx1=$(curl -fsS -H "Authorization: Bearer $AK" $URL/admin/ledger/stats 2>/dev/null | tr -d "\n" | head -c 300); echo "write syscalls/req $(( (io1[2]-io0[2]) * 100 / n ))e-2  bytes written/req $(( (io1[0]-io0[0]) / n ))  read syscalls/req $(( (io1[1]-io0[1]) * 100 / n ))e-2"; echo "stats before: $tx0"; echo "stats after: $tx1"
echo "requests $n  ($(grep Requests/sec <<<"$out"))  minor page faults/req $(awk -v a=$mf0 -v b=$mf1 -v n=$n 'BEGIN { printf "%.3f", (b - a) / n }')"
if [ -n "${ALLOC:-}" ]; then sleep 1.5; t0=$(date -d @$((t0s + 1)) '+%H:%M:%S'); t1=$(date -d @$((t1s - 1)) '+%H:%M:%S')
  awk -F, -v n=$n -v a="$t0" -v b="$t1" '/total_allocated/ { split($1, d, " "); if (d[2] >= a && d[2] <= b) { s += $5; k++ } }
    END { if (k) printf "managed bytes allocated/req %.0f (%d one-second samples, scaled to the run)\n", s / k * ('"$SECS"') / n, k }' "$tmp/counters.csv"; fi
awk -v n=$n 'NR==FNR{c[$1]=$3;v[$1]=$4;nv[$1]=$5;next} {dc=$3-c[$1]; dv=$4-v[$1]; dn=$5-nv[$1]; name[$2]=$2; C[$2]+=dc; V[$2]+=dv; NV[$2]+=dn; TC+=dc; TV+=dv; TN+=dn}
 END { printf "TOTAL cpu us/req %.1f  vol cs/req %.2f  nonvol cs/req %.2f\n", TC*1e4/n, TV/n, TN/n;
   for (k in C) if (C[k]>0 || V[k]>100) printf "  %-20s cpu us/req %6.1f  vol/req %5.2f nonvol/req %5.2f\n", k, C[k]*1e4/n, V[k]/n, NV[k]/n }' "$tmp/s0" "$tmp/s1" | sort -k4 -nr
if [ -n "${PW:-}" ]; then sleep 1; ls -l /proc/$GP/fd 2>/dev/null | awk "{print \$9, \$11}" | grep -E "db|jsonl|wal" ; awk "{ split(\$2, a, \"(\"); split(a[2], b, \",\"); fd=b[1]; sz=\$NF; c[a[1]\" fd=\"fd\" size=\"sz]++ } END { for (k in c) print c[k], k }" "$tmp/pw.txt" | sort -nr | head -20; fi
if [ -n "${STRACE:-}" ]; then sleep 3; awk -v n=$n '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf "  %-16s %7.2f calls/req\n", $NF, $4/n }' "$tmp/strace.txt" | sort -k2 -nr | head -14; fi
