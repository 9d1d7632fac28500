"""OTLP export of transactions, so engineers open them in the Jaeger or Tempo they run.

Each transaction that reaches a final state (or stalls) becomes one trace: a trace id
derived from the correlation id (the same transaction always lands in the same trace), a
root span with its workflow, state and anomalies, a child span per hop, and links to the
original traces of events that came in as spans. Spans go through the SDK's batch
processor: a bounded queue drained by a background thread, so a collector that is down or
slow never blocks ingestion (spans past the queue are dropped and counted).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from requests.adapters import HTTPAdapter

from .correlate import Transaction

__all__ = ["EXPORTED_STATES", "ExportStats", "TransactionExporter", "transaction_spans"]

EXPORTED_STATES = frozenset({"completed", "failed", "stalled"})
_RESOURCE = Resource.create({"service.name": "stockplane-correlator"})


def _id(text: str, size: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big") or 1


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def _nanos(moment) -> int:  # type: ignore[no-untyped-def]
    return int(moment.timestamp() * 1_000_000_000)


def transaction_spans(
    transaction: Transaction, traceparents: dict[str, str] | None = None
) -> list[ReadableSpan]:
    """The root span and one child per hop; ``traceparents`` maps event ids to the W3C
    trace context they arrived with, which become span links."""
    trace_id = _id(f"trace:{transaction.correlation_id}", 16)
    root = _context(trace_id, _id(f"root:{transaction.correlation_id}", 8))
    ends = [e.occurred_at for e in transaction.events]
    links = []
    for event_id, traceparent in (traceparents or {}).items():
        parts = traceparent.split("-")
        if len(parts) == 4:
            links.append(
                Link(
                    SpanContext(int(parts[1], 16), int(parts[2], 16), is_remote=True),
                    {"stockplane.event_id": event_id},
                )
            )
    failed = transaction.state == "failed"
    spans = [
        ReadableSpan(
            name=f"{transaction.workflow or 'transaction'} {transaction.correlation_id}",
            context=root,
            kind=SpanKind.INTERNAL,
            resource=_RESOURCE,
            attributes={
                "stockplane.correlation_id": transaction.correlation_id,
                "stockplane.workflow": transaction.workflow or "",
                "stockplane.state": transaction.state,
                "stockplane.anomalies": sorted({a.kind for a in transaction.anomalies}),
                "stockplane.events": len(transaction.events),
            },
            links=links,
            start_time=_nanos(transaction.started_at),
            end_time=_nanos(max(ends)),
            status=Status(StatusCode.ERROR, transaction.failure or "") if failed else Status(StatusCode.OK),
        )
    ]
    for index, hop in enumerate(transaction.hops):
        start = transaction.started_at + hop.from_start - hop.from_previous
        spans.append(
            ReadableSpan(
                name=f"{hop.type} ({hop.system})",
                context=_context(trace_id, _id(f"hop:{transaction.correlation_id}:{index}", 8)),
                parent=root,
                kind=SpanKind.INTERNAL,
                resource=_RESOURCE,
                attributes={
                    "stockplane.system": hop.system,
                    "stockplane.event_type": hop.type,
                    "stockplane.late": hop.late,
                },
                start_time=_nanos(start),
                end_time=_nanos(transaction.started_at + hop.from_start),
            )
        )
    return spans


@dataclass
class ExportStats:
    """What became of the spans handed to the exporter, since the process started."""

    queued: int = 0  # accepted into the queue
    dropped: int = 0  # refused because the queue was full (the collector is down or slow)
    exported: int = 0  # acknowledged by the collector
    failed: int = 0  # in batches the collector never acknowledged, retries included
    batches: int = 0  # export calls to the collector
    attempts: int = 0  # HTTP requests made for them: attempts beyond one per batch are retries

    @property
    def pending(self) -> int:
        """Spans queued and not yet handed to the collector: bounded by the queue size."""
        return self.queued - self.exported - self.failed

    @property
    def retries(self) -> int:
        return max(self.attempts - self.batches, 0)

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "pending": self.pending, "retries": self.retries}


class _CountingAdapter(HTTPAdapter):
    """Counts every HTTP request the OTLP exporter makes, retries included."""

    def __init__(self, stats: ExportStats, lock: threading.Lock) -> None:
        super().__init__()
        self._stats, self._lock = stats, lock

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        with self._lock:
            self._stats.attempts += 1
        return super().send(request, *args, **kwargs)


class _CountingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, stats: ExportStats, lock: threading.Lock) -> None:
        self._inner, self._stats, self._lock = inner, stats, lock

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        with self._lock:
            self._stats.batches += 1
            if result is SpanExportResult.SUCCESS:
                self._stats.exported += len(spans)
            else:
                self._stats.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class TransactionExporter:
    """Queues transactions for OTLP/HTTP export to ``endpoint`` (e.g. http://collector:4318).

    The queue holds at most ``max_queue`` spans: past that, a transaction's spans are
    dropped here and counted (the SDK would drop them too, with a warning per span), so a
    dead collector costs neither memory nor a flood of log lines. :attr:`stats` counts
    what was queued, exported, failed, dropped and retried (``GET /v1/export``).
    """

    def __init__(self, endpoint: str, *, max_queue: int = 10_000, timeout_seconds: float = 10) -> None:
        self.endpoint = endpoint.rstrip("/") + "/v1/traces"
        self.max_queue = max_queue
        self.stats = ExportStats()
        self._lock = threading.Lock()
        session = requests.Session()
        adapter = _CountingAdapter(self.stats, self._lock)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        exporter = OTLPSpanExporter(endpoint=self.endpoint, session=session, timeout=timeout_seconds)
        self._processor = BatchSpanProcessor(
            _CountingExporter(exporter, self.stats, self._lock),
            max_queue_size=max_queue,
            max_export_batch_size=min(512, max_queue),
            schedule_delay_millis=1000,
        )

    def export(self, transaction: Transaction, traceparents: dict[str, str] | None = None) -> None:
        spans = transaction_spans(transaction, traceparents)
        with self._lock:
            if self.stats.pending + len(spans) > self.max_queue:
                self.stats.dropped += len(spans)
                return
            self.stats.queued += len(spans)
        for span in spans:
            self._processor.on_end(span)

    def export_many(self, transactions: Sequence[Transaction]) -> None:
        for transaction in transactions:
            self.export(transaction)

    def flush(self, timeout_millis: int = 10_000) -> bool:
        return self._processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._processor.shutdown()  # type: ignore[no-untyped-call]
