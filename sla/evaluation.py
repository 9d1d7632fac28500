"""One SLO series at one moment: budget over the rolling window and the calendar periods,
burn rate over each alert window, and when the budget runs out at the current burn.

Pure: the service hands in the counts it summed from the rollups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from policies.model import Slo, SloEvaluation

from .budgets import AlertRule, AlertVerdict, Budget, Counts, budget, evaluate_alert, exhaustion
from .calendars import Period

__all__ = ["RECENT", "SeriesStatus", "alert_rules", "status_of"]

_DURATION = TypeAdapter(dt.timedelta)
RECENT = dt.timedelta(hours=1)
"""The span whose bad events per hour forecast when the budget runs out."""


@dataclass(frozen=True)
class SeriesStatus:
    slo: str
    series: str
    at: dt.datetime
    rolling: Budget
    window: Period
    calendars: tuple[tuple[Period, Budget], ...]
    alerts: tuple[AlertVerdict, ...]
    exhausted_at: dt.datetime | None

    @property
    def state(self) -> str:
        return self.rolling.state.value

    @property
    def firing(self) -> tuple[str, ...]:
        return tuple(verdict.rule.name for verdict in self.alerts if verdict.firing)

    def detail(self) -> dict[str, Any]:
        """The JSON stored with the evaluation and served by the API."""
        return {
            "window": _period(self.window, self.rolling),
            "calendars": [_period(period, view) for period, view in self.calendars],
            "burn_rates": [
                {
                    "alert": verdict.rule.name,
                    "severity": verdict.rule.severity,
                    "threshold": verdict.rule.burn_rate,
                    "long_window": _iso(verdict.rule.long_window),
                    "short_window": _iso(verdict.rule.short_window),
                    "long_burn": verdict.long_burn,
                    "short_burn": verdict.short_burn,
                    "firing": verdict.firing,
                    "reason": verdict.reason,
                }
                for verdict in self.alerts
            ],
            "exhausted_at": self.exhausted_at.isoformat() if self.exhausted_at else None,
        }


def _period(period: Period, view: Budget) -> dict[str, Any]:
    return {
        "name": period.name,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "state": view.state.value,
        "good": view.counts.good,
        "total": view.counts.total,
        "attainment": view.attainment,
        "budget_total": view.allowed,
        "budget_spent": view.spent,
        "budget_remaining": view.remaining,
        "budget_remaining_share": view.remaining_share,
    }


def _iso(span: dt.timedelta) -> str:
    """An ISO 8601 duration, as the pack writes it (``PT1H``, ``P3D``)."""
    return str(_DURATION.dump_python(span, mode="json"))


def alert_rules(slo: Slo) -> tuple[AlertRule, ...]:
    return tuple(
        AlertRule(alert.name, alert.severity, alert.burn_rate, alert.long_window, alert.short_window)
        for alert in slo.alerts
    )


def status_of(
    slo: Slo,
    series: str,
    at: dt.datetime,
    *,
    window: tuple[Period, Counts],
    calendars: Mapping[Period, Counts],
    alert_windows: Mapping[str, tuple[Counts, Counts]],
    recent: Counts,
    settings: SloEvaluation,
) -> SeriesStatus:
    """The series' status from its counts: ``window`` is the SLO's rolling window,
    ``alert_windows`` maps each alert to its (long, short) counts, ``recent`` is the last
    hour (the pace of bad events for the forecast)."""
    period, counts = window
    rolling = budget(counts, slo.target, min_events=settings.min_events)
    views = tuple(
        (calendar, budget(calendar_counts, slo.target, min_events=settings.min_events))
        for calendar, calendar_counts in calendars.items()
    )
    verdicts = tuple(
        evaluate_alert(rule, *alert_windows[rule.name], slo.target, min_bad=settings.min_bad_events)
        for rule in alert_rules(slo)
    )
    hours = RECENT.total_seconds() / 3600
    exhausted = exhaustion(rolling.remaining, recent.bad / hours, at) if rolling.counts.total else None
    return SeriesStatus(slo.name, series, at, rolling, period, views, verdicts, exhausted)
