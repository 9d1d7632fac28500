"""A bounded load test on loopback: ingestion at a stated rate while dashboard-style
queries run, against a real ``stockplane serve`` on SQLite or PostgreSQL.

Run one configuration at a time, with nothing else busy (the machine has two cores)::

    .venv/bin/python bench/load_bench.py --database sqlite --workers 1
    .venv/bin/python bench/load_bench.py --database postgresql --workers 2 --rate 5000

Ingestion is open-loop: batches are due at fixed moments (``--rate`` events per second in
batches of ``--batch``) from ``--senders`` threads, so a slow server shows as latency and a
shortfall in throughput rather than as a politely slower client. Meanwhile ``--readers``
threads run the on-call and dashboard queries (failed transactions, newest transactions, a
filter by system, one timeline, per-system health, contract usage) back to back. Reported:
events per second stored, requests per second, p50/p99 latency and errors for each side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from served import served

QUIET = {"STOCKPLANE_TRACING__SWEEP_SECONDS": "0"}  # no stall sweep competing for the cores

POSTGRES = os.environ.get("STOCKPLANE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STEPS = (("pos.sale", "pos"), ("inventory.adjusted", "erp"), ("availability.published", "ecommerce"))


@dataclass
class Side:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int | str, int] = field(default_factory=dict)
    units: int = 0  # events stored, or queries answered

    def record(self, began: float, status: int | str, units: int) -> None:
        self.latencies.append(time.perf_counter() - began)
        if status == 200:
            self.units += units
        else:
            self.errors[status] = self.errors.get(status, 0) + 1

    def summary(self, seconds: float) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return (
            f"{self.units / seconds:,.0f}/s, {len(self.latencies) / seconds:,.1f} req/s, "
            f"p50 {statistics.median(ordered) * 1000:,.1f} ms, p99 {p99 * 1000:,.1f} ms, "
            f"errors {sum(self.errors.values())} {self.errors or ''}".rstrip()
        )


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{scratch}/stockplane.db"
        return
    import psycopg

    schema = f"load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _batch(number: int, size: int, run: str) -> list[dict[str, object]]:
    """Events of store sales: three steps each, every tenth sale failing at the ERP."""
    now = dt.datetime.now(dt.UTC)
    events = []
    for index in range(number * size, (number + 1) * size):
        sale, step = divmod(index, len(STEPS))
        type_, system = STEPS[step]
        event: dict[str, object] = {
            "event_id": f"{run}-{index}",
            "correlation_id": f"{run}-sale-{sale}",
            "type": type_,
            "schema_version": "1.0.0",
            "source": {"system": system, "instance": f"{system}-1"},
            "occurred_at": (now + dt.timedelta(milliseconds=step * 200)).isoformat(),
            "status": "ok",
            "sku": f"SKU-{sale % 5000}",
            "location_id": f"S{sale % 400}",
            "channel": ("store", "web", "marketplace")[sale % 3],
        }
        if sale % 10 == 0 and step == 1:
            event.update(status="error", error={"code": "LOCK-TIMEOUT", "message": "row locked"})
        events.append(event)
    return events


def _sender(base: str, key: str, due: list[tuple[float, int]], size: int, run: str, side: Side) -> None:
    with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        for moment, number in due:
            pause = moment - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = _batch(number, size, run)
            began = time.perf_counter()
            try:
                answer = client.post("/v1/events", json=body)
                side.record(
                    began,
                    answer.status_code,
                    answer.json().get("accepted", 0) if answer.status_code == 200 else 0,
                )
            except httpx2.HTTPError as exc:
                side.record(began, type(exc).__name__, 0)


def _reader(
    base: str, key: str, run: str, stop: threading.Event, side: Side, per_query: dict[str, Side]
) -> None:
    queries = [
        "/v1/transactions?state=failed&limit=50",
        "/v1/transactions?limit=50",
        "/v1/transactions?system=erp&limit=20",
        f"/v1/transactions/{run}-sale-3",
        "/v1/systems?window_minutes=5",
        "/v1/contracts/pos.sale/usage",
    ]
    with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        turn = 0
        while not stop.is_set():
            path = queries[turn % len(queries)]
            turn += 1
            began = time.perf_counter()
            try:
                status = client.get(path).status_code
                outcome: int | str = 200 if status in (200, 404) else status  # 404: timeline not in yet
            except httpx2.HTTPError as exc:
                outcome = type(exc).__name__
            side.record(began, outcome, 1)
            per_query.setdefault(
                path.split("?")[0] + ("?" + path.split("?")[1].split("&")[0] if "?" in path else ""), Side()
            ).record(began, outcome, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=int, default=5000, help="events per second offered")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    with _database(args.database) as url, served(url, workers=args.workers, **QUIET) as server:
        base, key = server.base, server.key
        run = uuid.uuid4().hex[:6]
        batches = int(args.rate * args.seconds / args.batch)
        interval = args.batch / args.rate
        start = time.perf_counter() + 0.5
        plans: list[list[tuple[float, int]]] = [[] for _ in range(args.senders)]
        for number in range(batches):
            plans[number % args.senders].append((start + number * interval, number))
        ingest, read, stop = Side(), Side(), threading.Event()
        per_query: dict[str, Side] = {}
        threads = [
            threading.Thread(target=_sender, args=(base, key, plan, args.batch, run, ingest))
            for plan in plans
        ]
        readers = [
            threading.Thread(target=_reader, args=(base, key, run, stop, read, per_query))
            for _ in range(args.readers)
        ]
        for thread in threads + readers:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        for thread in readers:
            thread.join()
        elapsed = time.perf_counter() - start
    print(
        f"{args.database}, {args.workers} worker(s), offered {args.rate:,} events/s in batches of "
        f"{args.batch} for {args.seconds:.0f} s ({os.cpu_count()} cores), elapsed {elapsed:.1f} s"
    )
    print(f"  ingestion: {ingest.summary(elapsed)}")
    print(f"  queries:   {read.summary(elapsed)}")
    for path, side in sorted(per_query.items()):
        print(f"    {path:<42} {side.summary(elapsed)}")


if __name__ == "__main__":
    main()
