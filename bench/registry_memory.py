"""Measure the memory one registration costs the server: the peak RSS growth of a real
``stockplane serve`` while it registers a large generated OpenAPI document, checks a
changed one for compatibility and registers that.

Run: ``.venv/bin/python bench/registry_memory.py --megabytes 5`` (about two minutes).
Before each step the server's peak-RSS mark is reset (``/proc/PID/clear_refs``), so each
figure is that step's own peak above the RSS the server started it with; the client runs
in this process and its copies of the request are not counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_bench import lenient_pack_folder
from served import served
from synthetic import large_openapi


def _status(pid: int, field: str) -> int:
    """A VmRSS / VmHWM figure of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def document(paths: int, revision: int) -> str:
    spec = large_openapi(paths=paths, schemas=paths * 2)
    spec["info"]["description"] = f"revision {revision}"
    if revision:  # a compatible change the diff has to find
        spec["components"]["schemas"]["Model0"]["properties"]["added"] = {"type": "string"}
    return json.dumps(spec, indent=1)


def paths_for(megabytes: float) -> int:
    per_path = len(document(100, 0)) / 100
    return max(1, int(megabytes * 1_048_576 / per_path))


def measure(client: httpx2.Client, pid: int, path: str, body: bytes) -> tuple[float, int]:
    """Seconds the step took and its peak RSS above where the server started it."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid, "VmRSS")
    started = time.perf_counter()
    response = client.post(path, content=body)
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 201), response.text[:500]
    return elapsed, _status(pid, "VmHWM") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0, help="size of the document")
    options = parser.parse_args()

    folder = lenient_pack_folder()
    paths = paths_for(options.megabytes)
    bodies = [json.dumps({"content": document(paths, revision)}).encode() for revision in range(2)]
    size = len(json.loads(bodies[0])["content"])
    print(f"document: {size / 1_048_576:.2f} MiB ({paths} paths); Python {sys.version.split()[0]}")
    limits = {"STOCKPLANE_REGISTRY__MAX_API_DOCUMENT_BYTES": str(int(options.megabytes * 2 * 1_048_576))}
    with served(f"sqlite:///{folder}/bench.db", role="architect", **limits) as server:
        headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
        with httpx2.Client(base_url=server.base, headers=headers, timeout=600) as client:
            warm = json.dumps({"content": document(5, 0)}).encode()  # imports, validators, a connection
            measure(client, server.pid, "/v1/contracts/warm/versions", warm)
            steps = [
                ("register (first version)", "/v1/contracts/big/versions", bodies[0]),
                ("compatibility check", "/v1/contracts/big/compatibility", bodies[1]),
                ("register (second version, diffed)", "/v1/contracts/big/versions", bodies[1]),
            ]
            for label, path, body in steps:
                seconds, growth = measure(client, server.pid, path, body)
                print(
                    f"{label:<36} {seconds:6.2f} s  peak RSS +{growth / 1_048_576:7.1f} MiB"
                    f" ({growth / size:4.1f}x the document)"
                )


if __name__ == "__main__":
    main()
