"""Every command, when the world around it fails: one line on stderr, exit 2, no traceback.

The failures: a database that is not migrated or cannot be reached, a server that cannot
be reached or refuses the key, an input file that is missing, a folder or not text.
Exit 1 stays reserved for "the check found problems".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from stockplane.cli import explain
from stockplane.settings import get_settings
from tests.conftest import REPO_ROOT, CliResult

EXAMPLE = REPO_ROOT / "docs" / "examples" / "registry" / "availability-api-1.0.0.yaml"
EVENT = '{"event_id": "e1", "type": "pos.sale", "system": "pos", "occurred_at": "2026-11-28T09:00:00Z"}\n'

Cli = Callable[..., CliResult]


def assert_one_line(result: CliResult, *expected: str) -> None:
    lines = result.stderr.splitlines()
    assert result.code == 2, (result.code, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("stockplane: error: ")
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of inputs: an event file, an empty truth file, a folder and a binary file."""
    (tmp_path / "events.jsonl").write_text(EVENT)
    (tmp_path / "truth.jsonl").write_text("")
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01 not text")
    return tmp_path


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database the file tests share: they fail before writing to it."""
    from stockplane.database import Database
    from stockplane.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('db')}/stockplane.db"
    with Database(url) as database:
        upgrade(database)
    return url


def _setenv(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


# --- the database -------------------------------------------------------------------------

DATABASE_COMMANDS = [
    pytest.param(["keys", "list"], id="keys-list"),
    pytest.param(["keys", "create", "--role", "admin", "--name", "a"], id="keys-create"),
    pytest.param(["keys", "revoke", "a"], id="keys-revoke"),
    pytest.param(["trace", "sweep"], id="trace-sweep"),
    pytest.param(["ingest", "{dir}/events.jsonl"], id="ingest-local"),
    pytest.param(["simulate", "score", "--truth", "{dir}/truth.jsonl"], id="simulate-score"),
    pytest.param(["serve", "--port", "9"], id="serve"),
]


@pytest.mark.parametrize("args", DATABASE_COMMANDS)
def test_an_unmigrated_database(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, inputs: Path, args: list[str]
) -> None:
    _setenv(monkeypatch, STOCKPLANE_DATABASE_URL=f"sqlite:///{inputs}/empty/empty.db")
    result = cli(*(arg.format(dir=inputs) for arg in args))
    assert_one_line(result, "stockplane db upgrade")


@pytest.mark.parametrize(
    "args",
    [
        *DATABASE_COMMANDS,
        pytest.param(["db", "upgrade"], id="db-upgrade"),
        pytest.param(["db", "current"], id="db-current"),
    ],
)
def test_an_unreachable_database(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, inputs: Path, args: list[str]
) -> None:
    _setenv(monkeypatch, STOCKPLANE_DATABASE_URL="postgresql://u:secret@127.0.0.1:9/nowhere")
    result = cli(*(arg.format(dir=inputs) for arg in args))
    assert_one_line(result, "cannot use the database postgresql://u:***@127.0.0.1:9/nowhere")
    assert "secret" not in result.stderr


def test_db_current_on_an_empty_database_says_so(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _setenv(monkeypatch, STOCKPLANE_DATABASE_URL=f"sqlite:///{tmp_path}/empty.db")
    result = cli("db", "current")
    assert result.code == 0 and result.stdout.startswith("database: empty")


# --- the server -----------------------------------------------------------------------------

REMOTE_COMMANDS = [
    ["audit"],
    ["trace", "list"],
    ["trace", "show", "c-1"],
    ["contracts", "register", str(EXAMPLE), "--name", "api"],
    ["contracts", "list"],
    ["contracts", "show", "api"],
    ["contracts", "versions", "api"],
    ["contracts", "diff", "api", "--from", "1.0.0", "--to", "1.1.0"],
    ["contracts", "deprecate", "api", "1.0.0", "--sunset", "2099-01-01"],
    ["contracts", "retire", "api", "1.0.0"],
    ["contracts", "impact", "api", "1.0.0"],
    ["contracts", "consumers", "add", "api", "--system", "s", "--versions", "==1.*"],
    ["contracts", "consumers", "list", "api"],
    ["contracts", "check", str(EXAMPLE), "--name", "api"],
    ["ingest", "{dir}/events.jsonl", "--url", "{url}"],
    ["simulate", "--to", "{url}", "--hours", "0.05", "--stores", "1"],
]


@pytest.mark.parametrize("args", REMOTE_COMMANDS, ids=lambda args: "-".join(args[:2]))
def test_an_unreachable_server(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, inputs: Path, args: list[str]
) -> None:
    url = "http://127.0.0.1:9"
    _setenv(monkeypatch, STOCKPLANE_URL=url, STOCKPLANE_API_KEY="sp_x_y")
    result = cli(*(arg.format(dir=inputs, url=url) for arg in args))
    assert_one_line(result, f"cannot reach stockplane at {url}")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("::not a url", "is not a URL"),
        ("ftp://127.0.0.1:9", "must be http(s)://"),
        ("http://127.0.0.1:9/?page=1", "without a query"),
    ],
)
def test_a_server_url_that_cannot_be_used(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    _setenv(monkeypatch, STOCKPLANE_URL=url)
    assert_one_line(cli("contracts", "list"), says)


def test_a_wrong_key_and_no_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, server: dict[str, str], inputs: Path
) -> None:
    url = get_settings().url
    failures = []
    for key, says in (("sp_bad_bad", "the API key is not valid"), ("", "send an API key")):
        _setenv(monkeypatch, STOCKPLANE_API_KEY=key)
        for args in REMOTE_COMMANDS:
            result = cli(*(arg.format(dir=inputs, url=url) for arg in args))
            lines = result.stderr.splitlines()
            if not (result.code == 2 and len(lines) == 1 and "401" in lines[0] and says in lines[0]):
                failures.append(f"{' '.join(args)} with {key!r}: exit {result.code}: {result.stderr[-500:]}")
    assert not failures, "\n".join(failures)


# --- input files ----------------------------------------------------------------------------

FILE_COMMANDS = [
    ["contracts", "diff", "{file}", str(EXAMPLE)],
    ["contracts", "lint", "{file}"],
    ["contracts", "check", "{file}"],
    ["contracts", "validate", "{file}"],
    ["contracts", "register", "{file}", "--name", "api"],
    ["contracts", "check", "{file}", "--name", "api"],
    ["contracts", "diff", str(EXAMPLE), str(EXAMPLE), "--ignore", "{file}"],
    ["ingest", "{file}"],
    ["simulate", "score", "--truth", "{file}"],
    ["simulate", "--out", "{dir}/out.jsonl", "--hours", "0.05", "--stores", "1", "--faults", "{file}"],
    ["demo", "--no-serve", "--directory", "{dir}/demo", "--faults", "{file}"],
]


@pytest.mark.parametrize("args", FILE_COMMANDS, ids=lambda args: "-".join(args[:2]))
@pytest.mark.parametrize("which", ["missing.yaml", "folder", "binary.yaml"])
def test_an_input_file_that_cannot_be_used(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    inputs: Path,
    migrated: str,
    args: list[str],
    which: str,
) -> None:
    if which == "binary.yaml" and args[0] == "ingest":
        pytest.skip("ingest lists each line that is not JSON and exits 1: a finding, not an error")
    _setenv(
        monkeypatch,
        STOCKPLANE_DATABASE_URL=migrated,
        STOCKPLANE_URL="http://127.0.0.1:9",
    )
    file = inputs / which
    result = cli(*(arg.format(dir=inputs, file=file) for arg in args))
    assert_one_line(result, str(file))


@pytest.mark.parametrize(
    "args",
    [
        ["contracts", "diff", str(EXAMPLE), str(EXAMPLE), "--output", "{dir}/no/such/folder/out.txt"],
        ["contracts", "diff", str(EXAMPLE), str(EXAMPLE), "--output", "{dir}/folder"],
        ["simulate", "--out", "{dir}/folder", "--hours", "0.05", "--stores", "1"],
        [
            "simulate",
            "--out",
            "{dir}/o.jsonl",
            "--truth",
            "{dir}/no/t.jsonl",
            "--hours",
            "0.05",
            "--stores",
            "1",
        ],
    ],
    ids=[
        "diff-output-missing-folder",
        "diff-output-folder",
        "simulate-out-folder",
        "simulate-truth-missing-folder",
    ],
)
def test_an_output_file_that_cannot_be_written(cli: Cli, inputs: Path, args: list[str]) -> None:
    assert_one_line(cli(*(arg.format(dir=inputs) for arg in args)))


# --- as a real process, and the helper itself ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (
            ["simulate", "score", "--truth", "{dir}/truth.jsonl"],
            {"STOCKPLANE_DATABASE_URL": "sqlite:///{dir}/e.db"},
            "stockplane db upgrade",
        ),
        (["trace", "list"], {"STOCKPLANE_URL": "http://127.0.0.1:9"}, "cannot reach stockplane"),
    ],
    ids=["simulate-score-unmigrated", "trace-list-unreachable"],
)
def test_as_a_process(inputs: Path, args: list[str], env: dict[str, str], says: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STOCKPLANE_")}
    environment.update({k: v.format(dir=inputs) for k, v in env.items()})
    done = subprocess.run(
        [sys.executable, "-m", "stockplane", *(arg.format(dir=inputs) for arg in args)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_explain_leaves_bugs_alone() -> None:
    assert explain(KeyError("items")) is None
    assert explain(ValueError("x")) is None
    assert explain(FileNotFoundError(2, "No such file or directory", "/x")) == "/x: No such file or directory"
    assert explain(PermissionError(13, "Permission denied")) == "Permission denied"
    assert explain(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")).startswith(
        "the input is not UTF-8"
    )
