"""The server protects itself from ingestion floods and sweeps for stalls on its own."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stockplane.auth import Role, create_key
from stockplane.database import Database
from stockplane.migrate import upgrade
from stockplane.settings import Settings, TracingSettings
from tests.conftest import Service
from tests.tracing.test_api import envelope, post, sale


def test_ingestion_past_the_concurrency_limit_gets_429_with_retry_after(service: Service) -> None:
    app = service.client.app
    app.state.settings = service.settings.model_copy(
        update={"tracing": TracingSettings(max_concurrent_batches=0)}
    )
    refused = post(service, sale("sale-busy", complete=False))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["retry_after"] == 1
    anonymous = service.client.post("/v1/events", json=sale("sale-busy", complete=False))
    assert anonymous.status_code == 401  # who is asking is settled before a slot is taken
    app.state.settings = service.settings  # the gate was released: the next batch goes through
    assert post(service, sale("sale-busy", complete=False)).json()["accepted"] == 2
    viewer = service.as_role("viewer")
    assert service.client.get("/v1/transactions/sale-busy", headers=viewer).status_code == 200


def test_the_server_marks_overdue_transactions_stalled_without_being_asked(tmp_path: Path) -> None:
    from stockplane.app import create_app

    url = f"sqlite:///{tmp_path}/sweep.db"
    database = Database(url)
    upgrade(database)
    with database.session() as session:
        key = create_key(session, name="i", role=Role.INGEST)[1]
    settings = Settings(database_url=url, tracing=TracingSettings(sweep_seconds=1))
    headers = {"Authorization": f"Bearer {key}"}
    # store_sale: e-commerce availability is due 10 minutes after the sale; this one is 1.5 s short.
    # (Times are taken now, not at import: the suite may have run for minutes before this test.)
    first = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=598.5)
    events = [
        envelope("sale-late", "pos.sale", "pos", 0, occurred_at=first.isoformat()),
        envelope(
            "sale-late",
            "inventory.adjusted",
            "erp",
            0,
            occurred_at=(first + dt.timedelta(seconds=20)).isoformat(),
        ),
    ]
    with TestClient(create_app(settings, database=database)) as client:
        assert client.post("/v1/events", json=events, headers=headers).json()["transactions"] == 1
        state = client.get("/v1/transactions/sale-late", headers=headers).json()["state"]
        assert state == "in_progress"
        deadline = time.monotonic() + 10
        while state != "stalled" and time.monotonic() < deadline:
            time.sleep(0.2)
            state = client.get("/v1/transactions/sale-late", headers=headers).json()["state"]
    assert state == "stalled"
    database.dispose()


def test_the_cli_client_waits_as_told_when_the_server_is_busy() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from stockplane.client import Client, RemoteError

    answers = iter([429, 503, 200])
    seen: list[int] = []

    class Busy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = next(answers, 429)
            seen.append(status)
            self.send_response(status)
            if status != 200:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status == 200 else b'{"title": "busy"}')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = Client(f"http://127.0.0.1:{server.server_port}", api_key="k")
        assert client.get("/x") == {"ok": True}
        assert seen == [429, 503, 200]
        client.retries = 1
        seen.clear()
        with pytest.raises(RemoteError, match="429"):
            client.get("/x")
        assert seen == [429, 429]
    finally:
        server.shutdown()
        server.server_close()
