"""The middleware's share of simulated traffic as OpenTelemetry spans (``--otlp``).

Instrumented middleware does not send envelopes: its spans reach stockplane through the
OTLP receiver. Each middleware event becomes a span of the ``middleware`` service, made
and exported by the OpenTelemetry SDK exactly as a real connector would, with the
envelope's business keys and payload as ``stockplane.*`` attributes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from stockplane.settings import get_settings

__all__ = ["SpanSender"]


def _nanos(moment: str) -> int:
    return int(dt.datetime.fromisoformat(moment).timestamp() * 1e9)


class SpanSender:
    def __init__(self, url: str) -> None:
        key = get_settings().api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._providers: dict[str, TracerProvider] = {}
        self._endpoint = f"{url.rstrip('/')}/v1/traces"
        self._headers = headers

    def _tracer(self, instance: str) -> Any:
        provider = self._providers.get(instance)
        if provider is None:
            resource = Resource.create({"service.name": "middleware", "service.instance.id": instance})
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=self._endpoint, headers=self._headers))
            )
            self._providers[instance] = provider
        return provider.get_tracer("stockplane.simulator")

    def send(self, event: dict[str, Any]) -> None:
        attributes: dict[str, Any] = {
            "stockplane.correlation_id": event["correlation_id"],
            "stockplane.event_type": event["type"],
            "stockplane.schema_version": event["schema_version"],
        }
        for field in ("sku", "location_id", "channel", "inventory_status"):
            if event.get(field) is not None:
                attributes[f"stockplane.{field}"] = str(event[field])
        if isinstance(event.get("quantity"), int):
            attributes["stockplane.quantity"] = event["quantity"]
        if "payload" in event:
            attributes["stockplane.payload"] = orjson.dumps(event["payload"]).decode()
        start = _nanos(event["occurred_at"])
        span = self._tracer(event["source"]["instance"]).start_span(
            event["type"], start_time=start, attributes=attributes
        )
        if event["status"] in ("error", "dead_letter"):
            span.set_status(
                Status(StatusCode.ERROR, (event.get("error") or {}).get("message", event["status"]))
            )
        span.end(end_time=start + 1_000_000)

    def close(self) -> None:
        for provider in self._providers.values():
            provider.shutdown()  # flushes what is queued
