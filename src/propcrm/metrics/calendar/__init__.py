"""Business calendars: working hours, holidays and make-up days, compiled for fast deadlines.

A :class:`BusinessCalendar` answers ``add``/``subtract`` (deadlines), signed ``elapsed`` business
time, ``is_working``, ``next_working`` and ``working_intervals`` in O(log n) per call, whatever
the duration or span, from an index of UTC intervals with prefix sums compiled lazily per year.
:func:`add_many`, :func:`elapsed_many` and :func:`check_breaches` do the same over numpy arrays.
Calendars are found by name with :func:`get_calendar` (``"cn-statutory"``, ``"24x7"``, ...)
and added with :func:`register_calendar`. See ``docs/calendar.md``.
"""

from propcrm.metrics.calendar._calendar import (
    BeyondData,
    BusinessCalendar,
    DeadlineConvention,
    twenty_four_seven,
)
from propcrm.metrics.calendar._registry import (
    CalendarFactory,
    calendar_names,
    get_calendar,
    register_calendar,
)
from propcrm.metrics.calendar._shifts import DayOverride, MakeupDay, Shift
from propcrm.metrics.calendar._sources import (
    CN_OFFICE_HOURS,
    OptionalDependencyError,
    chinese_statutory,
)
from propcrm.metrics.calendar._vectorized import (
    Breaches,
    add_many,
    check_breaches,
    elapsed_many,
)

__all__ = [
    "CN_OFFICE_HOURS",
    "BeyondData",
    "Breaches",
    "BusinessCalendar",
    "CalendarFactory",
    "DayOverride",
    "DeadlineConvention",
    "MakeupDay",
    "OptionalDependencyError",
    "Shift",
    "add_many",
    "calendar_names",
    "check_breaches",
    "chinese_statutory",
    "elapsed_many",
    "get_calendar",
    "register_calendar",
    "twenty_four_seven",
]
