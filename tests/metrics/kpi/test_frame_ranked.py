"""The Polars sort-once quantile path against a plain-Python reference and the generic path."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FactOptions, compute_facts, compute_frame, facts_to_arrow
from propcrm.metrics.kpi import _frames as frames_module
from propcrm.metrics.kpi._engine import linear_quantile
from propcrm.metrics.kpi._facts import ticket_facts
from propcrm.metrics.kpi._frame_ranked import VALUE_BITS, polars_quantiles
from propcrm.testing.strategies import st_histories

from ._fast_paths import spy, without

pl = pytest.importorskip("polars")

AS_OF = datetime(2031, 1, 1, tzinfo=timezone.utc)
QS = (0.5, 0.9)


def reference(
    keys: list[tuple[Any, ...]], values: dict[str, list[Any]]
) -> dict[tuple[Any, ...], dict[str, float | None]]:
    """Group by key tuple in Python, sort the non-null values, take linear quantiles."""
    by_group: dict[tuple[Any, ...], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r, key in enumerate(keys):
        for name, column in values.items():
            by_group[key][name]  # every group present, even with no values
            if column[r] is not None:
                by_group[key][name].append(column[r])
    return {
        key: {f"{name}_{q}": linear_quantile(sorted(cols[name]), q) for name in values for q in QS}
        for key, cols in by_group.items()
    }


st_value = st.one_of(st.none(), st.integers(0, 50), st.integers(0, 2**40))
st_negative = st.one_of(st.none(), st.integers(-(2**38), 2**38))


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from([202501, 202502, None]),
            st_value,
            st_negative,
        ),
        max_size=40,
    ),
    keyed=st.booleans(),
    lazy=st.booleans(),
)
def test_sort_once_quantiles_equal_python(
    rows: list[tuple[Any, ...]], keyed: bool, lazy: bool
) -> None:
    # Nulls, empty groups (every value null), ties, one- and two-value groups, negative
    # values and spans at the 2**40 limit all occur here.
    frame = pl.DataFrame(
        {
            "_g0": [r[0] for r in rows],
            "_period": [r[1] for r in rows],
            "v": [r[2] for r in rows],
            "w": [r[3] for r in rows],
        },
        schema={"_g0": pl.String, "_period": pl.Int64, "v": pl.Int64, "w": pl.Int64},
    )
    keys = ["_g0", "_period"] if keyed else []
    wanted = {n: [(f"{n}_{q}", q) for q in QS] for n in ("v", "w")}
    got = polars_quantiles(frame.lazy() if lazy else frame, keys, wanted)
    values = {"v": [r[2] for r in rows], "w": [r[3] for r in rows]}
    spans = [
        max(c) - min(c) for c in ([x for x in col if x is not None] for col in values.values()) if c
    ]
    if not rows or any(s >= 2**VALUE_BITS for s in spans):
        assert got is None  # the generic path takes over
        return
    assert got is not None
    group_keys = [(r[0], r[1]) if keyed else () for r in rows]
    expected = reference(group_keys, values)
    n = len(got["v_0.5"])
    found = {
        tuple(got[k][i] for k in keys): {c: got[c][i] for c in got if c not in keys}
        for i in range(n)
    }
    assert found == expected


def test_float_values_fall_back() -> None:
    frame = pl.DataFrame({"_g0": ["a", "a"], "v": [1.0, 2.5]})
    assert polars_quantiles(frame, ["_g0"], {"v": [("m", 0.5)]}) is None


def test_no_rows_fall_back() -> None:
    frame = pl.DataFrame({"_g0": [], "v": []}, schema={"_g0": pl.String, "v": pl.Int64})
    assert polars_quantiles(frame, ["_g0"], {"v": [("m", 0.5)]}) is None


GROUPINGS = [
    ((), None),
    (("kind", "project"), "month"),
    (("channel", "contractor"), "week"),
    (("assignee", "building"), "year"),
]


@settings(max_examples=15, deadline=None)
@given(
    histories=st.lists(st_histories(max_commands=12), max_size=8),
    grouping=st.sampled_from(GROUPINGS),
)
def test_fast_path_equals_generic_path_and_stream(
    histories: list,  # type: ignore[type-arg]
    grouping: tuple[tuple[str, ...], str | None],
) -> None:
    group_by, period = grouping
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories]
    table = facts_to_arrow(rows)
    fast = compute_frame(pl.from_arrow(table), group_by=group_by, period=period, as_records=True)
    with without("polars_cohort"):
        sort_once = compute_frame(
            pl.from_arrow(table), group_by=group_by, period=period, as_records=True
        )
    with without("polars_cohort", "polars_quantiles"):
        generic = compute_frame(
            pl.from_arrow(table), group_by=group_by, period=period, as_records=True
        )
    assert fast == sort_once == generic
    assert fast == compute_facts(rows, group_by=group_by, period=period)


def test_fast_path_is_taken_on_integer_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path must actually run (not silently fall back) on the facts' integer columns.
    monkeypatch.setattr(frames_module, "polars_cohort", lambda *a, **k: None)
    taken = spy(monkeypatch, "polars_quantiles")
    frame = pl.DataFrame(
        {
            "received_at": [1_750_000_000 + i * 3_600 for i in range(6)],
            "project": ["p1", "p1", "p1", "p2", "p2", None],
            "kind": ["repair"] * 6,
            "merged": [False] * 6,
            "voided": [False] * 6,
            "first_response_s": [5, 1, 3, None, 7, 2],
        }
    )
    values = compute_frame(
        frame,
        definitions=["first_response_median", "first_response_p90"],
        group_by=("project",),
        period="month",
        as_records=True,
    )
    assert taken == [True]
    by = {(v.kpi, v.group[0][1]): v.value for v in values}
    assert by[("first_response_median", "p1")] == 3.0
    assert by[("first_response_p90", "p1")] == pytest.approx(4.6, abs=1e-3)
    assert by[("first_response_median", "p2")] == 7.0
    assert by[("first_response_median", None)] == 2.0
