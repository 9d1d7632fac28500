"""Eight producers at once against a real server process, on SQLite and PostgreSQL.

What must hold, whatever the interleaving: no 5xx, every event stored once, every
delivery counted (responses, ``event.deliveries`` and ``schema_usage`` agree), and each
transaction's verdict built from all of its events even when they reached the server in
different requests at the same moment.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from stockplane.database import Database
from tracing.models import SchemaUsage, StoredEvent, TransactionRecord

from .processes import prepare, running_server, send_batches

pytestmark = pytest.mark.slow

CLIENTS = 8
TRANSACTIONS = 120
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _event(number: int) -> dict[str, Any]:
    """Event ``number`` of the run: spread over every transaction, so each transaction's
    events reach the server from several clients at once."""
    return {
        "event_id": f"ev-{number}",
        "correlation_id": f"tx-{number % TRANSACTIONS}",
        "type": ("pos.sale", "inventory.adjusted")[number % 2],
        "schema_version": "1.0.0",
        "source": {"system": ("pos", "erp")[number % 2], "instance": "i-1"},
        "occurred_at": (START + dt.timedelta(seconds=number)).isoformat(),
        "status": "ok",
    }


def _run(url: str, key: str, plans: list[list[list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")  # no forked copy of pytest's threads
    with ProcessPoolExecutor(max_workers=len(plans), mp_context=context) as pool:
        futures = [pool.submit(send_batches, url, key, plan) for plan in plans]
        return [answer for future in futures for answer in future.result()]


def _batches(events: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [events[start : start + size] for start in range(0, len(events), size)]


def _check_store(database_url: str, *, distinct: int, deliveries: int) -> None:
    with Database(database_url) as database, database.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == distinct
        assert session.scalar(select(func.sum(StoredEvent.deliveries))) == deliveries
        assert session.scalar(select(func.sum(SchemaUsage.events))) == distinct
        stored = dict(
            session.execute(
                select(StoredEvent.correlation_id, func.count()).group_by(StoredEvent.correlation_id)
            )
            .tuples()
            .all()
        )
        verdicts = dict(
            session.execute(select(TransactionRecord.correlation_id, TransactionRecord.event_count))
            .tuples()
            .all()
        )
    assert verdicts == stored  # one row per transaction, each verdict built from all its events


@pytest.mark.parametrize("overlap", [False, True], ids=["disjoint", "overlapping"])
def test_eight_producers_at_once_lose_nothing_and_count_everything(
    database_url: str, tmp_path: Path, overlap: bool
) -> None:
    key = prepare(database_url)
    if overlap:  # every client sends all events, each in its own order
        events = [_event(n) for n in range(600)]
        plans = []
        for client in range(CLIENTS):
            mine = events[:]
            random.Random(client).shuffle(mine)
            plans.append(_batches(mine, 60))
        distinct, deliveries = len(events), len(events) * CLIENTS
    else:  # disjoint event ids, shared transactions
        plans = [_batches([_event(n) for n in range(client, 4800, CLIENTS)], 60) for client in range(CLIENTS)]
        distinct = deliveries = 4800
    with running_server(database_url, tmp_path / "server.log") as server:
        answers = _run(server.url, key, plans)
    failures = [answer for answer in answers if answer["status"] != 200]
    assert not failures, failures[:3]
    assert sum(answer["body"]["accepted"] for answer in answers) == distinct
    assert sum(answer["body"]["accepted"] + answer["body"]["duplicates"] for answer in answers) == deliveries
    assert all(not answer["body"]["rejected"] for answer in answers)
    _check_store(database_url, distinct=distinct, deliveries=deliveries)
    assert "Traceback" not in server.log_text()
