"""Ground truth: what the simulator meant each transaction to be, to score verdicts against.

A truth record is written per correlation ID from the events the simulator actually
emitted. Its state depends on when it is judged (an open transaction stalls once a
deadline passes), so the record keeps the outcome and the moment it would stall, and
:func:`expected_state` answers for any instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["Truth", "expected_state", "state_at", "truth_lines"]


@dataclass(frozen=True)
class Truth:
    correlation_id: str
    workflow: str
    outcome: str
    """``failed``, ``completed`` or ``open`` (steps still missing)."""
    stalls_at: dt.datetime | None
    """When an open transaction passes the deadline of a missing step; None if never."""
    anomalies: tuple[str, ...]
    faults: tuple[str, ...]
    """Every fault injected, including those that leave no anomaly (late, retry, skew...)."""
    events: int
    state_at_end: str = ""
    """The state expected when the window ends (``expected_state`` at that moment)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "correlation_id": self.correlation_id,
            "workflow": self.workflow,
            "state_at_end": self.state_at_end,
            "outcome": self.outcome,
            "stalls_at": self.stalls_at.isoformat() if self.stalls_at else None,
            "anomalies": list(self.anomalies),
            "faults": list(self.faults),
            "events": self.events,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        stalls = data.get("stalls_at")
        return cls(
            correlation_id=str(data["correlation_id"]),
            workflow=str(data["workflow"]),
            outcome=str(data["outcome"]),
            stalls_at=dt.datetime.fromisoformat(stalls) if stalls else None,
            anomalies=tuple(data.get("anomalies", ())),
            faults=tuple(data.get("faults", ())),
            events=int(data.get("events", 0)),
            state_at_end=str(data.get("state_at_end", "")),
        )


def truth_lines(truths: Iterable[Truth]) -> bytes:
    """Truth records as JSON lines, the format of a truth file."""
    return b"".join([orjson.dumps(truth.as_json()) + b"\n" for truth in truths])


def expected_state(truth: Truth, at: dt.datetime) -> str:
    """The state the brief's rules give this transaction when judged at ``at``."""
    return state_at(truth.outcome, truth.stalls_at, at)


def state_at(outcome: str, stalls_at: dt.datetime | None, at: dt.datetime) -> str:
    """The state of a transaction with this outcome, judged at ``at``."""
    if outcome in ("failed", "completed"):
        return outcome
    if stalls_at is not None and at > stalls_at:
        return "stalled"
    return "in_progress"
