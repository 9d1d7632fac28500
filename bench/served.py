"""A real ``stockplane serve`` for the HTTP benchmarks: migrated, with an ingest key.

Imported by ``bench/http_ingest_bench.py`` and ``bench/load_bench.py`` (the bench folder is
on ``sys.path`` when they run), so both measure the same server set up the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    key: str  # a key of the role asked for (ingest by default)
    pid: int  # the server process (with one worker, the process that serves requests)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(database_url: str, *, workers: int = 1, role: str = "ingest", **settings: str) -> Iterator[Served]:
    """Migrate ``database_url``, create a key of ``role``, run ``stockplane serve`` on a free
    loopback port until it answers ``/healthz``; stop it afterwards. ``settings`` are extra
    ``STOCKPLANE_*`` variables for the server."""
    env = {**os.environ, "STOCKPLANE_DATABASE_URL": database_url, **settings}
    cli = [sys.executable, "-m", "stockplane"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [*cli, "keys", "create", "--role", role, "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stockplane serve did not start (exit code {server.poll()})")
            time.sleep(0.2)
        yield Served(base, key, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
