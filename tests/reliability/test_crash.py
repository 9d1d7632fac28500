"""SIGKILL the server at random moments while a producer sends batches and resends what
was not acknowledged: every event ends up stored exactly once and every transaction in the
state a run without crashes gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from policies import load_pack
from stockplane.database import Database
from stockplane.migrate import upgrade
from tracing.ingest import ingest
from tracing.models import StoredEvent, TransactionRecord

from .processes import Server, prepare, start_server

pytestmark = pytest.mark.slow

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
STEPS = (("pos.sale", "pos"), ("inventory.adjusted", "erp"), ("availability.published", "ecommerce"))
KILLS = 5


def _events(transactions: int) -> list[dict[str, Any]]:
    """Whole and partial transactions (every seventh misses its last step), shuffled so each
    batch holds pieces of many and a transaction's steps arrive in different requests."""
    events = []
    for number in range(transactions):
        steps = STEPS[:-1] if number % 7 == 0 else STEPS
        for position, (type_, system) in enumerate(steps):
            events.append(
                {
                    "event_id": f"crash-{number}-{position}",
                    "correlation_id": f"crash-tx-{number}",
                    "type": type_,
                    "schema_version": "1.0.0",
                    "source": {"system": system, "instance": f"{system}-1"},
                    "occurred_at": (START + dt.timedelta(minutes=number, seconds=position)).isoformat(),
                    "status": "ok",
                }
            )
            if number % 11 == 0 and position == 1:
                events[-1].update(status="error", error={"code": "LOCK-TIMEOUT", "message": "row locked"})
    random.Random(7).shuffle(events)
    return events


def _states(database_url: str) -> dict[str, tuple[str, int]]:
    with Database(database_url) as database, database.session() as session:
        query = select(
            TransactionRecord.correlation_id, TransactionRecord.state, TransactionRecord.event_count
        )
        return {cid: (state, count) for cid, state, count in session.execute(query)}


def _clean_run(batches: list[list[dict[str, Any]]], path: Path) -> dict[str, tuple[str, int]]:
    url = f"sqlite:///{path}"
    pack = load_pack(None)
    with Database(url) as database:
        upgrade(database)
        for batch in batches:
            database.write(
                lambda session, batch=batch: ingest(session, batch, pack=pack, now=dt.datetime.now(dt.UTC))
            )
    return _states(url)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(database_url: str, tmp_path: Path) -> None:
    key = prepare(database_url)
    events = _events(400)
    batches = [events[start : start + 40] for start in range(0, len(events), 40)]
    chance = random.Random(11)
    kill_at = set(chance.sample(range(1, len(batches) - 1), KILLS))
    log = tmp_path / "server.log"
    server: Server = start_server(database_url, log)
    acknowledged: set[str] = set()
    kills = interrupted = 0
    try:
        for index, batch in enumerate(batches):
            while True:
                killer = None
                if index in kill_at and kills < KILLS:  # cut the request off somewhere in its life
                    killer = threading.Timer(chance.uniform(0.0, 0.08), server.kill)
                    killer.start()
                try:
                    response = httpx2.post(
                        f"{server.url}/v1/events",
                        json=batch,
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=60,
                    )
                except httpx2.TransportError:
                    response = None
                    interrupted += 1
                if killer is not None:
                    killer.join()
                    kills += 1
                    server = start_server(database_url, log)  # a new process; the batch goes again
                if response is not None and response.status_code == 200:
                    assert not response.json()["rejected"]
                    acknowledged.update(event["event_id"] for event in batch)
                    if killer is None:
                        break
                elif response is not None:
                    pytest.fail(f"batch {index}: {response.status_code} {response.text}")
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            server.process.wait(timeout=30)
    assert kills == KILLS
    assert interrupted > 0, "no kill cut a request off: the test proved nothing"
    assert acknowledged == {event["event_id"] for event in events}
    with Database(database_url) as database, database.session() as session:
        stored = session.scalars(select(StoredEvent.event_id)).all()
        assert len(stored) == len(set(stored)) == len(events)  # exactly once
        assert (
            session.scalar(
                select(func.count()).select_from(TransactionRecord).where(TransactionRecord.event_count == 0)
            )
            == 0
        )
    assert _states(database_url) == _clean_run(batches, tmp_path / "clean.db")
    assert "Traceback" not in log.read_text(errors="replace")
