"""Merging packed windows gives exactly a stable sort of every event on arrival."""

from __future__ import annotations

import random

import pytest

from stockplane.simulator.arrivals import Block, Event, Merger, pack


def _windows(rng: random.Random, count: int) -> list[tuple[float, list[Event]]]:
    """Windows of ten seconds; events arrive up to a minute late, on coarse instants so
    that ties (within a window and across windows) are common; some windows are empty."""
    windows = []
    for index in range(count):
        start = index * 10.0
        events = [
            (start + rng.randrange(0, 700) / 10, f'{{"w":{index},"n":{n}}}\n'.encode())
            for n in range(rng.choice((0, 1, 5, 40)))
        ]
        windows.append((start + 10.0, events))
    return windows


@pytest.mark.parametrize("seed", range(20))
def test_blocks_in_window_order_are_a_stable_sort_on_arrival(seed: int) -> None:
    windows = _windows(random.Random(seed), 12)
    expected = sorted((event for _, events in windows for event in events), key=lambda e: e[0])
    merger = Merger()
    blocks = [merger.add(pack(list(events), until)) for until, events in windows]
    blocks.append(merger.rest())
    merged: list[Event] = [(at, line + b"\n") for block in blocks for at, line in block.lines()]
    assert merged == expected
    assert b"".join(block.text for block in blocks) == b"".join(line for _, line in expected)
    # each block holds only what arrived before its window ended
    for (until, _), block in zip(windows, blocks, strict=False):
        assert all(at < until for at in block.arrivals)


def test_a_block_lists_its_lines_without_newlines() -> None:
    block = Block.of([(1.0, b"a\n"), (2.0, b"b\n")])
    assert len(block) == 2
    assert list(block.lines()) == [(1.0, b"a"), (2.0, b"b")]
    assert list(Block.of([]).lines()) == []
