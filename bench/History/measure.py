#!/usr/bin/env python3
"""Times every account endpoint and export of the heavy account against a running gateway over a grown database.

Usage: measure.py BASE_URL ADMIN_KEY DB GATEWAY_PID      (DB: a SQLite path, or a PostgreSQL connection URI for psql)
       measure.py --storage DB [--indexes]               (storage per call by table only; --indexes: and by table and index)
       measure.py --metered BASE_URL ADMIN_KEY GATEWAY_PID (metered-call p50 of a fresh account on a small database)
Prints a Markdown table; medians of RUNS timed requests after one warm-up (wall time to the whole body, or to the
first data row for exports) and the gateway's CPU time per request over the same requests (user + system, from
/proc: the machine is shared, so wall time includes waiting for a core). Also: rollup catch-up time, the metered-call
p50 (METERED_URL upstream), WAL and gateway RSS during a full export with concurrent writes (SQLite), storage per call."""
import json, os, sqlite3, statistics, subprocess, sys, threading, time, urllib.request
from datetime import datetime, timedelta, timezone

heavy = "0197a1b2-0000-7000-8000-000000000000"
runs = int(os.environ.get("RUNS", "7"))
CLK = os.sysconf("SC_CLK_TCK")

class Db:
    """The few reads the script makes, on SQLite (sqlite3) or PostgreSQL (psql)."""
    def __init__(self, target):
        self.pg = target.startswith("postgres")
        self.target = target
        self.lite = None if self.pg else sqlite3.connect(target, timeout=30)
    def rows(self, sql, *args):
        if not self.pg:
            return self.lite.execute(sql, args).fetchall()
        for a in args:
            sql = sql.replace("?", "'" + str(a).lower() + "'", 1)
        out = subprocess.run(["psql", self.target, "-AtF", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
        return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\t")) for line in out.splitlines() if line]
    def one(self, sql, *args):
        return self.rows(sql, *args)[0][0]

def storage(db, indexes=False):
    """Bytes per call of each table with its indexes: dbstat pages on SQLite, pg_total_relation_size on PostgreSQL;
    with indexes (SQLite), also each table and index on its own (the bytes of its pages, and how full they are)."""
    calls = db.one("SELECT COUNT(*) FROM call_records")
    if db.pg:
        tables = dict(db.rows("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))
    else:
        sizes = dict(db.rows("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
        tables = {}
        for name, tbl in db.rows("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"):
            tables[tbl] = tables.get(tbl, 0) + sizes.get(name, 0)
    total = sum(tables.values())
    detail = ""
    if indexes and not db.pg:
        rows = db.rows("SELECT s.name, m.tbl_name, SUM(s.pgsize), SUM(s.pgsize - s.unused) FROM dbstat s JOIN sqlite_master m ON m.name = s.name "
                       "GROUP BY s.name ORDER BY m.tbl_name, SUM(s.pgsize) DESC")
        detail = "".join(f"\n  - {name}{'' if name == tbl else ' (' + tbl + ')'}: {size / calls:,.1f} B per call, pages {used / size:.0%} used"
                         for name, tbl, size, used in rows if size / calls >= 0.5)
    return (f"{total / 2**20:,.0f} MB for {calls:,} calls = {total / calls:,.0f} B per call; per table with its indexes: "
            + ", ".join(f"{t} {b / calls:,.0f} B" for t, b in sorted(tables.items(), key=lambda x: -x[1]) if b / calls >= 1) + detail)

if sys.argv[1] == "--storage":
    print("- storage:", storage(Db(sys.argv[2]), indexes="--indexes" in sys.argv[3:]))
    sys.exit(0)

def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) * 1000 / CLK

def metered_p50(base, key, pid, n=200):
    """Sequential metered chat calls (tiny request, JSON answer from the stub upstream): p50 wall ms and CPU ms per call."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
    def call():
        req = urllib.request.Request(base + "/openai/v1/chat/completions", method="POST", data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
        return (time.perf_counter() - t0) * 1000
    for _ in range(20): call()
    c0 = cpu_ms(pid)
    times = [call() for _ in range(n)]
    return statistics.median(times), (cpu_ms(pid) - c0) / n

if sys.argv[1] == "--metered":
    base, admin, pid = sys.argv[2], sys.argv[3], int(sys.argv[4])
    def post(path, body):
        req = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + admin, "Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=60))
    acct = post("/admin/accounts", {"name": "small"})["id"]
    post(f"/admin/accounts/{acct}/grants", {"kind": "bonus", "credits": 1000000, "reason": "bench"})
    key = post(f"/admin/accounts/{acct}/keys", {"name": "bench"})["key"]
    p50, cpu = metered_p50(base, key, pid)
    print(f"- metered call on a small database (new account): p50 {p50:,.1f} ms, gateway CPU {cpu:,.2f} ms per call")
    sys.exit(0)

base, admin, db_target, gw_pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

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
    c0 = cpu_ms(gw_pid)
    wall = statistics.median(timed(path, key, first_row) for _ in range(n))
    return wall, (cpu_ms(gw_pid) - c0) / n

db = Db(db_target)
key = json.load(request(f"/admin/accounts/{heavy}/keys", admin, "POST", {"name": "bench"}))["key"]

# Rollups: the gateway replays every call from watermark 0 at start; wait for it.
t0 = time.time()
max_id = db.one("SELECT MAX(id) FROM call_records")
while db.one("SELECT position FROM history_watermarks WHERE name = 'usage_rollups'") < max_id:
    time.sleep(1)
catch_up = time.time() - t0
# SQLite stores GUIDs as 16-byte BLOBs from migration 0015 on (big-endian: the hex digits in order), text before.
acct = heavy if db.pg else bytes.fromhex(heavy.replace("-", "")) if db.one("SELECT typeof(id) FROM accounts LIMIT 1") == "blob" else heavy.upper()
rollup_rows = db.one("SELECT COUNT(*) FROM usage_rollups")
heavy_rollups = db.one("SELECT COUNT(*) FROM usage_rollups WHERE account_id = ?", acct)
daily_rows = db.one("SELECT COUNT(*) FROM usage_daily_rollups WHERE account_id = ?", acct)
narrow = {t: db.one(f"SELECT COUNT(*) FROM {t} WHERE account_id = ?", acct) for t in ("usage_daily_totals", "usage_halfhour_totals", "usage_daily_tasks")}

# Half-way down the heavy account's history (500,000 deep on the 3 M-call SQLite ledger).
deep = min(500000, db.one("SELECT COUNT(*) FROM call_records WHERE account_id = ?", acct) // 2)
mid = db.one(f"SELECT id FROM call_records WHERE account_id = ? ORDER BY id LIMIT 1 OFFSET {deep}", acct)
lmid = db.one(f"SELECT id FROM ledger_entries WHERE account_id = ? ORDER BY id LIMIT 1 OFFSET {deep}", acct)
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
    ("summary 6 months, groupBy=task", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=task", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=day (tz 0)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=day (tz +720)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=720", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=day (tz +330)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=330", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=day (tz -570)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=-570", key), "≤ 50 ms"),
    ("summary 6 months, groupBy=day (tz +345: straddling half hours from calls)", median_ms(f"/v1/credits/usage/summary?{rng}&groupBy=day&tzOffset=345", key), "≤ 50 ms"),
    ("admin usage page", median_ms(f"/admin/accounts/{heavy}/usage?limit=50", admin), "≤ 10 ms"),
    ("admin ledger page", median_ms(f"/admin/accounts/{heavy}/ledger?limit=50", admin), "≤ 10 ms"),
    ("admin summary 6 months, day", median_ms(f"/admin/accounts/{heavy}/usage/summary?{rng}&groupBy=day", admin), "≤ 50 ms"),
    ("usage.csv, first data row", median_ms(f"/admin/accounts/{heavy}/usage.csv", admin, first_row=True, n=3), "≤ 100 ms"),
    ("ledger.csv, first data row", median_ms(f"/admin/accounts/{heavy}/ledger.csv", admin, first_row=True, n=3), "≤ 100 ms"),
    ("all-accounts usage.csv from 1 day ago, first data row",
     median_ms(f"/admin/usage.csv?from={(now - timedelta(days=1)).isoformat().replace('+00:00', 'Z')}", admin, first_row=True, n=3), "≤ 100 ms"),
]
metered = metered_p50(base, key, gw_pid) if os.environ.get("METERED") else None

print(f"| what (heavy account, {2 * deep:,} of {max_id:,} calls) | median ms | gateway CPU ms/request | target |")
print("|---|---:|---:|---|")
for name, (ms, cpu), target in rows:
    print(f"| {name} | {ms:,.1f} | {cpu:,.1f} | {target} |")
print()
print(f"- rollup catch-up from watermark 0 at start: {catch_up:,.0f} s for {max_id:,} calls; {rollup_rows:,} hourly rollup rows "
      f"({heavy_rollups:,} for the heavy account), {daily_rows:,} daily rows for the heavy account; narrow levels for the heavy account: "
      + ", ".join(f"{t} {n:,}" for t, n in narrow.items()))
if metered:
    print(f"- metered call on the heavy account (large database): p50 {metered[0]:,.1f} ms, gateway CPU {metered[1]:,.2f} ms per call")
print("- storage:", storage(db))
if db.pg:
    sys.exit(0)
db_path = db_target

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
            'provider', 0, 0, 1, ?, 10)""", (f"wal-{time.time_ns()}-{n}", acct, acct, int(time.time() * 1e7) + 621355968000000000))
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
written = db.one("SELECT COUNT(*) FROM call_records WHERE request_id LIKE 'wal-%'")
print(f"- full usage.csv export: {exported:,} rows in {export_s:,.1f} s while another process committed {written:,} calls; "
      f"WAL max {max(s[0] for s in samples) / 2**20:,.1f} MB, end {samples[-1][0] / 2**20:,.1f} MB; gateway RSS {rss_before:,.0f} MB before, "
      f"max {max(s[1] for s in samples):,.0f} MB during")
