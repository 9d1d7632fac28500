"""A stalled upload cannot hold the server's shutdown for as long as its client likes."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from .processes import prepare, start_server

pytestmark = pytest.mark.slow


def test_sigterm_ends_the_server_despite_a_stalled_upload(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/stockplane.db"
    key = prepare(url)
    server = start_server(
        url,
        tmp_path / "server.log",
        STOCKPLANE_SERVER__GRACEFUL_SHUTDOWN_SECONDS="2",
        STOCKPLANE_SERVER__BODY_READ_SECONDS="600",  # only the shutdown timeout may end it
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as upload:
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["
        )
        upload.sendall(head.encode())  # ...and then nothing more
        time.sleep(1)  # the request is in the handler, waiting for its body
        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except Exception:
            server.kill()
            raise
        took = time.monotonic() - began
    assert took < 15, f"shutdown waited {took:.1f} s for a client that sends nothing"
    assert "Traceback" not in server.log_text()
