"""The wheel holds exactly stockplane's six top-level packages (their names are common) and
the default policy pack."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = {"registry", "tracing", "sla", "dashboard", "policies", "stockplane"}


@pytest.mark.slow
def test_wheel_contains_exactly_the_declared_packages(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    (wheel,) = tmp_path.glob("stockplane-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == PACKAGES
    assert "registry/diff/schema_compat.py" in names
    for section in (
        "pack.yaml",
        "envelope.json",
        "statuses.yaml",
        "workflows.yaml",
        "slos.yaml",
        "compatibility.yaml",
        "deprecation.yaml",
        "lint.yaml",
    ):
        assert f"policies/packs/retail-omnichannel/{section}" in names
    assert "policies/schemas/slos.schema.json" in names
    # the canonical contracts `stockplane demo` registers ship with the pack
    contracts = "policies/packs/retail-omnichannel/contracts"
    assert f"{contracts}/events/pos.sale/2.0.0.json" in names
    assert f"{contracts}/apis/marketplace-order-intake.yaml" in names
    assert f"{contracts}/proposals/pos.sale/2.1.0.json" in names
    assert "stockplane/simulator/traffic.py" in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "stockplane = stockplane.__main__:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
