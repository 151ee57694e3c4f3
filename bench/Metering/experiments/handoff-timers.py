#!/usr/bin/env python3
"""Per-step split of metered calls from the CSV of handoff-timers.patch (AIGW_EXP_TIMERS_FILE).
Usage: handoff-timers.py FILE [FROM_UNIX_MS TO_UNIX_MS]  (calls that ended in that window)
Prints, per step, p50 / p90 / p99 over the leased calls that settled, and the mean of each step over the slowest 1 %
of all calls (by total): which step makes the slow calls slow."""
import sys

STEPS = ["total", "admit", "upstream", "queue", "linger", "gate", "sql", "commitwait", "commit", "resume", "complete", "tail"]

def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]

rows = []
lo, hi = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 1 << 62)
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(",")
    if not lo <= int(f[0]) <= hi:
        continue
    rows.append((int(f[1]), [float(x) if x else None for x in f[2:]]))
if not rows:
    print("  no calls in the window")
    sys.exit(0)
settled = [r for r in rows if r[1][STEPS.index("complete")] is not None]
totals = sorted(r[1][0] for r in rows)
cut = totals[min(len(totals) - 1, int(0.99 * len(totals)))]
slow = [r for r in settled if r[1][0] >= cut]
print(f"  calls {len(rows)}, settled through a batch {len(settled)}, batch size p50 {pct([r[0] for r in settled], 50):.0f} "
      f"p90 {pct([r[0] for r in settled], 90):.0f}; slowest 1 %: {len(slow)} calls (total >= {cut:.2f} ms)")
print(f"  {'step (ms)':<11} {'p50':>7} {'p90':>7} {'p99':>7} {'slow 1% mean':>13}")
for i, name in enumerate(STEPS):
    values = [r[1][i] for r in settled if r[1][i] is not None]
    sv = [r[1][i] for r in slow if r[1][i] is not None]
    mean = sum(sv) / len(sv) if sv else float("nan")
    print(f"  {name:<11} {pct(values, 50):7.3f} {pct(values, 90):7.3f} {pct(values, 99):7.3f} {mean:13.3f}")
