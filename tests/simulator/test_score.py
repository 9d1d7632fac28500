"""Scoring arithmetic: precision, recall, judging open transactions at evaluation time."""

from __future__ import annotations

import datetime as dt

from stockplane.simulator.score import MISSING, Verdict, score
from stockplane.simulator.truth import Truth, expected_state

T = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def truth(
    cid: str, outcome: str, *, stalls_in: float | None = None, anomalies: tuple[str, ...] = ()
) -> Truth:
    stalls = T + dt.timedelta(minutes=stalls_in) if stalls_in is not None else None
    return Truth(cid, "store_sale", outcome, stalls, anomalies, (), 3)


def verdict(state: str, *anomalies: str, minutes: float = 0) -> Verdict:
    return Verdict(state, frozenset(anomalies), T + dt.timedelta(minutes=minutes))


def test_an_open_transaction_stalls_once_its_deadline_passed_at_evaluation() -> None:
    record = truth("a", "open", stalls_in=5)
    assert expected_state(record, T) == "in_progress"
    assert expected_state(record, T + dt.timedelta(minutes=6)) == "stalled"
    assert expected_state(truth("b", "open"), T + dt.timedelta(days=30)) == "in_progress"  # no deadline left


def test_precision_and_recall_per_state_and_anomaly() -> None:
    truths = [
        truth("a", "completed"),
        truth("b", "open", stalls_in=5),
        truth("c", "failed", anomalies=("duplicate",)),
        truth("d", "open", stalls_in=5, anomalies=("orphan",)),
    ]
    verdicts = {
        "a": verdict("completed", "duplicate"),  # a duplicate that was not injected
        "b": verdict("stalled", minutes=10),
        "c": verdict("failed", "duplicate"),
        "d": verdict("in_progress", minutes=10),  # should have stalled by then; orphan missed
        "zz": verdict("completed"),  # not in the truth
    }
    result = score(truths, verdicts)
    states = {m.kind: m for m in result.states}
    assert (states["stalled"].expected, states["stalled"].predicted, states["stalled"].correct) == (2, 1, 1)
    assert states["stalled"].precision == 1.0 and states["stalled"].recall == 0.5
    assert states["in_progress"].precision == 0.0 and states["in_progress"].recall is None
    anomalies = {m.kind: m for m in result.anomalies}
    assert anomalies["duplicate"].precision == 0.5 and anomalies["duplicate"].recall == 1.0
    assert anomalies["orphan"].recall == 0.0
    assert anomalies["unknown_status"].meets(0.98)  # nothing expected, nothing predicted
    assert result.unexpected == 1
    assert result.confusion[("stalled", "in_progress")] == 1
    assert not result.meets(0.98)
    assert set(result.misses) == {"a", "d"}


def test_a_transaction_the_store_never_saw_counts_against_recall() -> None:
    result = score([truth("a", "completed")], {})
    assert result.confusion == {("completed", MISSING): 1}
    assert {m.kind: m.recall for m in result.states}["completed"] == 0.0
    assert not result.meets(0.5)


def test_perfect_agreement_meets_the_bar() -> None:
    truths = [truth("a", "completed", anomalies=("out_of_order",)), truth("b", "failed")]
    verdicts = {"a": verdict("completed", "out_of_order"), "b": verdict("failed")}
    assert score(truths, verdicts).meets(1.0)
