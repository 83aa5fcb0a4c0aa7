"""Hypothesis: the compiled calendar equals the step-by-step reference on random calendars.

Calendars are random weekly templates (overnight shifts and overlaps included) in zones with DST
changes of an hour or of thirty minutes, with random holidays, make-up days and overrides; the
instants cluster around DST changes. Everything lies on the minute grid so the reference may step
minute by minute; one test leaves the grid and steps second by second.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

import numpy as np
from calendar_reference import SECOND, Reference
from hypothesis import assume, given
from hypothesis import strategies as st

from propcrm.metrics.calendar import (
    BusinessCalendar,
    DayOverride,
    MakeupDay,
    Shift,
    add_many,
    check_breaches,
    elapsed_many,
)

UTC = timezone.utc
ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
    "Asia/Kathmandu",  # +05:45
    "UTC",
]
# Days around the 2025 DST changes of the zones above, plus ordinary days.
ANCHORS = [
    date(2025, 3, 9),
    date(2025, 11, 2),
    date(2025, 3, 30),
    date(2025, 10, 26),
    date(2025, 4, 6),
    date(2025, 10, 5),
    date(2025, 1, 27),
    date(2025, 6, 15),
    date(2025, 1, 1),  # the first compiled day: overnight shifts spill in from the year before
]
QUARTER = 15 * 60


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    start = draw(st.integers(0, 95)) * QUARTER
    length = draw(st.integers(1, 96)) * QUARTER
    return Shift(start=start, end=start + length)


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, date]:
    anchor = draw(st.sampled_from(ANCHORS)) + timedelta(days=draw(st.integers(-3, 3)))
    weekly = [draw(st.lists(shifts(), max_size=3)) for _ in range(7)]
    near = st.integers(-10, 25).map(lambda n: anchor + timedelta(days=n))
    holidays = draw(st.sets(near, max_size=6))
    makeup = draw(st.sets(near, max_size=3)) - holidays
    override_days = draw(st.sets(near, max_size=2))
    calendar = BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        weekly=weekly,
        holidays=holidays,
        makeup_days=[MakeupDay(day=d, works_as=draw(st.integers(0, 6))) for d in makeup],
        overrides=[
            DayOverride(day=d, shifts=draw(st.lists(shifts(), max_size=2))) for d in override_days
        ],
    )
    return calendar, anchor


def instants(anchor: date, *, grid: int = 60) -> st.SearchStrategy[datetime]:
    base = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC) - timedelta(days=1)
    return st.integers(0, 6 * 86_400 // grid).map(lambda n: base + timedelta(seconds=n * grid))


def weekly_minutes(calendar: BusinessCalendar) -> int:
    return sum(s.end - s.start for day in calendar.weekly for s in day) // 60


@st.composite
def case(draw: st.DrawFn) -> tuple[BusinessCalendar, Reference, datetime, timedelta]:
    calendar, anchor = draw(calendars())
    start = draw(instants(anchor))
    # at most about a week of business time, so the reference's walk stays short
    top = min(weekly_minutes(calendar), 3 * 1440)
    ref = Reference(calendar)
    local_day = start.astimezone(calendar.timezone).date()
    edges = [
        edge
        for n in range(-1, 4)
        for interval in ref.intervals_on(local_day + timedelta(days=n))
        for edge in interval
        if edge >= start
    ]
    how = draw(st.sampled_from(["random", "edge", "near"] if edges else ["random", "near"]))
    if how == "random":
        duration = timedelta(minutes=draw(st.integers(0, top)))
    elif how == "edge":
        # exactly the business time to a window's start or end, where the conventions bite
        duration = ref.elapsed(start, draw(st.sampled_from(edges)))
    else:
        other = start + timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440)))
        duration = abs(ref.elapsed(start, other))
    return calendar, ref, start, duration


@given(case())
def test_add_and_subtract_equal_the_reference(data: tuple) -> None:
    calendar, ref, start, duration = data
    expected = ref.add(start, duration)
    assert calendar.add(start, duration) == expected
    # in the calendar's own zone (the fast path of fixed-offset zones, once compiled)
    local = start.astimezone(calendar.timezone)
    # Compared as UTC instants: a wall time in a DST fold never equals a datetime of another
    # zone (PEP 495), while its conversion shows whether the result's fold is right.
    assert calendar.add(local, duration).astimezone(UTC) == expected
    assert calendar.add(local, duration).tzinfo is calendar.timezone
    assert calendar.subtract(start, duration) == ref.subtract(start, duration)


@given(case(), st.data())
def test_elapsed_is_working_and_next_working_equal_the_reference(
    data: tuple, more: st.DataObject
) -> None:
    calendar, ref, start, _ = data
    end = start + timedelta(minutes=more.draw(st.integers(-4 * 1440, 4 * 1440)))
    expected = ref.elapsed(start, end)
    assert calendar.elapsed(start, end) == expected
    zone = calendar.timezone
    assert calendar.elapsed(start.astimezone(zone), end.astimezone(zone)) == expected
    assert calendar.is_working(start) == ref.is_working(start)
    expected = ref.next_working(start)
    if expected is not None:
        assert calendar.next_working(start) == expected


@given(case(), st.data())
def test_working_intervals_are_exactly_the_working_minutes(
    data: tuple, more: st.DataObject
) -> None:
    calendar, ref, start, _ = data
    end = start + timedelta(minutes=more.draw(st.integers(0, 3 * 1440)))
    intervals = calendar.working_intervals(start, end)
    assert sum((b - a for a, b in intervals), timedelta(0)) == ref.elapsed(start, end)
    for (a, b), (c, _) in itertools.pairwise(intervals):
        assert start <= a < b < c <= end  # sorted, disjoint, merged, inside the span
    for a, b in intervals:
        assert ref.is_working(a)
        assert ref.is_working(b - timedelta(minutes=1))


@given(case(), st.data())
def test_add_and_elapsed_are_inverse_monotonic_and_additive(
    data: tuple, more: st.DataObject
) -> None:
    calendar, _, start, duration = data
    assume(weekly_minutes(calendar) > 0)  # else any positive duration rightly raises
    other = timedelta(minutes=more.draw(st.integers(0, 600)))
    later = start + timedelta(minutes=more.draw(st.integers(0, 3 * 1440)))
    due = calendar.add(start, duration)
    # inverse
    assert calendar.elapsed(start, due) == duration
    assert calendar.elapsed(
        calendar.add(start, calendar.elapsed(start, later)), later
    ) == timedelta(0)
    back = calendar.subtract(due, duration)
    assert back >= start
    assert calendar.elapsed(start, back) == timedelta(0)
    assert calendar.add(due, -duration) == back
    # monotonic in the start and in the duration
    assert calendar.add(later, duration) >= due
    assert calendar.add(start, duration + other) >= due
    assert calendar.elapsed(start, later + other) >= calendar.elapsed(start, later)
    # additive
    assert calendar.add(due, other) == calendar.add(start, duration + other)
    assert calendar.elapsed(start, later) + calendar.elapsed(later, due) == duration
    assert calendar.elapsed(later, start) == -calendar.elapsed(start, later)


@given(case(), st.data())
def test_second_resolution_equals_the_second_by_second_reference(
    data: tuple, more: st.DataObject
) -> None:
    calendar, ref, near, _ = data
    start = more.draw(instants(near.date(), grid=1))
    duration = timedelta(seconds=more.draw(st.integers(0, 3 * 3600)))
    assume(weekly_minutes(calendar) >= 7 * 600)  # dense enough for a short walk
    assert calendar.add(start, duration) == ref.add(start, duration, step=SECOND)
    end = start + timedelta(seconds=more.draw(st.integers(-86_400, 86_400)))
    assert calendar.elapsed(start, end) == ref.elapsed(start, end, step=SECOND)


@given(calendars(), st.data())
def test_vectorised_path_equals_the_scalar_path(drawn: tuple, more: st.DataObject) -> None:
    calendar, anchor = drawn
    starts = more.draw(st.lists(instants(anchor, grid=1), min_size=1, max_size=8))
    top = min(weekly_minutes(calendar), 3 * 1440) * 60
    seconds = more.draw(
        st.lists(st.integers(-top, top), min_size=len(starts), max_size=len(starts))
    )
    epoch = np.array([int(s.timestamp()) for s in starts], dtype=np.int64)
    durations = np.array(seconds, dtype=np.int64)
    expected = [calendar.add(s, timedelta(seconds=d)) for s, d in zip(starts, seconds, strict=True)]
    assert add_many(calendar, epoch, durations).tolist() == [int(e.timestamp()) for e in expected]
    as_ns = add_many(calendar, epoch.astype("datetime64[s]").astype("datetime64[ns]"), durations)
    assert as_ns.astype("datetime64[s]").astype(np.int64).tolist() == [
        int(e.timestamp()) for e in expected
    ]
    now = starts[0]
    assert elapsed_many(calendar, epoch, int(now.timestamp())).tolist() == [
        int(calendar.elapsed(s, now).total_seconds()) for s in starts
    ]
    result = check_breaches(calendar, epoch, now)
    assert result.breached.tolist() == [now > s for s in starts]
    assert result.remaining.tolist() == [
        int(calendar.elapsed(now, s).total_seconds()) for s in starts
    ]
