"""The service-level indicators of the brief, computed from per-transaction facts.

Pure: no database, no clock. The repository turns stored transactions and their events
into :class:`Facts` once; everything here (an SLO's good and total, a KPI's value) is a
function of those facts, so the figures can be checked against an independent
computation over the same fixture.

Every indicator counts occurrences (good ÷ total), never averages of ratios, so budgets
add up across minutes, series and windows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.model import Slo

__all__ = [
    "DIMENSIONS",
    "INDICATORS",
    "ORDER_WORKFLOWS",
    "CountFact",
    "Facts",
    "Judgement",
    "backlog_at",
    "judge",
    "matches",
    "percentile",
    "series_of",
]

INDICATORS = (
    "sync_latency",
    "exception_rate",
    "stock_accuracy",
    "oversell_rate",
    "order_fallout",
    "dead_letter_backlog",
)
DIMENSIONS = ("workflow", "channel", "system", "location_id")
"""What an SLO may filter or group by, and what a KPI may be broken down by."""

ORDER_WORKFLOWS = frozenset({"ecommerce_order", "marketplace_order", "click_and_collect"})
EXCEPTIONS = frozenset({"failed", "stalled"})


@dataclass(frozen=True, slots=True)
class CountFact:
    """One SKU-location count: the book quantity against what was counted."""

    book: float
    counted: float
    abc_class: str | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the indicators need to know about one inventory transaction."""

    correlation_id: str
    started_at: dt.datetime
    workflow: str | None
    state: str
    channel: str | None = None
    system: str | None = None
    location_id: str | None = None
    latency_ms: int | None = None
    count: CountFact | None = None
    accepted_order: bool = False
    oversold: bool = False

    def dimension(self, name: str) -> str | None:
        return getattr(self, name)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Judgement:
    """One transaction's verdict under one SLO: which series it belongs to and whether it
    was good. Transactions an SLO does not count get no judgement at all."""

    series: str
    good: bool


def matches(filters: Mapping[str, Sequence[str]], facts: Facts) -> bool:
    """Whether the transaction passes every filter (a filter lists the values allowed)."""
    return all(facts.dimension(name) in allowed for name, allowed in filters.items())


def series_of(group_by: Sequence[str], facts: Facts) -> str:
    """The series key, e.g. ``channel=ecommerce``; ``""`` when the SLO is not grouped.

    A missing value is shown as ``-`` so that it is a series of its own, not a merge
    with another one.
    """
    return ",".join(f"{name}={facts.dimension(name) or '-'}" for name in group_by)


def judge(slo: Slo, facts: Facts) -> Judgement | None:
    """Is this transaction an event of the SLO, and a good one?

    ``None`` when the SLO does not count it: filtered out, of another kind, or not decided
    yet (a sync still in progress within its threshold is neither good nor bad).
    """
    if not matches(slo.filter, facts):
        return None
    good = _good(slo, facts)
    if good is None:
        return None
    return Judgement(series_of(slo.group_by, facts), good)


def _good(slo: Slo, facts: Facts) -> bool | None:
    indicator = slo.indicator
    if indicator == "sync_latency":
        if facts.latency_ms is not None:
            limit = (
                slo.threshold.total_seconds() * 1000 if isinstance(slo.threshold, dt.timedelta) else math.inf
            )
            return facts.latency_ms <= limit  # exact on the stored duration
        return False if facts.state in EXCEPTIONS else None  # never synced: a breach
    if indicator == "exception_rate":
        return facts.state not in EXCEPTIONS
    if indicator == "stock_accuracy":
        return None if facts.count is None else accurate(facts.count, slo.tolerance)
    if indicator == "oversell_rate":
        return not facts.oversold if facts.accepted_order else None
    if indicator == "order_fallout":
        if facts.workflow not in ORDER_WORKFLOWS:
            return None
        return facts.state not in EXCEPTIONS
    return None  # dead_letter_backlog is judged per minute, not per transaction


def accurate(count: CountFact, tolerance: Mapping[str, Any]) -> bool:
    """A record is accurate when its count is within tolerance of its book quantity.

    Tolerance is in ``percent`` (of the book quantity) or ``units``, per ABC class when
    the pack says so; the default is an exact match. Overs and unders are judged alike,
    each record on its own: they never net out across records.
    """
    allowed = tolerance.get("default", 0)
    by_class = tolerance.get("by_abc_class") or {}
    if count.abc_class in by_class:
        allowed = by_class[count.abc_class]
    variance = abs(count.counted - count.book)
    if tolerance.get("unit", "percent") == "percent":
        return variance <= abs(count.book) * float(allowed) / 100
    return variance <= float(allowed)


def backlog_at(dead_letters: Iterable[tuple[dt.datetime, dt.datetime | None]], moment: dt.datetime) -> int:
    """Dead-lettered events still unresolved at ``moment``: received by then and not
    resolved by then (each pair is an event's receipt and its transaction's resolution)."""
    return sum(
        1
        for received, resolved in dead_letters
        if received <= moment and (resolved is None or resolved > moment)
    )


def percentile(ordered: Sequence[float], share: float) -> float | None:
    """The exact percentile of sorted values, interpolated linearly between the two nearest
    ranks (numpy's default method), so it can be checked against ``numpy.percentile``."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
