"""The streaming engine's generated adders against the plain one-``if``-per-slot update."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import (
    DELIVERY_DEFINITIONS,
    DIMENSIONS,
    FACT_COLUMNS,
    SURVEY_COLUMNS,
    Accumulator,
    All,
    Cmp,
    IsIn,
    NotNull,
    kpi_definitions,
)
from propcrm.metrics.kpi._conditions import col_names
from propcrm.metrics.kpi._engine import Plan, Slot, make_plan, window_bounds
from propcrm.metrics.kpi._periods import period_key
from propcrm.metrics.kpi._stream_compile import (
    CohortSlots,
    compile_adder,
    compile_maker,
    conjuncts,
    simple_update,
)

PLAN = make_plan([*kpi_definitions(), *DELIVERY_DEFINITIONS])
START = 1_735_660_800  # 2024-12-31T16:00:00Z, local midnight of 2025-01-01 at UTC+8
# Values at and around every threshold the definitions compare with.
INTS = [0, 1, -1, 3600, 86400, 86401, 259200, 259201, 604800, 604801, 2592000, 2592001]
STRINGS = ["complaint", "repair", "inquiry", "met", "breached", "pending", "GC", "SUB-1", "p1"]


def _columns(plan: Plan) -> dict[str, str]:
    """Every column the plan reads (and the dimensions), with its kind."""
    names = {c for (_, column), slots in plan.slots.items() for c in [column]}
    for slots in plan.slots.values():
        for s in slots:
            names |= col_names(s.cond) | ({s.column} if s.column else set())
    names |= set(DIMENSIONS.values())
    known = {**FACT_COLUMNS, **SURVEY_COLUMNS}
    return {
        n: known.get(n) or ("int" if n.endswith(("_at", "_s")) else "bool") for n in sorted(names)
    }


COLUMNS = _columns(PLAN)
DATES = {column for _, column in PLAN.slots}


def _value(name: str, kind: str) -> st.SearchStrategy[Any]:
    # Drawn uniformly from lists with None last: Hypothesis prefers the first alternative of
    # ``a | b``, which would make most rows all-null and most slots unreached.
    if name in DATES:
        return st.integers(START - 86400, START + 800 * 86400) | st.none()
    if kind == "int":
        return st.sampled_from([*INTS, None]) | st.integers(-10, 10**7)
    if kind == "bool":
        return st.sampled_from([False, True, None])
    return st.sampled_from([*STRINGS, None])


ROWS = st.lists(st.fixed_dictionaries({n: _value(n, k) for n, k in COLUMNS.items()}), max_size=30)
GROUPINGS = st.sampled_from(
    [
        ((), None),
        (("project",), "month"),
        (("kind", "contractor"), "week"),
        (("category_class", "priority"), "quarter"),
        (("responsible_party",), "day"),
        (("assignee", "building"), "year"),
    ]
)
WINDOWS = st.sampled_from(
    [None, (date(2025, 1, 1), date(2025, 7, 1)), (date(2025, 3, 5), date(2025, 3, 6))]
)


def _reference(
    rows: dict[str, list[dict[str, Any]]],
    group_by: tuple[str, ...],
    period: str | None,
    window: tuple[date, date] | None,
) -> dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]]:
    """Each row, each cohort, each slot on its own: the obviously right accumulation."""
    bounds = window_bounds(window, 8)
    out: dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]] = {}
    for (source, column), slots in PLAN.slots.items():
        update, make = simple_update(slots), compile_maker(slots)
        groups = out.setdefault((source, column), {})
        for row in rows.get(source, []):
            t = row[column]
            if t is None or (bounds is not None and not bounds[0] <= t < bounds[1]):
                continue
            pkey = None if period is None else period_key(t, period, 8 * 3600)
            key = (*(row.get(DIMENSIONS[g]) for g in group_by), pkey)
            if key not in groups:
                groups[key] = make()
            update(row, groups[key])
    return out


@settings(max_examples=150)
@given(
    tickets=ROWS,
    others=ROWS,
    grouping=GROUPINGS,
    window=WINDOWS,
    source=st.sampled_from(["surveys", "units", "tasks", "defects"]),
)
def test_generated_adders_equal_the_simple_update(
    tickets: list[dict[str, Any]],
    others: list[dict[str, Any]],
    grouping: tuple[tuple[str, ...], str | None],
    window: tuple[date, date] | None,
    source: str,
) -> None:
    group_by, period = grouping
    acc = Accumulator(PLAN, group_by=group_by, period=period, window=window)
    add = acc.adder("tickets")
    for row in tickets:
        add(row)
    for row in others:
        acc.add(row, source)
    expected = _reference({"tickets": tickets, source: others}, group_by, period, window)
    assert acc.groups == expected


def test_the_most_shared_condition_is_tested_once() -> None:
    # Every slot but one needs "not voided": the generated code tests it in one place.
    voided, kind = Cmp("voided", "==", False), Cmp("kind", "==", "repair")
    slots = (
        Slot("count", All((voided, kind))),
        Slot("count", voided),
        Slot("median", All((voided, NotNull("age_s"))), "age_s"),
        Slot("p90", All((voided, NotNull("age_s"))), "age_s"),
        Slot("count", IsIn("sla_closure", ("met",))),
    )
    groups: dict[tuple[Any, ...], list[Any]] = {}
    add, source = compile_adder(
        [CohortSlots("received_at", slots, groups)],
        dims=[],
        period=None,
        offset_seconds=0,
        bounds=None,
    )
    assert source.count("== False") == 1
    # The IsIn already says the column is not null, the median and the P90 share one list.
    assert source.count(".append(") == 1
    add({"received_at": 5, "voided": False, "kind": "repair", "age_s": 7, "sla_closure": "met"})
    add({"received_at": 6, "voided": True, "kind": "repair", "age_s": 9, "sla_closure": None})
    (acc,) = groups.values()
    assert acc == [1, 1, [7], [7], 1]
    assert acc[2] is acc[3]


def test_conjuncts_flatten_nested_all_once() -> None:
    a, b = Cmp("kind", "==", "repair"), NotNull("age_s")
    assert conjuncts(All((a, All((b, a)), All(())))) == [a, b]


@pytest.mark.parametrize("source", ["tickets", "nothing-reads-this"])
def test_a_row_without_a_cohort_date_counts_nowhere(source: str) -> None:
    acc = Accumulator(PLAN, group_by=("project",), period="month")
    acc.add(dict.fromkeys(COLUMNS), source)
    assert all(not groups for groups in acc.groups.values())
