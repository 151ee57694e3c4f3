#!/usr/bin/env python3
"""Share of on-CPU samples under a frame, from `perf script` output (profile.sh PERF=1 KEEP_LOGS=1 keeps perf.data).

    perf script -i <tmp>/perf.data -F comm,tid,ip,sym --no-demangle > /tmp/ps.txt
    bench/Metering/perf-where.py /tmp/ps.txt 'CreditLeases+<TryReserveAsync>' ['another frame' ...]

For each substring: the share of all samples whose stack holds a frame containing it (inclusive), the frames it called
directly and the leaf frames under it. Async methods count only the part of their work that ran in their own MoveNext
(a continuation resumed by another frame counts under that frame). Frames perf could not unwind (native code without
frame pointers, e.g. SQLite) appear as stacks of their own.
"""
import collections
import re
import sys


def frames(path):
    stack = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("\t", " ")):
                stack.append(re.sub(r"^\s*[0-9a-f]+ ", "", line).strip())
            else:
                if stack:
                    yield stack
                stack = []
    if stack:
        yield stack


def short(frame):
    m = re.search(r"\] ([A-Za-z0-9_.+<>`]+)(::|\()", frame)
    return (m.group(1) + "::" + frame.split("::")[-1][:60]) if m else frame[:100]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    stacks = list(frames(sys.argv[1]))
    total = len(stacks)
    for target in sys.argv[2:]:
        hits, children, leaves = 0, collections.Counter(), collections.Counter()
        for stack in stacks:
            for i, frame in enumerate(stack):  # leaf first
                if target in frame:
                    hits += 1
                    leaves[short(stack[0])] += 1
                    children["<self>" if i == 0 else short(stack[i - 1])] += 1
                    break
        print(f"== {target}: {hits} of {total} samples, {100 * hits / max(total, 1):.2f} %")
        for title, counter in (("calls", children), ("leaves", leaves)):
            print(f"  -- {title}")
            for name, n in counter.most_common(12):
                print(f"  {100 * n / total:6.2f} %  {name}")


if __name__ == "__main__":
    main()
