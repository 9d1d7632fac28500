"""Hostile bodies at the ingestion doors: gzip bombs, oversized and chunked bodies, slow
uploads. Each is refused with a problem document, quickly and within bounded memory."""

from __future__ import annotations

import gzip
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn

from stockplane.bodies import BodyTooLarge, gunzip
from stockplane.errors import InputError
from tests.conftest import Service, _free_port, measured, uvicorn_in_thread
from tests.tracing.test_api import sale

MiB = 1024 * 1024


def _zeros_gzip(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros as gzip, compressed in steps (the test holds no 200 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


# --- gzip ---------------------------------------------------------------------------------


def test_gunzip_stops_at_the_limit_without_inflating_the_rest() -> None:
    bomb = _zeros_gzip(200)
    assert len(bomb) < 1 * MiB

    def inflate() -> None:
        with pytest.raises(BodyTooLarge, match="decompresses to more than the limit of 1,048,576"):
            gunzip(bomb, limit=MiB, what="export")

    assert measured(inflate).peak < 8 * MiB  # the limit and a copy of it, not 200 MiB


def test_gunzip_reads_several_members_and_refuses_broken_gzip() -> None:
    assert gunzip(gzip.compress(b"abc") + gzip.compress(b"def"), limit=10, what="x") == b"abcdef"
    assert gunzip(gzip.compress(b""), limit=0, what="x") == b""
    with pytest.raises(BodyTooLarge):
        gunzip(gzip.compress(b"abc") + gzip.compress(b"def"), limit=5, what="x")
    with pytest.raises(InputError, match="ends before the stream does"):
        gunzip(gzip.compress(b"abc" * 1000)[:-12], limit=10_000, what="x")
    with pytest.raises(InputError, match="not valid gzip"):
        gunzip(b"plain text", limit=10_000, what="x")


def test_a_gzip_bomb_on_traces_is_answered_413_quickly_with_bounded_memory(service: Service) -> None:
    bomb = _zeros_gzip(200)
    headers = {
        **service.as_role("ingest"),
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
    }
    run = measured(lambda: service.client.post("/v1/traces", content=bomb, headers=headers))
    answer, peak = run.value, run.peak
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/body-too-large")
    assert "decompresses to more than" in answer.json()["detail"]
    assert run.seconds < 10
    assert peak < 64 * MiB  # the 10 MiB limit with room to spare; the bomb expands to 200 MiB


def test_non_object_json_bodies_are_refused(service: Service) -> None:
    headers = {**service.as_role("ingest"), "Content-Type": "application/json"}
    assert service.client.post("/v1/traces", content=b'"AAA"', headers=headers).status_code == 400
    assert service.client.post("/v1/events", content=b"3", headers=headers).status_code == 400


# --- bodies over the limit, through the test client ---------------------------------------


def test_a_body_over_the_limit_is_refused_with_413(service: Service) -> None:
    service.settings.tracing.max_batch_bytes = 1000
    headers = {**service.as_role("ingest"), "Content-Type": "application/json"}
    answer = service.client.post("/v1/events", content=b" " * 1001, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["type"].endswith("/body-too-large")
    chunks = (b" " * 100 for _ in range(20))  # no Content-Length: counted while streamed
    assert service.client.post("/v1/events", content=chunks, headers=headers).status_code == 413
    assert service.client.post("/v1/events", content=b"[]" + b" " * 998, headers=headers).status_code == 200


# --- a real server: raw sockets can lie about lengths and send slowly ----------------------


@pytest.fixture
def live(service: Service) -> Iterator[tuple[Service, int]]:
    """The service's app (already started by its test client) behind a real uvicorn."""
    port = _free_port()
    with uvicorn_in_thread(service.client.app, port, lifespan="off", log_level="error"):
        yield service, port


def _open(port: int, service: Service, headers: str) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = service.keys["ingest"]
    connection.sendall(
        (
            f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\n{headers}\r\n"
        ).encode()
    )
    return connection


def _status(connection: socket.socket) -> int:
    answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1])


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    live: tuple[Service, int],
) -> None:
    service, port = live
    with _open(port, service, f"Content-Length: {10**9}\r\n") as connection:
        started = time.monotonic()
        assert _status(connection) == 413  # nothing sent: answered on the header alone
        assert time.monotonic() - started < 5


def test_a_chunked_body_is_stopped_at_the_limit(live: tuple[Service, int]) -> None:
    service, port = live
    service.settings.tracing.max_batch_bytes = 64 * 1024
    with _open(port, service, "Transfer-Encoding: chunked\r\n") as connection:
        chunk = b" " * 16 * 1024
        for _ in range(5):  # 80 KiB, and the body never ends
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert _status(connection) == 413


def test_slow_uploads_hold_no_ingestion_slot_and_time_out(live: tuple[Service, int]) -> None:
    service, port = live
    service.settings.tracing.max_concurrent_batches = 1
    service.settings.server.body_read_seconds = 2
    slow = [_open(port, service, "Content-Length: 100\r\n") for _ in range(3)]
    try:
        for connection in slow:
            connection.sendall(b"[")  # one byte of a hundred, then nothing
        time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/v1/events"
        answer = httpx2.post(url, json=sale("sale-fast", complete=False), headers=service.as_role("ingest"))
        assert answer.status_code == 200, answer.text  # the one slot was free
        started = time.monotonic()
        assert [_status(connection) for connection in slow] == [408, 408, 408]
        assert time.monotonic() - started < 5
    finally:
        for connection in slow:
            connection.close()


# --- the OpenAPI description ------------------------------------------------------------------


def test_openapi_declares_the_ingestion_bodies(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    events = paths["/v1/events"]["post"]["requestBody"]
    traces = paths["/v1/traces"]["post"]["requestBody"]
    assert events["required"] and traces["required"]
    assert set(events["content"]) == {"application/json", "application/x-ndjson"}
    assert set(traces["content"]) == {"application/x-protobuf", "application/json"}
    array = events["content"]["application/json"]["schema"]["anyOf"][0]
    assert array["type"] == "array"
    for operation in (paths["/v1/events"]["post"], paths["/v1/traces"]["post"]):
        assert {"408", "413", "429"} <= set(operation["responses"])


def test_serve_bounds_keep_alive_and_graceful_shutdown(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stalled upload cannot hold SIGTERM: uvicorn is told how long to wait for requests."""
    from stockplane.settings import get_settings

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **options: seen.update(options))
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    monkeypatch.setenv("STOCKPLANE_SERVER__GRACEFUL_SHUTDOWN_SECONDS", "7")
    get_settings.cache_clear()
    assert cli("db", "upgrade").code == 0
    assert cli("serve", "--port", "1").code == 0
    assert seen["timeout_graceful_shutdown"] == 7
    assert seen["timeout_keep_alive"] == 5
