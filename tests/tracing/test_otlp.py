"""The OTLP/HTTP receiver, fed by the OpenTelemetry SDK's own exporter over real HTTP."""

from __future__ import annotations

import gzip

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from stockplane.settings import get_settings
from tests.conftest import Service


def provider_for(
    url: str, key: str, service: str, compression: Compression = Compression.NoCompression
) -> TracerProvider:
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {key}"}, compression=compression
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.instance.id": f"{service}-1"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_sdk_spans_become_a_transaction(cli, server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url = get_settings().url
    pos = provider_for(url, server["admin"], "pos").get_tracer("pos")
    erp = provider_for(url, server["admin"], "erp", Compression.Gzip).get_tracer("erp")
    with pos.start_as_current_span(
        "pos.sale", attributes={"stockplane.correlation_id": "otlp-1", "stockplane.sku": "SKU-9"}
    ):
        pass
    with erp.start_as_current_span(
        "posting", attributes={"correlation.id": "otlp-1", "stockplane.event_type": "inventory.adjusted"}
    ) as span:
        span.set_status(Status(StatusCode.ERROR, "period closed"))
    with pos.start_as_current_span("heartbeat"):  # no correlation id: counted, not stored
        pass
    monkeypatch.setenv("STOCKPLANE_API_KEY", server["admin"])
    get_settings.cache_clear()
    shown = cli("trace", "show", "otlp-1")
    assert shown.code == 0, shown.stderr
    assert "store_sale" in shown.stdout and "[failed]" in shown.stdout
    assert "pos          pos.sale" in shown.stdout and "erp          inventory.adjusted" in shown.stdout


def test_json_bodies_partial_success_and_bad_input(service: Service) -> None:
    headers = {**service.as_role("ingest"), "Content-Type": "application/json"}
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "order.placed",
        "startTimeUnixNano": "1732784400000000000",
        "endTimeUnixNano": "1732784401000000000",
        "attributes": [{"key": "stockplane.correlation_id", "value": {"stringValue": "otlp-json"}}],
    }
    bad = dict(span, spanId="eee19b7ec3c1b175", name="Not A Type")
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ecommerce"}}]},
                "scopeSpans": [{"spans": [span, bad]}],
            }
        ]
    }
    answer = service.client.post("/v1/traces", json=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["partialSuccess"]["rejectedSpans"] == "1"
    timeline = service.client.get("/v1/transactions/otlp-json", headers=service.as_role("viewer")).json()
    assert timeline["workflow"] == "ecommerce_order"
    assert timeline["events"][0]["event_id"] == "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"
    gz = service.client.post(
        "/v1/traces",
        content=gzip.compress(b"not a protobuf"),
        headers={
            **service.as_role("ingest"),
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
        },
    )
    assert gz.status_code == 400
    assert gz.headers["content-type"] == "application/problem+json"
    assert (
        service.client.post("/v1/traces", content=b"", headers=service.as_role("viewer")).status_code == 403
    )
