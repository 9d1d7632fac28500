"""The simulator's fast uniform draws cover exactly their range, evenly."""

from __future__ import annotations

import random
from collections import Counter

from stockplane.simulator.draws import between, pick


def test_between_includes_both_ends_and_nothing_else() -> None:
    rng = random.Random(3)
    counts = Counter(between(rng, 2, 5) for _ in range(40_000))
    assert set(counts) == {2, 3, 4, 5}
    assert all(9_000 < n < 11_000 for n in counts.values())


def test_pick_reaches_every_option_evenly() -> None:
    rng = random.Random(4)
    counts = Counter(pick(rng, "abc") for _ in range(30_000))
    assert set(counts) == {"a", "b", "c"}
    assert all(9_000 < n < 11_000 for n in counts.values())
    assert pick(rng, range(7, 8)) == 7
