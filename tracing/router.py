"""The correlator's HTTP API: event ingestion and the transactions it builds."""

from __future__ import annotations

import base64
import datetime as dt
from contextlib import AbstractContextManager
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, case, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from policies import PolicyPack
from stockplane.api import Reader, RFC3339Time, SessionDep, Text, require
from stockplane.audit import record as record_audit
from stockplane.auth import Principal, Role
from stockplane.bodies import read_body
from stockplane.database import Database, UtcDateTime
from stockplane.errors import AppError, Conflict, InputError, NotFound
from stockplane.gates import gate_of
from stockplane.problems import problem_responses
from stockplane.settings import TracingSettings

from .correlate import correlate
from .events import FAILURE_STATUSES
from .export import ExportStats
from .ingest import IngestResult, export, ingest, span_links, stored_event
from .models import SchemaUsage, StoredEvent, TransactionRecord
from .otlp import decode_request, encode_response, spans_to_envelopes

router = APIRouter(tags=["tracing"], responses=problem_responses(401, 403))
Ingester = Annotated[Principal, Depends(require(Role.INGEST))]
Operator = Annotated[Principal, Depends(require(Role.ARCHITECT))]  # on-call engineers hold architect keys


def _limits(request: Request) -> TracingSettings:
    """The ingestion limits in force (read per request: tests and operators may swap them)."""
    limits: TracingSettings = request.app.state.settings.tracing
    return limits


def _ingestion_slot(request: Request) -> AbstractContextManager[None]:
    """One of the worker's ingestion slots, held while a batch is parsed and stored.

    Taken only once the body is in, so slow uploads never hold a slot; callers check the
    principal first (a dependency), so unauthenticated requests never take one either.
    """
    gate = gate_of(request, "ingest_gate", "ingestion requests")
    return gate.hold(_limits(request).max_concurrent_batches)


class TooLarge(AppError):
    """A batch with more events than one request may carry (its bytes: BodyTooLarge)."""

    status = 413
    problem = "batch-too-large"


class RejectionRead(BaseModel):
    index: int
    errors: list[str]


class IngestRead(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectionRead]
    transactions: int


class TransactionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off a TransactionRecord

    resolution: str | None = None
    resolution_note: str | None = None
    correlation_id: str
    workflow: str | None
    state: str
    started_at: dt.datetime
    updated_at: dt.datetime
    event_count: int
    anomalies: list[str]
    failure: str | None
    sync_latency_ms: int | None


class TransactionPage(BaseModel):
    items: list[TransactionSummary]
    next_cursor: str | None


class TimelineEvent(BaseModel):
    event_id: str
    type: str
    system: str
    instance: str
    status: str
    occurred_at: dt.datetime
    received_at: dt.datetime | None
    from_start_ms: int
    from_previous_ms: int
    traceparent: str | None = None
    """W3C trace context of the span the event came from (OTLP) or was sent in (an
    envelope's ``traceparent``): open it in the trace viewer you already run."""


class MissingStep(BaseModel):
    type: str
    systems: list[str]
    due_at: dt.datetime | None
    late: bool
    instances: list[str] = []
    """Of a step expected from each instance (every marketplace), those not heard from yet."""


class AnomalyRead(BaseModel):
    kind: str
    message: str
    event_ids: list[str]


class Timeline(TransactionSummary):
    events: list[TimelineEvent]
    missing: list[MissingStep]
    details: list[AnomalyRead]


def _parse_batch(raw: bytes, content_type: str) -> list[Any]:
    if "ndjson" in content_type or "jsonl" in content_type:
        items = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise InputError(f"line {number} is not JSON: {exc.msg}") from None
        return items
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(body, (list, dict)):
        raise InputError(f"the body must be a JSON array of events or one event, not {type(body).__name__}")
    return body if isinstance(body, list) else [body]


async def _body(request: Request, what: str) -> bytes:
    """The body within the batch limit and the read timeout (413 / 408), before any slot."""
    settings = request.app.state.settings
    return await read_body(
        request,
        limit=settings.tracing.max_batch_bytes,
        what=what,
        seconds=settings.server.body_read_seconds,
    )


async def _store(request: Request, items: list[Any]) -> IngestResult:
    """Store and correlate off the event loop, in a unit of work of its own that is run
    again when it collides with a concurrent writer; exported once it has committed."""
    state = request.app.state
    database: Database = state.database

    def work(session: Session) -> IngestResult:
        return ingest(session, items, pack=state.pack, now=dt.datetime.now(dt.UTC))

    result = await run_in_threadpool(database.write, work)
    export(state.exporter, result.state_changes)
    return result


# The bodies are read by hand (streamed within limits), so FastAPI cannot infer them:
# declared here for clients and for schemathesis.
_EVENTS_BODY: dict[str, Any] = {
    "required": True,
    "description": "Envelope events: a JSON array (or one object), or NDJSON (one object a line).",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {
                        "type": "array",
                        "items": {"description": "an envelope object; any other item is rejected by index"},
                    },
                    {"type": "object", "description": "a single envelope"},
                ]
            }
        },
        "application/x-ndjson": {
            "schema": {"type": "string", "description": "one JSON envelope object per line"}
        },
    },
}
_TRACES_BODY: dict[str, Any] = {
    "required": True,
    "description": "An OTLP ExportTraceServiceRequest (Content-Encoding: gzip accepted).",
    "content": {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
            }
        },
    },
}


@router.post(
    "/v1/events",
    response_model=IngestRead,
    summary="Ingest a batch of envelope events (JSON array or NDJSON)",
    responses=problem_responses(400, 408, 413, 429),
    openapi_extra={"requestBody": _EVENTS_BODY},
)
async def post_events(request: Request, _principal: Ingester) -> IngestRead:
    raw = await _body(request, "batch")
    with _ingestion_slot(request):
        items = _parse_batch(raw, request.headers.get("content-type", ""))
        del raw
        limit = _limits(request).max_batch_events
        if len(items) > limit:
            raise TooLarge(f"the batch holds {len(items):,} events; the limit is {limit:,}")
        result = await _store(request, items)
    return IngestRead(
        accepted=result.accepted,
        duplicates=result.duplicates,
        transactions=result.transactions,
        rejected=[RejectionRead(index=r.index, errors=r.errors) for r in result.rejected],
    )


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace receiver (protobuf or JSON, gzip): spans become events",
    responses=problem_responses(400, 408, 413, 429),
    response_class=Response,
    openapi_extra={"requestBody": _TRACES_BODY},
)
async def post_traces(request: Request, _principal: Ingester) -> Response:
    raw = await _body(request, "export")
    content_type = request.headers.get("content-type", "application/x-protobuf")
    with _ingestion_slot(request):
        export = decode_request(
            raw,
            content_type,
            request.headers.get("content-encoding", ""),
            max_bytes=_limits(request).max_batch_bytes,
        )
        del raw
        batch = spans_to_envelopes(export)
        result = await _store(request, batch.envelopes)
    answer = ExportTraceServiceResponse()
    notes = []
    if result.rejected:
        answer.partial_success.rejected_spans = len(result.rejected)
        notes.append(
            f"{len(result.rejected)} span(s) did not make valid events: {result.rejected[0].errors[0]}"
        )
    if batch.without_correlation:
        notes.append(
            f"{batch.without_correlation} span(s) had no correlation id and were counted, not stored"
        )
    if notes:
        answer.partial_success.error_message = "; ".join(notes)
    body, media_type = encode_response(answer, content_type)
    return Response(
        content=body,
        media_type=media_type,
        headers={"X-Stockplane-Spans-Without-Correlation": str(batch.without_correlation)},
    )


def _summary(record: TransactionRecord) -> TransactionSummary:
    return TransactionSummary.model_validate(record)


def _encode(record: TransactionRecord) -> str:
    return base64.urlsafe_b64encode(
        f"{record.started_at.isoformat()}|{record.correlation_id}".encode()
    ).decode()


def _decode(cursor: str) -> tuple[dt.datetime, str]:
    try:
        started, _, correlation_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(started), correlation_id
    except (ValueError, UnicodeDecodeError):
        raise InputError("cursor must be the next_cursor of a previous page") from None


@router.get("/v1/transactions", response_model=TransactionPage, summary="Transactions, newest first")
def transactions(
    session: SessionDep,
    _reader: Reader,
    state: str | None = None,
    workflow: str | None = None,
    anomaly: Annotated[str | None, Query(description="only transactions with this anomaly kind")] = None,
    system: Annotated[
        str | None, Query(description="only transactions with an event from this system")
    ] = None,
    channel: Annotated[
        str | None, Query(description="only transactions with an event on this channel")
    ] = None,
    location: Annotated[str | None, Query(description="only transactions touching this location_id")] = None,
    sku: Annotated[str | None, Query(description="only transactions touching this SKU")] = None,
    since: Annotated[RFC3339Time | None, Query(description="started at or after (RFC 3339)")] = None,
    until: Annotated[RFC3339Time | None, Query(description="started before (RFC 3339)")] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="by start time")] = "newest",
    include_resolved: Annotated[
        bool, Query(description="also list failed or stalled transactions already resolved")
    ] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TransactionPage:
    key = (TransactionRecord.started_at, TransactionRecord.correlation_id)
    query = select(TransactionRecord).order_by(
        *(column.desc() if order == "newest" else column.asc() for column in key)
    )
    if state:
        query = query.where(TransactionRecord.state == state)
    if workflow:
        query = query.where(TransactionRecord.workflow == workflow)
    if since is not None:
        query = query.where(TransactionRecord.started_at >= since)
    if until is not None:
        query = query.where(TransactionRecord.started_at < until)
    touching = {
        StoredEvent.system: system,
        StoredEvent.channel: channel,
        StoredEvent.location_id: location,
        StoredEvent.sku: sku,
    }
    for column, wanted in touching.items():
        if wanted is not None:  # each key may match a different event of the transaction
            events = select(StoredEvent.correlation_id).where(column == wanted)
            query = query.where(TransactionRecord.correlation_id.in_(events))
    if not include_resolved:
        query = query.where(
            or_(TransactionRecord.resolution.is_(None), TransactionRecord.resolution != "resolved")
        )
    if cursor:
        started, correlation_id = _decode(cursor)
        after = (
            tuple_(*key) < (started, correlation_id)
            if order == "newest"
            else tuple_(*key) > (started, correlation_id)
        )
        query = query.where(after)
    found: list[TransactionRecord] = []
    result = session.scalars(query.execution_options(yield_per=200))  # streamed: stop at a page
    try:
        for record in result:
            if anomaly and anomaly not in record.anomalies:
                continue
            found.append(record)
            if len(found) > limit:
                break
    finally:
        result.close()
    page = found[:limit]
    return TransactionPage(
        items=[_summary(r) for r in page], next_cursor=_encode(page[-1]) if len(found) > limit else None
    )


@router.get(
    "/v1/transactions/{correlation_id}",
    response_model=Timeline,
    summary="One transaction's timeline",
    responses=problem_responses(404),
)
def timeline(correlation_id: str, request: Request, session: SessionDep, _reader: Reader) -> Timeline:
    record = session.get(TransactionRecord, correlation_id)
    if record is None:
        raise NotFound(f"no transaction {correlation_id!r}")
    rows = session.scalars(select(StoredEvent).where(StoredEvent.correlation_id == correlation_id))
    pack: PolicyPack = request.app.state.pack
    verdict = correlate(
        [stored_event(row) for row in rows],
        pack.workflows,
        now=dt.datetime.now(dt.UTC),
        statuses=pack.statuses,
    )
    events, previous = [], verdict.started_at
    links = span_links(verdict)
    for event in verdict.events:
        events.append(
            TimelineEvent(
                event_id=event.event_id,
                type=event.type,
                system=event.system,
                instance=event.instance,
                status=event.status,
                occurred_at=event.occurred_at,
                received_at=event.received_at,
                from_start_ms=int((event.occurred_at - verdict.started_at).total_seconds() * 1000),
                from_previous_ms=int(max((event.occurred_at - previous).total_seconds(), 0) * 1000),
                traceparent=links.get(event.event_id),
            )
        )
        previous = max(previous, event.occurred_at)
    summary = _summary(record).model_dump()
    summary.update(
        state=verdict.state, anomalies=sorted({a.kind for a in verdict.anomalies}), failure=verdict.failure
    )
    return Timeline(
        **summary,
        events=events,
        missing=[
            MissingStep(
                type=p.step.type,
                systems=list(p.step.systems),
                due_at=p.due_at,
                late=p.late,
                instances=list(p.missing_instances),
            )
            for p in verdict.missing
        ],
        details=[
            AnomalyRead(kind=a.kind, message=a.message, event_ids=list(a.event_ids))
            for a in verdict.anomalies
        ],
    )


class ResolutionCreate(BaseModel):
    action: Literal["acknowledge", "resolve"]
    note: Text = Field(min_length=1, max_length=2000)


@router.post(
    "/v1/transactions/{correlation_id}/resolution",
    response_model=TransactionSummary,
    summary="Acknowledge or resolve a failed or stalled transaction (audited)",
    responses=problem_responses(404, 409, 422),
)
def resolve(
    correlation_id: str, body: ResolutionCreate, request: Request, session: SessionDep, principal: Operator
) -> TransactionSummary:
    record = session.get(TransactionRecord, correlation_id)
    if record is None:
        raise NotFound(f"no transaction {correlation_id!r}")
    if record.state not in ("failed", "stalled"):
        raise Conflict(
            f"{correlation_id} is {record.state}; only failed or stalled transactions are acknowledged or resolved"
        )
    record.resolution = "resolved" if body.action == "resolve" else "acknowledged"
    record.resolution_note = body.note
    record.resolved_by = principal.name
    record.resolved_at = dt.datetime.now(dt.UTC)
    pack: PolicyPack = request.app.state.pack
    record_audit(
        session,
        principal,
        f"transaction.{record.resolution}",
        correlation_id,
        {"state": record.state, "note": body.note},
        policy_pack=pack.label,
    )
    return _summary(record)


class SystemRead(BaseModel):
    system: str
    events: int
    events_per_minute: float
    error_rate: float
    last_seen: dt.datetime
    lag_p50_ms: int
    lag_p95_ms: int


@router.get(
    "/v1/systems", response_model=list[SystemRead], summary="Per source system: rate, errors, last seen, lag"
)
def systems(
    session: SessionDep,
    _reader: Reader,
    window_minutes: Annotated[
        int, Query(ge=1, le=7 * 24 * 60, description="events received within this window")
    ] = 60,
) -> list[SystemRead]:
    """Counted, and the lag percentiles ranked, inside the database: reading every event of
    the window into Python held a worker for seconds under load (bench/load_bench.py)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=window_minutes)
    window = StoredEvent.received_at >= since
    failed = case((StoredEvent.status.in_(FAILURE_STATUSES), 1), else_=0)
    totals = session.execute(
        select(
            StoredEvent.system,
            func.count(),
            func.sum(failed),
            func.max(StoredEvent.received_at, type_=UtcDateTime),
        )
        .where(window)
        .group_by(StoredEvent.system)
    ).all()
    lags = _lag_percentiles(session, window, (50, 95))
    return [
        SystemRead(
            system=system,
            events=events,
            events_per_minute=round(events / window_minutes, 3),
            error_rate=round(errors / events, 4),
            last_seen=last,
            lag_p50_ms=lags[system, 50],
            lag_p95_ms=lags[system, 95],
        )
        for system, events, errors, last in sorted(totals)
    ]


def _lag_ms(dialect: str) -> ColumnElement[int]:
    """Milliseconds from occurred_at to received_at, never below 0."""
    if dialect == "postgresql":
        elapsed = func.extract("epoch", StoredEvent.received_at - StoredEvent.occurred_at)
        return cast(func.greatest(func.floor(elapsed * 1000), 0), Integer)
    # SQLite keeps timestamps as ISO text in UTC
    days = func.julianday(StoredEvent.received_at) - func.julianday(StoredEvent.occurred_at)
    return func.max(cast(days * 86_400_000, Integer), 0)


def _lag_percentiles(
    session: Session, window: ColumnElement[bool], percents: tuple[int, ...]
) -> dict[tuple[str, int], int]:
    """Per system, the lag at each percentile: the value at 0-based rank ``n * p // 100`` of
    the system's lags in order (exact, integer arithmetic on both sides), ranked by a window
    function in the database."""
    lag = _lag_ms(session.get_bind().dialect.name).label("lag")
    ranked = (
        select(
            StoredEvent.system,
            lag,
            func.row_number().over(partition_by=StoredEvent.system, order_by=lag).label("rank"),
            func.count().over(partition_by=StoredEvent.system).label("n"),
        )
        .where(window)
        .subquery()
    )
    wanted = or_(*(ranked.c.rank == ranked.c.n * percent // 100 + 1 for percent in percents))
    found: dict[tuple[str, int], int] = {}
    for system, value, rank, n in session.execute(
        select(ranked.c.system, ranked.c.lag, ranked.c.rank, ranked.c.n).where(wanted)
    ):
        for percent in percents:
            if rank == n * percent // 100 + 1:
                found[system, percent] = int(value)
    return found


class UsageRead(BaseModel):
    system: str
    schema_version: str
    events: int
    first_seen: dt.datetime
    last_seen: dt.datetime


@router.get(
    "/v1/contracts/{name}/usage",
    response_model=list[UsageRead],
    summary="Which schema versions each system actually sends",
)
def usage(name: str, session: SessionDep, _reader: Reader) -> list[UsageRead]:
    rows = session.scalars(
        select(SchemaUsage)
        .where(SchemaUsage.contract == name)
        .order_by(SchemaUsage.system, SchemaUsage.schema_version)
    )
    return [UsageRead.model_validate(row, from_attributes=True) for row in rows]


class ExportRead(BaseModel):
    """The OTLP export of transactions: on when STOCKPLANE_OTLP_ENDPOINT is set."""

    enabled: bool
    endpoint: str | None
    queue_size: int
    queued: int
    pending: int
    exported: int
    failed: int
    dropped: int
    batches: int
    attempts: int
    retries: int


@router.get(
    "/v1/export",
    response_model=ExportRead,
    summary="The OTLP exporter's counters: queued, exported, failed, dropped, retried",
)
def export_status(request: Request, _reader: Reader) -> ExportRead:
    exporter = request.app.state.exporter
    if exporter is None:
        return ExportRead(
            enabled=False, endpoint=None, queue_size=0, **dict.fromkeys(ExportStats().as_dict(), 0)
        )
    return ExportRead(
        enabled=True, endpoint=exporter.endpoint, queue_size=exporter.max_queue, **exporter.stats.as_dict()
    )
