"""The numpy path: units, NaT, broadcasting, errors, and its speed on a million tickets."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.metrics.calendar import (
    BusinessCalendar,
    OptionalDependencyError,
    add_many,
    check_breaches,
    elapsed_many,
)

UTC = timezone.utc


@pytest.fixture
def cal() -> BusinessCalendar:
    return BusinessCalendar(
        timezone="Asia/Shanghai",
        weekly={"mon-fri": "09:00-12:00,13:30-18:00"},
        holidays=["2025-03-05"],
    )


def test_units_and_kinds_are_kept(cal: BusinessCalendar) -> None:
    starts = np.array(["2025-03-03T01:00", "2025-03-04T09:30:00.5"], dtype="datetime64[ms]")
    due = add_many(cal, starts, np.timedelta64(2, "h"))
    assert due.dtype == np.dtype("datetime64[ms]")
    # 09:00 Shanghai is 01:00 UTC; the office closes at 10:00 UTC; 5 March is a holiday, so
    # from 17:30:00.5 on the 4th: 29:59.5 that day, the rest from 09:00 on the 6th
    assert due.tolist() == [
        datetime(2025, 3, 3, 3, 0),
        datetime(2025, 3, 6, 2, 30, 0, 500_000),
    ]
    spent = elapsed_many(cal, starts, due)
    assert spent.dtype == np.dtype("timedelta64[ms]")
    assert (spent == np.timedelta64(2, "h")).all()
    epoch = starts.astype("datetime64[s]").astype(np.int64)
    assert add_many(cal, epoch, 7200).dtype == np.int64


def test_aware_datetimes_in_an_object_array_are_accepted(cal: BusinessCalendar) -> None:
    start = datetime(2025, 3, 3, 17, tzinfo=UTC)
    got = add_many(cal, np.array([start], dtype=object), np.array([3600]))
    assert got.astype("datetime64[us]").tolist() == [
        cal.add(start, timedelta(hours=1)).replace(tzinfo=None)
    ]
    with pytest.raises(ValidationError, match="naive"):
        add_many(cal, np.array([datetime(2025, 3, 3)], dtype=object), 60)


def test_nat_gives_nat(cal: BusinessCalendar) -> None:
    starts = np.array(["2025-03-03T01:00", "NaT"], dtype="datetime64[s]")
    assert np.isnat(add_many(cal, starts, 60)).tolist() == [False, True]
    assert np.isnat(elapsed_many(cal, starts, starts[::-1])).tolist() == [True, True]
    result = check_breaches(cal, starts, datetime(2025, 3, 4, tzinfo=UTC))
    assert result.breached.tolist() == [True, False]
    assert np.isnat(result.remaining).tolist() == [False, True]
    assert np.isnat(add_many(cal, starts[1:], 60)).all()


def test_breaches_in_closed_hours_have_zero_remaining(cal: BusinessCalendar) -> None:
    due = np.array(["2025-03-03T10:00", "2025-03-04T02:00"], dtype="datetime64[s]")
    now = np.datetime64("2025-03-03T12:00")  # 20:00 in Shanghai: closed
    result = check_breaches(cal, due, now)
    assert result.breached.tolist() == [True, False]
    assert result.remaining.astype(np.int64).tolist() == [0, 3600]
    per_ticket = check_breaches(cal, due, np.array([now, now - np.timedelta64(3, "h")]))
    assert per_ticket.remaining.astype(np.int64).tolist() == [0, 3600 + 3600]


def test_bad_dtypes_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValidationError, match="datetime64"):
        add_many(cal, np.array([1.5]), 60)
    with pytest.raises(ValidationError, match="timedelta64"):
        add_many(cal, np.array([0]), np.array([1.5]))


def test_missing_numpy_names_the_extra(
    cal: BusinessCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(OptionalDependencyError, match=r'pip install "propcrm\[frames\]"'):
        add_many(cal, [0], 60)


def test_the_index_grows_for_vectorised_deadlines(cal: BusinessCalendar) -> None:
    starts = np.array(["2025-12-31T09:00"], dtype="datetime64[s]")
    far = add_many(cal, starts, np.timedelta64(3 * 260 * 27_000, "s"))
    assert far.astype("datetime64[Y]").astype(int)[0] + 1970 == 2028
    back = add_many(cal, far, -np.timedelta64(3 * 260 * 27_000, "s"))
    assert back.tolist() == starts.tolist()


def test_next_opening_convention_in_the_vectorised_path(cal: BusinessCalendar) -> None:
    import attrs

    opening = attrs.evolve(cal, deadline="next_opening")
    starts = np.array(["2025-03-07T09:00"], dtype="datetime64[s]")  # Friday 17:00 Shanghai
    assert add_many(opening, starts, 3600).tolist() == [datetime(2025, 3, 10, 1, 0)]
    assert add_many(cal, starts, 3600).tolist() == [datetime(2025, 3, 7, 10, 0)]


def test_a_million_breach_checks_are_fast(cal: BusinessCalendar) -> None:
    rng = np.random.default_rng(7)
    due = rng.integers(1_735_689_600, 1_798_761_600, 1_000_000)  # 2025 and 2026
    cal.compile(2025, 2026)
    check_breaches(cal, due[:10], 1_760_000_000)
    began = time.perf_counter()
    result = check_breaches(cal, due, 1_760_000_000)
    spent = time.perf_counter() - began
    assert result.remaining.shape == (1_000_000,)
    assert spent < 1.0  # the benchmark holds the 0.3 s target; this catches gross regressions


@given(
    st.sets(st.integers(-(10**12), 10**12), min_size=1, max_size=60),
    st.lists(st.integers(-(10**12) - 10, 10**12 + 10), max_size=40),
)
def test_bucket_lookup_equals_searchsorted(values: set[int], queries: list[int]) -> None:
    from propcrm.metrics.calendar._vectorized import _Lookup

    array = np.array(sorted(values), dtype=np.int64)
    x = np.array([*queries, *values, *(v - 1 for v in values), *(v + 1 for v in values)])
    lookup = _Lookup(np, array)
    assert lookup.right(np, x).tolist() == (np.searchsorted(array, x, side="right") - 1).tolist()
