"""Finding transactions by what they touched: system, channel, location, SKU and time."""

from __future__ import annotations

import datetime as dt

import orjson
import sqlalchemy as sa

from stockplane.database import Database
from stockplane.migrate import upgrade
from tests.conftest import Service
from tests.tracing.test_api import envelope, post

BASE = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def touching(
    correlation_id: str, hours: int, *, sku: str, location: str, channel: str, system: str
) -> list[dict]:
    at = BASE + dt.timedelta(hours=hours)
    keys = {"sku": sku, "location_id": location, "channel": channel}
    return [
        envelope(correlation_id, "pos.sale", "pos", 0, occurred_at=at.isoformat(), **keys),
        envelope(
            correlation_id,
            "inventory.adjusted",
            system,
            0,
            occurred_at=(at + dt.timedelta(minutes=1)).isoformat(),
        ),
    ]


def ids(service: Service, **params: object) -> list[str]:
    answer = service.client.get("/v1/transactions", params=params, headers=service.as_role("viewer"))
    assert answer.status_code == 200, answer.text
    return [t["correlation_id"] for t in answer.json()["items"]]


def test_filters_by_business_keys_system_and_time_range(service: Service) -> None:
    post(service, touching("t-a", 0, sku="SKU-1", location="store-7", channel="pos", system="erp"))
    post(service, touching("t-b", 1, sku="SKU-2", location="store-7", channel="pos", system="erp"))
    post(service, touching("t-c", 2, sku="SKU-1", location="dc-1", channel="web", system="erp-legacy"))
    assert ids(service, sku="SKU-1") == ["t-c", "t-a"]
    assert ids(service, location="store-7") == ["t-b", "t-a"]
    assert ids(service, channel="web") == ["t-c"]
    assert ids(service, system="erp-legacy") == ["t-c"]
    assert ids(service, sku="SKU-1", location="store-7") == ["t-a"]  # filters combine
    assert ids(service, sku="SKU-9") == []
    window = {
        "since": (BASE + dt.timedelta(minutes=30)).isoformat(),
        "until": (BASE + dt.timedelta(hours=2)).isoformat(),
    }
    assert ids(service, **window) == ["t-b"]
    assert ids(service, order="oldest") == ["t-a", "t-b", "t-c"]
    first = service.client.get(
        "/v1/transactions", params={"order": "oldest", "limit": 2}, headers=service.as_role("viewer")
    ).json()
    rest = ids(service, order="oldest", limit=2, cursor=first["next_cursor"])
    assert [t["correlation_id"] for t in first["items"]] + rest == ["t-a", "t-b", "t-c"]
    naive = service.client.get(
        "/v1/transactions", params={"since": "2026-11-20T09:00:00"}, headers=service.as_role("viewer")
    )
    assert naive.status_code == 400 and "UTC offset" in naive.json()["detail"]


def test_migration_fills_business_keys_of_events_stored_before_it(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database, "0004")
    body = envelope("old-1", "pos.sale", "pos", 0, sku="SKU-OLD", location_id=42, channel="pos")
    row = {
        "event_id": body["event_id"],
        "correlation_id": "old-1",
        "type": "pos.sale",
        "system": "pos",
        "instance": "pos-1",
        "status": "ok",
        "occurred_at": BASE,
        "received_at": BASE,
        "content_hash": "x",
        "deliveries": 1,
        "conflicting": False,
        "body": orjson.dumps(body).decode(),
    }
    event = sa.table("event", *(sa.column(name) for name in row))
    with database.engine.begin() as connection:
        connection.execute(event.insert(), [row])
    upgrade(database)
    with database.engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT sku, location_id, channel FROM event")).one()
    assert tuple(keys) == ("SKU-OLD", "42", "pos")
    database.dispose()
