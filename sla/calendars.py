"""The periods an SLO is judged over: rolling windows, calendar months and the retail
NRF 4-5-4 calendar, each in the time zone the policy pack sets.

Pure date arithmetic, no I/O. Retailers report by the 4-5-4 calendar, not by calendar
months: its fiscal year ends on the Saturday nearest the end of January, so every year
has 52 weeks except one every five or six, which has 53; each quarter has months of 4, 5
and 4 weeks, and a 53rd week joins the year's last month. Boundaries fall at local
midnight, so a store's Saturday belongs to its own week wherever the server runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = [
    "Period",
    "calendar_month",
    "fiscal_year",
    "fiscal_year_end",
    "retail_month",
    "rolling",
]

_WEEKS = (4, 5, 4) * 4
_SATURDAY = 5


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, with the name people use for it."""

    name: str
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` where the zone is, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _local_day(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("moments must be timezone-aware")
    return moment.astimezone(zone).date()


def fiscal_year_end(year: int) -> dt.date:
    """The last day (a Saturday) of fiscal ``year``: the Saturday nearest January 31 of
    the next calendar year. Fiscal 2023 ends on 3 February 2024."""
    january_31 = dt.date(year + 1, 1, 31)
    after = (_SATURDAY - january_31.weekday()) % 7  # days to the next Saturday (0 if it is one)
    return january_31 + dt.timedelta(days=after if after <= 3 else after - 7)


def _fiscal_start(year: int) -> dt.date:
    return fiscal_year_end(year - 1) + dt.timedelta(days=1)


def _fiscal_year_of(day: dt.date) -> int:
    """Fiscal years are named after the calendar year they start in."""
    year = day.year
    return year if day >= _fiscal_start(year) else year - 1


def fiscal_year(moment: dt.datetime, zone: ZoneInfo) -> Period:
    """The 4-5-4 fiscal year holding ``moment`` (52 or 53 weeks)."""
    year = _fiscal_year_of(_local_day(moment, zone))
    start, last = _fiscal_start(year), fiscal_year_end(year)
    return Period(f"FY{year}", _midnight(start, zone), _midnight(last + dt.timedelta(days=1), zone))


def retail_month(moment: dt.datetime, zone: ZoneInfo) -> Period:
    """The 4-5-4 month (``FY2026 P03``) holding ``moment``."""
    day = _local_day(moment, zone)
    year = _fiscal_year_of(day)
    start = _fiscal_start(year)
    weeks_in_year = ((fiscal_year_end(year) - start).days + 1) // 7
    for number, weeks in enumerate(_WEEKS, start=1):
        if number == 12:
            weeks += weeks_in_year - 52  # the 53rd week closes the year
        end = start + dt.timedelta(weeks=weeks)
        if day < end:
            return Period(f"FY{year} P{number:02d}", _midnight(start, zone), _midnight(end, zone))
        start = end
    raise AssertionError(f"{day} fell outside fiscal {year}")  # pragma: no cover - the weeks add up


def calendar_month(moment: dt.datetime, zone: ZoneInfo) -> Period:
    """The calendar month holding ``moment``, from local midnight to local midnight."""
    day = _local_day(moment, zone)
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(f"{first:%Y-%m}", _midnight(first, zone), _midnight(following, zone))


def rolling(moment: dt.datetime, window: dt.timedelta) -> Period:
    """The ``window`` that ends at ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("moments must be timezone-aware")
    end = moment.astimezone(dt.UTC)
    return Period(f"last {_duration(window)}", end - window, end)


def _duration(window: dt.timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
