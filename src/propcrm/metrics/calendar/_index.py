"""The compiled index of a calendar: merged UTC working intervals with prefix sums (private).

Every instant is an integer count of microseconds since the Unix epoch. The index holds, for the
local calendar years it covers, the sorted and merged working intervals ``[starts[i], ends[i])``
and ``cum[i]``, the business time before interval ``i``. Entry 0 is an empty sentinel before
everything, so the business-time function ``B(t) = cum[i] + min(t, ends[i]) - starts[i]`` (with
``i`` the last interval starting at or before ``t``) needs no branch. Every query is one or two
bisects. Years are compiled lazily and the index grows when a query leaves it; a snapshot is never
mutated, so readers need no lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from propcrm._validation import require_aware
from propcrm.errors import CalendarRangeError
from propcrm.metrics.calendar._shifts import Shift

__all__ = ["EPOCH", "ONE_US", "Index", "Snapshot", "aware_us", "business_time", "from_us", "to_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_DAY = timedelta(days=1)
#: ``ONE_US * n`` is the fastest way to build a timedelta of ``n`` microseconds.
ONE_US = timedelta(microseconds=1)
_MIN_YEAR, _MAX_YEAR = 2, 9998
#: Give up looking for working time after this many years without any.
_MAX_EMPTY_YEARS = 16


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def aware_us(value: datetime, path: str) -> int:
    """:func:`to_us` of an argument, refusing naive datetimes and non-datetimes.

    Raises:
        ValidationError: ``value`` is not an aware datetime (the error names ``path``).
    """
    try:
        delta = value - EPOCH
    except TypeError:  # naive (or not a datetime at all): say which
        require_aware(value, path)
        raise  # pragma: no cover - require_aware always raises here
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int, tz: tzinfo | None) -> datetime:
    """The aware datetime ``us`` microseconds after the epoch, shown in ``tz``."""
    return (EPOCH + ONE_US * us).astimezone(tz)


class Snapshot:
    """An immutable compiled span: local years ``first..last``, exact for ``lo <= t <= hi``."""

    __slots__ = (
        "arrays",
        "b_hi",
        "b_lo",
        "cum",
        "cumend",
        "ends",
        "first",
        "hi",
        "last",
        "lo",
        "starts",
    )

    def __init__(
        self, first: int, last: int, lo: int, hi: int, intervals: list[tuple[int, int]]
    ) -> None:
        self.first, self.last, self.lo, self.hi = first, last, lo, hi
        sentinel = min(lo, intervals[0][0] if intervals else lo) - 1
        starts, ends, cum, cumend = [sentinel], [sentinel], [0], [0]
        total = 0
        for start, end in intervals:
            if start <= ends[-1]:  # overlapping or touching: merge
                if end > ends[-1]:
                    total += end - ends[-1]
                    ends[-1] = end
                    cumend[-1] = total
                continue
            starts.append(start)
            ends.append(end)
            cum.append(total)
            total += end - start
            cumend.append(total)
        self.starts, self.ends, self.cum, self.cumend = starts, ends, cum, cumend
        self.b_lo = business_time(self, lo)
        self.b_hi = business_time(self, hi)
        #: numpy copies of the lists per time unit, built by the vectorised path on demand.
        self.arrays: dict[str, Any] = {}


def business_time(snap: Snapshot, t: int) -> int:
    """``B(t)``: business microseconds from the snapshot's origin to ``t``."""
    i = bisect_right(snap.starts, t) - 1
    end = snap.ends[i]
    return snap.cum[i] + (end if t > end else t) - snap.starts[i]


class Index:
    """Lazily compiled, growing index of one calendar.

    Args:
        tz: The calendar's time zone.
        resolve: The shifts of a local date (raises ``CalendarRangeError`` past the data).
        overnight: Whether any shift runs past midnight (then the day before a span matters).
    """

    def __init__(self, tz: tzinfo, resolve: Callable[[date], tuple[Shift, ...]], overnight: bool):
        self._tz = tz
        self._resolve = resolve
        self._overnight = overnight
        self._lock = threading.Lock()
        self._years: dict[int, list[tuple[int, int]]] = {}
        self.snap: Snapshot | None = None

    def _day(self, day: date) -> list[tuple[int, int]]:
        shifts = self._resolve(day)
        if not shifts:
            return []
        midnight = datetime(day.year, day.month, day.day, tzinfo=self._tz)
        out = []
        for shift in shifts:
            start = to_us(midnight + timedelta(seconds=shift.start))
            end = to_us(midnight + timedelta(seconds=shift.end))
            if start < end:  # a shift inside a skipped DST hour can vanish
                out.append((start, end))
        return out

    def _year(self, year: int) -> list[tuple[int, int]]:
        cached = self._years.get(year)
        if cached is None:
            cached = []
            day = date(year, 1, 1)
            while day.year == year:
                cached.extend(self._day(day))
                day += _ONE_DAY
            self._years[year] = cached
        return cached

    def _midnight(self, year: int) -> int:
        return to_us(datetime(year, 1, 1, tzinfo=self._tz))

    def year_of(self, us: int) -> int:
        """The local calendar year of an instant."""
        return from_us(us, self._tz).year

    def _build(self, first: int, last: int) -> Snapshot:
        if first < _MIN_YEAR or last > _MAX_YEAR:
            raise CalendarRangeError(
                f"instant outside the supported years {_MIN_YEAR}..{_MAX_YEAR}",
                hint="check the inputs: a duration or span of thousands of years is a mistake",
            )
        intervals: list[tuple[int, int]] = []
        if self._overnight:
            intervals.extend(self._day(date(first - 1, 12, 31)))
        for year in range(first, last + 1):
            intervals.extend(self._year(year))
        intervals.sort()
        return Snapshot(first, last, self._midnight(first), self._midnight(last + 1), intervals)

    def compile(self, first: int, last: int) -> Snapshot:
        """Make the index cover local years ``first..last`` (and whatever it covered already)."""
        with self._lock:
            snap = self.snap
            if snap is not None:
                if snap.first <= first and last <= snap.last:
                    return snap
                first, last = min(first, snap.first), max(last, snap.last)
            snap = self._build(first, last)
            self.snap = snap
            return snap

    def covering(self, lo: int, hi: int) -> Snapshot:
        """A snapshot exact on ``[lo, hi]`` (fast path: the current one)."""
        snap = self.snap
        if snap is not None and snap.lo <= lo and hi <= snap.hi:
            return snap
        return self.compile(self.year_of(lo), self.year_of(hi))

    def grow(self, snap: Snapshot, forward: bool, years: int) -> Snapshot:
        """A snapshot covering ``years`` more years after (or before) ``snap``."""
        if forward:
            return self.compile(snap.first, snap.last + years)
        return self.compile(snap.first - years, snap.last)

    def for_target(self, t: int, delta: int) -> tuple[Snapshot, int]:
        """A snapshot whose exact span holds the instant ``delta`` business µs after ``t``.

        Returns:
            The snapshot and the target value of ``B`` in it.
        """
        snap = self.covering(t, t)
        target = business_time(snap, t) + delta
        step, empty = 1, 0
        while not snap.b_lo <= target <= snap.b_hi:
            forward = target > snap.b_hi
            before = snap.b_hi - snap.b_lo
            snap = self.grow(snap, forward, step)
            if snap.b_hi - snap.b_lo == before:
                empty += step
                if empty >= _MAX_EMPTY_YEARS:
                    raise CalendarRangeError(
                        f"no working time in the {empty} years "
                        f"{'after' if forward else 'before'} the compiled span",
                        hint="the calendar's template, holidays and overrides leave no hours open",
                    )
            step *= 2
            target = business_time(snap, t) + delta
        return snap, target
