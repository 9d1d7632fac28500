"""The commands in docs/quickstart.md run and exit as documented."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.conftest import REPO_ROOT

COMMAND = re.compile(r"^\$ (stockplane .+?)\s+# exit (\d)$", re.MULTILINE)
QUICKSTART = (REPO_ROOT / "docs" / "quickstart.md").read_text()


def _in_git_checkout() -> bool:
    probe = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "cat-file", "-e", "HEAD:docs/examples/inventory-v1.yaml"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.parametrize(("command", "code"), COMMAND.findall(QUICKSTART))
def test_quickstart_command(cli, monkeypatch: pytest.MonkeyPatch, command: str, code: str) -> None:
    if "HEAD:" in command and not _in_git_checkout():
        pytest.skip("needs the repository's git history")
    monkeypatch.chdir(REPO_ROOT)
    args = shlex.split(command)[1:]
    result = cli(*args)
    assert result.code == int(code), result.stderr or result.stdout


def test_quickstart_has_commands() -> None:
    assert len(COMMAND.findall(QUICKSTART)) >= 8


def test_every_test_docs_security_names_exists() -> None:
    """docs/security.md backs each claim with a test: each one it names must exist."""
    text = (REPO_ROOT / "docs" / "security.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    named += [(path, name) for path, name in re.findall(r"`(tests/[\w/]+\.py)::\w+`, `::(\w+)`", text)]
    assert len(named) >= 20
    for path, name in named:
        source = REPO_ROOT / path
        assert source.exists(), f"docs/security.md names {path}, which does not exist"
        if name:
            assert re.search(rf"^def {name}\(", source.read_text(), re.MULTILINE), f"{path} has no {name}"
