"""The registry walkthrough of docs/registry.md, through the CLI and real HTTP (uvicorn)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from stockplane.settings import get_settings
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "docs" / "examples" / "registry"
API = "inventory-availability-api"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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

    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uvicorn_server.started, "the server did not start"
    yield {"architect": architect, "admin": admin}
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


def test_walkthrough(cli, server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first = cli(
        "contracts",
        "register",
        EXAMPLES / "availability-api-1.0.0.yaml",
        "--name",
        API,
        "--owner",
        "inventory-team",
    )
    assert first.code == 0, first.stderr
    assert "registered (first version" in first.stdout
    assert (
        cli(
            "contracts",
            "register",
            EXAMPLES / "inventory-adjusted-1.0.0.json",
            "--name",
            "inventory.adjusted",
        ).code
        == 0
    )
    assert (
        cli(
            "contracts",
            "register",
            EXAMPLES / "availability-api-1.1.0.yaml",
            "--name",
            API,
            "--version",
            "1.1.0",
        ).code
        == 0
    )

    breaking = cli("contracts", "register", EXAMPLES / "availability-api-2.0.0.yaml", "--name", API)
    assert breaking.code == 1
    assert "request-parameter-became-required" in breaking.stderr
    assert "proposed version: 2.0.0" in breaking.stderr
    gate = cli(
        "contracts", "check", EXAMPLES / "availability-api-2.0.0.yaml", "--name", API, "--format", "json"
    )
    assert gate.code == 1
    assert '"policy_pack": "retail-omnichannel@1.0.0"' in gate.stdout
    assert (
        cli(
            "contracts",
            "register",
            EXAMPLES / "availability-api-2.0.0.yaml",
            "--name",
            API,
            "--version",
            "2.0.0",
        ).code
        == 0
    )

    sunset = (dt.date.today() + dt.timedelta(days=120)).isoformat()
    assert cli("contracts", "deprecate", API, "1.1.0", "--sunset", sunset, "--replacement", "2.0.0").code == 0
    assert (
        cli("contracts", "consumers", "add", API, "--system", "ecommerce", "--versions", ">=1.0,<2").code == 0
    )
    assert "ecommerce" in cli("contracts", "consumers", "list", API).stdout
    assert "ecommerce" in cli("contracts", "impact", API, "1.1.0").stdout
    blocked = cli("contracts", "retire", API, "1.1.0")
    assert blocked.code == 1
    assert "cannot be retired" in blocked.stderr

    assert cli("contracts", "diff", API, "--from", "1.1.0", "--to", "2.0.0").code == 1
    versions = cli("contracts", "versions", API).stdout
    assert "deprecated" in versions and "2.0.0" in versions
    assert "inventory.adjusted" in cli("contracts", "list").stdout
    assert '"title": "Inventory availability"' in cli("contracts", "show", API, "--version", "2.0.0").stdout
    trail = cli("audit", "--target", API).stdout
    assert "contract.version.deprecated" in trail and "alice" in trail

    monkeypatch.setenv("STOCKPLANE_API_KEY", server["admin"])
    get_settings.cache_clear()
    assert cli("contracts", "retire", API, "1.1.0", "--force").code == 0
    assert '"forced": true' in cli("audit", "--action", "contract.version.retired", "--json").stdout


def test_keys_and_errors(cli, server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    listing = cli("keys", "list").stdout
    assert "alice" in listing and "architect" in listing and server["architect"] not in listing
    assert cli("keys", "revoke", "alice").code == 0
    revoked = cli("contracts", "list")
    assert revoked.code == 2
    assert "revoked" in revoked.stderr
    assert cli("keys", "create", "--role", "viewer", "--name", "root").code == 2  # the name is taken
    monkeypatch.setenv("STOCKPLANE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    unreachable = cli("contracts", "list")
    assert unreachable.code == 2
    assert "cannot reach stockplane" in unreachable.stderr
    assert "code needs" in cli("db", "current").stdout
