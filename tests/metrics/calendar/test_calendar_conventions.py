"""A hand-worked case for every convention of the business calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest

from propcrm.errors import CalendarRangeError, ValidationError
from propcrm.metrics.calendar import (
    BusinessCalendar,
    DayOverride,
    MakeupDay,
    Shift,
    twenty_four_seven,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)


def office(**changes: object) -> BusinessCalendar:
    fields: dict[str, object] = {
        "name": "office",
        "timezone": "Asia/Shanghai",
        "weekly": {"mon-fri": "09:00-12:00,13:30-18:00"},
    }
    fields.update(changes)
    return BusinessCalendar(**fields)  # type: ignore[arg-type]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


# -- the deadline convention ---------------------------------------------------------------------


def test_earliest_instant_a_duration_using_up_a_window_is_due_at_its_end() -> None:
    cal = office()
    assert cal.add(sh(2025, 3, 3, 17), H) == sh(2025, 3, 3, 18)  # Monday 18:00, not Tuesday 09:00
    assert cal.add(sh(2025, 3, 3, 11), H) == sh(2025, 3, 3, 12)  # lunch starts, not 13:30
    assert cal.add(sh(2025, 3, 7, 17), H) == sh(2025, 3, 7, 18)  # Friday close, not Monday


def test_next_opening_convention_moves_a_closing_deadline_to_the_next_opening() -> None:
    cal = office(deadline="next_opening")
    assert cal.add(sh(2025, 3, 3, 17), H) == sh(2025, 3, 4, 9)
    assert cal.add(sh(2025, 3, 3, 11), H) == sh(2025, 3, 3, 13, 30)
    assert cal.add(sh(2025, 3, 3, 10), H) == sh(2025, 3, 3, 11)  # inside a window: unchanged
    assert cal.add(sh(2025, 3, 8, 10), timedelta(0)) == sh(2025, 3, 10, 9)  # Saturday


def test_zero_duration_is_the_start_itself_even_when_closed() -> None:
    cal = office()
    saturday = sh(2025, 3, 8, 10)
    assert cal.add(saturday, timedelta(0)) == saturday
    assert cal.subtract(saturday, timedelta(0)) == saturday


def test_a_window_needing_more_carries_over_lunch_nights_and_weekends() -> None:
    cal = office()
    assert cal.add(sh(2025, 3, 3, 11, 30), H) == sh(2025, 3, 3, 14)
    assert cal.add(sh(2025, 3, 7, 17), 2 * H) == sh(2025, 3, 10, 10)  # over the weekend
    assert cal.add(sh(2025, 3, 8, 3), H) == sh(2025, 3, 10, 10)  # starting while closed


def test_subtract_returns_the_latest_instant_and_negative_add_subtracts() -> None:
    cal = office()
    assert cal.subtract(sh(2025, 3, 4, 10), H) == sh(2025, 3, 4, 9)  # a window start
    assert cal.subtract(sh(2025, 3, 4, 9, 30), H) == sh(2025, 3, 3, 17, 30)
    assert cal.subtract(sh(2025, 3, 4, 8), H) == sh(2025, 3, 3, 17)  # from the closed morning
    assert cal.add(sh(2025, 3, 4, 10), -H) == sh(2025, 3, 4, 9)
    assert cal.subtract(sh(2025, 3, 4, 9), -H) == sh(2025, 3, 4, 10)


def test_elapsed_is_signed_and_counts_only_working_time() -> None:
    cal = office()
    assert cal.elapsed(sh(2025, 3, 3, 8), sh(2025, 3, 3, 20)) == timedelta(hours=7, minutes=30)
    assert cal.elapsed(sh(2025, 3, 3, 20), sh(2025, 3, 3, 8)) == -timedelta(hours=7, minutes=30)
    assert cal.elapsed(sh(2025, 3, 8, 8), sh(2025, 3, 9, 20)) == timedelta(0)  # a weekend
    assert cal.elapsed(sh(2025, 3, 3, 9), sh(2025, 3, 3, 9, 0, 0, 1)) == timedelta(microseconds=1)


def test_windows_are_half_open_start_works_end_does_not() -> None:
    cal = office()
    assert cal.is_working(sh(2025, 3, 3, 9))
    assert not cal.is_working(sh(2025, 3, 3, 12))
    assert cal.is_working(sh(2025, 3, 3, 11, 59, 59, 999999))
    assert cal.next_working(sh(2025, 3, 3, 12)) == sh(2025, 3, 3, 13, 30)
    assert cal.next_working(sh(2025, 3, 3, 10)) == sh(2025, 3, 3, 10)
    assert cal.next_working(sh(2025, 3, 7, 18)) == sh(2025, 3, 10, 9)


def test_results_come_back_in_the_zone_of_the_input() -> None:
    cal = office()
    start = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)  # 17:00 in Shanghai
    due = cal.add(start, H)
    assert due.tzinfo is timezone.utc
    assert due == datetime(2025, 3, 3, 10, tzinfo=timezone.utc)


def test_working_intervals_are_clipped_and_in_order() -> None:
    cal = office()
    got = cal.working_intervals(sh(2025, 3, 3, 10), sh(2025, 3, 4, 10))
    assert got == [
        (sh(2025, 3, 3, 10), sh(2025, 3, 3, 12)),
        (sh(2025, 3, 3, 13, 30), sh(2025, 3, 3, 18)),
        (sh(2025, 3, 4, 9), sh(2025, 3, 4, 10)),
    ]
    assert cal.working_intervals(sh(2025, 3, 4, 10), sh(2025, 3, 3, 10)) == []


# -- overnight shifts ----------------------------------------------------------------------------


def test_overnight_shift_written_either_way_belongs_to_the_day_it_starts() -> None:
    assert (
        Shift.parse("20:00-08:30") == Shift.parse("20:00-32:30") == Shift(start=72000, end=117000)
    )
    assert str(Shift.parse("20:00-08:30")) == "20:00-32:30"
    cal = office(weekly={"fri": "20:00-08:30"}, holidays=["2025-03-08"])
    # Friday 20:00 to Saturday 08:30 works although Saturday is a holiday
    assert cal.add(sh(2025, 3, 7, 20), timedelta(hours=12)) == sh(2025, 3, 8, 8)
    assert cal.is_working(sh(2025, 3, 8, 8))
    # a holiday on the Friday removes the whole shift
    off = office(weekly={"fri": "20:00-08:30"}, holidays=["2025-03-07"])
    assert not off.is_working(sh(2025, 3, 8, 1))
    assert off.next_working(sh(2025, 3, 7, 19)) == sh(2025, 3, 14, 20)


def test_overnight_shift_into_the_next_mornings_shift_is_one_interval() -> None:
    cal = office(weekly={"mon": "20:00-08:00", "tue": "08:00-12:00"})
    assert cal.working_intervals(sh(2025, 3, 3), sh(2025, 3, 5)) == [
        (sh(2025, 3, 3, 20), sh(2025, 3, 4, 12))
    ]


def test_overnight_shift_from_new_years_eve_counts_in_a_lazily_compiled_new_year() -> None:
    cal = office(weekly={"daily": "22:00-06:00"})
    assert cal.is_working(sh(2025, 1, 1, 3))  # the first query compiles 2025 only
    assert cal.elapsed(sh(2025, 1, 1), sh(2025, 1, 1, 12)) == timedelta(hours=6)


# -- holidays, make-up days and overrides -------------------------------------------------------


def test_holiday_makeup_day_and_override_rules() -> None:
    cal = office(
        weekly={"mon-thu": "09:00-18:00", "fri": "09:00-15:00"},
        holidays=["2025-03-03"],
        makeup_days=[MakeupDay(day="2025-03-08", works_as=4), "2025-03-09"],
        overrides={"2025-03-05": "10:00-11:00", "2025-03-06": []},
    )
    assert cal.shifts_on(date(2025, 3, 3)) == ()
    assert cal.shifts_on(date(2025, 3, 8)) == (Shift.parse("09:00-15:00"),)  # as a Friday
    assert cal.shifts_on(date(2025, 3, 9)) == (Shift.parse("09:00-18:00"),)  # as a Monday
    assert cal.shifts_on(date(2025, 3, 5)) == (Shift.parse("10:00-11:00"),)
    assert not cal.is_working_day(date(2025, 3, 6))
    assert cal.elapsed(sh(2025, 3, 3), sh(2025, 3, 10)) == timedelta(hours=9 + 1 + 6 + 6 + 9)


def test_with_days_adds_company_days_on_top() -> None:
    base = office(holidays=["2025-03-03"], makeup_days=["2025-03-08"])
    company = base.with_days(
        holidays=["2025-03-08", "2025-03-04"],
        makeup_days=["2025-03-03"],
        overrides={"2025-03-05": "09:00-10:00"},
        name="acme",
    )
    assert company.name == "acme"
    assert company.is_working_day(date(2025, 3, 3))
    assert not company.is_working_day(date(2025, 3, 8))
    assert not company.is_working_day(date(2025, 3, 4))
    assert company.shifts_on(date(2025, 3, 5)) == (Shift.parse("09:00-10:00"),)
    assert base.is_working_day(date(2025, 3, 8))  # the original is unchanged


# -- time zones and DST --------------------------------------------------------------------------


def test_new_york_spring_forward_day_is_23_hours_and_fall_back_day_25() -> None:
    cal = BusinessCalendar(timezone="America/New_York", weekly={"daily": "00:00-24:00"})
    assert cal.elapsed(datetime(2025, 3, 9, tzinfo=NY), datetime(2025, 3, 10, tzinfo=NY)) == 23 * H
    assert cal.elapsed(datetime(2025, 11, 2, tzinfo=NY), datetime(2025, 11, 3, tzinfo=NY)) == 25 * H


def test_a_shift_starting_in_the_skipped_hour_starts_when_the_clock_resumes() -> None:
    cal = BusinessCalendar(timezone="America/New_York", weekly={"sun": "02:30-05:00"})
    # 02:30 does not exist on 2025-03-09: the shift runs 03:30-05:00 EDT, 90 minutes
    day = datetime(2025, 3, 9, tzinfo=NY)
    assert cal.working_intervals(day, day + 24 * H) == [
        (datetime(2025, 3, 9, 3, 30, tzinfo=NY), datetime(2025, 3, 9, 5, tzinfo=NY))
    ]


def test_a_shift_over_the_repeated_hour_is_an_hour_longer() -> None:
    cal = BusinessCalendar(timezone="Europe/London", weekly={"sun": "00:00-04:00"})
    day = datetime(2025, 10, 26, tzinfo=LONDON)
    assert cal.elapsed(day, day + 24 * H) == 5 * H
    # wall clock 04:00 is five real hours after midnight; four hours in is 03:00 GMT
    assert cal.add(day, 5 * H) == datetime(2025, 10, 26, 4, tzinfo=LONDON)
    assert cal.add(day, 4 * H) == datetime(2025, 10, 26, 3, tzinfo=timezone.utc)


def test_london_office_hours_keep_local_wall_clock_across_dst() -> None:
    cal = BusinessCalendar(timezone="Europe/London", weekly={"mon-fri": "09:00-17:00"})
    before = cal.next_working(datetime(2025, 3, 27, 20, tzinfo=LONDON))
    after = cal.next_working(datetime(2025, 3, 29, 20, tzinfo=LONDON))
    assert before.astimezone(timezone.utc).hour == 9  # GMT
    assert after == datetime(2025, 3, 31, 9, tzinfo=LONDON)
    assert after.astimezone(timezone.utc).hour == 8  # BST


def test_24x7_is_wall_clock_time() -> None:
    cal = twenty_four_seven()
    start = datetime(2025, 3, 8, 23, 17, tzinfo=NY)
    later = timedelta(days=400, seconds=3)
    # real elapsed time: aware arithmetic in one zone is wall-clock, so go through UTC
    assert cal.add(start, later) == (start.astimezone(timezone.utc) + later).astimezone(NY)
    assert cal.add(start, later) != start + later  # a DST change lies between
    assert cal.elapsed(start, start - 5 * H) == -5 * H
    assert cal.is_working(start)
    assert cal.working_intervals(start, start + 72 * H) == [(start, start + 72 * H)]


# -- the compiled index --------------------------------------------------------------------------


def test_the_index_grows_lazily_in_both_directions() -> None:
    cal = office()
    cal.compile(2025, 2025)
    assert cal.elapsed(sh(2020, 1, 1), sh(2030, 1, 1)) > timedelta(hours=7.5 * 250 * 9)
    late = cal.add(sh(2025, 6, 2, 9), timedelta(hours=7.5 * 5 * 52 * 3))  # three years of work
    assert late.year == 2028
    assert cal.subtract(late, timedelta(hours=7.5 * 5 * 52 * 3)) == sh(2025, 6, 2, 9)


def test_a_calendar_with_no_working_time_raises_rather_than_looping() -> None:
    cal = BusinessCalendar(weekly={})
    with pytest.raises(CalendarRangeError, match="no working time"):
        cal.add(datetime(2025, 1, 1, tzinfo=timezone.utc), H)
    with pytest.raises(CalendarRangeError, match="no working time"):
        cal.next_working(datetime(2025, 1, 1, tzinfo=timezone.utc))


# -- the policy past the holiday data ------------------------------------------------------------


def test_beyond_data_policies() -> None:
    cal = office(
        holidays=["2024-01-01", "2024-05-01", "2025-01-01", "2025-05-01", "2025-10-01"],
        data_start="2024-01-01",
        data_end="2025-12-31",
    )
    with pytest.raises(CalendarRangeError, match="no holiday data for 2026") as info:
        cal.is_working(sh(2026, 3, 2, 10))
    assert "Hint:" in str(info.value)
    with pytest.raises(CalendarRangeError):
        cal.add(sh(2025, 12, 31, 17), 2 * H)  # the deadline would be in 2026
    weekends = attrs.evolve(cal, beyond_data="weekends_only")
    assert weekends.is_working_day(date(2027, 1, 1))  # a Friday
    estimate = attrs.evolve(cal, beyond_data="estimate")
    assert not estimate.is_working_day(date(2027, 1, 1))  # on Jan 1 in 2024 and 2025
    assert not estimate.is_working_day(date(2023, 5, 1))
    assert estimate.is_working_day(date(2027, 10, 1))  # a holiday in 2025 only


# -- refused input -------------------------------------------------------------------------------


def test_naive_datetimes_are_refused_with_the_argument_path() -> None:
    cal = office()
    naive = datetime(2025, 3, 3, 9)
    with pytest.raises(ValidationError) as info:
        cal.add(naive, H)
    assert info.value.paths == ("$.start",)
    with pytest.raises(ValidationError, match="naive"):
        cal.elapsed(sh(2025, 3, 3), naive)
    with pytest.raises(ValidationError):
        cal.is_working(naive)
    with pytest.raises(ValidationError, match="timedelta"):
        cal.add(sh(2025, 3, 3), 3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"weekly": {"mon": "9:00-25:00:00x"}}, "$.weekly.mon[0]"),
        ({"weekly": {"mon": "09:00-34:00"}}, "$.weekly.mon[0]"),
        ({"weekly": {"funday": "09:00-10:00"}}, "$.weekly.funday"),
        ({"weekly": [["09:00-10:00"]] * 6}, "$.weekly"),
        ({"timezone": "Mars/Olympus"}, "$.timezone"),
        ({"holidays": ["2025-02-30"]}, "$.holidays[0]"),
        ({"holidays": ["2025-03-08"], "makeup_days": ["2025-03-08"]}, "$.makeup_days"),
        ({"beyond_data": "guess"}, "$.beyond_data"),
        ({"deadline": "latest"}, "$.deadline"),
        ({"data_start": "2025-01-01", "data_end": "2024-01-01"}, "$.data_end"),
    ],
)
def test_bad_calendars_name_the_bad_field(fields: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        office(**fields)
    assert info.value.paths == (path,)


def test_shift_bounds_are_checked() -> None:
    with pytest.raises(ValidationError, match="at most 24 h"):
        Shift(start=0, end=90_000)
    with pytest.raises(ValidationError, match=r"\[0, 86400\)"):
        Shift(start=86_400, end=90_000)
    assert DayOverride(day="2025-01-01").shifts == ()


def test_calendars_pickle_and_copy_as_their_definition() -> None:
    import copy
    import pickle

    cal = office(holidays=["2025-03-04"], makeup_days=["2025-03-08"])
    cal.compile(2025, 2025)
    for clone in (pickle.loads(pickle.dumps(cal)), copy.deepcopy(cal), copy.copy(cal)):
        assert clone == cal
        assert clone.add(sh(2025, 3, 3, 17), 2 * H) == cal.add(sh(2025, 3, 3, 17), 2 * H)
    assert hash(pickle.loads(pickle.dumps(cal))) == hash(cal)


def test_estimate_uses_only_full_data_years() -> None:
    cal = office(
        holidays=["2023-07-01", "2024-07-01", "2024-01-01", "2025-01-01"],
        data_start="2023-06-01",  # 2023 is partial, and so is 2025
        data_end="2025-06-30",
        beyond_data="estimate",
    )
    # the only full year is 2024: both its holidays repeat
    assert not cal.is_working_day(date(2026, 7, 1))
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2026, 7, 2))
