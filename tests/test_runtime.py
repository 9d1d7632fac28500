"""The collector tuning that ingestion relies on."""

from __future__ import annotations

import gc

from stockplane.runtime import tune_for_throughput


def test_tuning_freezes_once() -> None:
    tune_for_throughput()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    survivors = [[index] for index in range(1000)]  # objects born after the freeze
    tune_for_throughput()
    assert gc.get_freeze_count() == frozen  # a second call pins nothing new
    assert len(survivors) == 1000
