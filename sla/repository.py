"""Storage of the SLA evaluator: facts of changed transactions, per-minute rollups, sums.

Everything here reads or writes rows; what the rows mean is decided in
:mod:`sla.indicators` (facts and judgements) and :mod:`sla.evaluation` (budgets).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar, cast

from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.orm import Session

from policies.model import Slo
from stockplane.database import insert_rows, upsert
from tracing.models import StoredEvent, TransactionRecord

from .budgets import Counts
from .indicators import CountFact, Facts, judge
from .models import SlaWatermark, SloMinute, TransactionFacts

__all__ = [
    "MINUTE",
    "changed_since",
    "dead_letters",
    "facts_in",
    "facts_of",
    "floor_minute",
    "load_facts",
    "minute_ranges",
    "read_watermark",
    "replace_minutes",
    "replace_samples",
    "store_facts",
    "window_counts",
    "write_watermark",
]

_T = TypeVar("_T")
_FACTS = cast(Table, TransactionFacts.__table__)
_MINUTES = cast(Table, SloMinute.__table__)
_WATERMARKS = cast(Table, SlaWatermark.__table__)
MINUTE = dt.timedelta(minutes=1)
_CHUNK = 500  # correlation ids per IN (...) list: well inside every database's limits
_DETAILED = ("count.recorded", "order.cancelled")  # the only events whose payload matters


def batched(items: Iterable[_T], size: int) -> Iterator[tuple[_T, ...]]:
    """``itertools.batched`` of Python 3.12, for 3.11."""
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


def floor_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def read_watermark(session: Session, name: str) -> dt.datetime | None:
    row = session.get(SlaWatermark, name)
    return row.at if row else None


def write_watermark(session: Session, name: str, at: dt.datetime) -> None:
    statement = upsert(session, _WATERMARKS).values(name=name, at=at, note="")
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"at": at}))


def changed_since(
    session: Session, since: dt.datetime | None, *, started_since: dt.datetime | None = None
) -> list[str]:
    """Correlation ids of transactions updated at or after ``since`` (every one when None),
    or, for a backfill, started at or after ``started_since``."""
    query = select(TransactionRecord.correlation_id)
    if since is not None:
        query = query.where(TransactionRecord.updated_at >= since)
    if started_since is not None:
        query = query.where(TransactionRecord.started_at >= started_since)
    return list(session.scalars(query))


def facts_of(record: TransactionRecord, events: Sequence[tuple[Any, ...]]) -> Facts:
    """One transaction's facts from its row and its events (type, system, channel,
    location, occurred_at, body-or-None), in any order."""
    ordered = sorted(events, key=lambda event: event[4])
    first = ordered[0] if ordered else None
    channel = next((event[2] for event in ordered if event[2]), None)
    location = next((event[3] for event in ordered if event[3]), None)
    count: CountFact | None = None
    accepted = oversold = False
    for kind, _system, _channel, _location, _occurred, body in ordered:
        if kind == "order.placed":
            accepted = True
        elif body is not None:
            payload = _payload(body)
            if kind == "count.recorded":
                count = _count(payload) or count
            elif kind == "order.cancelled" and payload.get("reason") == "out_of_stock":
                oversold = True
    return Facts(
        correlation_id=record.correlation_id,
        started_at=record.started_at,
        workflow=record.workflow,
        state=record.state,
        channel=channel,
        system=first[1] if first else None,
        location_id=location,
        latency_ms=record.sync_latency_ms,
        count=count,
        accepted_order=accepted,
        oversold=oversold and accepted,
    )


def _payload(body: str) -> Mapping[str, Any]:
    try:
        payload = json.loads(body).get("payload")
    except (ValueError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _count(payload: Mapping[str, Any]) -> CountFact | None:
    book, counted = payload.get("book_quantity"), payload.get("counted_quantity")
    if not (isinstance(book, (int, float)) and isinstance(counted, (int, float))):
        return None
    if isinstance(book, bool) or isinstance(counted, bool):
        return None
    abc = payload.get("abc_class")
    return CountFact(float(book), float(counted), abc if isinstance(abc, str) else None)


def load_facts(session: Session, correlation_ids: Sequence[str]) -> Iterator[Facts]:
    """Facts of these transactions, read a chunk at a time (one query each for the rows
    and their events; only counts and cancellations have their payload read)."""
    for chunk in batched(correlation_ids, _CHUNK):
        records = session.scalars(
            select(TransactionRecord).where(TransactionRecord.correlation_id.in_(chunk))
        )
        events: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        query = select(
            StoredEvent.correlation_id,
            StoredEvent.type,
            StoredEvent.system,
            StoredEvent.channel,
            StoredEvent.location_id,
            StoredEvent.occurred_at,
            case((StoredEvent.type.in_(_DETAILED), StoredEvent.body), else_=None),
        ).where(StoredEvent.correlation_id.in_(chunk))
        for correlation_id, *event in session.execute(query):
            events[correlation_id].append(tuple(event))
        for record in records:
            yield facts_of(record, events.get(record.correlation_id, ()))


def store_facts(session: Session, facts: Sequence[Facts]) -> None:
    """Replace the stored facts of these transactions."""
    for chunk in batched(facts, _CHUNK):
        session.execute(
            delete(TransactionFacts).where(
                TransactionFacts.correlation_id.in_([f.correlation_id for f in chunk])
            )
        )
        insert_rows(session, _FACTS, [_fact_row(f) for f in chunk])


def _fact_row(facts: Facts) -> dict[str, Any]:
    return {
        "correlation_id": facts.correlation_id,
        "started_at": facts.started_at,
        "workflow": facts.workflow,
        "state": facts.state,
        "channel": facts.channel,
        "system": facts.system,
        "location_id": facts.location_id,
        "latency_ms": facts.latency_ms,
        "book_quantity": facts.count.book if facts.count else None,
        "counted_quantity": facts.count.counted if facts.count else None,
        "abc_class": facts.count.abc_class if facts.count else None,
        "accepted_order": facts.accepted_order,
        "oversold": facts.oversold,
    }


def facts_in(session: Session, since: dt.datetime, until: dt.datetime) -> Iterator[Facts]:
    """Stored facts of transactions that started in ``[since, until)``."""
    query = select(TransactionFacts).where(
        TransactionFacts.started_at >= since, TransactionFacts.started_at < until
    )
    for row in session.scalars(query.execution_options(yield_per=2000)):
        count = (
            CountFact(row.book_quantity, row.counted_quantity, row.abc_class)
            if row.book_quantity is not None and row.counted_quantity is not None
            else None
        )
        yield Facts(
            row.correlation_id,
            row.started_at,
            row.workflow,
            row.state,
            row.channel,
            row.system,
            row.location_id,
            row.latency_ms,
            count,
            row.accepted_order,
            row.oversold,
        )


def minute_ranges(
    minutes: Iterable[dt.datetime], gap: dt.timedelta = dt.timedelta(hours=1)
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted minutes merged into ``[start, end)`` ranges, joining those less than ``gap`` apart."""
    ranges: list[list[dt.datetime]] = []
    for minute in sorted(set(minutes)):
        if ranges and minute - ranges[-1][1] < gap:
            ranges[-1][1] = minute + MINUTE
        else:
            ranges.append([minute, minute + MINUTE])
    return [(start, end) for start, end in ranges]


def replace_minutes(session: Session, slos: Iterable[Slo], minutes: set[dt.datetime]) -> int:
    """Recompute every transaction-judged SLO's rollup rows for these minutes from the facts.

    Idempotent: the rows of each minute are deleted and written again whole.
    """
    judged = [slo for slo in slos if slo.indicator != "dead_letter_backlog"]
    written = 0
    for start, end in minute_ranges(minutes):
        cells: dict[tuple[str, str, dt.datetime], list[int]] = defaultdict(lambda: [0, 0])
        for facts in facts_in(session, start, end):
            minute = floor_minute(facts.started_at)
            if minute not in minutes:
                continue
            for slo in judged:
                verdict = judge(slo, facts)
                if verdict is not None:
                    cell = cells[(slo.name, verdict.series, minute)]
                    cell[0] += verdict.good
                    cell[1] += 1
        names = [slo.name for slo in judged]
        inside = sorted(minute for minute in minutes if start <= minute < end)
        for chunk in batched(inside, _CHUNK):
            session.execute(delete(SloMinute).where(SloMinute.slo.in_(names), SloMinute.minute.in_(chunk)))
        rows = [
            {"slo": slo, "series": series, "minute": minute, "good": good, "total": total}
            for (slo, series, minute), (good, total) in sorted(cells.items())
        ]
        insert_rows(session, _MINUTES, rows)
        written += len(rows)
    return written


def dead_letters(session: Session, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """(received, resolved) of every dead-lettered event received before ``until``."""
    query = (
        select(StoredEvent.received_at, TransactionRecord.resolved_at)
        .join(TransactionRecord, TransactionRecord.correlation_id == StoredEvent.correlation_id, isouter=True)
        .where(StoredEvent.status == "dead_letter", StoredEvent.received_at < until)
    )
    return [(received, resolved) for received, resolved in session.execute(query)]


def replace_samples(session: Session, slo: Slo, samples: Mapping[dt.datetime, bool]) -> None:
    """Write a time-judged SLO's per-minute samples (one good-or-bad minute each)."""
    for chunk in batched(sorted(samples), _CHUNK):
        session.execute(delete(SloMinute).where(SloMinute.slo == slo.name, SloMinute.minute.in_(chunk)))
    insert_rows(
        session,
        _MINUTES,
        [
            {"slo": slo.name, "series": "", "minute": m, "good": int(good), "total": 1}
            for m, good in sorted(samples.items())
        ],
    )


def window_counts(
    session: Session,
    slo: str,
    since: dt.datetime,
    until: dt.datetime,
    *,
    excluded: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> dict[str, Counts]:
    """Good and total per series over the minutes in ``[since, until)``, less excluded spans."""
    query = (
        select(SloMinute.series, func.sum(SloMinute.good), func.sum(SloMinute.total))
        .where(SloMinute.slo == slo, SloMinute.minute >= since, SloMinute.minute < until)
        .group_by(SloMinute.series)
    )
    for start, end in excluded:
        query = query.where(~((SloMinute.minute >= start) & (SloMinute.minute < end)))
    return {series: Counts(int(good), int(total)) for series, good, total in session.execute(query)}
