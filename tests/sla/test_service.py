"""Refresh and evaluation over stored traffic, on SQLite and PostgreSQL.

Each SLO's good and total are checked against a computation straight from the simulated
events and the stored transaction states, written here without the evaluator's code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import orjson
from sqlalchemy import select

from policies import load_pack
from sla.budgets import Counts
from sla.models import SloEvaluation, SloMinute
from sla.service import evaluate, refresh
from stockplane.database import Database
from stockplane.migrate import upgrade
from stockplane.simulator.traffic import Simulation, SimulationOptions
from tracing.ingest import ingest
from tracing.models import TransactionRecord

PACK = load_pack()
START = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=3)


def _events() -> list[dict[str, object]]:
    simulation = Simulation(SimulationOptions(start=START, end=END, seed=5), PACK)
    return [orjson.loads(line) for _, line in simulation.timed_lines()]


def _expected(
    events: list[dict[str, object]], states: dict[str, tuple[str, str | None]]
) -> dict[str, dict[str, Counts]]:
    """Oversell per channel and exception rate per workflow, from the events themselves."""
    by_transaction: dict[str, list[dict[str, object]]] = defaultdict(list)
    for event in events:
        by_transaction[str(event["correlation_id"])].append(event)
    oversell: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    exceptions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for correlation_id, (state, workflow) in states.items():
        exceptions[f"workflow={workflow or '-'}"][0] += state not in ("failed", "stalled")
        exceptions[f"workflow={workflow or '-'}"][1] += 1
        mine = sorted(by_transaction[correlation_id], key=lambda e: str(e["occurred_at"]))
        if any(e["type"] == "order.placed" for e in mine):
            channel = next((str(e["channel"]) for e in mine if e.get("channel")), "-")
            cancelled = any(
                e["type"] == "order.cancelled" and (e.get("payload") or {}).get("reason") == "out_of_stock"  # type: ignore[union-attr]
                for e in mine
            )
            oversell[f"channel={channel}"][0] += not cancelled
            oversell[f"channel={channel}"][1] += 1
    return {
        "oversell-rate": {k: Counts(*v) for k, v in oversell.items()},
        "exception-rate": {k: Counts(*v) for k, v in exceptions.items()},
    }


def test_evaluation_matches_an_independent_count_and_refresh_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database)
    events = _events()
    now = END + dt.timedelta(minutes=30)
    half = len(events) // 2
    for part in (events[:half], events[half:]):  # two ingestions, two incremental refreshes
        with database.session() as session:
            ingest(session, part, pack=PACK, now=now)
        with database.session() as session:
            refresh(session, PACK, now)
    with database.session() as session:
        states = {r.correlation_id: (r.state, r.workflow) for r in session.scalars(select(TransactionRecord))}
        rows = sorted(
            (m.slo, m.series, m.minute, m.good, m.total) for m in session.scalars(select(SloMinute))
        )
        statuses = evaluate(session, PACK, now)
    expected = _expected(events, states)
    for name in ("oversell-rate", "exception-rate"):
        got = {s.series: s.rolling.counts for s in statuses if s.slo == name}
        assert got == expected[name], name
    assert sum(c.total for c in expected["oversell-rate"].values()) > 1000  # the fixture holds orders
    assert any(c.bad for c in expected["oversell-rate"].values())  # and oversells

    with database.session() as session:  # a full backfill from scratch writes the same rows
        refresh(session, PACK, now, since=START - dt.timedelta(days=1))
    with database.session() as session:
        again = sorted(
            (m.slo, m.series, m.minute, m.good, m.total) for m in session.scalars(select(SloMinute))
        )
        stored = session.scalars(select(SloEvaluation)).all()
    judged = [row for row in rows if row[0] != "dead-letter-backlog"]
    assert [row for row in again if row[0] != "dead-letter-backlog"] == judged
    assert set(rows) <= set(again)  # the backfill sampled the backlog further back, alike where both did
    assert len(judged) > 100
    assert {e.policy_pack for e in stored} == {PACK.label}
    assert {e.slo for e in stored} == set(PACK.slos)
    database.dispose()


def test_low_traffic_is_insufficient_data_not_green(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database)
    with database.session() as session:
        statuses = evaluate(session, PACK, END, store=False)
    assert statuses and {s.state for s in statuses} == {"insufficient_data"}
    assert not any(s.firing for s in statuses)
    database.dispose()
