"""Benchmark the simulator: events per second written to a file, and peak memory.

Run: ``.venv/bin/python bench/simulate_bench.py [--days 1] [--stores 400]``. Times
``stockplane simulate --out FILE --truth FILE`` in a subprocess (the real command, truth
included) over a fixed weekday, and reports its peak RSS to show memory stays flat
however long the window (run it with ``--days 3`` to compare).

Target (issue #6): 200,000 events/s to a file.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--stores", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out, truth = Path(scratch) / "events.jsonl", Path(scratch) / "truth.jsonl"
        command = [
            sys.executable,
            "-m",
            "stockplane",
            "simulate",
            "--days",
            str(args.days),
            "--stores",
            str(args.stores),
            "--start",
            "2026-11-23T00:00:00Z",
            "--out",
            str(out),
            "--truth",
            str(truth),
        ]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"simulate failed ({done.returncode}): {done.stderr[-500:]}")
        events = sum(1 for _ in out.open("rb"))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"{events:,} events ({out.stat().st_size / 1e6:.0f} MB), {sum(1 for _ in truth.open('rb')):,} transactions, {os.cpu_count()} cores"
        )
        print(
            f"stockplane simulate: {elapsed:.1f} s, {events / elapsed:,.0f} events/s (target >= 200,000); peak RSS {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
