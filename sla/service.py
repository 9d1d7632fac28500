"""Refresh the SLA rollups from changed transactions, then evaluate every SLO of the pack.

A refresh reads only the transactions updated since its watermark (less a margin for
writers whose clock reading preceded their commit), rebuilds their facts and recomputes
the rollup minutes they start in; raw events are never rescanned. Both steps are
idempotent, so a refresh that overlaps another, or runs twice, writes the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.orm import Session

from policies.model import PolicyPack, Slo

from .budgets import Counts
from .calendars import Period, calendar_month, retail_month, rolling
from .evaluation import RECENT, SeriesStatus, alert_rules, status_of
from .indicators import Facts, backlog_at
from .models import SloEvaluation
from .repository import (
    MINUTE,
    changed_since,
    dead_letters,
    floor_minute,
    load_facts,
    read_watermark,
    replace_minutes,
    replace_samples,
    store_facts,
    window_counts,
    write_watermark,
)

__all__ = ["MARGIN", "Refresh", "evaluate", "refresh"]

MARGIN = dt.timedelta(minutes=5)
"""How far before the watermark a refresh looks again: an ingestion reads its clock before
it commits, so a transaction can become visible with an ``updated_at`` slightly in the past."""
_WATERMARK = "rollups"


@dataclass(frozen=True)
class Refresh:
    transactions: int
    minutes: int
    rows: int
    until: dt.datetime


def refresh(
    session: Session, pack: PolicyPack, now: dt.datetime, *, since: dt.datetime | None = None
) -> Refresh:
    """Fold transactions changed since the watermark into facts and rollups.

    ``since`` (a backfill) refolds every transaction that started at or after it instead.
    """
    watermark = read_watermark(session, _WATERMARK)
    if since is not None:
        changed = changed_since(session, None, started_since=since)
    else:
        changed = changed_since(session, watermark - MARGIN if watermark else None)
    facts = list(load_facts(session, changed))
    store_facts(session, facts)
    minutes = {floor_minute(fact.started_at) for fact in facts}
    rows = replace_minutes(session, pack.slos.values(), minutes)
    until = floor_minute(now)
    backlog_since = since or (watermark - MARGIN if watermark else _earliest(facts, until))
    rows += _sample_backlogs(session, pack, floor_minute(backlog_since), until)
    write_watermark(session, _WATERMARK, now)
    return Refresh(len(facts), len(minutes), rows, now)


def _earliest(facts: list[Facts], until: dt.datetime) -> dt.datetime:
    return min((fact.started_at for fact in facts), default=until)


def _sample_backlogs(session: Session, pack: PolicyPack, since: dt.datetime, until: dt.datetime) -> int:
    """One sample per minute of each dead-letter backlog SLO: good when the backlog at the
    end of the minute is within the SLO's threshold."""
    slos = [slo for slo in pack.slos.values() if slo.indicator == "dead_letter_backlog"]
    if not slos or since >= until:
        return 0
    letters = dead_letters(session, until + MINUTE)
    written = 0
    for slo in slos:
        limit = float(slo.threshold) if isinstance(slo.threshold, (int, float)) else 0.0
        samples = {}
        minute = since
        while minute < until:
            samples[minute] = backlog_at(letters, minute + MINUTE) <= limit
            minute += MINUTE
        replace_samples(session, slo, samples)
        written += len(samples)
    return written


def evaluate(
    session: Session, pack: PolicyPack, at: dt.datetime, *, store: bool = True
) -> list[SeriesStatus]:
    """Every series of every SLO at ``at``; stored with the pack's version unless ``store``
    is false. Alerts fire only when both their windows burn (see :mod:`sla.budgets`)."""
    zone = ZoneInfo(pack.slo_evaluation.time_zone)
    statuses: list[SeriesStatus] = []
    for slo in pack.slos.values():
        statuses += _evaluate_slo(session, pack, slo, at, zone)
    if store:
        session.add_all(
            SloEvaluation(
                slo=status.slo,
                series=status.series,
                evaluated_at=at,
                policy_pack=pack.label,
                definition=_definition(pack, status.slo),
                state=status.state,
                good=status.rolling.counts.good,
                total=status.rolling.counts.total,
                attainment=status.rolling.attainment,
                budget_remaining=status.rolling.remaining_share,
                detail=status.detail(),
            )
            for status in statuses
        )
    return statuses


def _counts(session: Session, slo: Slo, period: Period) -> dict[str, Counts]:
    return window_counts(session, slo.name, period.start, period.end)


def _evaluate_slo(
    session: Session, pack: PolicyPack, slo: Slo, at: dt.datetime, zone: ZoneInfo
) -> list[SeriesStatus]:
    window = rolling(at, slo.window)
    in_window = _counts(session, slo, window)
    calendars = [calendar_month(at, zone), retail_month(at, zone)]
    calendar_counts = [_counts(session, slo, Period(p.name, p.start, min(p.end, at))) for p in calendars]
    spans = {
        rule.name: (
            _counts(session, slo, rolling(at, rule.long_window)),
            _counts(session, slo, rolling(at, rule.short_window)),
        )
        for rule in alert_rules(slo)
    }
    recent = _counts(session, slo, rolling(at, RECENT))
    series_names = sorted(set(in_window) | {name for counts in calendar_counts for name in counts}) or [""]
    none = Counts(0, 0)
    return [
        status_of(
            slo,
            series,
            at,
            window=(window, in_window.get(series, none)),
            calendars={
                period: counts.get(series, none)
                for period, counts in zip(calendars, calendar_counts, strict=True)
            },
            alert_windows={
                name: (long.get(series, none), short.get(series, none))
                for name, (long, short) in spans.items()
            },
            recent=recent.get(series, none),
            settings=pack.slo_evaluation,
        )
        for series in series_names
    ]


def _definition(pack: PolicyPack, name: str) -> dict[str, object]:
    """The SLO as the pack defined it when evaluated, so history shows it as it was."""
    raw = pack.sections.get("slos", {}).get("slos", {}).get(name, {})
    thawed: dict[str, object] = orjson.loads(orjson.dumps(raw, default=dict))  # frozen mappings
    return thawed
