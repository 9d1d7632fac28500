"""NUL characters: PostgreSQL cannot store them in text, SQLite would. Refused the same way
on both databases, at every door that stores text, and nothing is stored."""

from __future__ import annotations

import pytest

from tests.conftest import Service
from tests.tracing.test_api import envelope, post

DOCUMENT = '{"type": "object", "properties": {"sku": {"type": "string"}}}'


@pytest.mark.parametrize(
    "field",
    ["event_id", "correlation_id", "type", "sku", "location_id", "channel", "status"],
)
def test_an_event_with_nul_is_rejected_alone(service: Service, field: str) -> None:
    bad = envelope("nul-tx", "pos.sale", "pos", 30, **{"sku": "A-1", "location_id": "S1", "channel": "web"})
    bad[field] = f"{bad[field]}\u0000x"
    good = envelope("nul-tx-2", "pos.sale", "pos", 30)
    answer = post(service, [good, bad])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert [rejection["index"] for rejection in answer.json()["rejected"]] == [1]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/contracts/a%00b/versions", {"content": DOCUMENT, "kind": "jsonschema"}),
        ("/v1/contracts/stock/versions", {"content": DOCUMENT, "kind": "jsonschema", "owner": "a\u0000b"}),
        (
            "/v1/contracts/stock/versions",
            {"content": DOCUMENT.replace("sku", "s\u0000ku"), "kind": "jsonschema"},
        ),
        ("/v1/contracts/stock/compatibility", {"content": DOCUMENT, "tags": ["x\u0000"]}),
    ],
    ids=["name", "owner", "document", "tag"],
)
def test_a_contract_request_with_nul_is_refused(service: Service, path: str, body: dict) -> None:
    answer = service.client.post(path, json=body, headers=service.as_role("architect"))
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "NUL" in answer.text
    listed = service.client.get("/v1/contracts", headers=service.as_role("viewer")).json()
    assert listed["items"] == []


def test_a_query_with_nul_is_refused(service: Service) -> None:
    answer = service.client.get("/v1/transactions?sku=a%00b", headers=service.as_role("viewer"))
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/invalid-input")
