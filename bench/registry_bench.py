"""Benchmark the registry: registration and compatibility-check latency for a ~1 MB OpenAPI
document, against its latest version and against 50 earlier ones under a transitive mode.

Run: ``.venv/bin/python bench/registry_bench.py`` (about two minutes). Requests go through
the real app (FastAPI, SQLite in WAL mode) with the ASGI test client; each registration
parses, validates once, lints, diffs and stores the document.

Targets (issue #4): under 3 s against the latest version; under 10 s against 50 earlier
versions (BACKWARD_TRANSITIVE).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import large_openapi

_PACK = {
    "pack.yaml": "name: bench\nversion: 1.0.0\nextends: retail-omnichannel\n",
    # The synthetic document is not written to the default pack's governance rules; the
    # rules still run (and are timed) but report as info instead of refusing it.
    "lint.yaml": "rules:\n"
    + "".join(
        f"  {rule}: {{severity: info}}\n"
        for rule in (
            "openapi-operation-unsecured",
            "openapi-operation-summary-missing",
            "openapi-operation-tags-missing",
            "openapi-request-string-unbounded",
            "openapi-request-array-unbounded",
            "openapi-error-not-problem-json",
            "openapi-list-not-paginated",
            "openapi-idempotency-key-missing",
            "openapi-version-missing",
        )
    ),
}


def lenient_pack_folder() -> Path:
    """A scratch folder holding the bench pack (in ``pack/``), made the server's pack through
    ``STOCKPLANE_POLICY_PACK``; the registry benchmarks keep their database beside it."""
    folder = Path(tempfile.mkdtemp())
    pack = folder / "pack"
    pack.mkdir()
    for name, text in _PACK.items():
        (pack / name).write_text(text)
    os.environ["STOCKPLANE_POLICY_PACK"] = str(pack)
    return folder


def document(paths: int, revision: int) -> str:
    spec = large_openapi(paths=paths, schemas=paths * 2)
    spec["info"]["description"] = f"revision {revision}"
    return json.dumps(spec, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=260, help="paths in the document (260 ≈ 1 MB)")
    parser.add_argument("--history", type=int, default=50, help="earlier versions for the transitive case")
    options = parser.parse_args()

    folder = lenient_pack_folder()

    from fastapi.testclient import TestClient

    from stockplane.app import create_app
    from stockplane.auth import Role, create_key
    from stockplane.database import Database
    from stockplane.migrate import upgrade
    from stockplane.settings import Settings

    settings = Settings(database_url=f"sqlite:///{folder}/bench.db")
    database = Database(settings.database_url)
    upgrade(database)
    with database.session() as session:
        key = create_key(session, name="bench", role=Role.ARCHITECT)[1]
    client = TestClient(create_app(settings, database=database))
    headers = {"Authorization": f"Bearer {key}"}

    def timed(method: str, path: str, body: dict[str, object]) -> float:
        started = time.perf_counter()
        response = client.request(method, path, json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code in (200, 201), response.text[:500]
        return elapsed

    size = len(document(options.paths, 0)) / 1_048_576
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; document {size:.2f} MB, {options.paths} paths"
    )

    timed("POST", "/v1/contracts/latest/versions", {"content": document(options.paths, 0)})
    register = timed("POST", "/v1/contracts/latest/versions", {"content": document(options.paths, 1)})
    check = timed("POST", "/v1/contracts/latest/compatibility", {"content": document(options.paths, 2)})
    print(f"against the latest version: register {register:.2f} s, compatibility check {check:.2f} s")

    body = {"compatibility_mode": "BACKWARD_TRANSITIVE"}
    for revision in range(options.history):
        timed(
            "POST",
            "/v1/contracts/transitive/versions",
            {"content": document(options.paths, revision), **body},
        )
    register = timed(
        "POST", "/v1/contracts/transitive/versions", {"content": document(options.paths, options.history)}
    )
    check = timed(
        "POST",
        "/v1/contracts/transitive/compatibility",
        {"content": document(options.paths, options.history + 1)},
    )
    print(
        f"against {options.history} earlier versions (BACKWARD_TRANSITIVE): register {register:.2f} s, compatibility check {check:.2f} s"
    )


if __name__ == "__main__":
    main()
