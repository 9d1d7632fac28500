"""A slow or dead OTLP collector: ingestion goes on, the exporter's queue stays bounded,
and what was dropped, failed and retried is counted and visible at GET /v1/export."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import Service
from tests.tracing.test_api import post, sale
from tracing.export import TransactionExporter

QUEUE = 40


class _SlowCollector(BaseHTTPRequestHandler):
    delay = 1.5

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowCollector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _status(service: Service) -> dict:
    response = service.client.get("/v1/export", headers=service.as_role("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def _flood(service: Service, endpoint: str) -> TransactionExporter:
    exporter = TransactionExporter(endpoint, max_queue=QUEUE, timeout_seconds=2)
    service.client.app.state.exporter = exporter
    for number in range(40):  # each completed transaction is a root span and a span per hop
        answer = post(service, sale(f"export-{endpoint[-5:]}-{number}", complete=True))
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 5
        assert exporter.stats.pending <= QUEUE
    return exporter


def test_a_slow_collector_costs_dropped_spans_not_ingestion(service: Service, slow_collector: str) -> None:
    exporter = _flood(service, slow_collector)
    try:
        status = _status(service)
        assert status["enabled"] and status["queue_size"] == QUEUE
        assert status["dropped"] > 0
        # every span counted one way or the other: a root span and one per hop after the first event
        assert status["queued"] + status["dropped"] == 40 * 5
        assert status["pending"] <= QUEUE
        assert exporter.flush(timeout_millis=30_000)
        after = _status(service)
        assert after["exported"] == after["queued"] and after["failed"] == 0 and after["pending"] == 0
        assert after["attempts"] == after["batches"] >= 1
    finally:
        exporter.shutdown()


def test_a_dead_collector_is_retried_counted_and_never_blocks(service: Service) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    exporter = _flood(service, dead)
    try:
        exporter.flush(timeout_millis=20_000)
        status = _status(service)
        assert status["exported"] == 0
        assert status["failed"] > 0 and status["dropped"] > 0
        assert status["retries"] >= 1  # the exporter tried again before giving a batch up
        assert status["pending"] <= QUEUE
    finally:
        exporter.shutdown()


def test_without_an_endpoint_export_is_off(service: Service) -> None:
    status = _status(service)
    assert status == {**status, "enabled": False, "endpoint": None, "queued": 0, "dropped": 0}
