"""HTTP conformance of the kernel: time parameters, cursors, 401 challenges, OpenAPI
security, 405 ``Allow``, HEAD, and a client hanging up mid-upload."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from stockplane.api import parse_rfc3339
from stockplane.errors import InputError
from tests.conftest import Service

# --- time parameters --------------------------------------------------------------------

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T09:00:00Z", dt.datetime(2026, 11, 28, 9, tzinfo=UTC)),
        ("2026-11-28t09:00:00z", dt.datetime(2026, 11, 28, 9, tzinfo=UTC)),
        ("2026-11-28 10:00:00.250+01:00", dt.datetime(2026, 11, 28, 9, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_are_read(text: str, expected: dt.datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-28T09:00:00", "needs a UTC offset"),
        (dt.datetime(2026, 11, 28, 9), "needs a UTC offset"),
        ("0.5", "not an RFC 3339"),
        ("1732784401", "not an RFC 3339"),
        ("2026-11-28", "not an RFC 3339"),
        ("yesterday", "not an RFC 3339"),
        (0.5, "not an RFC 3339"),
        ("2026-13-28T09:00:00Z", "not a valid date-time"),
    ],
)
def test_other_times_are_refused(value: object, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_rfc3339(value)


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["2026-11-28T09:00:00", "0.5", "12", "2026-11-28", "tomorrow"])
def test_audit_refuses_a_time_that_is_not_rfc3339(service: Service, name: str, value: str) -> None:
    response = service.client.get("/v1/audit", params={name: value}, headers=service.as_role("viewer"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert value in response.json()["detail"]


def test_audit_reads_rfc3339_times(service: Service) -> None:
    viewer = service.as_role("viewer")
    service.client.post("/v1/contracts/x/versions", json={"content": "{"}, headers=viewer)
    found = service.client.get(
        "/v1/audit",
        params={"since": "2000-01-01T00:00:00+01:00", "until": "2999-01-01T00:00:00Z"},
        headers=viewer,
    )
    assert found.status_code == 200, found.text
    none = service.client.get("/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=viewer)
    assert none.status_code == 200 and none.json()["items"] == []


def test_an_empty_cursor_is_the_first_page(service: Service) -> None:
    viewer = service.as_role("viewer")
    first = service.client.get("/v1/audit", headers=viewer)
    empty = service.client.get("/v1/audit?cursor=", headers=viewer)
    assert empty.status_code == 200, empty.text
    assert empty.json() == first.json()
    assert service.client.get("/v1/audit?cursor=x", headers=viewer).status_code == 400


# --- 401 and the OpenAPI security scheme --------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="stockplane"'),
        ("Bearer sp_bad_bad", 'Bearer realm="stockplane", error="invalid_token"'),
        ("Bearer garbage", 'Bearer realm="stockplane", error="invalid_token"'),
        ("Basic dXNlcjpwYXNz", 'Bearer realm="stockplane", error="invalid_token"'),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/audit"), ("GET", "/v1/contracts"), ("POST", "/v1/events"), ("HEAD", "/v1/audit")],
)
def test_every_401_names_the_bearer_scheme(
    service: Service, authorization: str | None, challenge: str, method: str, path: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = service.client.request(method, path, headers=headers, content=b"[]")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge


def test_openapi_declares_bearer_keys(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "sp_<prefix>_<secret>"
    paths = schema["paths"]
    assert "security" not in paths["/healthz"]["get"]
    for path, method in [("/v1/audit", "get"), ("/v1/events", "post"), ("/v1/contracts", "get")]:
        assert paths[path][method]["security"] == [{"ApiKey": []}]
    assert "WWW-Authenticate" in paths["/v1/audit"]["get"]["responses"]["401"]["headers"]


def test_anonymous_reads_make_the_key_optional_on_get(database_url: str) -> None:
    from fastapi.testclient import TestClient

    from stockplane.app import create_app
    from stockplane.settings import Settings

    settings = Settings(database_url=database_url, anonymous_read=True, auto_migrate=True)
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert paths["/v1/audit"]["get"]["security"] == [{"ApiKey": []}, {}]
        assert paths["/v1/events"]["post"]["security"] == [{"ApiKey": []}]
        assert client.get("/v1/audit").status_code == 200
        assert client.head("/v1/audit").status_code == 200
        refused = client.post("/v1/events", content=b"[]")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        garbage = client.get("/v1/audit", headers={"Authorization": "Basic x"})
        assert garbage.status_code == 401  # a key that was sent is checked, even for reads


# --- 405 and HEAD ---------------------------------------------------------------------------


def _allow(response: Any) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/contracts/x", {"GET", "HEAD", "PATCH"}),
        ("DELETE", "/v1/contracts/x/versions", {"GET", "HEAD", "POST"}),
        ("DELETE", "/v1/contracts/x/consumers", {"GET", "HEAD", "POST"}),
        ("GET", "/v1/events", {"POST"}),
        ("HEAD", "/v1/events", {"POST"}),
        ("DELETE", "/healthz", {"GET", "HEAD"}),
        ("POST", "/openapi.json", {"GET", "HEAD"}),
    ],
)
def test_405_allows_every_method_of_the_path(
    service: Service, method: str, path: str, allowed: set[str]
) -> None:
    response = service.client.request(method, path, headers=service.as_role("admin"))
    assert response.status_code == 405
    assert _allow(response) == allowed


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/audit", "/v1/contracts", "/openapi.json"])
def test_head_answers_like_get_without_a_body(service: Service, path: str) -> None:
    admin = service.as_role("admin")
    get = service.client.get(path, headers=admin)
    head = service.client.head(path, headers=admin)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]


def test_head_through_a_real_server(server: dict[str, str]) -> None:
    import httpx2

    from stockplane.settings import get_settings

    url = get_settings().url
    headers = {"Authorization": f"Bearer {server['admin']}"}
    head = httpx2.head(f"{url}/v1/audit", headers=headers)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(httpx2.get(f"{url}/v1/audit", headers=headers).content)
    missing = httpx2.head(f"{url}/v1/nowhere")
    assert missing.status_code == 404 and missing.content == b""
    unauthorised = httpx2.head(f"{url}/v1/audit")
    assert unauthorised.status_code == 401 and unauthorised.headers["www-authenticate"]


# --- a client that hangs up -------------------------------------------------------------------


def _scope(path: str, key: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


@pytest.fixture
def hang_up() -> Iterator[list[dict[str, Any]]]:
    """The messages the app receives: a first chunk, then the client is gone."""
    yield [
        {"type": "http.request", "body": b'[{"event_id": "e1", ', "more_body": True},
        {"type": "http.disconnect"},
    ]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/traces"])
def test_a_client_hanging_up_mid_upload_is_one_info_line(
    service: Service, caplog: pytest.LogCaptureFixture, hang_up: list[dict[str, Any]], path: str
) -> None:
    app = service.client.app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return hang_up.pop(0) if hang_up else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.DEBUG):
        asyncio.run(app(_scope(path, service.keys["ingest"]), receive, send))  # raises if unhandled
    records = [r for r in caplog.records if r.name.startswith(("stockplane", "uvicorn", "fastapi"))]
    assert [r.levelno for r in records] == [logging.INFO], [r.getMessage() for r in records]
    assert records[0].exc_info is None and "disconnected" in records[0].getMessage()
    assert all(r.levelno < logging.WARNING for r in caplog.records)
    assert sent[0]["status"] != 500


@pytest.mark.parametrize("cursor", ["4528833259200196223434752", str(2**31), "%C2%B2", "-1", "1.5"])
def test_an_audit_cursor_that_no_page_gave_is_a_400(service: Service, cursor: str) -> None:
    answer = service.client.get(f"/v1/audit?cursor={cursor}", headers=service.as_role("viewer"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"].endswith("/invalid-cursor")


def test_optional_query_parameters_are_never_declared_nullable(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    nullable = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if {"type": "null"} in parameter["schema"].get("anyOf", [])
    ]
    assert nullable == []
