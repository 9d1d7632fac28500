"""Ingestion: validate envelopes, store each event once, re-correlate what they touched.

A batch is accepted event by event: invalid envelopes are reported by index with every
reason, valid ones are stored (a re-delivered ``event_id`` only bumps its delivery count,
or flags a conflict when its content differs), and each transaction the batch touched is
re-evaluated once. Nothing is written until the caller's unit of work commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Row, String, Table, delete, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import PolicyPack
from registry.service import StoredSchema, stored_schema
from stockplane.database import (
    Base,
    Contended,
    UtcDateTime,
    insert_new_rows,
    insert_rows,
    update_rows,
    upsert,
)

from .correlate import Transaction, correlate
from .events import Event, event_from_envelope, nul_fields
from .export import EXPORTED_STATES, TransactionExporter
from .models import SchemaUsage, StoredEvent, TransactionRecord
from .schemas import CompiledSchema, EnvelopeValidator

__all__ = ["IngestResult", "Recorrelation", "Rejection", "export", "ingest", "span_links", "stored_event"]

# Core tables, for inserts that need no ORM objects back (the ORM's bulk path costs more)
_EVENTS: Table = Base.metadata.tables[StoredEvent.__tablename__]
_TRANSACTIONS: Table = Base.metadata.tables[TransactionRecord.__tablename__]
_CHUNK = 500  # ids per IN (...) query, well under every database's parameter limit


@dataclass(frozen=True)
class Rejection:
    index: int
    errors: list[str]


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    transactions: int = 0
    state_changes: list[Transaction] = field(default_factory=list)
    """Transactions whose state changed into one the OTLP exporter sends: exported by the
    caller once the unit of work has committed, so a retried unit exports nothing twice."""


@dataclass
class Recorrelation:
    verdicts: list[Transaction]
    state_changes: list[Transaction]  # see IngestResult.state_changes


def export(exporter: TransactionExporter | None, transactions: Iterable[Transaction]) -> None:
    """Hand transactions whose state changed to the OTLP exporter (it never blocks)."""
    if exporter is not None:
        for transaction in transactions:
            exporter.export(transaction, span_links(transaction))


@lru_cache(maxsize=8)
def _envelope_validator(envelope_json: bytes) -> EnvelopeValidator:
    """Built once per envelope schema (the key), not per batch: compiling takes milliseconds."""
    return EnvelopeValidator(orjson.loads(envelope_json))


def ingest(
    session: Session,
    items: Sequence[Any],
    *,
    pack: PolicyPack,
    now: dt.datetime,
) -> IngestResult:
    """Store a batch of envelopes; returns what was accepted, duplicated and rejected.

    Safe beside concurrent writers when run through :meth:`Database.write`: events are
    inserted and counters updated in key order with increments done by the database, and
    a key another writer stored first raises :class:`Contended`, so the unit runs again
    and meets those events as re-deliveries.
    """
    result = IngestResult()
    fresh: dict[str, tuple[Event, str, str, dict[str, Any]]] = {}
    repeats: list[tuple[str, str]] = []  # (event_id, hash) seen again within the batch
    envelope = _envelope_validator(orjson.dumps(pack.sections.get("envelope", {}), default=dict))
    for index, item in enumerate(items):
        try:
            # first, so that what validation walks is known to nest within orjson's limit
            body = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            result.rejected.append(Rejection(index, [f"the event cannot be stored: {exc}"]))
            continue
        event: Event | None = None
        try:
            errors = envelope.errors(item)
            if not errors:
                event = event_from_envelope(item, received_at=now)
                # orjson writes NUL as \u0000: look closer only when the body holds one
                if b"\\u0000" in body and (fields := nul_fields(event)):
                    errors, event = [f"{', '.join(fields)}: holds a NUL character (\\u0000)"], None
        except (ValueError, TypeError) as exc:
            errors = [str(exc)]
        except RecursionError:
            errors = ["the event nests too deeply to be checked"]
        if event is None:
            result.rejected.append(Rejection(index, errors))
            continue
        digest = hashlib.sha256(body).hexdigest()
        if event.event_id in fresh:
            repeats.append((event.event_id, digest))
            continue
        # as text at once: orjson's bytes hold a 4 KiB buffer however short the event
        fresh[event.event_id] = (event, digest, body.decode(), item)

    checks = PayloadChecks(session)
    stored = _existing(session, list(fresh))
    rows = []
    arrived: dict[str, list[Event]] = {}  # the events this batch stores, per transaction
    for event_id, (event, digest, text, item) in fresh.items():
        if event_id in stored:
            repeats.append((event_id, digest))
            continue
        try:
            violations, retired = checks.check(event, item)
        except RecursionError:
            violations, retired = ["the payload nests too deeply to be checked against its contract"], False
        if violations or retired:
            event = replace(event, violations=tuple(violations), retired_schema=retired)
        rows.append(_row(event, digest, text))
        arrived.setdefault(event.correlation_id, []).append(event)
    if rows:
        rows.sort(key=itemgetter("event_id"))  # every writer takes the unique index in one order
        try:
            inserted = insert_new_rows(session, _EVENTS, rows, "event_id")
        except IntegrityError:
            raise Contended("another request stored some of these events first") from None
        if len(inserted) < len(rows):  # a concurrent request stored these first: re-deliveries
            taken = {row["event_id"]: row["content_hash"] for row in rows if row["event_id"] not in inserted}
            repeats.extend(taken.items())
            rows = [row for row in rows if row["event_id"] in inserted]
            arrived = {
                cid: kept
                for cid, events in arrived.items()
                if (kept := [event for event in events if event.event_id in inserted])
            }
    redelivered: set[str] = set()  # transactions whose stored events changed: re-read them
    if repeats:
        stored.update(_existing(session, [event_id for event_id, _ in repeats if event_id not in stored]))
        changes: dict[int, dict[str, Any]] = {}  # per stored event: deliveries to add, conflict seen
        for event_id, digest in repeats:
            previous = stored[event_id]
            change = changes.setdefault(
                previous.id, {"id": previous.id, "deliveries": 0, "conflicting": False}
            )
            change["deliveries"] += 1
            if previous.content_hash != digest:
                change["conflicting"] = True
            redelivered.add(previous.correlation_id)
        update_rows(
            session, StoredEvent, list(changes.values()), combine={"deliveries": "add", "conflicting": "or"}
        )
    _record_usage(session, [event for events in arrived.values() for event in events], now)
    result.accepted = len(rows)
    result.duplicates = len(repeats)
    touched = redelivered | set(arrived)
    fresh_arrivals = {cid: events for cid, events in arrived.items() if cid not in redelivered}
    outcome = recorrelate(session, touched, pack=pack, now=now, arrived=fresh_arrivals)
    result.transactions = len(outcome.verdicts)
    result.state_changes = outcome.state_changes
    return result


class PayloadChecks:
    """Validates payloads against the registered contract for ``type``@``schema_version``,
    compiling each contract version's validator once per process."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[tuple[str, str], StoredSchema | None] = {}

    def check(self, event: Event, envelope: dict[str, Any]) -> tuple[list[str], bool]:
        """Problems of the event against its contract (at most ten) and whether that
        contract version is retired. A contract that declares the envelope's fields (as
        the lint rules ask) describes the whole event; otherwise it describes ``payload``."""
        if event.schema_version is None:
            return [], False
        key = (event.type, event.schema_version)
        if key not in self._known:
            self._known[key] = stored_schema(self._session, name=event.type, version=event.schema_version)
        schema = self._known[key]
        if schema is None:
            return [], False
        whole = isinstance(schema.document, dict) and "event_id" in (schema.document.get("properties") or {})
        if not whole and "payload" not in envelope:
            return [], schema.state == "retired"
        checker = _contract_checker(schema.content_hash, orjson.dumps(schema.document))
        problems = checker.problems(envelope if whole else envelope["payload"], limit=10)
        return problems, schema.state == "retired"


@lru_cache(maxsize=256)
def _contract_checker(content_hash: str, document: bytes) -> CompiledSchema:
    """Compiled once per contract version (the hash is the key; the document rides along)."""
    return CompiledSchema(orjson.loads(document))


def _record_usage(session: Session, events: Sequence[Event], now: dt.datetime) -> None:
    """Count, per contract, system and schema version, what systems actually send: one
    upsert that adds in the database, keys in order, so concurrent batches queue on a
    counter row instead of deadlocking or losing each other's counts."""
    counts = Counter((e.type, e.system, e.schema_version) for e in events if e.schema_version)
    keys = sorted(counts)
    table: Table = SchemaUsage.__table__  # type: ignore[assignment]
    for start in range(0, len(keys), _CHUNK):
        statement = upsert(session, table).values(
            [
                {
                    "contract": contract,
                    "system": system,
                    "schema_version": version,
                    "events": counts[contract, system, version],
                    "first_seen": now,
                    "last_seen": now,
                }
                for contract, system, version in keys[start : start + _CHUNK]
            ]
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["contract", "system", "schema_version"],
                set_={"events": table.c.events + statement.excluded.events, "last_seen": now},
            )
        )


def span_links(transaction: Transaction) -> dict[str, str]:
    """Event id -> the W3C trace context of the span it came from (OTLP) or was sent in
    (an envelope's ``traceparent``)."""
    return {event.event_id: event.traceparent for event in transaction.events if event.traceparent}


def _row(event: Event, digest: str, body: str) -> dict[str, Any]:
    """The event's row, for a Core insert."""
    return {
        "event_id": event.event_id,
        "correlation_id": event.correlation_id,
        "type": event.type,
        "system": event.system,
        "instance": event.instance,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "schema_version": event.schema_version,
        "inventory_status": event.inventory_status,
        "channel": event.channel,
        "location_id": event.location_id,
        "sku": event.sku,
        "error_code": event.error_code,
        "traceparent": event.traceparent,
        "content_hash": digest,
        "deliveries": 1,
        "conflicting": False,
        "violations": list(event.violations),
        "retired_schema": event.retired_schema,
        "body": body,
    }


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


_DELIVERY_COLUMNS = (
    StoredEvent.id,
    StoredEvent.event_id,
    StoredEvent.correlation_id,
    StoredEvent.content_hash,
    StoredEvent.deliveries,
    StoredEvent.conflicting,
)


def _existing(session: Session, event_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """What the store knows of these events: enough to count a re-delivery (plain rows,
    not ORM objects: a re-run import meets every event again)."""
    found: dict[str, Row[Any]] = {}
    for chunk in _chunks(event_ids):
        for row in session.execute(select(*_DELIVERY_COLUMNS).where(StoredEvent.event_id.in_(chunk))):
            found[row.event_id] = row
    return found


_EVENT_FIELDS = (
    "event_id",
    "correlation_id",
    "type",
    "system",
    "occurred_at",
    "status",
    "instance",
    "received_at",
    "schema_version",
    "inventory_status",
    "channel",
    "location_id",
    "sku",
    "error_code",
    "traceparent",
    "deliveries",
    "conflicting",
    "violations",
    "retired_schema",
)
_EVENT_COLUMNS = tuple(getattr(StoredEvent, name) for name in _EVENT_FIELDS)


def stored_event(row: StoredEvent | Row[Any]) -> Event:
    """An :class:`Event` from a stored event, loaded whole or as :data:`_EVENT_COLUMNS`."""
    values = {name: getattr(row, name) for name in _EVENT_FIELDS}
    values["violations"] = tuple(values["violations"] or ())
    return Event(**values)


def recorrelate(
    session: Session,
    correlation_ids: Iterable[str],
    *,
    pack: PolicyPack,
    now: dt.datetime,
    arrived: Mapping[str, Sequence[Event]] | None = None,
) -> Recorrelation:
    """Re-evaluate these transactions and save the verdicts.

    ``arrived`` holds the events a batch has just stored, per transaction. For a
    transaction seen for the first time they are all its events, so only transactions
    that already have a verdict are read back from the store: correlation stays
    incremental, and a batch of new transactions costs no reads at all.

    Each transaction's row is locked before its events are read (see
    :func:`_lock_transactions`), so when two writers add events to one transaction at
    the same moment, the second reads the first's events once it has committed, and the
    last verdict written holds them all.
    """
    ids = sorted(set(correlation_ids))
    arrived = arrived or {}
    previous, placeholders = _lock_transactions(session, ids, now)
    grouped: dict[str, list[Event]] = {
        cid: list(arrived[cid]) for cid in ids if cid in arrived and cid not in previous
    }
    reread = [cid for cid in ids if cid not in grouped]
    for chunk in _chunks(reread):
        # plain rows, not ORM objects: nothing here is modified
        rows = session.execute(select(*_EVENT_COLUMNS).where(StoredEvent.correlation_id.in_(chunk)))
        for row in rows:
            grouped.setdefault(row.correlation_id, []).append(stored_event(row))
    outcome = Recorrelation([], [])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for correlation_id, events in grouped.items():
        verdict = correlate(events, pack.workflows, now=now, statuses=pack.statuses)
        outcome.verdicts.append(verdict)
        state_before = previous.get(correlation_id)
        if verdict.state in EXPORTED_STATES and state_before != verdict.state:
            outcome.state_changes.append(verdict)
        known = state_before is not None or correlation_id in placeholders
        (updates if known else inserts).append(_verdict_row(verdict, now))
    if inserts:
        insert_rows(session, _TRANSACTIONS, inserts)
    if updates:  # their rows are locked already (_lock_transactions)
        update_rows(session, TransactionRecord, updates, locked=True)
    unused = sorted(placeholders - grouped.keys())  # e.g. a re-delivery filed under another id
    for chunk in _chunks(unused):
        session.execute(
            delete(TransactionRecord).where(
                TransactionRecord.correlation_id.in_(chunk), TransactionRecord.event_count == 0
            )
        )
    return outcome


def _lock_transactions(
    session: Session, ids: Sequence[str], now: dt.datetime
) -> tuple[dict[str, str], set[str]]:
    """The state of each of these (sorted) transactions before this unit of work, and
    the ids given a placeholder row.

    PostgreSQL, in id order both times: one ``INSERT ... ON CONFLICT DO NOTHING`` gives a
    transaction not seen before an empty placeholder (``event_count`` 0, never committed as
    such; a concurrent writer of it waits until this one commits), then one ``SELECT ...
    FOR UPDATE`` locks the others without writing them. SQLite: writers hold the
    database's write lock for the whole unit (``BEGIN IMMEDIATE``), so a plain read does.
    """
    previous: dict[str, str] = {}
    if session.get_bind().dialect.name != "postgresql":
        for chunk in _chunks(ids):
            query = select(TransactionRecord.correlation_id, TransactionRecord.state)
            previous.update(
                session.execute(query.where(TransactionRecord.correlation_id.in_(chunk))).tuples().all()
            )
        return previous, set()
    table = _TRANSACTIONS
    cid = func.unnest(literal(list(ids), ARRAY(String))).column_valued("cid")
    placeholders = select(
        cid,
        literal("in_progress"),
        literal(now, UtcDateTime),
        literal(now, UtcDateTime),
        literal(0),
        literal([], JSON),
    ).order_by(cid)
    created = set(
        session.scalars(
            postgresql.insert(table)
            .from_select(
                ["correlation_id", "state", "started_at", "updated_at", "event_count", "anomalies"],
                placeholders,
            )
            .on_conflict_do_nothing(index_elements=["correlation_id"])
            .returning(table.c.correlation_id)
        )
    )
    others = [cid for cid in ids if cid not in created]
    if others:
        locked = session.execute(
            select(TransactionRecord.correlation_id, TransactionRecord.state)
            .where(TransactionRecord.correlation_id == func.any(literal(others, ARRAY(String))))
            .order_by(TransactionRecord.correlation_id)
            .with_for_update()
        )
        previous.update(locked.tuples().all())
    return previous, created


def _verdict_row(verdict: Transaction, now: dt.datetime) -> dict[str, Any]:
    latency = verdict.sync_latency
    return {
        "correlation_id": verdict.correlation_id,
        "workflow": verdict.workflow,
        "state": verdict.state,
        "started_at": verdict.started_at,
        "updated_at": now,
        "event_count": len(verdict.events),
        "anomalies": sorted({anomaly.kind for anomaly in verdict.anomalies}),
        "failure": verdict.failure,
        "sync_latency_ms": int(latency.total_seconds() * 1000) if latency is not None else None,
    }
