"""The DuckDB SQL path: period keys and conditions against Python, and against the generic path."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FactOptions, compute_facts, compute_frame, facts_to_arrow
from propcrm.metrics.kpi._conditions import (
    All,
    AnyOf,
    Cmp,
    Cond,
    IsNull,
    NotNull,
    conjunct_names,
    conjuncts,
    to_source,
)
from propcrm.metrics.kpi._facts import ticket_facts
from propcrm.metrics.kpi._frame_sql import cond_sql, period_sql
from propcrm.metrics.kpi._periods import PERIODS, period_key
from propcrm.testing.strategies import st_histories

from ._cond_strategies import st_cond, st_row
from ._fast_paths import spy, without

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")

AS_OF = datetime(2031, 1, 1, tzinfo=timezone.utc)


@settings(max_examples=40, deadline=None)
@given(
    stamps=st.lists(st.integers(-(2**34), 2**34), min_size=1, max_size=30),
    offset_hours=st.integers(-12, 14),
)
def test_period_sql_equals_python(stamps: list[int], offset_hours: int) -> None:
    relation = duckdb.from_arrow(pa.table({"t": pa.array(stamps, type=pa.int64())}))
    offset = offset_hours * 3600
    columns = ", ".join(f"{period_sql('t', p, offset)} AS {p}" for p in PERIODS)
    got = relation.query("x", f"SELECT {columns} FROM x").fetchall()
    expected = [tuple(period_key(t, p, offset) for p in PERIODS) for t in stamps]
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(cond=st_cond(), rows=st.lists(st_row, min_size=1, max_size=12))
def test_cond_sql_equals_python(cond: Cond, rows: list[dict[str, Any]]) -> None:
    table = pa.table(
        {
            "n": pa.array([r["n"] for r in rows], type=pa.int64()),
            "s": pa.array([r["s"] for r in rows], type=pa.string()),
            "b": pa.array([r["b"] for r in rows], type=pa.bool_()),
        }
    )
    got = [
        v
        for (v,) in duckdb.from_arrow(table)
        .query("x", f"SELECT {cond_sql(cond)} FROM x")
        .fetchall()
    ]
    check = eval(f"lambda r: {to_source(cond)}")  # the streaming engine's compiled form
    assert got == [bool(check(r)) for r in rows]


GROUPINGS = [
    ((), None),
    (("kind", "project"), "month"),
    (("channel", "contractor"), "week"),
    (("category_class", "priority"), "quarter"),
    (("responsible_party",), "day"),
]


@settings(max_examples=12, deadline=None)
@given(
    histories=st.lists(st_histories(max_commands=12), max_size=8),
    grouping=st.sampled_from(GROUPINGS),
)
def test_sql_path_equals_generic_path(
    histories: list,  # type: ignore[type-arg]
    grouping: tuple[tuple[str, ...], str | None],
) -> None:
    group_by, period = grouping
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories]
    table = facts_to_arrow(rows)
    fast = compute_frame(
        duckdb.from_arrow(table), group_by=group_by, period=period, as_records=True
    )
    with without("duckdb_cohorts"):
        generic = compute_frame(
            duckdb.from_arrow(table), group_by=group_by, period=period, as_records=True
        )
    assert fast == generic
    assert fast == compute_facts(rows, group_by=group_by, period=period)


def test_float_values_fall_back_to_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = spy(monkeypatch, "duckdb_cohorts")
    table = pa.table(
        {
            "received_at": pa.array([1_750_000_000 + i * 3_600 for i in range(4)]),
            "project": ["p1", "p1", "p1", "p2"],
            "merged": [False] * 4,
            "voided": [False] * 4,
            "first_response_s": pa.array([5.0, 1.0, 3.5, None]),
        }
    )
    values = compute_frame(
        duckdb.from_arrow(table),
        definitions=["first_response_median"],
        group_by=("project",),
        as_records=True,
    )
    assert taken == [False]
    by = {v.group[0][1]: v.value for v in values}
    assert by == {"p1": 3.5, "p2": None}


def test_integer_values_take_the_sql_path(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = spy(monkeypatch, "duckdb_cohorts")
    table = pa.table(
        {
            "received_at": pa.array([1_750_000_000 + i * 3_600 for i in range(6)]),
            "project": ["p1", "p1", "p1", "p2", "p2", None],
            "merged": [False] * 6,
            "voided": [False, False, False, False, True, False],
            "first_response_s": pa.array([-5, 1, 3, None, 7, 2]),
        }
    )
    values = compute_frame(
        duckdb.from_arrow(table),
        definitions=["first_response_median", "first_response_p90"],
        group_by=("project",),
        as_records=True,
    )
    assert taken == [True]
    by = {(v.kpi, v.group[0][1]): v.value for v in values}
    assert by[("first_response_median", "p1")] == 1.0
    assert by[("first_response_p90", "p1")] == pytest.approx(2.6, abs=1e-3)
    assert by[("first_response_median", "p2")] is None  # its only value is voided
    assert by[("first_response_median", None)] == 2.0


def test_conjuncts_flatten_nested_alls_and_name_each_once() -> None:
    a, b, c = Cmp("n", "==", 1), NotNull("s"), AnyOf((IsNull("b"), Cmp("n", ">", 0)))
    assert conjuncts(All((a, All((b, All(()))), c))) == [a, b, c]
    assert conjuncts(c) == [c]  # only All is split
    assert conjunct_names([All((a, b)), All((b, c)), a]) == {a: "_c0", b: "_c1", c: "_c2"}
