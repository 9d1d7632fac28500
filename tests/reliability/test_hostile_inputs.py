"""Hostile input at every door of a real server process: each answered with a clear 4xx
problem document, the server still up, nothing already stored changed, its peak memory
bounded. The CLI's file doors answer with one line on stderr and exit 2.

Each row is what an attacker or an unlucky operator sends; the table is the contract.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from stockplane.database import Database
from tracing.models import SchemaUsage, StoredEvent, TransactionRecord

from .processes import Server, prepare, running_server

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
LIMIT = 2 * MIB  # the server's batch and document limits in this test


def _event(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "correlation_id": "hostile-tx",
        "type": "pos.sale",
        "schema_version": "1.0.0",
        "source": {"system": "pos", "instance": "pos-1"},
        "occurred_at": "2026-12-01T09:00:00Z",
        "status": "ok",
        **extra,
    }


def _openapi(paths: int = 1) -> str:
    """A small OpenAPI document that passes the default pack's lint rules."""
    operation = {
        "summary": "Stock of a SKU",
        "tags": ["stock"],
        "security": [{"key": []}],
        "responses": {"200": {"description": "ok"}},
    }
    return json.dumps(
        {
            "openapi": "3.0.3",
            "info": {"title": "stock", "version": "1.0.0"},
            "components": {"securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}},
            "paths": {
                f"/v1/stock/{n}": {"get": {**operation, "operationId": f"getStock{n}"}} for n in range(paths)
            },
        }
    )


@dataclass
class Row:
    """One hostile request and the answer it must get."""

    name: str
    method: str
    path: str
    status: int | tuple[int, ...]
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    rejected_index: int | None = None  # a 200 whose one bad event is rejected alone
    raw: bool = False  # sent over a plain socket: what no well-behaved client library sends


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _with_payload(event: dict[str, Any], payload: str) -> bytes:
    """A batch of one event whose payload is the given JSON text (too deep for json.dumps)."""
    return b"[" + _json(event)[:-1] + b', "payload": ' + payload.encode() + b"}]"


def _registration(content: str, **extra: Any) -> bytes:
    return _json({"content": content, "version": "2.0.0", **extra})


BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [
        f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)}]"
        for n in range(8)
    ]
)

EVENTS = "/v1/events"
TRACES = "/v1/traces"
CONTRACT = "/v1/contracts/stock-api"
JSON = {"Content-Type": "application/json"}

ROWS = [
    # --- events ---------------------------------------------------------------------------
    Row("events: not JSON", "POST", EVENTS, 400, b"{not json", JSON),
    Row("events: binary", "POST", EVENTS, 400, os.urandom(4096), JSON),
    Row("events: a JSON string", "POST", EVENTS, 400, b'"hello"', JSON),
    Row(
        "events: NDJSON with a broken line",
        "POST",
        EVENTS,
        400,
        b'{"a":1}\n{oops\n',
        {"Content-Type": "application/x-ndjson"},
    ),
    Row(
        "events: NUL in event_id", "POST", EVENTS, 200, _json([_event("nul\u0000id")]), JSON, rejected_index=0
    ),
    Row(
        "events: NUL in correlation_id",
        "POST",
        EVENTS,
        200,
        _json([_event("x", correlation_id="a\u0000b")]),
        JSON,
        rejected_index=0,
    ),
    Row(
        "events: payload 254 objects deep",
        "POST",
        EVENTS,
        200,
        _with_payload(_event("deep-1"), '{"a": ' * 254 + "{}" + "}" * 254),
        JSON,
        rejected_index=0,
    ),
    Row(
        "events: payload a list 1,000 deep",
        "POST",
        EVENTS,
        200,
        _with_payload(_event("deep-2"), '{"x": ' + "[" * 1000 + "1" + "]" * 1000 + "}"),
        JSON,
        rejected_index=0,
    ),
    Row("events: nesting past the JSON parser's limit", "POST", EVENTS, 400, b"[" * 5000 + b"]" * 5000, JSON),
    Row("events: body over the limit", "POST", EVENTS, 413, b"[" + b" " * (LIMIT + 10) + b"]", JSON),
    Row(
        "events: Content-Length declares too much",
        "POST",
        EVENTS,
        413,
        b"[]",
        {**JSON, "Content-Length": str(50 * LIMIT)},
        raw=True,
    ),
    Row("events: 10,001 events", "POST", EVENTS, 413, _json([{}] * 10_001), JSON),
    Row(
        "events: event_id 10,000 characters",
        "POST",
        EVENTS,
        200,
        _json([_event("x" * 10_000)]),
        JSON,
        rejected_index=0,
    ),
    # --- OTLP -----------------------------------------------------------------------------
    Row(
        "traces: gzip bomb",
        "POST",
        TRACES,
        413,
        gzip.compress(b"\0" * (64 * MIB)),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    ),
    Row(
        "traces: not gzip",
        "POST",
        TRACES,
        400,
        b"not gzip at all",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    ),
    Row(
        "traces: not protobuf",
        "POST",
        TRACES,
        400,
        os.urandom(2048),
        {"Content-Type": "application/x-protobuf"},
    ),
    Row("traces: not OTLP JSON", "POST", TRACES, 400, b'{"resourceSpans": 7}', JSON),
    Row(
        "traces: unknown encoding",
        "POST",
        TRACES,
        (400, 415),
        b"x",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "br"},
    ),
    # --- contracts ------------------------------------------------------------------------
    Row("contracts: not JSON", "POST", f"{CONTRACT}/versions", 422, b"{", JSON),
    Row(
        "contracts: document not YAML or JSON",
        "POST",
        f"{CONTRACT}/versions",
        422,
        _registration("::: [unclosed"),
        JSON,
    ),
    Row(
        "contracts: YAML alias bomb",
        "POST",
        f"{CONTRACT}/versions",
        (413, 422),
        _registration(BILLION_LAUGHS),
        JSON,
    ),
    Row(
        "contracts: document nested 10,000 deep",
        "POST",
        f"{CONTRACT}/versions",
        422,
        _registration("[" * 10_000 + "]" * 10_000),
        JSON,
    ),
    Row(
        "contracts: NUL in the document",
        "POST",
        f"{CONTRACT}/versions",
        422,
        _registration(_openapi().replace("stock", "st\u0000ock")),
        JSON,
    ),
    Row(
        "contracts: NUL in the owner",
        "POST",
        "/v1/contracts/new-api/versions",
        (400, 422),
        _registration(_openapi(), owner="a\u0000b"),
        JSON,
    ),
    Row(
        "contracts: NUL in the name",
        "POST",
        "/v1/contracts/a%00b/versions",
        (400, 404, 422),
        _registration(_openapi()),
        JSON,
    ),
    Row(
        "contracts: NUL in a compatibility check",
        "POST",
        "/v1/contracts/a%00b/compatibility",
        (400, 404, 422),
        _registration(_openapi()),
        JSON,
    ),
    Row(
        "contracts: document over the limit",
        "POST",
        f"{CONTRACT}/versions",
        413,
        _registration(" " * (LIMIT + 10)),
        JSON,
    ),
    Row(
        "contracts: external $ref (never fetched)",
        "POST",
        f"{CONTRACT}/versions",
        422,
        _registration(
            _openapi().replace('"description": "ok"', '"$ref": "http://169.254.169.254/latest/meta-data"')
        ),
        JSON,
    ),
    Row("contracts: NUL in a query", "GET", "/v1/transactions?state=a%00b", (200, 400)),
    Row("audit: naive time", "GET", "/v1/audit?since=2026-11-28T09:00:00", 400),
]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    """SQLite: the doors and their limits are the same on both databases, and the NUL
    rows (PostgreSQL's weak spot) are covered on PostgreSQL by the ingestion tests."""
    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp}/stockplane.db"
    key = prepare(url)
    from stockplane.auth import Role, create_key

    with Database(url) as database, database.session() as session:
        admin = create_key(session, name="hostile-admin", role=Role.ADMIN)[1]
    env = {
        "STOCKPLANE_TRACING__MAX_BATCH_BYTES": str(LIMIT),
        "STOCKPLANE_REGISTRY__MAX_API_DOCUMENT_BYTES": str(LIMIT),
    }
    with running_server(url, tmp / "server.log", **env) as server:
        headers = {"Authorization": f"Bearer {admin}"}
        first = httpx2.post(
            f"{server.url}{CONTRACT}/versions",
            json={"content": _openapi(), "version": "1.0.0", "kind": "openapi", "owner": "stock-team"},
            headers=headers,
        )
        assert first.status_code == 201, first.text
        stored = httpx2.post(
            f"{server.url}{EVENTS}",
            json=[_event("good-1"), _event("good-2")],
            headers={"Authorization": f"Bearer {key}"},
        )
        assert stored.status_code == 200 and stored.json()["accepted"] == 2, stored.text
        yield server, admin, url


def _fingerprint(url: str) -> tuple[Any, ...]:
    """Everything a hostile request could have changed."""
    from registry.models import ContractVersion
    from stockplane.audit import AuditEntry

    with Database(url) as database, database.session() as session:
        return (
            session.execute(
                select(StoredEvent.event_id, StoredEvent.deliveries).order_by(StoredEvent.event_id)
            ).all(),
            session.execute(select(TransactionRecord.correlation_id, TransactionRecord.event_count)).all(),
            session.scalar(select(func.sum(SchemaUsage.events))),
            session.scalar(select(func.count()).select_from(ContractVersion)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
        )


def _raw_request(url: str, method: str, path: str, headers: dict[str, str], body: bytes) -> httpx2.Response:
    """One HTTP/1.1 request written by hand (a Content-Length that lies), its answer parsed."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        request = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{head}\r\n"
        connection.sendall(request.encode() + body)  # then wait: the server answers and closes
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    header_block, _, content = rest.partition(b"\r\n\r\n")
    parsed = dict(line.decode().split(": ", 1) for line in header_block.split(b"\r\n") if b": " in line)
    parsed.pop("transfer-encoding", None)
    return httpx2.Response(int(status_line.split()[1]), headers=parsed, content=content)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_hostile_input_is_refused_clearly_and_changes_nothing(
    hostile_server: tuple[Server, str, str], row: Row
) -> None:
    server, admin, url = hostile_server
    before = _fingerprint(url)
    logged = len(server.log_text())
    headers = {"Authorization": f"Bearer {admin}", **row.headers}
    if row.raw:
        response = _raw_request(server.url, row.method, row.path, headers, row.body)
    else:
        response = httpx2.request(
            row.method, f"{server.url}{row.path}", content=row.body or None, headers=headers, timeout=60
        )
    expected = row.status if isinstance(row.status, tuple) else (row.status,)
    assert response.status_code in expected, response.text[:500]
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code and problem["detail"]
        assert "Traceback" not in response.text
    if row.rejected_index is not None:
        answer = response.json()
        assert answer["accepted"] == 0
        assert [rejection["index"] for rejection in answer["rejected"]] == [row.rejected_index]
    assert httpx2.get(f"{server.url}/healthz", timeout=10).status_code == 200
    assert _fingerprint(url) == before
    assert _peak_rss_mib(server.process.pid) < 600, "the server's peak memory grew past 600 MiB"
    assert "Traceback" not in server.log_text()[logged:]


# --- the CLI's file doors ------------------------------------------------------------------

HOSTILE_FILES = {
    "binary": os.urandom(5000),
    "alias-bomb.yaml": BILLION_LAUGHS.encode(),
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "nul.json": b'{"openapi": "3.0.3", "info": {"title": "a\x00b", "version": "1"}, "paths": {}}',
    "not-utf8.yaml": b"openapi: 3.0.3\ninfo: {title: \xff\xfe, version: '1'}\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_file_makes_diff_exit_2_with_one_line(cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(HOSTILE_FILES[name])
    result = cli("contracts", "diff", str(path), str(path))
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_file_imports_nothing_and_says_why(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from stockplane.settings import get_settings

    url = f"sqlite:///{tmp_path}/stockplane.db"
    prepare(url)
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", url)
    get_settings.cache_clear()
    path = tmp_path / name
    path.write_bytes(HOSTILE_FILES[name])
    result = cli("ingest", str(path))
    assert result.code in (1, 2), result.stderr  # 1: lines rejected, each listed; 2: unreadable
    assert "Traceback" not in result.stderr + result.stdout
    with Database(url) as database, database.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEvent)) == 0


def test_a_hostile_policy_pack_is_a_finding_and_keeps_the_server_from_starting(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stockplane.settings import get_settings

    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(BILLION_LAUGHS)
    checked = cli("policy", "validate", str(pack))
    assert checked.code == 1 and "YAML aliases" in checked.stdout + checked.stderr
    url = f"sqlite:///{tmp_path}/stockplane.db"
    prepare(url)
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", url)
    monkeypatch.setenv("STOCKPLANE_POLICY_PACK", str(pack))
    get_settings.cache_clear()
    refused = cli("serve", "--port", "1")
    assert refused.code == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "policy pack" in refused.stderr
