"""Transactions exported over OTLP/HTTP: one trace each, deterministic ids, hops and links."""

from __future__ import annotations

import threading
from http.server import HTTPServer
from pathlib import Path

from fastapi.testclient import TestClient

from stockplane.auth import Role, create_key
from stockplane.database import Database
from stockplane.migrate import upgrade
from stockplane.settings import Settings
from tests.kernel.test_telemetry import _Collector
from tests.tracing.test_api import envelope, sale


def test_final_and_stalled_transactions_are_exported(tmp_path: Path) -> None:
    from stockplane.app import create_app

    _Collector.received.clear()
    collector = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    url = f"sqlite:///{tmp_path}/t.db"
    database = Database(url)
    upgrade(database)
    with database.session() as session:
        key = create_key(session, name="i", role=Role.INGEST)[1]
    settings = Settings(database_url=url, otlp_endpoint=f"http://127.0.0.1:{collector.server_port}")
    headers = {"Authorization": f"Bearer {key}"}
    otlp_born = envelope(
        "exp-done",
        "pos.sale",
        "pos",
        60,
        event_id="5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174",
        traceparent="00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01",  # as the receiver stores it
    )
    with TestClient(create_app(settings, database=database)) as client:
        client.post("/v1/events", json=[otlp_born, *sale("exp-done", complete=True)[1:]], headers=headers)
        client.post(
            "/v1/events", json=sale("exp-open", complete=False), headers=headers
        )  # in progress: not exported
        client.post(
            "/v1/events", json=sale("exp-done", complete=True)[1:2], headers=headers
        )  # no state change: not again
    collector.shutdown()
    collector.server_close()
    spans = [
        span
        for request in _Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    roots = [span for span in spans if not span.parent_span_id]
    assert [root.name for root in roots] == ["store_sale exp-done"]
    root = roots[0]
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["stockplane.state"].string_value == "completed"
    children = [span for span in spans if span.parent_span_id == root.span_id]
    assert len(children) == 4 and all(child.trace_id == root.trace_id for child in children)
    assert [link.trace_id.hex() for link in root.links] == ["5b8efff798038103d269b633813fc60c"]

    import datetime as dt

    from policies import load_pack
    from tracing.correlate import correlate
    from tracing.events import event_from_envelope
    from tracing.export import transaction_spans  # the trace id is derived from the correlation id

    again = correlate(
        [event_from_envelope(e) for e in sale("exp-done", complete=True)],
        load_pack().workflows,
        now=dt.datetime.now(dt.UTC),
    )
    assert transaction_spans(again)[0].context.trace_id == int.from_bytes(root.trace_id, "big")
