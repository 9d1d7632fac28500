"""Reading truth files and stored verdicts, and printing a score."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from stockplane.errors import InputError
from tracing.models import TransactionRecord

from .score import MISSING, STATES, Measure, Score, Verdict
from .truth import Truth

__all__ = ["load_truths", "load_verdicts", "render"]


def load_truths(path: Path) -> Iterator[Truth]:
    """Truth records, streamed; a line that is not one is an input error naming the line."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Truth.from_json(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{path}:{number}: not a truth record ({exc})") from None


def load_verdicts(session: Session) -> dict[str, Verdict]:
    query = select(
        TransactionRecord.correlation_id,
        TransactionRecord.state,
        TransactionRecord.anomalies,
        TransactionRecord.updated_at,
    )
    return {
        row.correlation_id: Verdict(row.state, frozenset(row.anomalies or ()), row.updated_at)
        for row in session.execute(query)
    }


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _row(measure: Measure, bar: float) -> str:
    verdict = "ok" if measure.meets(bar) else "BELOW"
    return (
        f"  {measure.kind:<24} {measure.expected:>8} {measure.predicted:>9} "
        f"{_ratio(measure.precision):>9} {_ratio(measure.recall):>7}  {verdict}"
    )


def _as_json(result: Score, bar: float) -> dict[str, Any]:
    def measures(items: tuple[Measure, ...]) -> list[dict[str, Any]]:
        return [
            {
                "kind": m.kind,
                "expected": m.expected,
                "predicted": m.predicted,
                "correct": m.correct,
                "precision": m.precision,
                "recall": m.recall,
                "meets_bar": m.meets(bar),
            }
            for m in items
        ]

    return {
        "transactions": result.transactions,
        "unexpected": result.unexpected,
        "bar": bar,
        "meets_bar": result.meets(bar),
        "states": measures(result.states),
        "anomalies": measures(result.anomalies),
        "confusion": [
            {"expected": expected, "predicted": predicted, "transactions": n}
            for (expected, predicted), n in sorted(result.confusion.items())
        ],
        "disagreements": list(result.misses),
    }


def render(result: Score, bar: float, *, as_json: bool = False) -> str:
    if as_json:
        return orjson.dumps(_as_json(result, bar), option=orjson.OPT_INDENT_2).decode()
    header = f"  {'kind':<24} {'expected':>8} {'predicted':>9} {'precision':>9} {'recall':>7}"
    lines = [f"{result.transactions} transactions in the truth, scored against the bar {bar}", "", "states"]
    lines += [header, *(_row(m, bar) for m in result.states), "", "anomalies", header]
    lines += [_row(m, bar) for m in result.anomalies]
    predicted = [*STATES, MISSING]
    width = max(len(p) for p in predicted) + 2
    lines += ["", "confusion (rows: expected, columns: the correlator's verdict)"]
    lines.append(" " * 14 + "".join(f"{p:>{width}}" for p in predicted))
    for expected in STATES:
        cells = "".join(f"{result.confusion.get((expected, p), 0):>{width}}" for p in predicted)
        lines.append(f"  {expected:<12}{cells}")
    if result.unexpected:
        lines.append(
            f"\n{result.unexpected} stored transactions are not in the truth (left out of the score)"
        )
    if result.misses and not result.meets(bar):
        lines.append("\nsome disagreements: " + ", ".join(result.misses[:10]))
    lines.append("\n" + ("PASS" if result.meets(bar) else "FAIL") + f": every kind at or above {bar}")
    return "\n".join(lines)
