"""Process-wide tuning for long runs: ingestion, simulation."""

from __future__ import annotations

import gc
from functools import cache

__all__ = ["tune_for_throughput"]


@cache  # once per process: freezing again would pin whatever is alive at that moment
def tune_for_throughput() -> None:
    """Spend less time in the cyclic garbage collector while events stream through.

    Everything imported at start-up (modules, mappers, compiled schemas) lives for good,
    yet every full collection walked it again while events streamed through: up to a
    seventh of `stockplane ingest` time. Freezing moves it out of the collector's sight
    (and keeps forked worker processes from copying every page of it when they collect).
    The thresholds stay CPython's: raising them bought another 5 % but let cyclic
    garbage pile up in the old generation, and memory must stay flat while ingesting.
    """
    gc.freeze()
