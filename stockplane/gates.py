"""Gates that count expensive requests in flight, per worker, and turn the excess away.

A gate is entered only once a request's body is in (see :mod:`stockplane.bodies`), so a
slow client cannot hold a place while it trickles bytes. Past the limit the caller gets a
429 with ``Retry-After``; the event loop serialises entering and leaving.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import AppError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["Busy", "Gate", "gate_of"]


class Busy(AppError):
    status = 429
    problem = "busy"


class Gate:
    """Counts requests of one kind in flight; past the limit, callers are told to come back."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.in_flight = 0

    @contextmanager
    def hold(self, limit: int) -> Iterator[None]:
        """Hold one place for the block, or raise :class:`Busy` when all ``limit`` are taken."""
        if self.in_flight >= limit:
            raise Busy(f"{self.in_flight} {self.what} are in progress; retry in a second", retry_after=1)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


def gate_of(request: Request, name: str, what: str) -> Gate:
    """The application's gate called ``name``, created on first use (one per worker)."""
    state = request.app.state
    gate: Gate | None = getattr(state, name, None)
    if gate is None:
        gate = Gate(what)
        setattr(state, name, gate)
    return gate
