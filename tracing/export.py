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
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .correlate import Transaction

__all__ = ["EXPORTED_STATES", "TransactionExporter", "transaction_spans"]

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


class TransactionExporter:
    """Queues transactions for OTLP/HTTP export to ``endpoint`` (e.g. http://collector:4318)."""

    def __init__(self, endpoint: str, *, max_queue: int = 10_000) -> None:
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        self._processor = BatchSpanProcessor(exporter, max_queue_size=max_queue, schedule_delay_millis=1000)

    def export(self, transaction: Transaction, traceparents: dict[str, str] | None = None) -> None:
        for span in transaction_spans(transaction, traceparents):
            self._processor.on_end(span)

    def export_many(self, transactions: Sequence[Transaction]) -> None:
        for transaction in transactions:
            self.export(transaction)

    def flush(self, timeout_millis: int = 10_000) -> bool:
        return self._processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._processor.shutdown()  # type: ignore[no-untyped-call]
