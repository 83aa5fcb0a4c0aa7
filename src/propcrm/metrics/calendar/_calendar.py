"""``BusinessCalendar``: working hours, holidays and make-up days in one time zone (private)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from propcrm.errors import CalendarRangeError, ValidationError
from propcrm.metrics.calendar._index import (
    ONE_US,
    Index,
    Snapshot,
    aware_us,
    business_time,
    from_us,
)
from propcrm.metrics.calendar._shifts import (
    DAY_SECONDS,
    DayOverride,
    MakeupDay,
    Shift,
    ShiftSpec,
    to_date,
    to_shifts,
    to_weekly,
)

__all__ = ["BeyondData", "BusinessCalendar", "DeadlineConvention"]

#: What a calendar does past its holiday data: raise, count weekends only, or estimate.
BeyondData: TypeAlias = Literal["raise", "weekends_only", "estimate"]
#: Where a deadline landing on a closing instant goes: that instant or the next opening.
DeadlineConvention: TypeAlias = Literal["earliest", "next_opening"]
_BEYOND = ("raise", "weekends_only", "estimate")
_DEADLINES = ("earliest", "next_opening")
#: ``estimate`` repeats the holidays on the same month and day in each of this many last years.
_ESTIMATE_YEARS = 3
_ZERO = timedelta(0)


def _to_zone(value: ZoneInfo | str) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.single(
            "$.timezone",
            f"unknown IANA time zone {value!r}",
            subject="calendar",
            hint="use a name such as 'Asia/Shanghai'",
        ) from None


def _to_holidays(value: Iterable[date | str]) -> frozenset[date]:
    return frozenset(to_date(item, f"$.holidays[{i}]") for i, item in enumerate(value))


def _to_makeup(
    value: Iterable[MakeupDay | date | str] | Mapping[date | str, int],
) -> tuple[MakeupDay, ...]:
    if isinstance(value, Mapping):
        pairs = [(to_date(k, f"$.makeup_days.{k}"), v) for k, v in value.items()]
        return tuple(sorted(MakeupDay(day=day, works_as=works_as) for day, works_as in pairs))
    out = []
    for i, item in enumerate(value):
        out.append(
            item
            if isinstance(item, MakeupDay)
            else MakeupDay(day=to_date(item, f"$.makeup_days[{i}]"))
        )
    return tuple(sorted(out))


def _to_overrides(
    value: Iterable[DayOverride] | Mapping[date | str, str | Iterable[ShiftSpec]],
) -> tuple[DayOverride, ...]:
    if isinstance(value, Mapping):
        return tuple(
            sorted(
                DayOverride(
                    day=to_date(k, f"$.overrides.{k}"), shifts=to_shifts(v, f"$.overrides.{k}")
                )
                for k, v in value.items()
            )
        )
    return tuple(sorted(value))


def _to_optional_date(value: date | str | None) -> date | None:
    return None if value is None else to_date(value, "$.data_start/data_end")


def _one_of(options: tuple[str, ...]) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in options:
            raise ValidationError.single(
                f"$.{attribute.name}",
                f"expected one of {', '.join(map(repr, options))}, got {value!r}",
                subject="calendar",
            )

    return check


def _count(value: Iterable[Any]) -> str:
    return f"<{len(list(value))} dates>"


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """Working hours in one IANA time zone, with holidays, make-up days and per-date overrides.

    A date's hours are found in this order: its override if any; else, inside the holiday data,
    nothing on a holiday, the ``works_as`` weekday's template on a make-up day, and the weekday's
    template otherwise; outside the data (before ``data_start`` or after ``data_end``) the
    ``beyond_data`` policy decides. Local times become instants by PEP 495 ``fold=0``: a time
    skipped by a DST change moves forward by the gap, a repeated time means its first occurrence.
    Every operation takes and returns aware datetimes (naive ones are refused) and reports
    durations as :class:`~datetime.timedelta`, exact to the microsecond.

    Attributes:
        name: A label for messages and the registry.
        timezone: The IANA zone the hours are written in (a ``ZoneInfo``; a name is accepted).
        weekly: Seven tuples of :class:`Shift`, Monday first. A mapping such as
            ``{"mon-fri": "09:00-12:00,13:30-18:00"}`` is accepted; days not named are closed.
        holidays: Dates with no working hours (``date`` or ISO strings).
        makeup_days: Rest days worked on a weekday's template (调休上班): :class:`MakeupDay`
            values, plain dates (worked as a Monday) or a mapping of date to weekday number.
        overrides: Custom hours for single dates: :class:`DayOverride` values or a mapping of
            date to shifts; they win over everything else.
        data_start: First date the holiday data covers (``None``: no lower limit).
        data_end: Last date the holiday data covers (``None``: no upper limit).
        beyond_data: Outside the data: ``"raise"`` a :class:`~propcrm.errors.CalendarRangeError`,
            use the weekly template only (``"weekends_only"``), or ``"estimate"`` by repeating
            the holidays that fell on the same month and day in each of the last three data years.
        deadline: ``"earliest"`` (default): :meth:`add` returns the earliest instant by which the
            duration has passed, so a duration that uses up a window's last second is due at that
            window's end. ``"next_opening"`` moves such a result to the next opening instead.
    """

    name: str = "custom"
    timezone: ZoneInfo = attrs.field(factory=lambda: ZoneInfo("UTC"), converter=_to_zone)
    weekly: tuple[tuple[Shift, ...], ...] = attrs.field(converter=to_weekly)
    holidays: frozenset[date] = attrs.field(
        default=frozenset(), converter=_to_holidays, repr=_count
    )
    makeup_days: tuple[MakeupDay, ...] = attrs.field(default=(), converter=_to_makeup, repr=_count)
    overrides: tuple[DayOverride, ...] = attrs.field(
        default=(), converter=_to_overrides, repr=_count
    )
    data_start: date | None = attrs.field(default=None, converter=_to_optional_date)
    data_end: date | None = attrs.field(default=None, converter=_to_optional_date)
    beyond_data: BeyondData = attrs.field(default="raise", validator=_one_of(_BEYOND))
    deadline: DeadlineConvention = attrs.field(default="earliest", validator=_one_of(_DEADLINES))
    _index: Index = attrs.field(init=False, repr=False, eq=False, hash=False)
    _makeup: dict[date, int] = attrs.field(init=False, repr=False, eq=False, hash=False)
    _override: dict[date, tuple[Shift, ...]] = attrs.field(
        init=False, repr=False, eq=False, hash=False
    )
    _estimated: frozenset[tuple[int, int]] = attrs.field(
        init=False, repr=False, eq=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        makeup = {m.day: m.works_as for m in self.makeup_days}
        override = {o.day: o.shifts for o in self.overrides}
        if len(makeup) != len(self.makeup_days):
            raise ValidationError.single("$.makeup_days", "a date is listed twice")
        if len(override) != len(self.overrides):
            raise ValidationError.single("$.overrides", "a date is listed twice")
        both = sorted(self.holidays.intersection(makeup))
        if both:
            raise ValidationError.single(
                "$.makeup_days",
                f"{both[0].isoformat()} is both a holiday and a make-up day",
                hint="keep it in one list, or give the date its hours in overrides",
            )
        if self.data_start and self.data_end and self.data_start > self.data_end:
            raise ValidationError.single("$.data_end", "data_end is before data_start")
        shifts = [s for day in self.weekly for s in day] + [
            s for o in self.overrides for s in o.shifts
        ]
        overnight = any(s.end > DAY_SECONDS for s in shifts)
        set_ = object.__setattr__
        set_(self, "_makeup", makeup)
        set_(self, "_override", override)
        set_(self, "_estimated", self._estimate())
        set_(self, "_index", Index(self.timezone, self.shifts_on, overnight))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy the definition only; the copy compiles its own index when used
        fields = {a.name: getattr(self, a.name) for a in attrs.fields(type(self)) if a.init}
        return (_rebuild, (fields,))

    def _estimate(self) -> frozenset[tuple[int, int]]:
        """The (month, day) pairs that were holidays in each of the last full data years."""
        if self.data_end is None:
            return frozenset()
        end, start = self.data_end, self.data_start
        last = end.year if (end.month, end.day) == (12, 31) else end.year - 1
        first = last - _ESTIMATE_YEARS + 1
        if start is not None:
            first = max(first, start.year if (start.month, start.day) == (1, 1) else start.year + 1)
        years = range(first, last + 1)
        sets = [{(d.month, d.day) for d in self.holidays if d.year == year} for year in years]
        return frozenset(set.intersection(*sets)) if sets else frozenset()

    # -- days --------------------------------------------------------------------------------

    def shifts_on(self, day: date) -> tuple[Shift, ...]:
        """The working shifts that start on a local date, after every rule and policy.

        Args:
            day: The local date.

        Returns:
            Its shifts, possibly empty.

        Raises:
            CalendarRangeError: ``day`` is outside the holiday data and the policy is ``raise``.
        """
        override = self._override.get(day)
        if override is not None:
            return override
        inside = (self.data_start is None or day >= self.data_start) and (
            self.data_end is None or day <= self.data_end
        )
        if inside:
            if day in self.holidays:
                return ()
            works_as = self._makeup.get(day)
            return self.weekly[day.weekday() if works_as is None else works_as]
        if self.beyond_data == "raise":
            raise CalendarRangeError(
                f"calendar {self.name!r} has no holiday data for {day.isoformat()} "
                f"(it covers {self.data_start or '...'} to {self.data_end or '...'})",
                hint="choose a policy for later years, e.g. "
                "attrs.evolve(calendar, beyond_data='estimate') or 'weekends_only', "
                "or update the holiday source (pip install -U chinesecalendar)",
            )
        if self.beyond_data == "estimate" and (day.month, day.day) in self._estimated:
            return ()
        return self.weekly[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        """Whether any shift starts on a local date."""
        return bool(self.shifts_on(day))

    def with_days(
        self,
        *,
        holidays: Iterable[date | str] = (),
        makeup_days: Iterable[MakeupDay | date | str] | Mapping[date | str, int] = (),
        overrides: Iterable[DayOverride] | Mapping[date | str, str | Iterable[ShiftSpec]] = (),
        name: str | None = None,
    ) -> BusinessCalendar:
        """A copy with company or local days added on top of this calendar's.

        A new holiday cancels a make-up day on the same date and the other way round; a new
        override replaces one on the same date.

        Args:
            holidays: Extra days off.
            makeup_days: Extra working rest days.
            overrides: Dates with custom hours.
            name: The new calendar's name (default: unchanged).

        Returns:
            The new calendar; this one is unchanged.
        """
        new_holidays = _to_holidays(holidays)
        new_makeup = _to_makeup(makeup_days)
        new_override = _to_overrides(overrides)
        made = {m.day for m in new_makeup}
        replaced = {o.day for o in new_override}
        return attrs.evolve(
            self,
            name=self.name if name is None else name,
            holidays=(self.holidays - made) | new_holidays,
            makeup_days=[m for m in self.makeup_days if m.day not in new_holidays | made]
            + list(new_makeup),
            overrides=[o for o in self.overrides if o.day not in replaced] + list(new_override),
        )

    # -- index ------------------------------------------------------------------------------

    def compile(self, first_year: int, last_year: int) -> None:
        """Compile the index for local years ``first_year..last_year`` now rather than lazily.

        Args:
            first_year: First local calendar year.
            last_year: Last local calendar year (inclusive).

        Raises:
            CalendarRangeError: A year is outside the holiday data and the policy is ``raise``.
        """
        self._index.compile(first_year, last_year)

    def _snapshot(self, lo: int, hi: int) -> Snapshot:
        return self._index.covering(lo, hi)

    # -- operations -------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time after ``start`` has passed.

        With the default ``deadline="earliest"`` this is the earliest such instant: one hour
        added at 17:00 to a window ending 18:00 gives 18:00, not the next morning's opening.
        A zero duration gives ``start``; a negative one is :meth:`subtract`.

        Args:
            start: An aware datetime.
            duration: Business time to add.

        Returns:
            The deadline, in ``start``'s time zone.

        Raises:
            ValidationError: ``start`` is naive or ``duration`` is not a timedelta.
            CalendarRangeError: The answer lies outside the holiday data (policy ``raise``).
        """
        snap = self._index.snap
        if (
            snap is not None
            and snap.wall is not None
            and snap.epoch is not None
            and type(start) is datetime  # not a subclass such as pandas.Timestamp
            and start.tzinfo is self.timezone
            and self.deadline == "earliest"
            and isinstance(duration, timedelta)
            and duration > _ZERO
        ):
            # fast path, a fixed-offset zone: everything in wall-clock timedeltas
            wall = snap.wall
            ws = start - snap.epoch
            if wall.lo <= ws <= wall.hi:
                i = bisect_right(wall.starts, ws) - 1
                end = wall.ends[i]
                target = wall.base[i] + (end if ws > end else ws) + duration
                if target <= wall.b_hi:
                    j = bisect_left(wall.cumend, target)
                    due = wall.ends[j] - (wall.cumend[j] - target)
                    if due <= wall.hi:
                        return snap.epoch + due
        t = aware_us(start, "$.start")
        d = _duration_us(duration)
        if d < 0:
            return from_us(self._subtract_us(t, -d), start.tzinfo)
        result = self._add_us(t, d) if d else t
        if self.deadline == "next_opening":
            result = self._next_working_us(result)
        return from_us(result, start.tzinfo)

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The latest instant from which ``duration`` of business time runs until ``end``.

        This mirrors :meth:`add`: of all the instants with exactly ``duration`` of business time
        until ``end``, the latest (closest to ``end``) is returned. Going back one hour from 10:00
        on a day opening at 09:00 gives 09:00 (a window start), not the previous evening's close.

        Args:
            end: An aware datetime.
            duration: Business time to go back.

        Returns:
            The instant, in ``end``'s time zone.

        Raises:
            ValidationError: ``end`` is naive or ``duration`` is not a timedelta.
            CalendarRangeError: The answer lies outside the holiday data (policy ``raise``).
        """
        t = aware_us(end, "$.end")
        d = _duration_us(duration)
        if d < 0:
            return self.add(end, -duration)
        return from_us(self._subtract_us(t, d) if d else t, end.tzinfo)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end``; negative when ``end`` is before ``start``.

        Args:
            start: An aware datetime.
            end: An aware datetime.

        Returns:
            The signed business time.

        Raises:
            ValidationError: A datetime is naive.
            CalendarRangeError: The span leaves the holiday data (policy ``raise``).
        """
        snap = self._index.snap
        if snap is not None and snap.wall is not None and snap.epoch is not None:
            tz = self.timezone
            # exact types: a subclass such as pandas.Timestamp subtracts differently
            if (
                type(start) is datetime
                and type(end) is datetime
                and start.tzinfo is tz is end.tzinfo
            ):
                # fast path, a fixed-offset zone: everything in wall-clock timedeltas
                wall = snap.wall
                wa, wb = start - snap.epoch, end - snap.epoch
                if wall.lo <= wa <= wall.hi and wall.lo <= wb <= wall.hi:
                    i = bisect_right(wall.starts, wa) - 1
                    j = bisect_right(wall.starts, wb) - 1
                    end_a, end_b = wall.ends[i], wall.ends[j]
                    return (
                        wall.base[j]
                        - wall.base[i]
                        + (end_b if wb > end_b else wb)
                        - (end_a if wa > end_a else wa)
                    )
        a = aware_us(start, "$.start")
        b = aware_us(end, "$.end")
        if snap is None or not (snap.lo <= a <= snap.hi and snap.lo <= b <= snap.hi):
            snap = self._snapshot(min(a, b), max(a, b))
        return ONE_US * (business_time(snap, b) - business_time(snap, a))

    def is_working(self, t: datetime) -> bool:
        """Whether ``t`` lies inside a working interval (``[start, end)``: an end is not).

        Args:
            t: An aware datetime.

        Returns:
            True during working hours.
        """
        us = aware_us(t, "$.t")
        snap = self._snapshot(us, us)
        i = bisect_right(snap.starts, us) - 1
        return us < snap.ends[i]

    def next_working(self, t: datetime) -> datetime:
        """``t`` itself when working, else the start of the next working interval.

        Args:
            t: An aware datetime.

        Returns:
            The instant, in ``t``'s time zone.

        Raises:
            CalendarRangeError: No working time within the data (policy ``raise``) or ever.
        """
        us = aware_us(t, "$.t")
        return from_us(self._next_working_us(us), t.tzinfo)

    def working_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working intervals ``[a, b)`` inside ``[start, end)``, clipped to it, in order.

        Touching intervals (an overnight shift running into the next day's) come back merged.

        Args:
            start: An aware datetime.
            end: An aware datetime; an empty list when it is not after ``start``.

        Returns:
            Pairs of datetimes in ``start``'s time zone.
        """
        a = aware_us(start, "$.start")
        b = aware_us(end, "$.end")
        if b <= a:
            return []
        snap = self._snapshot(a, b)
        tz = start.tzinfo
        out = []
        i = max(bisect_right(snap.starts, a) - 1, 1)
        starts, ends = snap.starts, snap.ends
        while i < len(starts) and starts[i] < b:
            lo, hi = max(starts[i], a), min(ends[i], b)
            if lo < hi:
                out.append((from_us(lo, tz), from_us(hi, tz)))
            i += 1
        return out

    # -- integer core (microseconds since the epoch) ----------------------------------------

    def _add_us(self, t: int, d: int) -> int:
        snap, target = self._index.for_target(t, d)
        j = bisect_left(snap.cumend, target)
        return snap.ends[j] - (snap.cumend[j] - target)

    def _subtract_us(self, t: int, d: int) -> int:
        snap, target = self._index.for_target(t, -d)
        j = bisect_right(snap.cumend, target)
        return snap.starts[j] + (target - snap.cum[j])

    def _next_working_us(self, t: int) -> int:
        snap = self._snapshot(t, t)
        i = bisect_right(snap.starts, t) - 1
        if t < snap.ends[i]:
            return t
        while True:
            if i + 1 < len(snap.starts) and snap.starts[i + 1] <= snap.hi:
                return snap.starts[i + 1]
            before = snap.last
            snap = self._index.grow(snap, True, 1)
            if snap.last - self._index.year_of(t) > 16:
                raise CalendarRangeError(
                    f"calendar {self.name!r} has no working time in the 16 years after {t} µs",
                    hint="the template, holidays and overrides leave no hours open",
                )
            assert snap.last > before
            i = bisect_right(snap.starts, t) - 1


def _rebuild(fields: dict[str, Any]) -> BusinessCalendar:
    return BusinessCalendar(**fields)


def _duration_us(duration: timedelta) -> int:
    if not isinstance(duration, timedelta):
        raise ValidationError.single(
            "$.duration",
            f"expected a timedelta, got {type(duration).__name__}",
            hint="pass e.g. timedelta(hours=4)",
        )
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def twenty_four_seven(timezone: ZoneInfo | str = "UTC", *, name: str = "24x7") -> BusinessCalendar:
    """A calendar open every second of every day: business time is wall-clock time.

    Args:
        timezone: The zone (it changes nothing but the days ``shifts_on`` reports).
        name: The calendar's name.

    Returns:
        The calendar.
    """
    return BusinessCalendar(name=name, timezone=timezone, weekly={"daily": "00:00-24:00"})
