"""Error budgets and multi-window, multi-burn-rate alerts, by occurrences.

Pure arithmetic on counts of good and total events, no I/O. Budgets are counted, never
averaged: an SLO of target ``t`` over a window allows ``(1 - t) × total`` bad events, and
attainment is ``good ÷ total`` of the whole window, so the figures always add up however
the window is sliced. Low traffic is not green: below a minimum number of events the
verdict is ``insufficient_data``, and an alert also needs a minimum number of bad events,
so one failure among three transactions at night does not page anyone.

The alert rules are the Google SRE workbook's: a rule fires only when the burn rate over
both its long and its short window reaches the rule's factor (the long window proves the
burn is significant, the short one that it is still going on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AlertRule",
    "AlertVerdict",
    "Budget",
    "Counts",
    "SloState",
    "Transition",
    "budget",
    "burn_rate",
    "evaluate_alert",
    "exhaustion",
    "transition",
]


@dataclass(frozen=True)
class Counts:
    """Good and total events of one window (bad = total - good)."""

    good: int
    total: int

    def __post_init__(self) -> None:
        if not 0 <= self.good <= self.total:
            raise ValueError(f"good ({self.good}) must be between 0 and total ({self.total})")

    @property
    def bad(self) -> int:
        return self.total - self.good

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.good + other.good, self.total + other.total)


class SloState(StrEnum):
    MET = "met"
    BREACHED = "breached"  # attainment below target over the window
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class Budget:
    """An SLO's error budget over one window, in events."""

    target: float
    counts: Counts
    state: SloState

    @property
    def attainment(self) -> float | None:
        return self.counts.good / self.counts.total if self.counts.total else None

    @property
    def allowed(self) -> float:
        """Bad events the window may hold: ``(1 - target) × total``."""
        return (1 - self.target) * self.counts.total

    @property
    def spent(self) -> int:
        return self.counts.bad

    @property
    def remaining(self) -> float:
        """Bad events still allowed (negative once overspent)."""
        return self.allowed - self.spent

    @property
    def remaining_share(self) -> float | None:
        """The budget left as a share of the whole (1.0 untouched, 0 spent, below 0 over)."""
        return self.remaining / self.allowed if self.allowed else None


def _check_target(target: float) -> None:
    if not 0 < target < 1:
        raise ValueError(f"an SLO target is a share strictly between 0 and 1, not {target}")


def budget(counts: Counts, target: float, *, min_events: int = 1) -> Budget:
    """The error budget of ``counts`` against ``target``; ``insufficient_data`` below
    ``min_events``."""
    _check_target(target)
    if counts.total < max(min_events, 1):
        state = SloState.INSUFFICIENT_DATA
    else:
        state = SloState.MET if counts.good >= target * counts.total else SloState.BREACHED
    return Budget(target, counts, state)


def burn_rate(counts: Counts, target: float) -> float | None:
    """How fast a window spends the budget: its bad share ÷ the allowed share. 1.0 spends
    exactly the budget over the SLO's window; 14.4 spends a 30-day budget's 2 % in an
    hour. None without events."""
    _check_target(target)
    if not counts.total:
        return None
    return (counts.bad / counts.total) / (1 - target)


@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: str  # page | ticket
    burn_rate: float
    long_window: dt.timedelta
    short_window: dt.timedelta


@dataclass(frozen=True)
class AlertVerdict:
    """Whether a rule fires, with the numbers that decided it (stored with each transition)."""

    rule: AlertRule
    firing: bool
    long_burn: float | None
    short_burn: float | None
    long_bad: int
    reason: str


def evaluate_alert(
    rule: AlertRule, long: Counts, short: Counts, target: float, *, min_bad: int = 1
) -> AlertVerdict:
    """Fire when both windows burn at ``rule.burn_rate`` or more and the long window holds
    at least ``min_bad`` bad events."""
    long_burn, short_burn = burn_rate(long, target), burn_rate(short, target)

    def shown(rate: float | None) -> str:
        return "no events" if rate is None else f"{rate:.2f}x"

    numbers = (
        f"burn {shown(long_burn)} over {rule.long_window} and {shown(short_burn)} over "
        f"{rule.short_window} (threshold {rule.burn_rate:g}x), {long.bad} bad of {long.total}"
    )
    if long.bad < min_bad:
        return AlertVerdict(rule, False, long_burn, short_burn, long.bad, f"{numbers}: below {min_bad} bad")
    firing = (
        long_burn is not None
        and short_burn is not None
        and long_burn >= rule.burn_rate
        and short_burn >= rule.burn_rate
    )
    return AlertVerdict(rule, firing, long_burn, short_burn, long.bad, numbers)


def exhaustion(remaining: float, bad_per_hour: float, now: dt.datetime) -> dt.datetime | None:
    """When the budget runs out if bad events keep arriving at ``bad_per_hour``: now when
    it already has, never (None) when nothing bad arrives."""
    if remaining <= 0:
        return now
    if bad_per_hour <= 0:
        return None
    return now + dt.timedelta(hours=remaining / bad_per_hour)


@dataclass(frozen=True)
class Transition:
    """An alert changing state, with when and why (the numbers that crossed)."""

    rule: str
    state: str  # firing | resolved
    at: dt.datetime
    reason: str


def transition(was_firing: bool, verdict: AlertVerdict, at: dt.datetime) -> Transition | None:
    """The alert's change of state, if any: firing once when it starts, resolved once when
    it ends, nothing while it stays as it was (a firing alert is never sent again)."""
    if verdict.firing == was_firing:
        return None
    return Transition(verdict.rule.name, "firing" if verdict.firing else "resolved", at, verdict.reason)
