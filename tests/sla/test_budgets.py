"""Error budgets and burn-rate alerts, checked against the SRE workbook's worked numbers and
an independent computation with fractions."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest

from sla.budgets import AlertRule, Counts, SloState, budget, burn_rate, evaluate_alert, exhaustion

PAGE_FAST = AlertRule("page-fast", "page", 14.4, dt.timedelta(hours=1), dt.timedelta(minutes=5))


def test_budgets_are_counted_not_averaged() -> None:
    """Two days of 1,000 and 10 events: averaging the daily ratios says 50 %, counting the
    events says 99.0 %, met; the budget follows the events."""
    busy, quiet = Counts(good=1000, total=1000), Counts(good=0, total=10)
    whole = budget(busy + quiet, 0.99)
    assert whole.attainment == pytest.approx(1000 / 1010)
    assert whole.state is SloState.MET  # 1,000 good >= 0.99 × 1,010 = 999.9; averaged: 50 %, breached
    assert whole.allowed == pytest.approx(10.1)
    assert whole.spent == 10 and whole.remaining == pytest.approx(0.1)


def test_budget_figures_match_exact_fractions() -> None:
    chance = random.Random(3)
    for _ in range(500):
        total = chance.randint(1, 100_000)
        good = chance.randint(0, total)
        target = chance.choice([0.9, 0.99, 0.995, 0.999])
        figures = budget(Counts(good, total), target)
        exact_allowed = (1 - Fraction(target)) * total
        assert figures.allowed == pytest.approx(float(exact_allowed))
        assert figures.remaining == pytest.approx(float(exact_allowed - (total - good)), abs=1e-6)
        met = Fraction(good) >= Fraction(target) * total
        assert (figures.state is SloState.MET) == met or abs(good - target * total) < 1e-6
        rate = burn_rate(Counts(good, total), target)
        assert rate == pytest.approx(float(Fraction(total - good, total) / (1 - Fraction(target))))


def test_low_traffic_is_not_green() -> None:
    assert budget(Counts(3, 3), 0.99, min_events=50).state is SloState.INSUFFICIENT_DATA
    assert budget(Counts(0, 0), 0.99).state is SloState.INSUFFICIENT_DATA
    assert budget(Counts(0, 0), 0.99).attainment is None
    assert budget(Counts(50, 50), 0.99, min_events=50).state is SloState.MET


def test_the_workbook_page_fires_only_when_both_windows_burn() -> None:
    target = 0.999  # 0.1 % allowed: 14.4x is a 1.44 % bad share
    burning = Counts(good=9_850, total=10_000)  # 1.5 % bad: 15x
    cooling = Counts(good=999, total=1_000)  # 0.1 % bad: 1x
    assert burn_rate(burning, target) == pytest.approx(15.0)
    fired = evaluate_alert(PAGE_FAST, burning, Counts(985, 1000), target)
    assert fired.firing and fired.long_burn == pytest.approx(15.0)
    assert "15.00x over 1:00:00" in fired.reason and "150 bad of 10000" in fired.reason
    recovered = evaluate_alert(PAGE_FAST, burning, cooling, target)
    assert not recovered.firing  # the long window still burns, the short one stopped
    assert not evaluate_alert(PAGE_FAST, Counts(9_990, 10_000), Counts(900, 1000), target).firing


def test_an_alert_needs_a_minimum_of_bad_events() -> None:
    one_of_three = Counts(good=2, total=3)  # 33 % bad: hundreds of times the rate
    quiet = evaluate_alert(PAGE_FAST, one_of_three, one_of_three, 0.999, min_bad=5)
    assert not quiet.firing and "below 5 bad" in quiet.reason
    assert evaluate_alert(PAGE_FAST, one_of_three, one_of_three, 0.999, min_bad=1).firing


def test_no_events_never_fire() -> None:
    verdict = evaluate_alert(PAGE_FAST, Counts(0, 0), Counts(0, 0), 0.99, min_bad=0)
    assert not verdict.firing and verdict.long_burn is None and "no events" in verdict.reason


def test_exhaustion_forecast() -> None:
    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    assert exhaustion(30, 10, now) == now + dt.timedelta(hours=3)
    assert exhaustion(0, 10, now) == now
    assert exhaustion(-5, 0, now) == now
    assert exhaustion(30, 0, now) is None


@pytest.mark.parametrize("target", [0, 1, 1.5, -0.1])
def test_targets_are_shares(target: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        budget(Counts(1, 1), target)


def test_counts_must_make_sense() -> None:
    with pytest.raises(ValueError, match="between 0 and total"):
        Counts(good=5, total=3)


def test_an_outage_fires_once_and_resolves_once() -> None:
    """Minute by minute through an outage: bad events start, keep coming, stop."""
    from sla.budgets import transition

    target, start = 0.999, dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
    bad_minutes = set(range(30, 50))
    history: list[tuple[int, bool]] = []  # per minute: (events, all good?)
    firing, changes = False, []
    for minute in range(120):
        history.append((100, minute not in bad_minutes))

        def window(minutes: int, history: list[tuple[int, bool]] = history) -> Counts:
            recent = history[-minutes:]
            return Counts(sum(n for n, ok in recent if ok), sum(n for n, _ in recent))

        verdict = evaluate_alert(PAGE_FAST, window(60), window(5), target, min_bad=10)
        change = transition(firing, verdict, start + dt.timedelta(minutes=minute))
        if change is not None:
            changes.append((minute, change.state))
            firing = change.state == "firing"
    # fires with the first bad minute (both windows burn at once: 100 % bad is 1000x), and
    # resolves when the 5-minute window has none left, though the hour still burns
    assert changes == [(30, "firing"), (54, "resolved")]
