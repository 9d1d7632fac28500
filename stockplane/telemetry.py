"""OpenTelemetry for the service itself: FastAPI and SQLAlchemy spans, exported over OTLP
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and silent otherwise."""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy import Engine

__all__ = ["instrument"]


def instrument(app: FastAPI, engine: Engine) -> bool:
    """Trace requests and queries when an OTLP endpoint is configured; returns whether it did.

    The provider is kept on ``app.state.tracer_provider`` so shutdown can flush it.
    """
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "stockplane")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)  # once per process; later apps keep their own
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider)
    app.state.tracer_provider = provider
    return True
