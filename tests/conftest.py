"""Shared fixtures: the CLI runner, shared test data, and a git repository factory."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from stockplane.cli import main
from stockplane.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = REPO_ROOT.parent / "shared" / "testdata"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
T = TypeVar("T")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``stockplane ARGS`` in-process and capture its exit code and output."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test reads settings anew, so monkeypatched STOCKPLANE_* variables apply."""
    for name in list(os.environ):
        if name.startswith("STOCKPLANE_REGISTRY__"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[..., Path]:
    """A throw-away git repository; returns a function that commits files into it."""
    root = tmp_path / "repo"
    root.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)

    def commit(files: dict[str, str], message: str = "change") -> Path:
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", message], check=True, env=env)
        return root

    return commit


# --- databases -------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("STOCKPLANE_TEST_DATABASE_URL")
_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="STOCKPLANE_TEST_DATABASE_URL is not set (no PostgreSQL here)"
        ),
    ),
]


@pytest.fixture(params=_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/stockplane.db"
        return
    import uuid

    import psycopg

    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Service:
    """A migrated database, an app on it, and a key for every role."""

    client: Any
    database: Any
    settings: Any
    keys: dict[str, str]

    def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    from fastapi.testclient import TestClient

    from stockplane.app import create_app
    from stockplane.auth import Role, create_key
    from stockplane.database import Database
    from stockplane.migrate import upgrade
    from stockplane.settings import Settings

    settings = Settings(database_url=database_url)
    database = Database(database_url)
    upgrade(database)
    keys = {}
    with database.session() as session:
        for role in Role:
            keys[role.value] = create_key(session, name=f"{role.value}-key", role=role)[1]
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        yield Service(client, database, settings, keys)
    database.dispose()


# --- a running server -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def uvicorn_in_thread(app: Any, port: int, **config: Any) -> Iterator[None]:
    """Serve ``app`` with a real uvicorn on a loopback ``port`` in a thread, until the block ends."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Measured(Generic[T]):
    value: T
    peak: int  # bytes Python allocated at most while it ran, above what was there before
    seconds: float


def measured(call: Callable[[], T]) -> Measured[T]:
    """Run ``call`` under tracemalloc: its result, its peak allocation and its duration."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        value = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Measured(value, peak, time.monotonic() - started)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """`stockplane db upgrade`, two keys, and `stockplane serve` on a free loopback port."""
    port = _free_port()
    monkeypatch.setenv("STOCKPLANE_DATABASE_URL", f"sqlite:///{tmp_path}/stockplane.db")
    monkeypatch.setenv("STOCKPLANE_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    refused = cli("serve", "--port", str(port))
    assert refused.code == 2 and "stockplane db upgrade" in refused.stderr
    assert cli("db", "upgrade").code == 0
    architect = cli("keys", "create", "--role", "architect", "--name", "alice").stdout.strip()
    admin = cli("keys", "create", "--role", "admin", "--name", "root").stdout.strip()
    monkeypatch.setenv("STOCKPLANE_API_KEY", architect)
    get_settings.cache_clear()
    from stockplane.app import create_app

    with uvicorn_in_thread(create_app(), port, log_level="warning"):
        yield {"architect": architect, "admin": admin}
