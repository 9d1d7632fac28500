"""Benchmark `stockplane contracts diff` against the parse floor.

Run: ``make bench`` (or ``.venv/bin/python bench/diff_bench.py``). It writes a large
synthetic spec (about 1,000 paths and 2,000 schemas) and a modified copy, in JSON and in
YAML, then measures in fresh subprocesses:

* the floor: parsing both documents with the fastest parser (orjson, libyaml CSafeLoader);
* the whole CLI diff (load with line numbers, check references, validate, diff, render);
* peak memory (max RSS) of the diff;
* small event-schema pairs compared per second.

Targets (issue #2): diff ≤ 1.5 × the YAML parse floor; JSON pair under 2 s; peak memory
under 500 MB; at least 2,000 small schema pairs a second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import event_schema_pairs, large_openapi, modified

_PARSE_ONLY = """
import resource, sys, time
import orjson, yaml
start = time.perf_counter()
for path in sys.argv[2:]:
    raw = open(path, 'rb').read()
    orjson.loads(raw) if sys.argv[1] == 'json' else yaml.load(raw, Loader=yaml.CSafeLoader)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

_DIFF = """
import io, resource, sys, time, contextlib
from stockplane.cli import main
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(['contracts', 'diff', sys.argv[1], sys.argv[2], '--format', 'json'])
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code)
"""


class _NoAliasDumper(yaml.CSafeDumper):
    """Hand-written specs share schemas with $ref, not YAML anchors; dump them that way."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def run(script: str, *args: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return completed.stdout.split()


def best_of(times: int, script: str, *args: str) -> tuple[float, float]:
    """Fastest wall time and the largest peak RSS (MB) over ``times`` runs."""
    results = [run(script, *args) for _ in range(times)]
    return min(float(r[0]) for r in results), max(int(r[1]) for r in results) / 1024


def schema_pairs_per_second(count: int) -> float:
    from registry.diff.compatibility import Mode, Side, schema_compatibility
    from stockplane.documents import Document

    pairs = event_schema_pairs(count)
    start = time.perf_counter()
    for old, new in pairs:
        schema_compatibility(
            Side.of(Document(data=old, source="old")),
            Side.of(Document(data=new, source="new")),
            mode=Mode.FULL,
        )
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept)")
    parser.add_argument("--pairs", type=int, default=5000, help="small schema pairs to compare")
    options = parser.parse_args()

    old, new = large_openapi(), modified(large_openapi())
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, document in (("old", old), ("new", new)):
            files[f"{name}.json"] = Path(folder, f"{name}.json")
            files[f"{name}.json"].write_text(json.dumps(document, indent=2))
            files[f"{name}.yaml"] = Path(folder, f"{name}.yaml")
            files[f"{name}.yaml"].write_text(yaml.dump(document, Dumper=_NoAliasDumper, sort_keys=False))
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        for fmt in ("json", "yaml"):
            a, b = str(files[f"old.{fmt}"]), str(files[f"new.{fmt}"])
            size = (Path(a).stat().st_size + Path(b).stat().st_size) / 2 / 1_048_576
            floor, _ = best_of(options.repeat, _PARSE_ONLY, fmt, a, b)
            total, rss = best_of(options.repeat, _DIFF, a, b)
            print(
                f"{fmt:>4}: {size:.1f} MB each | parse floor {floor:.2f} s | diff {total:.2f} s "
                f"| ratio {total / floor:.2f}x | peak RSS {rss:.0f} MB"
            )
    rate = schema_pairs_per_second(options.pairs)
    print(f"small event-schema pairs (FULL mode): {rate:,.0f} per second")


if __name__ == "__main__":
    main()
