"""Holiday sources: Chinese statutory calendars from ``chinesecalendar`` or ``holidays`` (private).

Both libraries are optional (the ``china`` extra) and imported only when a calendar is built.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from propcrm._optional import require_module
from propcrm.errors import OptionalDependencyError
from propcrm.metrics.calendar._calendar import BeyondData, BusinessCalendar
from propcrm.metrics.calendar._shifts import MakeupDay, WeeklySpec

__all__ = ["CN_OFFICE_HOURS", "OptionalDependencyError", "chinese_statutory", "require_module"]

#: The documented default hours of ``cn-statutory``: Monday to Friday 09:00–12:00, 13:30–18:00.
CN_OFFICE_HOURS: dict[str, str] = {"mon-fri": "09:00-12:00,13:30-18:00"}
#: ``holidays`` has China's make-up days from this year on.
_HOLIDAYS_FIRST_YEAR = 2001
_HOLIDAYS_LAST_PROBE = 2060


def chinese_statutory(
    *,
    source: Literal["chinesecalendar", "holidays"] = "chinesecalendar",
    weekly: WeeklySpec = CN_OFFICE_HOURS,
    timezone: ZoneInfo | str = "Asia/Shanghai",
    beyond_data: BeyondData = "raise",
    name: str = "cn-statutory",
) -> BusinessCalendar:
    """China's statutory holidays and make-up working days (调休上班) on given office hours.

    The data range is the years the source publishes: ``chinesecalendar`` raises for later years,
    which is what ``beyond_data="raise"`` reports; ``holidays`` would silently estimate later years
    without make-up days, so its range ends at the last year that has make-up days. The sources
    agree on every date from 2004 to 2026 but one: 2005-12-31, a Saturday that ``holidays`` lists
    as a make-up working day and ``chinesecalendar`` as a rest day.

    Make-up days work the template of Monday (``works_as=0``); with the default hours every
    weekday is the same.

    Args:
        source: ``"chinesecalendar"`` (import ``chinese_calendar``) or ``"holidays"``
            (``holidays.China``, version 0.92 or later).
        weekly: The working hours (default :data:`CN_OFFICE_HOURS`).
        timezone: The zone (default ``Asia/Shanghai``).
        beyond_data: The policy outside the source's years.
        name: The calendar's name.

    Returns:
        The calendar.

    Raises:
        OptionalDependencyError: The source library is not installed.
    """
    feature = f"the {name!r} calendar"
    if source == "chinesecalendar":
        cc = require_module("chinese_calendar", extra="china", feature=feature)
        holidays = set(cc.holidays)
        makeup = set(cc.workdays)
        first = min(d.year for d in holidays | makeup)
        last = max(d.year for d in holidays | makeup)
    else:
        lib = require_module("holidays", extra="china", feature=feature)
        first = _HOLIDAYS_FIRST_YEAR
        probe = lib.China(years=range(first, _HOLIDAYS_LAST_PROBE + 1))
        makeup = {d for d in probe.weekend_workdays if d.year >= first}
        last = max(d.year for d in makeup)
        holidays = {d for d in probe if first <= d.year <= last}
    return BusinessCalendar(
        name=name,
        timezone=timezone,
        weekly=weekly,
        holidays=holidays,
        makeup_days=[MakeupDay(day=d) for d in makeup],
        data_start=date(first, 1, 1),
        data_end=date(last, 12, 31),
        beyond_data=beyond_data,
    )
