"""The registry walkthrough of docs/registry.md, through the CLI and real HTTP (uvicorn)."""

from __future__ import annotations

import datetime as dt

import pytest

from stockplane.settings import get_settings
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "docs" / "examples" / "registry"
API = "inventory-availability-api"


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
