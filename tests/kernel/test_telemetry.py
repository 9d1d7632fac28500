"""The server traces itself over OTLP/HTTP when told to, and is silent otherwise."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from stockplane.database import Database
from stockplane.migrate import upgrade
from stockplane.settings import Settings


class _Collector(BaseHTTPRequestHandler):
    received: list[ExportTraceServiceRequest] = []  # noqa: RUF012  (shared with the test)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_spans_reach_an_otlp_collector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from stockplane.app import create_app

    collector = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_port}")
    url = f"sqlite:///{tmp_path}/t.db"
    database = Database(url)
    upgrade(database)
    with TestClient(create_app(Settings(database_url=url), database=database)) as client:
        assert client.get("/readyz").status_code == 200
    collector.shutdown()
    collector.server_close()
    names = {
        span.name
        for request in _Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    services = {
        attribute.value.string_value
        for request in _Collector.received
        for resource in request.resource_spans
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }
    assert "GET /readyz" in names
    assert any(name.startswith(("SELECT", "connect")) for name in names), names
    assert services == {"stockplane"}


def test_no_endpoint_no_instrumentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockplane.app import create_app

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    url = f"sqlite:///{tmp_path}/t.db"
    database = Database(url)
    upgrade(database)
    app = create_app(Settings(database_url=url), database=database)
    assert not hasattr(app.state, "tracer_provider")
