"""Benchmark ingestion over HTTP: ``POST /v1/events`` in batches of 1,000, one uvicorn worker.

Run: ``.venv/bin/python bench/http_ingest_bench.py [--events 200000] [--senders 2]``. The
script migrates a SQLite database, creates an ingest key, starts ``stockplane serve`` in a
subprocess and posts NDJSON batches of the events ``bench/ingest_bench.py`` generates from
``--senders`` threads (a sender waits for each answer, as an OpenTelemetry Collector's
exporter does).

Target (issue #5): at least 10,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import generated_events
from served import served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=2)
    args = parser.parse_args()
    with generated_events(args.events) as events:
        work = events.parent
        lines = events.read_bytes().splitlines()
        batches = [b"\n".join(lines[start : start + 1000]) for start in range(0, len(lines), 1000)]
        with served(f"sqlite:///{work}/stockplane.db") as server:
            base, key = server.base, server.key
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}

            def send(share: list[bytes]) -> int:
                accepted = 0
                with httpx2.Client(base_url=base, headers=headers, timeout=120) as client:
                    for body in share:
                        answer = client.post("/v1/events", content=body)
                        answer.raise_for_status()
                        accepted += answer.json()["accepted"]
                return accepted

            shares = [batches[i :: args.senders] for i in range(args.senders)]
            began = time.perf_counter()
            with ThreadPoolExecutor(args.senders) as pool:
                accepted = sum(pool.map(send, shares))
            elapsed = time.perf_counter() - began
    print(
        f"{len(lines):,} events in {len(batches)} batches from {args.senders} senders, {os.cpu_count()} cores"
    )
    print(
        f"{accepted:,} accepted in {elapsed:.1f} s: {len(lines) / elapsed:,.0f} events/s (target >= 10,000)"
    )


if __name__ == "__main__":
    main()
