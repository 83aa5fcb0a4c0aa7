"""Where a peer library can express the same calendar, propcrm gives the same answers.

pandas ``CustomBusinessHour`` and businesstimedelta have lunch breaks and holidays but no make-up
working days, so the comparison drops the make-up days from propcrm's calendar. pandas moves a
deadline that lands on closing time to the next opening: propcrm's ``next_opening`` convention.
"""

from __future__ import annotations

import random
import warnings
from datetime import datetime, time, timedelta

import attrs
import pytest

from propcrm.metrics.calendar import BusinessCalendar, chinese_statutory

pd = pytest.importorskip("pandas")

SAMPLE = 300


@pytest.fixture(scope="module")
def calendar() -> BusinessCalendar:
    return attrs.evolve(chinese_statutory(), makeup_days=())


@pytest.fixture(scope="module")
def inputs(calendar: BusinessCalendar) -> list[tuple[datetime, int, datetime]]:
    rng = random.Random(3)
    first = datetime(2024, 1, 1, tzinfo=calendar.timezone)
    out = []
    for _ in range(SAMPLE):
        start = first + timedelta(minutes=rng.randrange(2 * 365 * 1440))
        out.append((start, rng.randint(1, 37), start + timedelta(minutes=rng.randrange(7 * 1440))))
    return out


def weekday_holidays(calendar: BusinessCalendar) -> list[object]:
    return sorted(d for d in calendar.holidays if d.weekday() < 5 and 2023 <= d.year <= 2026)


def test_pandas_custom_business_hour_agrees_with_next_opening(
    calendar: BusinessCalendar, inputs: list[tuple[datetime, int, datetime]]
) -> None:
    offset = pd.offsets.CustomBusinessHour(
        start=["09:00", "13:30"], end=["12:00", "18:00"], holidays=weekday_holidays(calendar)
    )
    opening = attrs.evolve(calendar, deadline="next_opening")
    earliest_differs = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start, hours, _ in inputs:
            theirs = (pd.Timestamp(start) + offset * hours).to_pydatetime()
            assert opening.add(start, timedelta(hours=hours)) == theirs
            earliest_differs += calendar.add(start, timedelta(hours=hours)) != theirs
    assert earliest_differs > 0  # the conventions do differ, at closing times


def test_businesstimedelta_agrees_on_add_and_elapsed(
    calendar: BusinessCalendar, inputs: list[tuple[datetime, int, datetime]]
) -> None:
    btd = pytest.importorskip("businesstimedelta")
    pytz = pytest.importorskip("pytz")
    tz = pytz.timezone("Asia/Shanghai")
    week = [0, 1, 2, 3, 4]
    rules = btd.Rules(
        [
            btd.WorkDayRule(time(9), time(18), working_days=week, tz=tz),
            btd.LunchTimeRule(time(12), time(13, 30), working_days=week, tz=tz),
            btd.HolidayRule(weekday_holidays(calendar), tz=tz),
        ]
    )
    for start, hours, end in inputs[:60]:
        assert calendar.add(start, timedelta(hours=hours)) == start + btd.BusinessTimeDelta(
            rules, hours=hours
        )
        assert calendar.elapsed(start, end) == rules.difference(start, end).timedelta


def test_pandas_timestamps_are_ordinary_aware_datetimes(
    calendar: BusinessCalendar, inputs: list[tuple[datetime, int, datetime]]
) -> None:
    calendar.compile(2024, 2025)
    for start, hours, end in inputs[:50]:
        duration = timedelta(hours=hours)
        assert calendar.add(pd.Timestamp(start), duration) == calendar.add(start, duration)
        assert calendar.elapsed(pd.Timestamp(start), pd.Timestamp(end)) == calendar.elapsed(
            start, end
        )
