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

__all__ = [
    "EPOCH",
    "ONE_US",
    "Index",
    "Snapshot",
    "WallIndex",
    "aware_us",
    "business_time",
    "from_us",
    "to_us",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_DAY = timedelta(days=1)
#: ``ONE_US * n`` is the fastest way to build a timedelta of ``n`` microseconds.
ONE_US = timedelta(microseconds=1)
_MIN_YEAR, _MAX_YEAR = 2, 9998
_DAY_US = 86_400_000_000
#: Give up looking for working time after this many years without any.
_MAX_EMPTY_YEARS = 16


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


#: The wall-clock Unix epoch in each time zone seen, for :func:`aware_us`.
_EPOCHS: dict[tzinfo, datetime] = {}


def aware_us(value: datetime, path: str) -> int:
    """:func:`to_us` of an argument, refusing naive datetimes and non-datetimes.

    Subtracting a datetime with the same ``tzinfo`` is plain wall-clock arithmetic (no offset
    lookups), so the instant is that wall-clock difference minus the value's own UTC offset:
    one offset lookup instead of the two of ``value - EPOCH``.

    Raises:
        ValidationError: ``value`` is not an aware datetime (the error names ``path``).
    """
    try:
        tz = value.tzinfo
        offset = value.utcoffset()
    except AttributeError:
        tz = offset = None
    if offset is None or tz is None:
        require_aware(value, path)
        raise AssertionError("unreachable")  # pragma: no cover - require_aware raised
    epoch = _EPOCHS.get(tz)
    if epoch is None:
        if len(_EPOCHS) > 64:
            _EPOCHS.clear()
        epoch = _EPOCHS[tz] = datetime(1970, 1, 1, tzinfo=tz)
    wall = value - epoch
    return ((wall.days - offset.days) * 86_400 + wall.seconds - offset.seconds) * 1_000_000 + (
        wall.microseconds - offset.microseconds
    )


def from_us(us: int, tz: tzinfo | None) -> datetime:
    """The aware datetime ``us`` microseconds after the epoch, shown in ``tz``."""
    return (EPOCH + ONE_US * us).astimezone(tz)


class Snapshot:
    """An immutable compiled span: local years ``first..last``, exact for ``lo <= t <= hi``."""

    __slots__ = (
        "arrays",
        "b_hi",
        "b_lo",
        "base",
        "cum",
        "cumend",
        "ends",
        "epoch",
        "first",
        "hi",
        "last",
        "lo",
        "starts",
        "wall",
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
        #: ``cum[i] - starts[i]``, so that ``B(t) = base[i] + min(t, ends[i])``.
        self.base = [c - s for c, s in zip(cum, starts, strict=True)]
        self.b_lo = business_time(self, lo)
        self.b_hi = business_time(self, hi)
        #: numpy copies of the lists per time unit, built by the vectorised path on demand.
        self.arrays: dict[str, Any] = {}
        #: When the zone's UTC offset is one constant over the span (see :meth:`fix_offset`):
        #: the wall-clock epoch in the zone, and the index again as timedeltas after it.
        self.epoch: datetime | None = None
        self.wall: WallIndex | None = None

    def fix_offset(self, tz: tzinfo, offset: int) -> None:
        """Record that ``tz`` keeps one UTC offset (µs) over the whole span.

        An aware datetime ``v`` in ``tz`` is then ``v - epoch`` after the wall-clock epoch
        (subtracting datetimes with one tzinfo is plain wall-clock arithmetic), and the fast
        paths answer from :attr:`wall` with no offset lookups and no integer conversions.
        """
        self.epoch = datetime(1970, 1, 1, tzinfo=tz)
        self.wall = WallIndex(self, offset)


class WallIndex:
    """A snapshot's lists as timedeltas after the wall-clock epoch, for a fixed-offset zone."""

    __slots__ = ("b_hi", "base", "cumend", "ends", "hi", "lo", "starts")

    def __init__(self, snap: Snapshot, offset: int) -> None:
        def wall(us: int) -> timedelta:
            return ONE_US * (us + offset)

        def span(us: int) -> timedelta:
            return ONE_US * us

        self.starts = [wall(v) for v in snap.starts]
        self.ends = [wall(v) for v in snap.ends]
        #: ``B(t) = base[i] + min(t, ends[i])`` as in :func:`business_time`, in wall time.
        self.base = [span(c - s - offset) for c, s in zip(snap.cum, snap.starts, strict=True)]
        self.cumend = [span(v) for v in snap.cumend]
        # a margin of a day keeps ``v - epoch`` trustworthy near the ends of the span
        self.lo, self.hi = wall(snap.lo + _DAY_US), wall(snap.hi - _DAY_US)
        self.b_hi = span(snap.b_hi)


def business_time(snap: Snapshot, t: int) -> int:
    """``B(t)``: business microseconds from the snapshot's origin to ``t``."""
    i = bisect_right(snap.starts, t) - 1
    end = snap.ends[i]
    return snap.base[i] + (end if t > end else t)


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
        self._year_offsets: dict[int, set[int]] = {}
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
        snap = Snapshot(first, last, self._midnight(first), self._midnight(last + 1), intervals)
        offsets = set().union(*(self._offsets(year) for year in range(first - 1, last + 2)))
        if len(offsets) == 1:
            # one offset at every local midnight from the year before to the year after: the
            # zone keeps it throughout (no zone changes offset and back within one day)
            (offset,) = offsets
            snap.fix_offset(self._tz, offset)
        return snap

    def _offsets(self, year: int) -> set[int]:
        """The UTC offsets (µs) at the local midnights of a year."""
        found = self._year_offsets.get(year)
        if found is None:
            found = set()
            day = date(year, 1, 1)
            while day.year == year:
                offset = datetime(day.year, day.month, day.day, tzinfo=self._tz).utcoffset()
                assert offset is not None
                found.add(offset // ONE_US)
                day += _ONE_DAY
            self._year_offsets[year] = found
        return found

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
