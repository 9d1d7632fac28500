"""Benchmark the on-call queries on a large store: timelines and the first page of failures.

Run: ``.venv/bin/python bench/query_bench.py [--events 5000000]`` (setup takes minutes at
5 million). The store is filled directly with Core bulk inserts (the ingestion path has its
own benchmarks): store sales of four events each, 1 % of them failed. Then, through the
real app on SQLite with the ASGI test client, it times 500 timelines of random
transactions and 100 requests for the first page of failed transactions.

Targets (issue #5), with 5,000,000 events stored: a timeline under 20 ms (p99), the first
page of failed transactions under 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import insert

from stockplane.app import create_app
from stockplane.auth import Role, create_key
from stockplane.database import Database
from stockplane.migrate import upgrade
from stockplane.settings import Settings
from tracing.models import StoredEvent, TransactionRecord

STEPS = (
    ("pos.sale", "pos"),
    ("inventory.adjusted", "erp"),
    ("availability.published", "ecommerce"),
    ("availability.published", "marketplace"),
)
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _events(sales: range) -> Iterator[dict[str, Any]]:
    for sale in sales:
        failed = sale % 100 == 0
        for step, (kind, system) in enumerate(STEPS):
            status = "error" if failed and step == 1 else "ok"
            at = START + dt.timedelta(seconds=sale * 0.5 + step)
            yield {
                "event_id": f"ev-{sale}-{step}",
                "correlation_id": f"sale-{sale}",
                "type": kind,
                "system": system,
                "instance": f"{system}-1",
                "status": status,
                "occurred_at": at,
                "received_at": at,
                "schema_version": "1.0.0",
                "content_hash": "-",
                "deliveries": 1,
                "conflicting": False,
                "violations": [],
                "retired_schema": False,
                "sku": f"SKU-{sale % 5000}",
                "location_id": f"store-{sale % 300}",
                "body": orjson.dumps({"correlation_id": f"sale-{sale}", "type": kind}).decode(),
            }


def _transactions(sales: range) -> Iterator[dict[str, Any]]:
    for sale in sales:
        failed = sale % 100 == 0
        at = START + dt.timedelta(seconds=sale * 0.5)
        yield {
            "correlation_id": f"sale-{sale}",
            "workflow": "store_sale",
            "state": "failed" if failed else "completed",
            "started_at": at,
            "updated_at": at,
            "event_count": 4,
            "anomalies": [],
            "failure": "inventory.adjusted from erp reported error" if failed else None,
            "sync_latency_ms": 3000,
        }


def fill(database: Database, sales: int) -> None:
    chunk = 20_000
    for start in range(0, sales, chunk):
        block = range(start, min(start + chunk, sales))
        with database.engine.begin() as connection:
            connection.execute(insert(StoredEvent), list(_events(block)))
            connection.execute(insert(TransactionRecord), list(_transactions(block)))
        print(f"\r  stored {4 * block.stop:,} events", end="", flush=True)
    print()


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    sales = args.events // len(STEPS)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch)}/stockplane.db"
        database = Database(url)
        upgrade(database)
        with database.session() as session:
            key = create_key(session, name="bench", role=Role.VIEWER)[1]
        began = time.perf_counter()
        fill(database, sales)
        print(
            f"{sales * 4:,} events, {sales:,} transactions stored in {time.perf_counter() - began:.0f} s "
            f"({os.cpu_count()} cores)"
        )
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(create_app(Settings(database_url=url), database=database)) as client:
            timings = []
            for sale in random.Random(7).sample(range(sales), 500):
                began = time.perf_counter()
                answer = client.get(f"/v1/transactions/sale-{sale}", headers=headers)
                timings.append(time.perf_counter() - began)
                assert answer.status_code == 200 and len(answer.json()["events"]) == 4
            print(f"timeline:                 {_percentiles(timings)} (target p99 < 20 ms)")
            timings = []
            for _ in range(100):
                began = time.perf_counter()
                answer = client.get("/v1/transactions", params={"state": "failed"}, headers=headers)
                timings.append(time.perf_counter() - began)
                assert answer.status_code == 200 and len(answer.json()["items"]) == 50
            print(f"first page of failures:   {_percentiles(timings)} (target < 100 ms)")
        database.dispose()


if __name__ == "__main__":
    main()
