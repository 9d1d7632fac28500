"""Measure the memory one registration costs: peak RSS growth while the server registers a
large generated OpenAPI document, checks a changed one for compatibility and registers it.

Run: ``.venv/bin/python bench/registry_memory.py --megabytes 5`` (about a minute). Each
step resets the kernel's peak-RSS mark (``/proc/self/clear_refs``), so each figure is the
step's own peak above the RSS it started from. ``--tracemalloc`` reports Python's own
allocation peak instead (slower, but not blurred by the allocator keeping freed pages).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_bench import lenient_pack_folder
from synthetic import large_openapi


def _status(field: str) -> int:
    """A VmRSS / VmHWM figure of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def document(paths: int, revision: int) -> str:
    spec = large_openapi(paths=paths, schemas=paths * 2)
    spec["info"]["description"] = f"revision {revision}"
    if revision:  # a compatible change the diff has to find
        spec["components"]["schemas"]["Model0"]["properties"]["added"] = {"type": "string"}
    return json.dumps(spec, indent=1)


def paths_for(megabytes: float) -> int:
    per_path = len(document(100, 0)) / 100
    return max(1, int(megabytes * 1_048_576 / per_path))


def measure(client: Any, path: str, body: bytes, headers: dict[str, str], python: bool) -> dict[str, float]:
    gc.collect()
    if python:
        tracemalloc.start()
    _reset_peak()
    before = _status("VmRSS")
    started = time.perf_counter()
    response = client.post(path, content=body, headers=headers)
    elapsed = time.perf_counter() - started
    peak = _status("VmHWM")
    python_peak = tracemalloc.get_traced_memory()[1] if python else 0
    if python:
        tracemalloc.stop()
    assert response.status_code in (200, 201), response.text[:500]
    return {"seconds": elapsed, "rss_growth": peak - before, "python_peak": python_peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0, help="size of the document")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    options = parser.parse_args()

    folder = lenient_pack_folder()
    os.environ["STOCKPLANE_REGISTRY__MAX_API_DOCUMENT_BYTES"] = str(int(options.megabytes * 2 * 1_048_576))

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
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    client.post(  # warm up: imports, validators, the first connection
        "/v1/contracts/warm/versions", content=json.dumps({"content": document(5, 0)}), headers=headers
    )

    paths = paths_for(options.megabytes)
    bodies = [json.dumps({"content": document(paths, revision)}).encode() for revision in range(2)]
    size = len(json.loads(bodies[0])["content"])
    print(f"document: {size / 1_048_576:.2f} MiB ({paths} paths); Python {sys.version.split()[0]}")
    steps = [
        ("register (first version)", "/v1/contracts/big/versions", bodies[0]),
        ("compatibility check", "/v1/contracts/big/compatibility", bodies[1]),
        ("register (second version, diffed)", "/v1/contracts/big/versions", bodies[1]),
    ]
    for label, path, body in steps:
        figures = measure(client, path, body, headers, options.tracemalloc)
        line = (
            f"{label:<36} {figures['seconds']:6.2f} s  peak RSS +{figures['rss_growth'] / 1_048_576:7.1f} MiB"
            f" ({figures['rss_growth'] / size:4.1f}x the document)"
        )
        if options.tracemalloc:
            line += f"  Python peak {figures['python_peak'] / 1_048_576:7.1f} MiB"
        print(line)


if __name__ == "__main__":
    main()
