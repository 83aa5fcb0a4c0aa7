"""The vectorised path: calendar operations over numpy arrays (private; functions re-exported).

numpy is optional (the ``frames`` extra) and imported when a function here is first called.
Instants are ``datetime64`` values (read as UTC, any unit from seconds to nanoseconds) or integer
epoch seconds; durations are ``timedelta64`` values or integer seconds. Results keep the input's
kind and unit. ``NaT`` inputs give ``NaT`` (or, for integer results, the minimum int64) back.
Every call costs a few ``searchsorted`` passes over a compiled index of some thousand intervals.
"""

from __future__ import annotations

from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import attrs

from propcrm._validation import require_aware
from propcrm.errors import ValidationError
from propcrm.metrics.calendar._calendar import BusinessCalendar
from propcrm.metrics.calendar._index import Snapshot, to_us
from propcrm.metrics.calendar._sources import require_module

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["Breaches", "add_many", "check_breaches", "elapsed_many"]

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_NAT = -(2**63)


def _numpy() -> ModuleType:
    return require_module("numpy", extra="frames", feature="the vectorised calendar path")


@attrs.frozen(kw_only=True, eq=False)
class Breaches:
    """The result of :func:`check_breaches`, one entry per ticket.

    Attributes:
        breached: ``now > due`` (a deadline is an instant: one passed in a closed hour is still
            breached, with ``remaining == 0``).
        remaining: Business time from ``now`` to ``due``; negative by the business time the
            deadline was missed by. Same kind and unit as the input instants.
    """

    breached: NDArray[Any]
    remaining: NDArray[Any]


class _Instants:
    """An array of instants as int64 in its own unit, with its NaT mask."""

    def __init__(self, np: ModuleType, values: object, path: str, unit: str | None = None):
        array = np.asarray(values)
        kind = array.dtype.kind
        if kind == "M":
            found = np.datetime_data(array.dtype)[0]
            target = unit or (found if found in _PER_SECOND else "s")
            if found != target:
                array = array.astype(f"datetime64[{target}]")
            self.unit, self.is_datetime = target, True
        elif kind in "iu":
            self.unit, self.is_datetime = "s", False
            array = array.astype("int64", copy=False)
            if unit is not None and unit != "s":
                array = array * _PER_SECOND[unit]
                self.unit = unit
        elif kind == "O" and array.size and isinstance(array.flat[0], datetime):
            stamps = [to_us(require_aware(v, f"{path}[{i}]")) for i, v in enumerate(array.flat)]
            array = np.asarray(stamps, dtype="int64").reshape(array.shape)
            self.unit, self.is_datetime = "us", True
            if unit is not None and unit != "us":
                array = _from_us(array, _PER_SECOND[unit])
                self.unit = unit
        else:
            raise ValidationError.single(
                path,
                f"expected datetime64 values or integer epoch seconds, got dtype {array.dtype}",
                hint="convert tz-aware pandas data with series.dt.tz_convert('UTC')"
                ".dt.tz_localize(None).to_numpy()",
            )
        self.values = array.view("int64") if array.dtype.kind == "M" else array
        self.nat = self.values == _NAT if self.is_datetime else None
        self.factor = _PER_SECOND[self.unit]

    def valid(self) -> Any:
        return self.values if self.nat is None else self.values[~self.nat]

    def to_us_floor(self, value: int) -> int:
        return value * 1_000_000 // self.factor

    def to_us_ceil(self, value: int) -> int:
        return -(-value * 1_000_000 // self.factor)


def _durations(np: ModuleType, values: object, unit: str, shape: tuple[int, ...]) -> Any:
    array = np.asarray(values)
    if array.dtype.kind == "m":
        array = array.astype(f"timedelta64[{unit}]").view("int64")
    elif array.dtype.kind in "iu":
        array = array.astype("int64") * _PER_SECOND[unit]
    else:
        raise ValidationError.single(
            "$.durations",
            f"expected timedelta64 values or integer seconds, got dtype {array.dtype}",
        )
    return np.broadcast_to(array, shape)


def _from_us(values: Any, factor: int) -> Any:
    """Microseconds to a unit with ``factor`` ticks a second, without overflowing int64."""
    if factor >= 1_000_000:
        return values * (factor // 1_000_000)
    return values // (1_000_000 // factor)


class _Lookup:
    """``searchsorted(values, x, "right") - 1`` for a sorted int64 array, by bucket table.

    ``x >> shift`` picks a bucket; the table holds the answer at the bucket's start and at most
    ``steps`` comparisons finish the job. The bucket width is a power of two chosen so that few
    values share a bucket; about four times faster than a binary search over a million random
    queries. Falls back to ``searchsorted`` when the values cluster too much.
    """

    _MAX_BUCKETS = 1 << 22
    _MAX_STEPS = 2

    def __init__(self, np: ModuleType, values: Any):
        self.values = values
        self.padded = np.append(values, np.iinfo(np.int64).max)
        first, last = int(values[0]), int(values[-1])
        shift = max(0, ((last - first + 1) // (4 * len(values))).bit_length() - 1)
        while True:
            # bucket 0 lies wholly below the first value, so anything below it finds -1
            self.base = first - (1 << shift)
            count = ((last - self.base) >> shift) + 2
            edges = self.base + (np.arange(count, dtype=np.int64) << shift)
            table = np.searchsorted(values, edges, side="right") - 1
            steps = int((table[1:] - table[:-1]).max())
            if steps <= self._MAX_STEPS or shift == 0 or 2 * count > self._MAX_BUCKETS:
                break
            shift -= 1
        self.shift, self.table, self.steps, self.count = shift, table, steps, count
        self.binary = steps > 4 * self._MAX_STEPS

    def right(self, np: ModuleType, x: Any) -> Any:
        """The index of the last value ``<= x`` (-1 for anything below the first value)."""
        if self.binary:
            return np.searchsorted(self.values, x, side="right") - 1
        bucket = (x - self.base) >> self.shift
        bucket = np.clip(bucket, 0, self.count - 1)
        i = self.table[bucket]
        for _ in range(self.steps):
            i += self.padded[i + 1] <= x
        return i


class _Arrays:
    """The index of one snapshot as numpy int64 arrays in one unit."""

    def __init__(self, np: ModuleType, snap: Snapshot, unit: str):
        factor = _PER_SECOND[unit]

        def scaled(values: list[int]) -> Any:
            # boundaries are whole seconds, so this is exact (the sentinel only needs to stay low)
            return _from_us(np.asarray(values, dtype="int64"), factor)

        self.starts = scaled(snap.starts)
        self.ends = scaled(snap.ends)
        self.cum = scaled(snap.cum)
        self.cumend = scaled(snap.cumend)
        self.base = self.cum - self.starts
        self.lo, self.hi = snap.lo * factor // 1_000_000, snap.hi * factor // 1_000_000
        self.b_lo, self.b_hi = snap.b_lo * factor // 1_000_000, snap.b_hi * factor // 1_000_000
        self.by_start = _Lookup(np, self.starts)
        self._by_cumend: _Lookup | None = None

    def by_cumend(self, np: ModuleType) -> _Lookup:
        if self._by_cumend is None:
            self._by_cumend = _Lookup(np, self.cumend)
        return self._by_cumend

    def business(self, np: ModuleType, t: Any) -> Any:
        """``B(t)`` for every instant."""
        i = self.by_start.right(np, t)
        return self.base[i] + np.minimum(t, self.ends[i])


def _arrays(np: ModuleType, snap: Snapshot, unit: str) -> _Arrays:
    found = snap.arrays.get(unit)
    if found is None:
        found = snap.arrays[unit] = _Arrays(np, snap, unit)
    return cast(_Arrays, found)


def _covering(np: ModuleType, calendar: BusinessCalendar, *groups: _Instants) -> _Arrays:
    """The index arrays exact over every non-NaT instant of ``groups`` (in the first's unit)."""
    lows = [g.to_us_floor(int(v.min())) for g in groups if (v := g.valid()).size]
    highs = [g.to_us_ceil(int(v.max())) for g in groups if (v := g.valid()).size]
    snap = calendar._index.snap
    if not lows:  # nothing but NaT: any snapshot will do, the results are masked
        snap = snap or calendar._snapshot(0, 0)
    else:
        snap = calendar._snapshot(min(lows), max(highs))
    return _arrays(np, snap, groups[0].unit)


def _finish(np: ModuleType, result: Any, like: _Instants, delta: bool) -> NDArray[Any]:
    if like.nat is not None:
        result = np.where(like.nat, _NAT, result)
    if not like.is_datetime:
        return cast("NDArray[Any]", result)
    kind = "timedelta64" if delta else "datetime64"
    return cast("NDArray[Any]", result.astype("int64").view(f"{kind}[{like.unit}]"))


def add_many(calendar: BusinessCalendar, starts: object, durations: object) -> NDArray[Any]:
    """:meth:`BusinessCalendar.add` over arrays: the deadline of each start plus its duration.

    Args:
        calendar: The calendar.
        starts: ``datetime64`` (UTC) or int64 epoch-second instants.
        durations: ``timedelta64`` or integer seconds, one per start or one for all; negative
            durations subtract.

    Returns:
        The deadlines, with the kind and unit of ``starts``.

    Raises:
        ValidationError: An array has the wrong dtype.
        OptionalDependencyError: numpy is not installed.
        CalendarRangeError: A deadline leaves the holiday data (policy ``raise``).
    """
    np = _numpy()
    t = _Instants(np, starts, "$.starts")
    d = _durations(np, durations, t.unit, t.values.shape)
    tv = t.values
    if t.nat is not None and t.nat.any():
        if t.nat.all():
            return _finish(np, tv, t, False)
        tv = np.where(t.nat, t.valid()[0], tv)
        d = np.where(t.nat, 0, d)
    arrs = _covering(np, calendar, t)
    for _ in range(64):
        target = arrs.business(np, tv) + d
        low, high = int(target.min()), int(target.max())
        if arrs.b_lo <= low and high <= arrs.b_hi:
            break
        # grow the index until the extreme target fits, then check every target again
        i = int(target.argmax() if high > arrs.b_hi else target.argmin())
        step = int(d[i])
        step_us = -(-step * 1_000_000 // t.factor) + (1 if step >= 0 else -1)
        calendar._index.for_target(t.to_us_floor(int(tv[i])), step_us)
        arrs = _covering(np, calendar, t)
    lookup = arrs.by_cumend(np)
    # earliest instant: the first interval whose cumulative end reaches the target
    forward = np.minimum(lookup.right(np, target - 1) + 1, len(arrs.cumend) - 1)
    result = arrs.ends[forward] - (arrs.cumend[forward] - target)
    if (d < 0).any():
        # latest instant: the first interval whose cumulative end passes the target
        back = np.minimum(lookup.right(np, target) + 1, len(arrs.cumend) - 1)
        result = np.where(d < 0, arrs.starts[back] + (target - arrs.cum[back]), result)
        result = np.where(d == 0, tv, result)
    else:
        np.maximum(result, tv, out=result)  # a zero duration gives the start itself
    if calendar.deadline == "next_opening":
        result = _next_opening(np, calendar, result, t.unit, d >= 0)
    return _finish(np, result, t, False)


def _next_opening(
    np: ModuleType, calendar: BusinessCalendar, result: Any, unit: str, mask: Any
) -> Any:
    for _ in range(64):
        arrs = _arrays(np, calendar._index.snap or calendar._snapshot(0, 0), unit)
        i = arrs.by_start.right(np, result)
        closed = mask & (result >= arrs.ends[i])
        nxt = np.minimum(i + 1, len(arrs.starts) - 1)
        short = closed & ((i + 1 >= len(arrs.starts)) | (arrs.starts[nxt] > arrs.hi))
        if not short.any():
            return np.where(closed, arrs.starts[nxt], result)
        snap = calendar._index.snap
        if snap is not None:  # pragma: no branch - set by the add above
            calendar._index.grow(snap, True, 1)
    raise AssertionError("unreachable: no opening in 64 years")  # pragma: no cover


def elapsed_many(calendar: BusinessCalendar, starts: object, ends: object) -> NDArray[Any]:
    """:meth:`BusinessCalendar.elapsed` over arrays: signed business time from start to end.

    Args:
        calendar: The calendar.
        starts: ``datetime64`` (UTC) or int64 epoch-second instants.
        ends: The same kind, one per start or one for all.

    Returns:
        ``timedelta64`` in the unit of ``starts`` for datetime input, else int64 seconds.

    Raises:
        ValidationError: An array has the wrong dtype.
        OptionalDependencyError: numpy is not installed.
        CalendarRangeError: A span leaves the holiday data (policy ``raise``).
    """
    np = _numpy()
    a = _Instants(np, starts, "$.starts")
    b = _Instants(np, ends, "$.ends", unit=a.unit)
    arrs = _covering(np, calendar, a, b)
    result = arrs.business(np, b.values) - arrs.business(np, a.values)
    if b.nat is not None:
        result = np.where(b.nat, _NAT, result)
    return _finish(np, result, a, True)


def check_breaches(calendar: BusinessCalendar, due: object, now: object) -> Breaches:
    """Which deadlines have passed at ``now``, and the business time left (or overrun) for each.

    Args:
        calendar: The calendar.
        due: ``datetime64`` (UTC) or int64 epoch-second deadlines, e.g. from :func:`add_many`.
        now: One instant for all (an aware ``datetime``, ``datetime64`` or epoch seconds) or an
            array of them.

    Returns:
        The breach mask and the signed remaining business time.

    Raises:
        ValidationError: An array has the wrong dtype or ``now`` is naive.
        OptionalDependencyError: numpy is not installed.
    """
    np = _numpy()
    d = _Instants(np, due, "$.due")
    if isinstance(now, datetime):
        stamp: Any = np.int64(to_us(require_aware(now, "$.now")) * d.factor // 1_000_000)
        now = stamp.view(f"datetime64[{d.unit}]") if d.is_datetime else stamp
    n = _Instants(np, now, "$.now", unit=d.unit)
    arrs = _covering(np, calendar, d, n)
    remaining = arrs.business(np, d.values) - arrs.business(np, n.values)
    breached = n.values > d.values
    if d.nat is not None:
        breached = breached & ~d.nat
        remaining = np.where(d.nat, _NAT, remaining)
    remaining = np.broadcast_to(remaining, np.broadcast_shapes(d.values.shape, n.values.shape))
    return Breaches(breached=breached, remaining=_finish(np, remaining, d, True))
