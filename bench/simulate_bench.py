"""Benchmark the simulator: events per second written to a file, and peak memory.

Run: ``.venv/bin/python bench/simulate_bench.py [--days 1] [--stores 400] [--runs 3]``.
Times ``stockplane simulate --out FILE --truth FILE`` in a subprocess (the real command,
truth included) over a fixed stretch starting on a Monday, best of ``--runs``, and
reports its peak RSS to show memory stays flat however long the window (run it with
``--days 6`` to compare; the sixth day is Black Friday).

Beside the whole command, the start-up (interpreter, imports, policy pack: the same
command over 36 seconds of traffic) is timed on its own, and the generation rate is
given without it: start-up costs the same for an hour as for a week.

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


def _run(days: float, stores: int, out: Path, truth: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "stockplane",
        "simulate",
        "--days",
        str(days),
        "--stores",
        str(stores),
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
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--stores", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3, help="Best of this many runs.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out, truth = Path(scratch) / "events.jsonl", Path(scratch) / "truth.jsonl"
        startup = min(_run(0.01 / 24, args.stores, out, truth) for _ in range(args.runs))
        elapsed = min(_run(args.days, args.stores, out, truth) for _ in range(args.runs))
        events = sum(1 for _ in out.open("rb"))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"{events:,} events ({out.stat().st_size / 1e6:.0f} MB), "
            f"{sum(1 for _ in truth.open('rb')):,} transactions, {os.cpu_count()} cores"
        )
        print(
            f"stockplane simulate: {elapsed:.2f} s, {events / elapsed:,.0f} events/s; start-up {startup:.2f} s, "
            f"generation {events / (elapsed - startup):,.0f} events/s (target >= 200,000); peak RSS {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
