"""The indicators' judgements, each against a hand computation of the brief's formula."""

from __future__ import annotations

import datetime as dt
import random
import statistics

from policies.model import Slo
from sla.indicators import CountFact, Facts, accurate, backlog_at, judge, percentile

START = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def facts(**fields: object) -> Facts:
    base: dict[str, object] = {
        "correlation_id": "c",
        "started_at": START,
        "workflow": "store_sale",
        "state": "completed",
    }
    return Facts(**{**base, **fields})  # type: ignore[arg-type]


def test_sync_latency_is_judged_exactly_on_the_stored_duration() -> None:
    slo = Slo("s", "sync_latency", 0.99, dt.timedelta(days=28), threshold=dt.timedelta(seconds=60))
    assert judge(slo, facts(latency_ms=60_000)).good is True  # type: ignore[union-attr]
    assert judge(slo, facts(latency_ms=60_001)).good is False  # type: ignore[union-attr]
    assert judge(slo, facts(state="stalled")).good is False  # type: ignore[union-attr]  never synced
    assert judge(slo, facts(state="in_progress")) is None  # not decided yet


def test_filters_and_series() -> None:
    slo = Slo(
        "s",
        "exception_rate",
        0.99,
        dt.timedelta(days=1),
        filter={"workflow": ("store_sale",)},
        group_by=("channel",),
    )
    assert judge(slo, facts(workflow="transfer")) is None
    verdict = judge(slo, facts(channel="web", state="failed"))
    assert verdict is not None and verdict.series == "channel=web" and verdict.good is False
    assert judge(slo, facts()).series == "channel=-"  # type: ignore[union-attr]  missing is its own series


def test_stock_accuracy_never_nets_overs_against_unders() -> None:
    tolerance = {"unit": "percent", "by_abc_class": {"A": 1, "B": 3, "C": 5}}
    over, under = CountFact(100, 104, "B"), CountFact(100, 96, "B")
    assert not accurate(over, tolerance) and not accurate(under, tolerance)  # each 4 % off a 3 % class
    assert accurate(CountFact(100, 104, "C"), tolerance)
    assert not accurate(CountFact(100, 101.5, "A"), tolerance)
    assert accurate(CountFact(7, 7, None), {}) and not accurate(CountFact(7, 8, None), {})  # default: exact
    assert accurate(CountFact(10, 12, None), {"unit": "units", "default": 2})


def test_oversell_counts_only_accepted_orders() -> None:
    slo = Slo("o", "oversell_rate", 0.995, dt.timedelta(days=7), group_by=("channel",))
    assert judge(slo, facts(workflow="transfer")) is None
    assert judge(slo, facts(accepted_order=True, oversold=True, channel="web")).good is False  # type: ignore[union-attr]
    assert judge(slo, facts(accepted_order=True, channel="web")).good is True  # type: ignore[union-attr]


def test_dead_letter_backlog_at_a_moment() -> None:
    hour = dt.timedelta(hours=1)
    letters = [(START, None), (START + hour, START + 2 * hour), (START + 3 * hour, None)]
    assert [backlog_at(letters, START + k * hour) for k in range(5)] == [1, 2, 1, 2, 2]


def test_percentile_matches_the_standard_library_inclusive_method() -> None:
    rng = random.Random(3)
    values = sorted(rng.expovariate(1 / 800) for _ in range(1001))
    cuts = statistics.quantiles(values, n=100, method="inclusive")  # linear between ranks
    for share, cut in ((0.5, cuts[49]), (0.95, cuts[94]), (0.99, cuts[98])):
        assert abs(percentile(values, share) - cut) < 1e-9  # type: ignore[operator]
    assert percentile([], 0.5) is None
