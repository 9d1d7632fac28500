"""Real processes for the reliability tests: a `stockplane serve` subprocess on a database
of the test's own, and client processes that send batches to it.

Everything here is importable by a spawned process (no fixtures, no closures).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(database_url: str) -> str:
    """Migrate the database and return a fresh ingest key for it."""
    from stockplane.auth import Role, create_key
    from stockplane.database import Database
    from stockplane.migrate import upgrade

    with Database(database_url) as database:
        upgrade(database)
        with database.session() as session:
            return create_key(session, name=f"ingest-{time.monotonic_ns()}", role=Role.INGEST)[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, whatever was in flight is cut off."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(database_url: str, log: Path, *, workers: int = 1, **env: str) -> Server:
    """`python -m stockplane serve` on a free loopback port; returns once /healthz answers."""
    port = free_port()
    environment = {
        **os.environ,
        "STOCKPLANE_DATABASE_URL": database_url,
        "STOCKPLANE_TRACING__SWEEP_SECONDS": "0",
        **env,
    }
    command = [sys.executable, "-m", "stockplane", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not answer within 60 s:\n{log.read_text()}")


@contextmanager
def running_server(database_url: str, log: Path, **options: Any) -> Iterator[Server]:
    server = start_server(database_url, log, **options)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def send_batches(url: str, key: str, batches: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Post each batch once, in order; returns every answer's status and body.

    Run in a client process of its own. A 429 (all slots taken) is waited out and sent
    again, as a producer would; any other answer is kept as it is for the test to judge.
    """
    answers: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=120) as client:
        for batch in batches:
            while True:
                response = client.post("/v1/events", json=list(batch))
                if response.status_code != 429:
                    break
                time.sleep(float(response.headers.get("retry-after", "1")))
            answers.append({"status": response.status_code, "body": response.json()})
    return answers
