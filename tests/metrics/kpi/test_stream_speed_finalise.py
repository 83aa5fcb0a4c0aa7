"""The bulk finaliser against the plain one it replaced: the same values, field for field.

``finalise`` builds its ``KpiValue``s in bulk (slot setters mapped over a KPI's groups) and
converts each slot once per cohort. The reference below is the value-by-value finaliser it
replaced, kept here unchanged, so random slots must give equal values with equal ``repr``s
(an ``int`` numerator stays an ``int``) and hashes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm.metrics.kpi import DELIVERY_DEFINITIONS, _engine, kpi_definitions
from propcrm.metrics.kpi._definitions import Aggregation, Direction, KpiDefinition
from propcrm.metrics.kpi._engine import (
    _ORG_DIMS,
    GroupSlots,
    Households,
    KpiValue,
    Plan,
    _days,
    _households,
    _sort_key,
    finalise,
    make_plan,
)
from propcrm.metrics.kpi._periods import period_label

PLAN = make_plan((*kpi_definitions(), *DELIVERY_DEFINITIONS))
PERIOD_KEYS = {
    None: [None],
    "day": [20250101, 20250228, 20251231],
    "week": [20241230, 20250106],
    "month": [202501, 202502, 202512],
    "quarter": [20251, 20254],
    "year": [2025, 2026],
}
GROUP_BYS = [(), ("project",), ("building", "kind"), ("channel",), ("company", "project")]


def _reference_finalise(
    plan: Plan,
    groups: Mapping[tuple[str, str], GroupSlots],
    *,
    group_by: Sequence[str],
    period: str | None,
    households: Households | None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
) -> tuple[KpiValue, ...]:
    out: list[KpiValue] = []
    org_dim = next((g for g in _ORG_DIMS if g in group_by), None)
    prepared: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for cohort_key, by_group in groups.items():
        rows = []
        for key in sorted(by_group, key=_sort_key):
            pkey = key[-1] if period is not None else None
            label = None if pkey is None or period is None else period_label(int(pkey), period)
            group = tuple(
                (g, None if v is None else str(v)) for g, v in zip(group_by, key, strict=False)
            )
            hh = _households(households, org_dim, group_by, key)
            days = _days(pkey, period, window)
            numbers = [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                for v in by_group[key]
            ]
            rows.append((group, label, hh, days, numbers))
        prepared[cohort_key] = rows
    for d in plan.definitions:
        source, column, pos = plan.index[d.name]
        target = (targets or {}).get(d.name, d.target)
        exclusions = tuple(sorted(x.value for x in d.exclusions))
        higher = d.direction is Direction.HIGHER
        rows = prepared.get((source, column), [])
        for (group, label, _, _, _), (num, den, value) in zip(
            rows, _reference_numbers(d, pos, rows), strict=True
        ):
            if value is None or target is None:
                met = None
            else:
                met = value >= target if higher else value <= target
            out.append(
                KpiValue(
                    kpi=d.name,
                    label_zh=d.label_zh,
                    label_en=d.label_en,
                    group=group,
                    period=label,
                    numerator=num,
                    denominator=den,
                    value=value,
                    unit=d.unit.value,
                    direction=d.direction.value,
                    target=target,
                    met=met,
                    cohort=d.cohort.value,
                    exclusions=exclusions,
                )
            )
    return tuple(out)


def _reference_numbers(
    d: KpiDefinition, pos: tuple[int, ...], rows: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, Any, Any]]:
    agg = d.aggregation
    p0 = pos[0]
    p1 = pos[1] if len(pos) > 1 else p0
    if agg is Aggregation.RATIO:
        pairs = [(int(r[4][p0] or 0), int(r[4][p1] or 0)) for r in rows]
        return [(num, den, num / den if den else None) for num, den in pairs]
    if agg is Aggregation.COUNT:
        return [(num, None, float(num)) for num in [int(r[4][p0] or 0) for r in rows]]
    if agg is Aggregation.PER_HOUSEHOLD:
        out: list[tuple[Any, Any, Any]] = []
        for _, _, hh, days, slots in rows:
            num = int(slots[p0] or 0)
            value = None if not hh else num / hh * d.scale
            if value is not None and d.annualise:
                value = None if days is None else value * 365 / days
            out.append((num, hh, value))
        return out
    scale = d.value_scale
    mean = agg is Aggregation.MEAN
    stats = [(int(r[4][p1] or 0), r[4][p0]) for r in rows]
    return [
        (
            None,
            n,
            None
            if stat is None or n == 0
            else round(stat / n * scale, 3)
            if mean
            else round(stat * scale, 3),
        )
        for n, stat in stats
    ]


_slot_value = st.one_of(
    st.integers(0, 10**6),
    st.none(),
    st.just(math.nan),
    st.floats(-1e9, 1e9, allow_nan=False),
)


@st.composite
def _case(draw: st.DrawFn) -> dict[str, Any]:
    group_by = draw(st.sampled_from(GROUP_BYS))
    period = draw(st.sampled_from(list(PERIOD_KEYS)))
    dim_value = st.one_of(st.none(), st.sampled_from(["a", "b", "p1", "p2"]))
    groups: dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]] = {}
    for cohort_key, slots in PLAN.slots.items():
        if draw(st.booleans()) and draw(st.booleans()):
            continue  # a cohort no row reached: its KPIs have no values
        keys = draw(
            st.lists(
                st.tuples(
                    *[dim_value] * len(group_by),
                    st.sampled_from(PERIOD_KEYS[period]),
                ),
                max_size=6,
                unique=True,
            )
        )
        groups[cohort_key] = {
            key: draw(st.lists(_slot_value, min_size=len(slots), max_size=len(slots)))
            for key in keys
        }
    households = draw(
        st.sampled_from(
            [
                None,
                Households(total=1200),
                Households(by_unit={"a": 300, "p1": 0, "p2": 950}, total=None),
            ]
        )
    )
    names = [d.name for d in PLAN.definitions]
    targets = draw(
        st.none() | st.dictionaries(st.sampled_from(names), st.floats(0, 1000), max_size=5)
    )
    window = draw(st.sampled_from([None, (date(2025, 1, 1), date(2025, 4, 1))]))
    return {
        "groups": groups,
        "group_by": group_by,
        "period": period,
        "households": households,
        "targets": targets,
        "window": window,
    }


def _check_same(case: dict[str, Any]) -> None:
    groups = case.pop("groups")
    got = finalise(PLAN, groups, **case)
    want = _reference_finalise(PLAN, groups, **case)
    assert got == want
    assert all(type(v) is KpiValue for v in got)
    assert [repr(v) for v in got] == [repr(v) for v in want]
    assert [hash(v) for v in got] == [hash(v) for v in want]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_bulk_finaliser_equals_the_plain_one(case: dict[str, Any]) -> None:
    _check_same(case)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_values_built_by_init_when_the_slots_cannot_be_set(case: dict[str, Any]) -> None:
    # The fallback taken if KpiValue ever gains a validator, converter, default or hook.
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_engine, "_SETTERS", None)
        _check_same(case)


def test_kpi_value_is_built_through_its_slots() -> None:
    # KpiValue's __init__ only sets its slots, so the bulk build is on (a change to the class
    # that turns it off shows here instead of as a slower finaliser).
    assert _engine._SETTERS is not None
    assert [name for name, _ in _engine._SETTERS] == list(_engine._FIELDS)


def test_built_values_behave_as_constructed_ones() -> None:
    fields = {
        "kpi": "k",
        "label_zh": "中",
        "label_en": "K",
        "group": (("project", "p1"),),
        "period": "2025-01",
        "numerator": 3,
        "denominator": 4,
        "value": 0.75,
        "unit": "ratio",
        "direction": "higher",
        "target": 0.5,
        "met": True,
        "cohort": "received",
        "exclusions": ("voided",),
    }
    (built,) = _engine._build(1, {k: [v] for k, v in fields.items()})
    plain = KpiValue(**fields)
    assert built == plain and hash(built) == hash(plain) and repr(built) == repr(plain)
    assert built.as_dict() == plain.as_dict()
    with pytest.raises(AttributeError):
        built.value = 1.0  # type: ignore[misc]
