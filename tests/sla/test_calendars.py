"""The 4-5-4 retail calendar, calendar months and rolling windows, against published
NRF calendar dates and independent day counting."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import calendar_month, fiscal_year, fiscal_year_end, retail_month, rolling

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("year", "end"),
    [  # the NRF's published fiscal year ends
        (2021, dt.date(2022, 1, 29)),
        (2022, dt.date(2023, 1, 28)),
        (2023, dt.date(2024, 2, 3)),  # a 53-week year
        (2024, dt.date(2025, 2, 1)),
        (2025, dt.date(2026, 1, 31)),
        (2026, dt.date(2027, 1, 30)),
        (2028, dt.date(2029, 2, 3)),  # the next 53-week year
    ],
)
def test_fiscal_years_end_on_the_saturday_nearest_january_31(year: int, end: dt.date) -> None:
    assert fiscal_year_end(year) == end
    assert end.weekday() == 5


def test_weeks_per_year_are_52_except_every_five_or_six_years() -> None:
    long_years = [
        year
        for year in range(2000, 2040)
        if (fiscal_year_end(year) - fiscal_year_end(year - 1)).days == 53 * 7
    ]
    assert long_years == [2000, 2006, 2012, 2017, 2023, 2028, 2034]
    for year in range(2000, 2040):
        assert (fiscal_year_end(year) - fiscal_year_end(year - 1)).days in (364, 371)


def test_months_follow_4_5_4_and_the_53rd_week_closes_the_year() -> None:
    for year, weeks in ((2024, 52), (2023, 53)):
        moment = at(f"{year}-03-15T12:00:00+00:00")
        months = []
        period = retail_month(fiscal_year(moment, UTC).start, UTC)
        while period.start < fiscal_year(moment, UTC).end:
            months.append(period)
            period = retail_month(period.end, UTC)
        assert [p.name for p in months] == [f"FY{year} P{n:02d}" for n in range(1, 13)]
        lengths = [p.length.days // 7 for p in months]
        assert lengths[:11] == [4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5]
        assert lengths[11] == (4 if weeks == 52 else 5)
        assert sum(lengths) == weeks
        assert all(a.end == b.start for a, b in itertools.pairwise(months))


def test_a_store_saturday_night_belongs_to_its_own_week() -> None:
    # FY2026 P01 ends on Saturday 28 February 2026 in New York; 23:30 there is 04:30 UTC on
    # Sunday, which a UTC calendar would put in the next month
    late = at("2026-03-01T04:30:00+00:00")
    assert retail_month(late, NEW_YORK).name == "FY2026 P01"
    assert retail_month(late, UTC).name == "FY2026 P02"
    period = retail_month(late, NEW_YORK)
    assert period.start == at("2026-02-01T05:00:00+00:00")  # local midnight, EST
    assert period.end == at("2026-03-01T05:00:00+00:00")


def test_calendar_months_in_a_zone_cross_daylight_saving_time() -> None:
    march = calendar_month(at("2026-03-20T12:00:00+00:00"), NEW_YORK)
    assert march.name == "2026-03"
    assert march.start == at("2026-03-01T05:00:00+00:00")  # EST
    assert march.end == at("2026-04-01T04:00:00+00:00")  # EDT
    assert march.length == dt.timedelta(days=31) - dt.timedelta(hours=1)
    december = calendar_month(at("2026-12-31T23:00:00+00:00"), UTC)
    assert december.end == at("2027-01-01T00:00:00+00:00")


def test_rolling_windows_end_now() -> None:
    now = at("2026-12-07T10:00:00+01:00")
    window = rolling(now, dt.timedelta(days=28))
    assert window.end == at("2026-12-07T09:00:00+00:00")
    assert window.length == dt.timedelta(days=28)
    assert window.name == "last 28d"
    assert window.start in window and now - dt.timedelta(microseconds=1) in window
    assert now not in window  # half-open: [start, end)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        retail_month(dt.datetime(2026, 3, 1), UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        rolling(dt.datetime(2026, 3, 1), dt.timedelta(hours=1))
