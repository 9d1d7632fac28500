"""Benchmark event ingestion from JSONL against the floor of a plain batched insert.

Run: ``.venv/bin/python bench/ingest_bench.py [--events 1000000]``. Both sides read the
same generated file (store sales of five events each, every tenth one left open) in the
same run:

- floor: each line parsed with orjson and inserted with ``executemany`` in batches of
  1,000 into a plain SQLite table (unique ``event_id``, an index on ``correlation_id``,
  the line as a blob);
- stockplane: ``stockplane ingest FILE`` in a subprocess on a migrated SQLite database,
  the real path: envelope validation, idempotency, contract checks, correlation.

Target (issue #5): stockplane at least half the floor's rate. Peak memory of the
subprocess is reported to show it stays flat (the file is streamed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
STEPS = (
    ("pos.sale", "pos", "pos-1"),
    ("inventory.adjusted", "erp", "erp-1"),
    ("availability.published", "ecommerce", "ecommerce-1"),
    ("availability.published", "marketplace", "marketplace-a"),  # every marketplace of the
    ("availability.published", "marketplace", "marketplace-b"),  # pack publishes a sale
)


def write_events(path: Path, count: int) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with path.open("wb") as out:
        for number in range(count):
            sale, step = divmod(number, len(STEPS))
            if sale % 10 == 9 and step >= 2:  # an open transaction: availability never published
                continue
            kind, system, instance = STEPS[step]
            at = start + dt.timedelta(milliseconds=sale * 5 + step * 900)
            event = {
                "event_id": f"ev-{number}",
                "correlation_id": f"sale-{sale}",
                "type": kind,
                "schema_version": "1.0.0",
                "source": {"system": system, "instance": instance},
                "occurred_at": at.isoformat(),
                "status": "ok",
                "sku": f"SKU-{sale % 5000}",
                "location_id": f"store-{sale % 300}",
                "quantity": -1,
            }
            out.write(orjson.dumps(event) + b"\n")


@contextmanager
def generated_events(count: int) -> Iterator[Path]:
    """A scratch folder holding ``events.jsonl`` with ``count`` generated events (fewer
    lines: open sales skip their last steps); removed afterwards."""
    with tempfile.TemporaryDirectory() as scratch:
        events = Path(scratch) / "events.jsonl"
        write_events(events, count)
        yield events


def floor(path: Path, database: Path) -> float:
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE event (id INTEGER PRIMARY KEY, event_id TEXT UNIQUE, correlation_id TEXT, body BLOB)"
    )
    connection.execute("CREATE INDEX ix_correlation ON event (correlation_id)")
    began = time.perf_counter()
    batch: list[tuple[str, str, bytes]] = []
    with path.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            batch.append((event["event_id"], event["correlation_id"], line))
            if len(batch) == 1000:
                connection.executemany(
                    "INSERT INTO event (event_id, correlation_id, body) VALUES (?, ?, ?)", batch
                )
                connection.commit()
                batch = []
    if batch:
        connection.executemany("INSERT INTO event (event_id, correlation_id, body) VALUES (?, ?, ?)", batch)
        connection.commit()
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def stockplane(path: Path, database: Path) -> tuple[float, int, str]:
    env = {**os.environ, "STOCKPLANE_DATABASE_URL": f"sqlite:///{database}"}
    executable = [sys.executable, "-m", "stockplane"]
    subprocess.run([*executable, "db", "upgrade"], env=env, check=True, capture_output=True)
    began = time.perf_counter()
    done = subprocess.run(
        [*executable, "ingest", str(path)], env=env, capture_output=True, text=True, cwd=ROOT
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"stockplane ingest failed ({done.returncode}): {done.stderr[-500:]}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with generated_events(args.events) as events:
        work = events.parent
        lines = sum(1 for _ in events.open("rb"))
        print(f"{lines:,} events, {events.stat().st_size / 1e6:.0f} MB, {os.cpu_count()} cores")
        floor_s = floor(events, work / "floor.db")
        print(f"floor (orjson + executemany): {floor_s:.1f} s, {lines / floor_s:,.0f} events/s")
        ours_s, peak_kib, summary = stockplane(events, work / "stockplane.db")
        print(f"stockplane ingest:            {ours_s:.1f} s, {lines / ours_s:,.0f} events/s ({summary})")
        print(
            f"ratio {lines / ours_s / (lines / floor_s):.2f} of the floor (target >= 0.50); "
            f"peak RSS of the ingest process {peak_kib / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
