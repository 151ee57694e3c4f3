#!/usr/bin/env python3
"""Real metered traffic through a running gateway, for storage per call (issue #17): creates ACCOUNTS accounts with
credits and a key each, then sends CALLS chat completions over THREADS connections: four models, a feature tag on 3
calls in 5, a task on 1 in 5, 1 in 50 failing upstream (502: released, not charged).
Usage: traffic.py BASE_URL ADMIN_KEY   (knobs: CALLS=20000 ACCOUNTS=4 THREADS=8)"""
import http.client, json, os, sys, threading, urllib.parse

base, admin = sys.argv[1], sys.argv[2]
calls, accounts, threads = (int(os.environ.get(k, d)) for k, d in (("CALLS", 20000), ("ACCOUNTS", 4), ("THREADS", 8)))
url = urllib.parse.urlparse(base)
models = ["gpt-4o-mini", "gpt-4o", "o3", "gpt-4.1-mini"]
features = [None, None, "chat", "search", "summarize"]

def connect():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)

def send(conn, method, path, key, body, headers=None):
    conn.request(method, path, json.dumps(body), {"Authorization": "Bearer " + key, "Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    return r.status, r.read()

admin_conn = connect()
keys = []
for a in range(accounts):
    status, raw = send(admin_conn, "POST", "/admin/accounts", admin, {"name": f"traffic {a}"})
    account = json.loads(raw)["id"]
    send(admin_conn, "POST", f"/admin/accounts/{account}/grants", admin, {"kind": "bonus", "credits": 10000000, "reason": "bench"})
    keys.append(json.loads(send(admin_conn, "POST", f"/admin/accounts/{account}/keys", admin, {"name": "traffic"})[1])["key"])

counts, lock, errors = {}, threading.Lock(), []
def worker(t):
    conn = connect()
    for n in range(t, calls, threads):
        headers = {}
        if features[n % 5]: headers["X-Gateway-Feature"] = features[n % 5]
        if n % 5 == 1: headers["X-Gateway-Task"] = f"task-{n // 500}"
        text = ("upstream-fail " if n % 50 == 7 else "") + "Summarize the quarterly report for the team. " * (1 + n % 6)
        body = {"model": models[n % 4], "messages": [{"role": "user", "content": text}], "max_tokens": 16 + n % 200}
        try:
            status, _ = send(conn, "POST", "/openai/v1/chat/completions", keys[n % accounts], body, headers)
        except Exception as e:  # a broken connection: count it, reconnect
            errors.append(repr(e)); conn = connect(); continue
        with lock:
            counts[status] = counts.get(status, 0) + 1
workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(f"- traffic: {calls:,} calls over {accounts} accounts, {threads} connections; statuses {dict(sorted(counts.items()))}"
      + (f"; {len(errors)} connection errors" if errors else ""))
