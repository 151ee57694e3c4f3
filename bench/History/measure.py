#!/usr/bin/env python3
"""Times every account endpoint and export of the heavy account against a running gateway over a grown database.

Usage: measure.py BASE_URL ADMIN_KEY DB_PATH GATEWAY_PID
Prints a Markdown table; medians of RUNS timed requests after one warm-up (wall time to the whole body, or to the
first data row for exports). Also: rollup catch-up time, WAL and gateway RSS during a full export with concurrent
writes, storage per call (dbstat)."""
import json, os, sqlite3, statistics, sys, threading, time, urllib.request
from datetime import datetime, timedelta, timezone

base, admin, db_path, gw_pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
runs = int(os.environ.get("RUNS", "7"))
heavy = "0197a1b2-0000-7000-8000-000000000000"

def request(path, key, method="GET", body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=600)

def timed(path, key, first_row=False):
    t0 = time.perf_counter()
    with request(path, key) as r:
        if first_row:
            r.readline(); r.readline()  # header, first data row
        else:
            r.read()
    return (time.perf_counter() - t0) * 1000

def median_ms(path, key, first_row=False, n=runs):
    timed(path, key, first_row)
    return statistics.median(timed(path, key, first_row) for _ in range(n))

db = sqlite3.connect(db_path, timeout=30)
key = json.load(request(f"/admin/accounts/{heavy}/keys", admin, "POST", {"name": "bench"}))["key"]

# Rollups: the gateway replays every call from watermark 0 at start; wait for it.
t0 = time.time()
max_id = db.execute("SELECT MAX(id) FROM call_records").fetchone()[0]
while db.execute("SELECT position FROM history_watermarks WHERE name = 'usage_rollups'").fetchone()[0] < max_id:
    time.sleep(1)
catch_up = time.time() - t0
rollup_rows = db.execute("SELECT COUNT(*) FROM usage_rollups").fetchone()[0]
heavy_rollups = db.execute("SELECT COUNT(*) FROM usage_rollups WHERE account_id = ?", (heavy.upper(),)).fetchone()[0]

ids = [r[0] for r in db.execute("SELECT id FROM call_records WHERE account_id = ? ORDER BY id LIMIT 1 OFFSET 500000", (heavy.upper(),))]
mid = ids[0]
lmid = db.execute("SELECT id FROM ledger_entries WHERE account_id = ? ORDER BY id LIMIT 1 OFFSET 500000", (heavy.upper(),)).fetchone()[0]
now = datetime.now(timezone.utc).replace(microsecond=0)
frm = (now - timedelta(days=182)).isoformat().replace("+00:00", "Z")
to = now.isoformat().replace("+00:00", "Z")
rng = f"from={frm}&to={to}"

rows = [
    ("usage, first page (limit 50)", median_ms("/v1/credits/usage?limit=50", key), "≤ 10 ms"),
    ("usage, cursor page (500,000 calls deep)", median_ms(f"/v1/credits/usage?limit=50&cursor={mid}", key), "≤ 10 ms"),
    ("usage, model=o3", median_ms("/v1/credits/usage?limit=50&model=o3", key), "≤ 10 ms"),
    ("usage, feature=search, cursor", median_ms(f"/v1/credits/usage?limit=50&feature=search&cursor={mid}", key), "≤ 10 ms"),
    ("usage, task=task-900", median_ms("/v1/credits/usage?limit=50&task=task-900", key), "≤ 10 ms"),
    ("ledger, first page", median_ms("/v1/credits/ledger?limit=50", key), "≤ 10 ms"),
    ("ledger, cursor page (500,000 deep)", median_ms(f"/v1/credits/ledger?limit=50&cursor={lmid}", key), "≤ 10 ms"),
    ("summary 6 months, groupBy=day (tz +60)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=60", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=model", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=model", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=feature", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=feature", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=key", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=key", key), "≤ 50 ms"),
    ("summary 6 months, day at tz +330 (reads calls)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=330", key, n=1), "(fallback)"),
    ("admin usage page", median_ms(f"/admin/accounts/{heavy}/usage?limit=50", admin), "≤ 10 ms"),
    ("admin ledger page", median_ms(f"/admin/accounts/{heavy}/ledger?limit=50", admin), "≤ 10 ms"),
    ("admin summary 6 months, day", median_ms(f"/admin/accounts/{heavy}/usage/summary?{rng}&groupBy=day", admin), "≤ 50 ms"),
    ("usage.csv, first data row", median_ms(f"/admin/accounts/{heavy}/usage.csv", admin, first_row=True, n=3), "≤ 100 ms"),
    ("ledger.csv, first data row", median_ms(f"/admin/accounts/{heavy}/ledger.csv", admin, first_row=True, n=3), "≤ 100 ms"),
]

# WAL and memory during a full export of the heavy account while another process commits calls.
wal = db_path + "-wal"
def rss_mb():
    with open(f"/proc/{gw_pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
samples, stop = [], threading.Event()
def writer():
    w = sqlite3.connect(db_path, timeout=30)
    n = 0
    while not stop.is_set():
        n += 1
        w.execute("""INSERT INTO call_records (request_id, account_id, key_id, route, provider, model, operation, stream, input_tokens,
            cached_input_tokens, cache_write_input_tokens, output_tokens, reasoning_tokens, images, video_seconds, audio_uses,
            estimated_input_tokens, estimated_output_tokens, estimate_micro, charged_micro, overage_micro, status_code, usage_source,
            clamped, unlimited, attempt_count, started_at, duration_ms)
            VALUES (?, ?, ?, 'openai', 'openai', 'gpt-4o', 'chat', 0, 100, 0, 0, 50, 0, 0, 0, 0, 100, 50, 1000, 1000, 0, 200,
            'provider', 0, 0, 1, ?, 10)""", (f"wal-{time.time_ns()}-{n}", heavy.upper(), heavy.upper(), int(time.time() * 1e7) + 621355968000000000))
        w.commit()
        time.sleep(0.005)
    return n
def sampler():
    while not stop.is_set():
        samples.append((os.path.getsize(wal) if os.path.exists(wal) else 0, rss_mb()))
        time.sleep(0.2)
wt = threading.Thread(target=writer); st = threading.Thread(target=sampler)
rss_before = rss_mb(); wt.start(); st.start()
t0 = time.perf_counter()
with request(f"/admin/accounts/{heavy}/usage.csv", admin) as r:
    exported = sum(1 for _ in r) - 1
export_s = time.perf_counter() - t0
stop.set(); wt.join(); st.join()
written = db.execute("SELECT COUNT(*) FROM call_records WHERE request_id LIKE 'wal-%'").fetchone()[0]

sizes = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
calls = db.execute("SELECT COUNT(*) FROM call_records").fetchone()[0]
tables = {}
for name, tbl in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"):
    tables.setdefault(tbl, 0)
    tables[tbl] += sizes.get(name, 0)

print("| what (heavy account, 1,000,000 of 3,000,000 calls) | median ms | target |")
print("|---|---:|---|")
for name, ms, target in rows:
    print(f"| {name} | {ms:,.1f} | {target} |")
print()
print(f"- rollup catch-up from watermark 0 at start: {catch_up:,.0f} s for {max_id:,} calls; {rollup_rows:,} rollup rows ({heavy_rollups:,} for the heavy account)")
print(f"- full usage.csv export: {exported:,} rows in {export_s:,.1f} s while another process committed {written:,} calls; "
      f"WAL max {max(s[0] for s in samples) / 2**20:,.1f} MB, end {samples[-1][0] / 2**20:,.1f} MB; gateway RSS {rss_before:,.0f} MB before, "
      f"max {max(s[1] for s in samples):,.0f} MB during")
total = sum(tables.values())
print(f"- storage: {total / 2**20:,.0f} MB for {calls:,} calls = {total / calls:,.0f} B per call; per table with its indexes: "
      + ", ".join(f"{t} {b / calls:,.0f} B" for t, b in sorted(tables.items(), key=lambda x: -x[1]) if b / calls >= 1))
