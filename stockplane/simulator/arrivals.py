"""Putting generated windows of traffic in arrival order, with little work per event.

Windows are generated in start order, possibly in other processes. Each is packed where
it was generated: the events that arrive before the window ends, sorted, become one block
of text; the rest (a till's batch upload, a transfer that takes days) stay separate. The
:class:`Merger` keeps those late events until the window they arrive in and splices them
into its block, so the process that writes the output touches late events one by one and
the others only as blocks.

Ties keep generation order (every sort is a stable sort on arrival alone), and a late
event goes before an event of a later window that arrives at the same instant, so the
order does not depend on how many processes generated the windows.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter

__all__ = ["Block", "Event", "Merger", "PackedWindow", "pack"]

Event = tuple[float, bytes]
"""Arrival (epoch seconds) and envelope, newline-terminated."""
_arrival = itemgetter(0)


@dataclass(frozen=True)
class Block:
    """Envelopes in arrival order: newline-terminated lines in one ``text``, and the
    arrival time of each (``array('d')``)."""

    text: bytes
    arrivals: array[float]

    def __len__(self) -> int:
        return len(self.arrivals)

    def lines(self) -> Iterator[tuple[float, bytes]]:
        """``(arrival, envelope)`` one by one, without the newline."""
        # split leaves an empty piece after the last newline; zip stops before it
        return zip(self.arrivals, self.text.split(b"\n"), strict=False)

    @classmethod
    def of(cls, events: list[Event]) -> Block:
        """A block of events already in arrival order."""
        return cls(b"".join([line for _, line in events]), array("d", [at for at, _ in events]))


@dataclass(frozen=True)
class PackedWindow:
    """One window's events: those arriving before ``until``, as a block with the offset
    where each line starts (and one past the end), and the ``late`` ones in arrival order."""

    until: float
    early: Block
    offsets: array[int]
    late: list[Event]


def pack(events: list[Event], until: float) -> PackedWindow:
    """Sort a window's events (stable, on arrival) and split them at ``until``."""
    events.sort(key=_arrival)
    cut = bisect.bisect_left(events, until, key=_arrival)
    early = events[:cut]
    lines = [line for _, line in early]
    offsets = array("q", accumulate(map(len, lines), initial=0))
    return PackedWindow(
        until, Block(b"".join(lines), array("d", [at for at, _ in early])), offsets, events[cut:]
    )


class Merger:
    """Turns packed windows, given in start order, into blocks in arrival order."""

    def __init__(self) -> None:
        self._flight: list[Event] = []  # late events of earlier windows, in arrival order

    def add(self, window: PackedWindow) -> Block:
        """Everything that arrives before ``window.until``: nothing generated later can."""
        cut = bisect.bisect_left(self._flight, window.until, key=_arrival)
        due, self._flight = self._flight[:cut], self._flight[cut:]
        if window.late:
            self._flight += window.late
            self._flight.sort(key=_arrival)
        if not due:
            return window.early
        early, offsets = window.early, window.offsets
        text: list[bytes] = []
        arrivals = array("d")
        start = 0
        for arrival, line in due:
            # before any event of this window arriving at the same instant
            position = bisect.bisect_left(early.arrivals, arrival, lo=start)
            text += (early.text[offsets[start] : offsets[position]], line)
            arrivals += early.arrivals[start:position]
            arrivals.append(arrival)
            start = position
        text.append(early.text[offsets[start] :])
        arrivals += early.arrivals[start:]
        return Block(b"".join(text), arrivals)

    def rest(self) -> Block:
        """What is still in flight once every window was added."""
        rest, self._flight = self._flight, []
        return Block.of(rest)
