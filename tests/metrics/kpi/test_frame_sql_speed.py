"""The DuckDB path's faster forms: every cohort at once, conditions without COALESCE.

``duckdb_cohorts`` (all cohorts of a relation, quantiles on a worker thread) must give what
``duckdb_cohort`` gives one cohort at a time, on any kind of relation, without leaving views or
tables behind; conjuncts compiled for ``count_if`` must count exactly the rows ``cond_sql``
accepts.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import FactOptions, compute_facts, compute_frame, facts_to_arrow
from propcrm.metrics.kpi import _frames as frames_module
from propcrm.metrics.kpi._conditions import Cond
from propcrm.metrics.kpi._engine import make_plan, resolve_definitions
from propcrm.metrics.kpi._facts import ticket_facts
from propcrm.metrics.kpi._frame_sql import _conjunct_sql, cond_sql, duckdb_cohort, duckdb_cohorts
from propcrm.testing.strategies import st_histories

from ._cond_strategies import st_cond, st_row
from ._fast_paths import without

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

AS_OF = datetime(2031, 1, 1, tzinfo=timezone.utc)
PLAN = make_plan(resolve_definitions(None))
TICKET_COHORTS = {column: slots for (src, column), slots in PLAN.slots.items() if src == "tickets"}


def _by_key(rows: list[tuple[tuple[Any, ...], list[Any]]] | None) -> dict[Any, list[Any]] | None:
    """Group order is DuckDB's (parallel, unordered): compare by key."""
    if rows is None:
        return None
    out = dict(rows)
    assert len(out) == len(rows)
    return out


def _user_objects(con: Any) -> list[tuple[Any, ...]]:
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    return sorted(views + tables)


class _AllCohorts:
    """Within the block, ``compute_frame`` gets every DuckDB cohort from one ``duckdb_cohorts``
    call per relation (the call site the engine is meant to use), cohort by cohort."""

    def __enter__(self) -> None:
        self.saved = getattr(frames_module, "duckdb_cohort", None)
        if self.saved is None:
            return  # the engine already calls duckdb_cohorts itself
        cache: dict[int, dict[str, Any]] = {}

        def batched(
            relation: Any,
            slots: Any,
            column: str,
            dims: Any,
            period: Any,
            offset: int,
            bounds: Any,
        ) -> Any:
            key = id(relation)
            if key not in cache or column not in cache[key]:
                cache.clear()
                cohorts = {c: s for c, s in TICKET_COHORTS.items() if c in relation.columns}
                cache[key] = duckdb_cohorts(relation, cohorts, dims, period, offset, bounds)
            return cache[key].pop(column)

        frames_module.duckdb_cohort = batched  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            frames_module.duckdb_cohort = self.saved  # type: ignore[attr-defined]


#: The name the engine calls for the DuckDB path (one cohort, or every cohort at once).
_SQL_FAST_PATH = "duckdb_cohorts" if hasattr(frames_module, "duckdb_cohorts") else "duckdb_cohort"

GROUPINGS = [
    ((), None),
    (("project",), "month"),
    (("kind", "project"), "week"),
    (("channel",), "quarter"),
]


@settings(max_examples=15, deadline=None)
@given(
    histories=st.lists(st_histories(max_commands=12), max_size=8),
    grouping=st.sampled_from(GROUPINGS),
    with_window=st.booleans(),
)
def test_all_cohorts_at_once_equal_one_at_a_time(
    histories: list,  # type: ignore[type-arg]
    grouping: tuple[tuple[str, ...], str | None],
    with_window: bool,
) -> None:
    group_by, period = grouping
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories]
    table = facts_to_arrow(rows)
    relation = duckdb.from_arrow(table)
    dims = list(group_by)
    bounds = (1_700_000_000, 1_900_000_000) if with_window else None
    together = duckdb_cohorts(relation, TICKET_COHORTS, dims, period, 8 * 3600, bounds)
    assert set(together) == set(TICKET_COHORTS)
    for column, slots in TICKET_COHORTS.items():
        alone = duckdb_cohort(relation, slots, column, dims, period, 8 * 3600, bounds)
        assert _by_key(together[column]) == _by_key(alone)
    # End to end: the engine fed by one call per relation, against the streaming engine.
    with _AllCohorts():
        fast = compute_frame(relation, group_by=group_by, period=period, as_records=True)
    assert fast == compute_facts(rows, group_by=group_by, period=period)


@settings(max_examples=6, deadline=None)
@given(histories=st.lists(st_histories(max_commands=12), min_size=1, max_size=8))
def test_any_relation_kind_same_values_and_nothing_left_behind(
    histories: list,  # type: ignore[type-arg]
) -> None:
    table = facts_to_arrow([ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories])
    con = duckdb.connect()
    con.register("facts_arrow", table)
    con.execute("CREATE TABLE facts AS SELECT * FROM facts_arrow")
    con.unregister("facts_arrow")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "facts.parquet"
        pq.write_table(table, path)
        relations = {
            "arrow": duckdb.from_arrow(table),
            "native table": con.table("facts"),
            "parquet scan": con.read_parquet(str(path)),
        }
        before = _user_objects(con)
        results = {}
        for kind, relation in relations.items():
            found = duckdb_cohorts(relation, TICKET_COHORTS, ["project"], "month", 8 * 3600, None)
            results[kind] = {column: _by_key(rows) for column, rows in found.items()}
        assert _user_objects(con) == before  # no temporary view or table left behind
    assert results["native table"] == results["arrow"]
    assert results["parquet scan"] == results["arrow"]


def test_a_float_cohort_falls_back_alone() -> None:
    table = pa.table(
        {
            "received_at": pa.array([1_750_000_000 + i * 3_600 for i in range(4)]),
            "closed_at": pa.array([1_750_100_000, None, 1_750_200_000, 1_750_300_000]),
            "project": ["p1", "p1", "p2", "p2"],
            "merged": [False] * 4,
            "voided": [False] * 4,
            "abnormal_close": [True, False, False, True],
            "first_response_s": pa.array([5.0, 1.0, 3.5, None]),
        }
    )
    definitions = make_plan(
        resolve_definitions(["first_response_median", "abnormal_close_rate"])
    ).slots
    cohorts = {column: slots for (_, column), slots in definitions.items()}
    assert set(cohorts) == {"received_at", "closed_at"}
    found = duckdb_cohorts(duckdb.from_arrow(table), cohorts, ["project"], None, 0, None)
    assert found["received_at"] is None  # float medians: the generic path
    closed = _by_key(found["closed_at"])
    assert closed is not None and set(closed) == {("p1",), ("p2",)}


def test_values_spanning_2_40_fall_back() -> None:
    table = pa.table(
        {
            "received_at": pa.array([1_750_000_000, 1_750_000_100, 1_750_000_200]),
            "project": ["p1", "p1", "p2"],
            "merged": [False] * 3,
            "voided": [False] * 3,
            "first_response_s": pa.array([0, 1 << 41, 7]),
        }
    )
    cohorts = {
        column: slots
        for (_, column), slots in make_plan(
            resolve_definitions(["first_response_median"])
        ).slots.items()
    }
    found = duckdb_cohorts(duckdb.from_arrow(table), cohorts, ["project"], None, 0, None)
    assert found == {"received_at": None}
    values = compute_frame(
        duckdb.from_arrow(table),
        definitions=["first_response_median"],
        group_by=("project",),
        as_records=True,
    )
    assert {v.group[0][1]: v.value for v in values} == {"p1": float(1 << 40), "p2": 7.0}


def test_a_group_where_no_row_counts_has_zero_counts() -> None:
    # Every row of p2 has a null SLA: its conditions are null there (no COALESCE), and
    # count_if of nulls only is null, not 0.
    table = pa.table(
        {
            "received_at": pa.array([1_750_000_000 + i * 3_600 for i in range(4)]),
            "project": ["p1", "p1", "p2", "p2"],
            "merged": [False] * 4,
            "voided": [False] * 4,
            "sla_first_response": pa.array(["met", "breached", None, None], type=pa.string()),
        }
    )
    options: dict[str, Any] = {
        "definitions": ["sla_first_response_attainment"],
        "group_by": ("project",),
        "as_records": True,
    }
    ((_, column), slots), *_ = make_plan(
        resolve_definitions(["sla_first_response_attainment"])
    ).slots.items()
    rows = duckdb_cohort(duckdb.from_arrow(table), slots, column, ["project"], None, 0, None)
    assert _by_key(rows) == {("p1",): [1.0, 2.0], ("p2",): [0.0, 0.0]}
    fast = compute_frame(duckdb.from_arrow(table), **options)
    with without(_SQL_FAST_PATH):
        generic = compute_frame(duckdb.from_arrow(table), **options)
    assert fast == generic
    by = {v.group[0][1]: (v.numerator, v.denominator) for v in fast}
    assert by == {"p1": (1.0, 2.0), "p2": (0.0, 0.0)}


@settings(max_examples=80, deadline=None)
@given(conds=st.lists(st_cond(6), min_size=1, max_size=4), rows=st.lists(st_row, max_size=12))
def test_conjuncts_count_the_rows_cond_sql_accepts(
    conds: list[Cond], rows: list[dict[str, Any]]
) -> None:
    table = pa.table(
        {
            "n": pa.array([r["n"] for r in rows], type=pa.int64()),
            "s": pa.array([r["s"] for r in rows], type=pa.string()),
            "b": pa.array([r["b"] for r in rows], type=pa.bool_()),
        }
    )
    relation = duckdb.from_arrow(table)
    types = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True))
    fast = " AND ".join(_conjunct_sql(c, types) for c in conds)
    exact = " AND ".join(cond_sql(c) for c in conds)
    # Inside count_if and CASE WHEN (the only readers) a null conjunct must act as false:
    # row by row, the fast form is true exactly where the exact form is.
    sql = f"SELECT coalesce(count_if({fast}), 0), coalesce(count_if({exact}), 0), "
    sql += (
        f"bool_and((CASE WHEN {fast} THEN 1 ELSE 0 END) = (CASE WHEN {exact} THEN 1 ELSE 0 END)) "
    )
    sql += "FROM x"
    counted, expected, same_rows = relation.query("x", sql).fetchall()[0]
    assert counted == expected
    assert same_rows in (True, None)  # None: no rows
