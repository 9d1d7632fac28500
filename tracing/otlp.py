"""OTLP/HTTP trace ingestion: instrumented middleware reports spans, stockplane sees events.

A span becomes an envelope: its correlation id from the first configured attribute that
is set, its type from ``stockplane.event_type`` or the span name, its system from the
resource's ``service.name``, its status from the span status, ``occurred_at`` from the
start time, and its trace and span ids kept as ``traceparent`` so a timeline links back to
the original trace. The event id is ``<trace id>-<span id>``, so a re-sent export is stored
once. Spans without a correlation id are counted, not stored.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from stockplane.bodies import gunzip
from stockplane.errors import InputError

__all__ = ["DEFAULT_CORRELATION_KEYS", "SpanBatch", "decode_request", "encode_response", "spans_to_envelopes"]

DEFAULT_CORRELATION_KEYS = (
    "stockplane.correlation_id",
    "messaging.message.conversation_id",
    "correlation.id",
)
_BUSINESS_KEYS = {
    "stockplane.sku": "sku",
    "stockplane.location_id": "location_id",
    "stockplane.channel": "channel",
    "stockplane.inventory_status": "inventory_status",
}


@dataclass
class SpanBatch:
    envelopes: list[dict[str, Any]]
    without_correlation: int


def decode_request(
    body: bytes, content_type: str, content_encoding: str, *, max_bytes: int
) -> ExportTraceServiceRequest:
    """Parse an OTLP/HTTP export body (protobuf or JSON, optionally gzip).

    A gzip body is inflated step by step and refused (413) once it passes ``max_bytes``,
    so a small compressed body cannot expand to gigabytes.
    """
    if "gzip" in content_encoding.lower():
        body = gunzip(body, limit=max_bytes, what="export")
    request = ExportTraceServiceRequest()
    try:
        if "json" in content_type:
            document = orjson.loads(body)
            if not isinstance(document, dict):
                raise ValueError(f"the JSON body must be an object, not {type(document).__name__}")
            json_format.ParseDict(_hex_ids_to_base64(document), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (
        DecodeError,
        json_format.ParseError,
        orjson.JSONDecodeError,
        ValueError,
        TypeError,
        AttributeError,
    ) as exc:
        raise InputError(f"not an OTLP trace export: {exc}") from None
    return request


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids_to_base64(document: Any) -> Any:
    """OTLP/JSON writes trace and span ids in hex where protobuf's JSON mapping expects base64."""
    for resource_spans in document.get("resourceSpans", []) if isinstance(document, dict) else []:
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for holder in (span, *span.get("links", [])):
                    for field in _ID_FIELDS:
                        if isinstance(holder.get(field), str) and holder[field]:
                            holder[field] = base64.b64encode(bytes.fromhex(holder[field])).decode()
    return document


def encode_response(response: ExportTraceServiceResponse, content_type: str) -> tuple[bytes, str]:
    if "json" in content_type:
        return json_format.MessageToJson(response).encode(), "application/json"
    return response.SerializeToString(), "application/x-protobuf"


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return (
        getattr(value, kind) if kind in ("string_value", "int_value", "double_value", "bool_value") else None
    )


def _attributes(pairs: Sequence[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _spans(request: ExportTraceServiceRequest) -> Iterator[tuple[dict[str, Any], Span]]:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource, span


def _payload(value: Any) -> Any:
    """``stockplane.payload``: the business body as JSON text (span attributes are flat);
    text that is not JSON is kept as a string, which the envelope then refuses by name."""
    if not isinstance(value, str):
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def spans_to_envelopes(
    request: ExportTraceServiceRequest, correlation_keys: Sequence[str] = DEFAULT_CORRELATION_KEYS
) -> SpanBatch:
    envelopes: list[dict[str, Any]] = []
    skipped = 0
    for resource, span in _spans(request):
        attributes = _attributes(span.attributes)
        correlation = next((attributes[key] for key in correlation_keys if attributes.get(key)), None)
        if correlation is None:
            skipped += 1
            continue
        trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
        started = dt.datetime.fromtimestamp(span.start_time_unix_nano / 1e9, dt.UTC)
        failed = span.status.code == Status.STATUS_CODE_ERROR
        envelope: dict[str, Any] = {
            "event_id": f"{trace_id}-{span_id}",
            "correlation_id": str(correlation),
            "type": str(attributes.get("stockplane.event_type") or span.name),
            "schema_version": str(attributes.get("stockplane.schema_version") or "0.0.0"),
            "source": {
                "system": str(resource.get("service.name") or "unknown"),
                "instance": str(
                    resource.get("service.instance.id") or resource.get("host.name") or "unknown"
                ),
            },
            "occurred_at": started.isoformat(),
            "status": "error" if failed else "ok",
            "traceparent": f"00-{trace_id}-{span_id}-01",
        }
        if failed:
            envelope["error"] = {
                "code": "span_error",
                "message": span.status.message or "the span ended in error",
            }
        for key, field in _BUSINESS_KEYS.items():
            if attributes.get(key) is not None:
                envelope[field] = str(attributes[key])
        if isinstance(attributes.get("stockplane.quantity"), int):
            envelope["quantity"] = attributes["stockplane.quantity"]
        payload = _payload(attributes.get("stockplane.payload"))
        if payload is not None:
            envelope["payload"] = payload
        envelopes.append(envelope)
    return SpanBatch(envelopes, skipped)
