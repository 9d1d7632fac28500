"""Scoring the correlator's verdicts against the simulator's ground truth.

Pure: truths and verdicts in, precision and recall out. A transaction's expected state is
judged at the moment the correlator last evaluated it (its ``updated_at``), so an open
transaction counts as stalled exactly when its deadline had passed by then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .truth import Truth, expected_state

__all__ = ["ANOMALY_KINDS", "STATES", "Score", "Verdict", "score"]

STATES = ("completed", "in_progress", "stalled", "failed")
ANOMALY_KINDS = (
    "duplicate",
    "conflicting_duplicate",
    "out_of_order",
    "orphan",
    "contract_violation",
    "retired_schema_version",
    "unknown_status",
)
MISSING = "(not found)"


@dataclass(frozen=True)
class Verdict:
    state: str
    anomalies: frozenset[str]
    evaluated_at: dt.datetime


@dataclass(frozen=True)
class Measure:
    """How well one state or anomaly kind was recognised."""

    kind: str
    expected: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.expected if self.expected else None

    def meets(self, bar: float) -> bool:
        """Nothing expected and nothing predicted is no evidence either way, so it passes."""
        return all(value is None or value >= bar for value in (self.precision, self.recall))


@dataclass(frozen=True)
class Score:
    transactions: int
    states: tuple[Measure, ...]
    anomalies: tuple[Measure, ...]
    confusion: Mapping[tuple[str, str], int]
    """(expected state, predicted state) -> transactions; predicted may be ``(not found)``."""
    unexpected: int = 0
    """Transactions in the store that the truth does not know."""
    misses: tuple[str, ...] = field(default_factory=tuple)
    """Correlation ids of some disagreements, for a closer look."""

    def meets(self, bar: float) -> bool:
        return all(m.meets(bar) for m in (*self.states, *self.anomalies))


def score(truths: Iterable[Truth], verdicts: Mapping[str, Verdict], *, keep_misses: int = 20) -> Score:
    confusion: Counter[tuple[str, str]] = Counter()
    expected_kinds: Counter[str] = Counter()
    predicted_kinds: Counter[str] = Counter()
    correct_kinds: Counter[str] = Counter()
    misses: list[str] = []
    known: set[str] = set()
    for truth in truths:
        known.add(truth.correlation_id)
        verdict = verdicts.get(truth.correlation_id)
        if verdict is None:
            confusion[(expected_state(truth, dt.datetime.max.replace(tzinfo=dt.UTC)), MISSING)] += 1
            expected_kinds.update(truth.anomalies)
            if len(misses) < keep_misses:
                misses.append(truth.correlation_id)
            continue
        expected = expected_state(truth, verdict.evaluated_at)
        confusion[(expected, verdict.state)] += 1
        wanted = set(truth.anomalies)
        found = set(verdict.anomalies) & set(ANOMALY_KINDS)
        expected_kinds.update(wanted)
        predicted_kinds.update(found)
        correct_kinds.update(wanted & found)
        if (expected != verdict.state or wanted != found) and len(misses) < keep_misses:
            misses.append(truth.correlation_id)
    states = tuple(
        Measure(
            state,
            sum(n for (e, _), n in confusion.items() if e == state),
            sum(n for (_, p), n in confusion.items() if p == state),
            confusion[(state, state)],
        )
        for state in STATES
    )
    anomalies = tuple(
        Measure(kind, expected_kinds[kind], predicted_kinds[kind], correct_kinds[kind])
        for kind in ANOMALY_KINDS
    )
    return Score(
        transactions=len(known),
        states=states,
        anomalies=anomalies,
        confusion=dict(confusion),
        unexpected=len(set(verdicts) - known),
        misses=tuple(misses),
    )
