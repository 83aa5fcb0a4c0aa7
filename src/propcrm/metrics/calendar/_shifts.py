"""Working-hour values: shifts, weekly templates, make-up days and per-date overrides (private).

Times of day are whole seconds after local midnight of the date a shift starts on. An end past
``24:00`` (``86400`` s) writes an overnight shift that belongs to the day it starts on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, TypeAlias

import attrs

from propcrm.errors import ValidationError

__all__ = [
    "WEEKDAY_NAMES",
    "DayOverride",
    "MakeupDay",
    "Shift",
    "ShiftSpec",
    "WeeklySpec",
    "to_date",
    "to_shifts",
    "to_weekly",
]

DAY_SECONDS = 86_400
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _parse_time(text: str, path: str) -> int:
    match = _TIME.match(text)
    if match is None:
        raise ValidationError.single(
            path, f"expected a time of day HH:MM or HH:MM:SS, got {text!r}", subject="shift"
        )
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if minutes > 59 or seconds > 59 or hours > 48:
        raise ValidationError.single(path, f"time {text!r} out of range", subject="shift")
    return hours * 3600 + minutes * 60 + seconds


def _check_bounds(_instance: Shift, _attribute: attrs.Attribute[Any], _value: int) -> None:
    start, end = _instance.start, _instance.end
    if not 0 <= start < DAY_SECONDS:
        raise ValidationError.single("$.start", f"start {start} s must lie in [0, 86400)")
    if not start < end <= start + DAY_SECONDS:
        raise ValidationError.single(
            "$.end",
            f"end {end} s must be after start {start} s and at most 24 h later",
            hint="write an overnight shift with an end past 24:00, e.g. '20:00-32:30'",
        )


@attrs.frozen(kw_only=True, order=True)
class Shift:
    """One working interval ``[start, end)`` of a day, in seconds after local midnight.

    ``end`` may pass ``86400`` (24:00): the shift then runs overnight into the next day and still
    belongs to the day it starts on (a holiday on that day removes it; a holiday on the next day
    does not).

    Attributes:
        start: Seconds after local midnight, ``0 <= start < 86400``.
        end: Seconds after the same midnight, ``start < end <= start + 86400``.
    """

    start: int = attrs.field(validator=_check_bounds)
    end: int = attrs.field(validator=_check_bounds)

    @classmethod
    def parse(cls, text: str, *, path: str = "$") -> Shift:
        """Parse ``"09:00-12:00"``; an end at or before the start, or past 24:00, is overnight.

        Args:
            text: ``"HH:MM-HH:MM"`` (seconds optional); ``"20:00-08:30"`` and ``"20:00-32:30"``
                both mean 20:00 until 08:30 the next morning.
            path: JSONPath used in error messages.

        Returns:
            The shift.

        Raises:
            ValidationError: The text is not a pair of times.
        """
        if not isinstance(text, str) or text.count("-") != 1:
            raise ValidationError.single(
                path, f"expected 'HH:MM-HH:MM', got {text!r}", subject="shift"
            )
        left, right = text.split("-")
        start = _parse_time(left, path)
        end = _parse_time(right, path)
        if end <= start:
            end += DAY_SECONDS
        try:
            return cls(start=start, end=end)
        except ValidationError as error:
            raise ValidationError.single(path, error.errors[0].message, subject="shift") from None

    def __str__(self) -> str:
        return f"{_fmt(self.start)}-{_fmt(self.end)}"


def _fmt(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


ShiftSpec: TypeAlias = "Shift | str"
WeeklySpec: TypeAlias = "Mapping[str, str | Iterable[ShiftSpec]] | Iterable[Iterable[ShiftSpec]]"


def to_shifts(value: str | Iterable[ShiftSpec], path: str) -> tuple[Shift, ...]:
    """Normalise ``"09:00-12:00, 13:30-18:00"`` or a list of shifts/strings to sorted shifts."""
    items: Iterable[ShiftSpec]
    items = [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value
    shifts: list[Shift] = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]"
        if isinstance(item, Shift):
            shifts.append(item)
        elif isinstance(item, str):
            shifts.append(Shift.parse(item, path=where))
        else:
            raise ValidationError.single(
                where, f"expected a Shift or 'HH:MM-HH:MM', got {type(item).__name__}"
            )
    return tuple(sorted(shifts))


def _day_keys(key: str, path: str) -> list[int]:
    """``"mon"``, ``"mon-fri"``, ``"sat,sun"``, ``"daily"`` -> weekday numbers (Monday is 0)."""
    text = key.strip().lower()
    if text in ("daily", "all", "mon-sun"):
        return list(range(7))
    days: list[int] = []
    for part in text.split(","):
        ends = [p.strip()[:3] for p in part.split("-")]
        if len(ends) > 2 or any(e not in WEEKDAY_NAMES for e in ends):
            raise ValidationError.single(
                path,
                f"unknown weekday key {key!r}",
                hint="use mon..sun, a range such as 'mon-fri', a list 'sat,sun' or 'daily'",
            )
        first, last = WEEKDAY_NAMES.index(ends[0]), WEEKDAY_NAMES.index(ends[-1])
        days.extend(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return days


def to_weekly(value: WeeklySpec) -> tuple[tuple[Shift, ...], ...]:
    """Normalise a weekly template to seven tuples of shifts, Monday first.

    Accepts a mapping of weekday keys (``"mon-fri"``, ``"sat"``, ``"daily"``) to shifts, where
    days not named are closed, or a sequence of seven per-day shift lists.
    """
    week: list[tuple[Shift, ...]] = [() for _ in range(7)]
    if isinstance(value, Mapping):
        for key, spec in value.items():
            for day in _day_keys(str(key), f"$.weekly.{key}"):
                week[day] = tuple(sorted(week[day] + to_shifts(spec, f"$.weekly.{key}")))
        return tuple(week)
    days = list(value)
    if len(days) != 7:
        raise ValidationError.single(
            "$.weekly", f"expected 7 days (Monday first), got {len(days)}", subject="calendar"
        )
    return tuple(to_shifts(spec, f"$.weekly[{index}]") for index, spec in enumerate(days))


def to_date(value: date | str, path: str) -> date:
    """Accept a ``date`` or an ISO ``"YYYY-MM-DD"`` string."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError.single(path, f"expected a date or 'YYYY-MM-DD', got {value!r}")


def _to_day(value: date | str) -> date:
    return to_date(value, "$.day")


def _check_weekday(_instance: object, _attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or not 0 <= value <= 6:
        raise ValidationError.single(
            "$.works_as", f"weekday must be 0 (Monday) to 6, got {value!r}"
        )


@attrs.frozen(kw_only=True, order=True)
class MakeupDay:
    """A rest day worked on another weekday's hours (调休上班).

    Attributes:
        day: The date worked, usually a Saturday or Sunday.
        works_as: The weekday whose template applies, ``0`` (Monday, the default) to ``6``.
    """

    day: date = attrs.field(converter=_to_day)
    works_as: int = attrs.field(default=0, validator=_check_weekday)


def _to_override_shifts(value: str | Iterable[ShiftSpec]) -> tuple[Shift, ...]:
    return to_shifts(value, "$.shifts")


@attrs.frozen(kw_only=True, order=True)
class DayOverride:
    """Custom hours for one date, replacing the template, holidays and make-up days there.

    Attributes:
        day: The date.
        shifts: Its working intervals; empty means closed all day.
    """

    day: date = attrs.field(converter=_to_day)
    shifts: tuple[Shift, ...] = attrs.field(default=(), converter=_to_override_shifts)
