"""Holiday sources (chinesecalendar, holidays) and the registry of calendars by name."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from propcrm.errors import CalendarRangeError, NotFoundError, ValidationError
from propcrm.metrics.calendar import (
    CN_OFFICE_HOURS,
    BusinessCalendar,
    OptionalDependencyError,
    calendar_names,
    chinese_statutory,
    get_calendar,
    register_calendar,
    twenty_four_seven,
)
from propcrm.metrics.calendar._registry import _reset_registry

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    _reset_registry()
    yield
    _reset_registry()


# -- China --------------------------------------------------------------------------------------


def test_cn_statutory_spring_festival_2025_with_its_makeup_days() -> None:
    cal = get_calendar("cn-statutory")
    assert cal.timezone == SH
    assert cal.is_working_day(date(2025, 1, 26))  # Sunday, worked (调休上班)
    assert not cal.is_working_day(date(2025, 1, 28))  # New Year's Eve, holiday
    assert not cal.is_working_day(date(2025, 2, 4))
    assert cal.is_working_day(date(2025, 2, 8))  # Saturday, worked
    assert not cal.is_working_day(date(2025, 2, 9))  # an ordinary Sunday
    # 17:00 on Monday 27 January: one hour is due at 18:00 that day; two hours run to 5 February
    start = datetime(2025, 1, 27, 17, tzinfo=SH)
    assert cal.add(start, timedelta(hours=1)) == datetime(2025, 1, 27, 18, tzinfo=SH)
    assert cal.add(start, timedelta(hours=2)) == datetime(2025, 2, 5, 10, tzinfo=SH)


def test_cn_statutory_hours_are_the_documented_default() -> None:
    cal = get_calendar("cn-statutory")
    assert cal == chinese_statutory()
    assert cal.shifts_on(date(2025, 3, 3)) == BusinessCalendar(weekly=CN_OFFICE_HOURS).weekly[0]
    assert [str(s) for s in cal.shifts_on(date(2025, 3, 3))] == ["09:00-12:00", "13:30-18:00"]


def test_the_two_sources_disagree_on_2005_12_31_only() -> None:
    a = chinese_statutory()
    b = chinese_statutory(source="holidays")
    assert not a.is_working_day(date(2005, 12, 31))
    assert b.is_working_day(date(2005, 12, 31))
    day, differ = date(2004, 1, 1), []
    while day <= date(2026, 12, 31):
        if a.is_working_day(day) != b.is_working_day(day):
            differ.append(day)
        day += timedelta(days=1)
    assert differ == [date(2005, 12, 31)]


def test_unpublished_years_raise_by_default_and_follow_the_chosen_policy() -> None:
    cal = get_calendar("cn-statutory")
    last = cal.data_end
    assert last is not None
    after = datetime(last.year + 1, 3, 2, 10, tzinfo=SH)
    with pytest.raises(CalendarRangeError, match=r"Hint:.*beyond_data"):
        cal.is_working(after)
    with pytest.raises(LookupError):  # CalendarRangeError is a LookupError
        cal.elapsed(datetime(2003, 12, 1, tzinfo=SH), datetime(2004, 2, 1, tzinfo=SH))
    estimate = chinese_statutory(beyond_data="estimate")
    assert not estimate.is_working_day(date(last.year + 1, 10, 1))  # National Day repeats
    assert not estimate.is_working_day(date(last.year + 1, 1, 1))
    weekends = chinese_statutory(beyond_data="weekends_only")
    national_day = date(last.year + 1, 10, 1)
    # only the weekly template: National Day works unless it is a weekend
    assert weekends.is_working_day(national_day) == (national_day.weekday() < 5)
    assert weekends.is_working(after) == estimate.is_working(after)


def test_holidays_source_stops_at_its_last_year_with_makeup_days() -> None:
    cal = chinese_statutory(source="holidays")
    assert cal.data_end is not None
    assert cal.data_end.year >= 2026
    assert any(m.day.year == cal.data_end.year for m in cal.makeup_days)


def test_missing_source_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chinese_calendar", None)
    with pytest.raises(OptionalDependencyError, match=r'pip install "propcrm\[china\]"') as info:
        chinese_statutory()
    assert isinstance(info.value, ImportError)
    assert info.value.extra == "china"


def test_company_days_on_top_of_the_statutory_calendar() -> None:
    cal = get_calendar("cn-statutory").with_days(
        holidays=["2025-03-07"], overrides={"2025-03-08": "09:00-12:00"}, name="acme"
    )
    assert not cal.is_working_day(date(2025, 3, 7))
    assert cal.elapsed(datetime(2025, 3, 8, tzinfo=SH), datetime(2025, 3, 9, tzinfo=SH)) == (
        timedelta(hours=3)
    )


# -- registry -----------------------------------------------------------------------------------


def test_builtins_are_listed_and_built_once() -> None:
    assert {"24x7", "cn-statutory", "cn-statutory-holidays"} <= set(calendar_names())
    assert get_calendar("cn-statutory") is get_calendar("cn-statutory")
    assert get_calendar("24x7") == twenty_four_seven()


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(NotFoundError) as info:
        get_calendar("cn-statutroy")
    assert info.value.suggestions[0] == "cn-statutory"
    assert "did you mean 'cn-statutory'" in str(info.value)
    with pytest.raises(NotFoundError, match="registered: 24x7"):
        get_calendar("zzzzzzzzzzzzzzzzzzzz")


def test_register_a_calendar_or_a_lazy_factory() -> None:
    built: list[str] = []
    night = BusinessCalendar(name="night", weekly={"daily": "20:00-08:30"})

    def factory() -> BusinessCalendar:
        built.append("acme")
        return BusinessCalendar(name="acme", weekly={"mon-sat": "08:00-20:00"})

    register_calendar("night-desk", night)
    register_calendar("acme", factory)
    assert built == []  # nothing built on registration
    assert get_calendar("night-desk") is night
    assert get_calendar("acme").name == "acme"
    assert get_calendar("acme") is get_calendar("acme")
    assert built == ["acme"]
    register_calendar("acme", factory)  # the same factory again: nothing happens
    assert built == ["acme"]
    with pytest.raises(ValidationError, match="already registered"):
        register_calendar("acme", night)
    register_calendar("acme", night, replace=True)
    assert get_calendar("acme") is night
    register_calendar("acme", factory, replace=True)
    assert get_calendar("acme").name == "acme"
    assert built == ["acme", "acme"]  # a replaced entry is built afresh


def test_bad_registrations_are_refused() -> None:
    with pytest.raises(ValidationError):
        register_calendar("", twenty_four_seven())
    with pytest.raises(ValidationError):
        register_calendar("x", "not a calendar")  # type: ignore[arg-type]
    register_calendar("broken", lambda: "nope")  # type: ignore[arg-type,return-value]
    with pytest.raises(ValidationError, match="not a BusinessCalendar"):
        get_calendar("broken")
