"""Event ingestion and transactions over HTTP, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import orjson
import pytest

from tests.conftest import Service

_ids = itertools.count()
NOW = dt.datetime.now(dt.UTC)


def envelope(correlation_id: str, type_: str, system: str, seconds_ago: float, **extra: object) -> dict:
    at = (NOW - dt.timedelta(seconds=seconds_ago)).isoformat()
    event = {
        "event_id": f"ev-{next(_ids)}",
        "correlation_id": correlation_id,
        "type": type_,
        "schema_version": "1.0.0",
        "source": {"system": system, "instance": f"{system}-1"},
        "occurred_at": at,
        "status": "ok",
    }
    event.update(extra)
    return event


def sale(correlation_id: str, *, complete: bool, seconds_ago: float = 60) -> list[dict]:
    events = [
        envelope(correlation_id, "pos.sale", "pos", seconds_ago),
        envelope(correlation_id, "inventory.adjusted", "erp", seconds_ago - 20),
    ]
    if complete:
        events += [
            envelope(correlation_id, "availability.published", "ecommerce", seconds_ago - 30),
            *(
                envelope(
                    correlation_id,
                    "availability.published",
                    "marketplace",
                    seconds_ago - 40,
                    source={"system": "marketplace", "instance": instance},
                )
                for instance in ("marketplace-a", "marketplace-b")  # the pack's marketplaces
            ),
        ]
    return events


def post(service: Service, events: object, *, ndjson: bool = False, role: str = "ingest"):  # type: ignore[no-untyped-def]
    headers = service.as_role(role)
    if ndjson:
        body = b"\n".join(orjson.dumps(e) for e in events)  # type: ignore[attr-defined]
        return service.client.post(
            "/v1/events", content=body, headers={**headers, "Content-Type": "application/x-ndjson"}
        )
    return service.client.post("/v1/events", json=events, headers=headers)


def test_ingest_correlate_and_read_back(service: Service) -> None:
    batch = [*sale("sale-ok", complete=True), *sale("sale-open", complete=False)]
    answer = post(service, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 7, "duplicates": 0, "rejected": [], "transactions": 2}
    viewer = service.as_role("viewer")
    listing = service.client.get("/v1/transactions", headers=viewer).json()
    states = {t["correlation_id"]: t["state"] for t in listing["items"]}
    assert states == {"sale-ok": "completed", "sale-open": "in_progress"}
    timeline = service.client.get("/v1/transactions/sale-open", headers=viewer).json()
    assert [e["type"] for e in timeline["events"]] == ["pos.sale", "inventory.adjusted"]
    assert timeline["events"][1]["from_previous_ms"] == 20_000
    assert [m["type"] for m in timeline["missing"]] == ["availability.published", "availability.published"]
    assert [m["instances"] for m in timeline["missing"]] == [[], ["marketplace-a", "marketplace-b"]]
    assert service.client.get("/v1/transactions/nope", headers=viewer).status_code == 404


def test_failed_and_stalled_transactions(service: Service) -> None:
    failing = sale("sale-err", complete=False)
    failing[1].update(status="error", error={"code": "ERP-42", "message": "posting period closed"})
    stale = sale("sale-stuck", complete=False, seconds_ago=3600)
    post(service, [*failing, *stale])
    viewer = service.as_role("viewer")
    failed = service.client.get("/v1/transactions", params={"state": "failed"}, headers=viewer).json()[
        "items"
    ]
    assert [t["correlation_id"] for t in failed] == ["sale-err"]
    assert "ERP-42" in failed[0]["failure"]
    stalled = service.client.get("/v1/transactions", params={"state": "stalled"}, headers=viewer).json()[
        "items"
    ]
    assert [t["correlation_id"] for t in stalled] == ["sale-stuck"]


def test_idempotency_duplicates_and_conflicts(service: Service) -> None:
    events = sale("sale-dup", complete=False)
    post(service, events)
    again = post(service, events)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 2
    changed = dict(events[0], status="retry")
    assert post(service, [changed]).json()["duplicates"] == 1
    record = service.client.get("/v1/transactions/sale-dup", headers=service.as_role("viewer")).json()
    assert set(record["anomalies"]) == {"duplicate", "conflicting_duplicate"}
    assert post(service, [events[1], events[1]]).json()["duplicates"] == 2  # within one batch too


def test_partial_acceptance_reports_every_reason_by_index(service: Service) -> None:
    good = sale("sale-partial", complete=False)
    bad = [
        {"event_id": "x"},
        "not an object",
        dict(good[0], event_id="ev-naive", occurred_at="2026-11-28T10:00:00"),
    ]
    answer = post(service, [good[0], *bad, good[1]]).json()
    assert answer["accepted"] == 2
    by_index = {r["index"]: r["errors"] for r in answer["rejected"]}
    assert set(by_index) == {1, 2, 3}
    assert any("'correlation_id' is a required property" in e for e in by_index[1])
    assert "must be a JSON object" in by_index[2][0]


def test_ndjson_limits_and_roles(service: Service) -> None:
    assert post(service, sale("sale-nd", complete=True), ndjson=True).json()["accepted"] == 5
    assert post(service, sale("sale-role", complete=False), role="viewer").status_code == 403
    assert post(service, sale("sale-role", complete=False), role="admin").status_code == 200
    service.client.app.state.settings.tracing.max_batch_events = 3
    too_many = post(service, sale("sale-big", complete=True))
    assert too_many.status_code == 413
    assert too_many.headers["content-type"] == "application/problem+json"
    broken = service.client.post(
        "/v1/events",
        content=b"{not json",
        headers={**service.as_role("ingest"), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400


def test_transaction_pages_and_anomaly_filter(service: Service) -> None:
    for number in range(5):
        post(service, sale(f"sale-page-{number}", complete=True, seconds_ago=100 + number))
    viewer = service.as_role("viewer")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = service.client.get("/v1/transactions", params=params, headers=viewer).json()
        seen += [t["correlation_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"sale-page-{n}" for n in range(5)]
    orphan = [envelope("sale-orphan", "inventory.adjusted", "erp", 10)]
    post(service, orphan)
    only = service.client.get("/v1/transactions", params={"anomaly": "orphan"}, headers=viewer).json()[
        "items"
    ]
    assert [t["correlation_id"] for t in only] == ["sale-orphan"]


def test_resolutions_are_audited_and_leave_the_default_list(service: Service) -> None:
    failing = sale("sale-resolve", complete=False)
    failing[1].update(status="error", error={"code": "E1", "message": "boom"})
    post(service, [*failing, *sale("sale-fine", complete=True)])
    viewer, architect = service.as_role("viewer"), service.as_role("architect")
    path = "/v1/transactions/sale-resolve/resolution"
    assert (
        service.client.post(
            path, json={"action": "resolve", "note": "reposted by hand"}, headers=viewer
        ).status_code
        == 403
    )
    assert (
        service.client.post(
            "/v1/transactions/sale-fine/resolution",
            json={"action": "resolve", "note": "x"},
            headers=architect,
        ).status_code
        == 409
    )
    assert (
        service.client.post(path, json={"action": "shrug", "note": "x"}, headers=architect).status_code == 422
    )
    acknowledged = service.client.post(
        path, json={"action": "acknowledge", "note": "looking"}, headers=architect
    ).json()
    assert acknowledged["resolution"] == "acknowledged"
    assert [
        t["correlation_id"]
        for t in service.client.get("/v1/transactions", params={"state": "failed"}, headers=viewer).json()[
            "items"
        ]
    ] == ["sale-resolve"]
    service.client.post(path, json={"action": "resolve", "note": "reposted by hand"}, headers=architect)
    assert (
        service.client.get("/v1/transactions", params={"state": "failed"}, headers=viewer).json()["items"]
        == []
    )
    both = service.client.get(
        "/v1/transactions", params={"state": "failed", "include_resolved": "true"}, headers=viewer
    ).json()["items"]
    assert both[0]["resolution_note"] == "reposted by hand"
    audit = service.client.get("/v1/audit", params={"target": "sale-resolve"}, headers=viewer).json()["items"]
    assert [entry["action"] for entry in audit] == ["transaction.resolved", "transaction.acknowledged"]


def test_systems_show_rate_errors_and_lag(service: Service) -> None:
    batch = sale("sale-sys", complete=False, seconds_ago=120)
    batch[1].update(status="error", error={"code": "E", "message": "m"})
    post(service, [*batch, envelope("sale-sys-2", "pos.sale", "pos", 30)])
    systems = {
        s["system"]: s for s in service.client.get("/v1/systems", headers=service.as_role("viewer")).json()
    }
    assert set(systems) == {"pos", "erp"}
    assert systems["pos"]["events"] == 2 and systems["pos"]["error_rate"] == 0
    assert systems["erp"]["error_rate"] == 1.0
    assert systems["erp"]["lag_p50_ms"] >= 100_000  # it occurred at least 100 s before it was received


def test_system_lag_percentiles_match_an_independent_computation(service: Service) -> None:
    """The database ranks the lags; plain Python over the stored rows must agree exactly."""
    import random

    from sqlalchemy import select

    from tracing.models import StoredEvent

    chance = random.Random(5)
    events = [
        envelope(f"lag-{n}", "pos.sale", ("pos", "erp", "wms")[n % 3], chance.uniform(-5, 900))
        for n in range(257)  # some occur "in the future": their lag counts as 0
    ]
    assert post(service, events).json()["accepted"] == 257
    shown = {
        s["system"]: s for s in service.client.get("/v1/systems", headers=service.as_role("viewer")).json()
    }
    with service.database.session() as session:
        rows = session.execute(
            select(StoredEvent.system, StoredEvent.occurred_at, StoredEvent.received_at)
        ).all()
    for system in ("pos", "erp", "wms"):
        lags = sorted(
            max(int((received - occurred).total_seconds() * 1000 // 1), 0)
            for name, occurred, received in rows
            if name == system
        )
        for percent in (50, 95):
            expected = lags[len(lags) * percent // 100]
            # within a millisecond: SQLite computes the lag from julianday() floats
            assert abs(shown[system][f"lag_p{percent}_ms"] - expected) <= 1, (system, percent)
        assert shown[system]["events"] == len(lags)


def _contract(service: Service, version: str) -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["event_id", "correlation_id", "occurred_at", "schema_version", "source", "reason"],
        "properties": {
            "event_id": {"type": "string", "maxLength": 128},
            "correlation_id": {"type": "string", "maxLength": 128},
            "occurred_at": {"type": "string", "format": "date-time"},
            "schema_version": {"type": "string"},
            "source": {"type": "object"},
            "reason": {"type": "string", "maxLength": 200},
        },
    }
    answer = service.client.post(
        "/v1/contracts/inventory.adjusted/versions",
        json={"content": orjson.dumps(schema).decode(), "version": version},
        headers=service.as_role("architect"),
    )
    assert answer.status_code == 201, answer.text


def test_events_are_checked_against_their_registered_contract_and_usage_is_recorded(service: Service) -> None:
    _contract(service, "1.0.0")
    good = sale("sale-contract", complete=False)
    good[1]["reason"] = "sold"
    bad = sale("sale-violation", complete=False)
    bad[1]["reason"] = 42
    unregistered = sale("sale-unregistered", complete=False)
    unregistered[1]["schema_version"] = "9.9.9"  # no such registered version: not checked
    answer = post(service, [*good, *bad, *unregistered]).json()
    assert answer["accepted"] == 6, answer["rejected"]  # a contract violation is kept, as an anomaly
    viewer = service.as_role("viewer")
    flagged = service.client.get(
        "/v1/transactions", params={"anomaly": "contract_violation"}, headers=viewer
    ).json()["items"]
    assert [t["correlation_id"] for t in flagged] == ["sale-violation"]
    details = service.client.get("/v1/transactions/sale-violation", headers=viewer).json()["details"]
    assert "/reason: 42 is not of type 'string'" in details[0]["message"]
    usage = {
        (u["system"], u["schema_version"]): u["events"]
        for u in service.client.get("/v1/contracts/inventory.adjusted/usage", headers=viewer).json()
    }
    assert usage == {("erp", "1.0.0"): 2, ("erp", "9.9.9"): 1}


def test_events_on_a_retired_contract_version_are_flagged(service: Service) -> None:
    _contract(service, "1.0.0")
    retired = service.client.post(
        "/v1/contracts/inventory.adjusted/versions/1.0.0/retire",
        params={"force": "true"},
        headers=service.as_role("admin"),
    )
    assert retired.json()["state"] == "retired"
    late = sale("sale-retired", complete=False)
    late[1]["reason"] = "sold"
    post(service, late)
    record = service.client.get("/v1/transactions/sale-retired", headers=service.as_role("viewer")).json()
    assert "retired_schema_version" in record["anomalies"]


def test_a_systems_own_status_word_is_mapped_and_an_unmapped_one_flagged(service: Service) -> None:
    mapped = envelope("c-st-1", "pos.sale", "pos", 0, inventory_status="on_hand")  # pos maps it
    unmapped = envelope("c-st-2", "pos.sale", "pos", 0, inventory_status="shrinkage")
    answer = post(service, [mapped, unmapped])
    assert answer.json()["accepted"] == 2
    first = service.client.get("/v1/transactions/c-st-1", headers=service.as_role("viewer")).json()
    second = service.client.get("/v1/transactions/c-st-2", headers=service.as_role("viewer")).json()
    assert "unknown_status" not in first["anomalies"]
    assert "unknown_status" in second["anomalies"]


def test_an_envelopes_traceparent_links_its_timeline_entry(service: Service) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    linked = envelope("c-tp-1", "pos.sale", "pos", 30, traceparent=traceparent)
    plain = envelope("c-tp-1", "inventory.adjusted", "erp", 10)
    assert post(service, [linked, plain]).json()["accepted"] == 2
    timeline = service.client.get("/v1/transactions/c-tp-1", headers=service.as_role("viewer")).json()
    assert [e["traceparent"] for e in timeline["events"]] == [traceparent, None]


def test_a_race_for_the_same_events_is_run_again_and_counted_once(service: Service, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another request stores the batch's events between the duplicate check and the
    insert: the unique key decides, the unit of work runs again and meets them as
    re-deliveries; the caller never sees the collision."""
    import tracing.ingest

    batch = sale("sale-race", complete=True)
    assert post(service, batch).status_code == 200
    real = tracing.ingest._existing
    looks = iter([{}])  # the first look comes too early, every later one sees the store
    monkeypatch.setattr(tracing.ingest, "_existing", lambda s, ids: next(looks, None) or real(s, ids))
    again = post(service, [*batch, *sale("sale-race-2", complete=True)])
    assert again.status_code == 200, again.text
    assert again.json()["duplicates"] == len(batch)
    assert again.json()["accepted"] == len(sale("sale-race-2", complete=True))
    viewer = service.as_role("viewer")
    first = service.client.get("/v1/transactions/sale-race", headers=viewer).json()
    assert first["event_count"] == len(batch)


def test_writers_that_keep_colliding_get_a_503_to_retry_and_nothing_is_stored(
    service: Service, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import tracing.ingest

    batch = sale("sale-race-3", complete=True)
    assert post(service, batch).status_code == 200
    from sqlalchemy.exc import IntegrityError

    def always_taken(*args: object) -> None:
        raise IntegrityError("INSERT", None, Exception("duplicate key"))

    monkeypatch.setattr(tracing.ingest, "insert_new_rows", always_taken)  # another writer, every time
    again = post(service, [*batch, *sale("sale-race-4", complete=True)])
    assert again.status_code == 503, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers["retry-after"] == "1"
    monkeypatch.undo()
    viewer = service.as_role("viewer")
    assert service.client.get("/v1/transactions/sale-race-4", headers=viewer).status_code == 404
    assert post(service, [*batch, *sale("sale-race-4", complete=True)]).json()["duplicates"] == len(batch)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-11-28T09:00:00", "yesterday"])
def test_transaction_times_must_be_rfc3339_with_an_offset(service: Service, value: str) -> None:
    for name in ("since", "until"):
        answer = service.client.get(f"/v1/transactions?{name}={value}", headers=service.as_role("viewer"))
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_resolution_note_with_nul_is_refused(service: Service) -> None:
    failed = [
        envelope("nul-note", "pos.sale", "pos", 60, status="error", error={"code": "X", "message": "y"})
    ]
    assert post(service, failed).status_code == 200
    answer = service.client.post(
        "/v1/transactions/nul-note/resolution",
        json={"action": "resolve", "note": "done\u0000"},
        headers=service.as_role("architect"),
    )
    assert answer.status_code == 422, answer.text
    timeline = service.client.get("/v1/transactions/nul-note", headers=service.as_role("viewer")).json()
    assert timeline["resolution"] is None
