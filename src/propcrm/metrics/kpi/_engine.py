"""What both engines share: the slot plan of a KPI set, and the finaliser.

Each KPI needs a few per-group statistics ("slots"): counts of rows meeting a condition,
sums and counts of a column, medians and 90th percentiles. An engine fills the slots per group;
the finaliser, the same code for both engines, turns slots into values, so the engines can only
disagree on the slots themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import attrs

from propcrm.errors import ValidationError
from propcrm.metrics.kpi._conditions import All, Cond, NotNull
from propcrm.metrics.kpi._definitions import (
    Aggregation,
    Direction,
    KpiDefinition,
    Source,
    kpi_definitions,
)
from propcrm.metrics.kpi._facts import DIMENSIONS, date_to_epoch
from propcrm.metrics.kpi._periods import check_period, period_days, period_label
from propcrm.model import OrgTree

__all__ = [
    "GroupSlots",
    "Households",
    "KpiValue",
    "Plan",
    "Slot",
    "check_group_by",
    "check_source_dimensions",
    "finalise",
    "linear_quantile",
    "make_plan",
    "resolve_definitions",
    "sources_of",
    "window_bounds",
]

#: Org dimensions from the finest up: the first one grouped by gives the household count.
_ORG_DIMS = ("building", "project", "service_centre", "company")


@attrs.frozen
class Slot:
    """One per-group statistic.

    Attributes:
        stat: ``count``, ``sum``, ``nonnull``, ``median`` or ``p90``.
        cond: The rows it covers.
        column: The value column (all but ``count``).
    """

    stat: str
    cond: Cond
    column: str | None = None


@attrs.frozen(kw_only=True)
class Plan:
    """The slots of a KPI set, per source and cohort date column.

    Attributes:
        slots: ``(source, date column)`` → the slots filled per group.
        index: KPI name → ``(source, date column, slot positions)``.
        definitions: The KPIs, in output order.
    """

    slots: Mapping[tuple[str, str], tuple[Slot, ...]]
    index: Mapping[str, tuple[str, str, tuple[int, ...]]]
    definitions: tuple[KpiDefinition, ...]


def make_plan(definitions: Sequence[KpiDefinition]) -> Plan:
    """Work out the slots each cohort's group-by must fill."""
    slots: dict[tuple[str, str], list[Slot]] = {}
    index: dict[str, tuple[str, str, tuple[int, ...]]] = {}

    def slot(key: tuple[str, str], s: Slot) -> int:
        bucket = slots.setdefault(key, [])
        if s not in bucket:
            bucket.append(s)
        return bucket.index(s)

    for d in definitions:
        key = (d.source.value, d.cohort.date_column)
        rows = d.row_filter
        agg = d.aggregation
        pos: tuple[int, ...]
        if agg is Aggregation.RATIO:
            pos = (
                slot(key, Slot("count", All((rows, d.numerator, d.denominator)))),
                slot(key, Slot("count", All((rows, d.denominator)))),
            )
        elif agg in (Aggregation.COUNT, Aggregation.PER_HOUSEHOLD):
            pos = (slot(key, Slot("count", All((rows, d.numerator)))),)
        else:
            assert d.value_column is not None
            cond = All((rows, d.numerator, NotNull(d.value_column)))
            stat = {Aggregation.MEDIAN: "median", Aggregation.P90: "p90", Aggregation.MEAN: "sum"}
            pos = (
                slot(key, Slot(stat[agg], cond, d.value_column)),
                slot(key, Slot("nonnull", cond, d.value_column)),
            )
        index[d.name] = (key[0], key[1], pos)
    return Plan(
        slots={k: tuple(v) for k, v in slots.items()},
        index=index,
        definitions=tuple(definitions),
    )


def resolve_definitions(
    definitions: Iterable[KpiDefinition | str] | None, extra: Iterable[KpiDefinition] = ()
) -> tuple[KpiDefinition, ...]:
    """The KPIs to compute: names or definitions (default: every registered KPI), plus extras.

    Raises:
        ValidationError: Two different definitions share a name.
        NotFoundError: A name is not registered.
    """
    from propcrm.metrics.kpi._definitions import get_kpi

    chosen = kpi_definitions() if definitions is None else tuple(definitions)
    out: dict[str, KpiDefinition] = {}
    for item in (*chosen, *extra):
        d = get_kpi(item) if isinstance(item, str) else item
        if d.name in out and out[d.name] != d:
            raise ValidationError.single(
                "$.definitions", f"two different KPIs are named {d.name!r}", subject="KPI set"
            )
        out[d.name] = d
    return tuple(out.values())


def check_group_by(group_by: Sequence[str], period: str | None) -> None:
    """Raise ``ValidationError`` naming every unknown dimension."""
    check_period(period)
    bad = [g for g in group_by if g not in DIMENSIONS]
    if bad:
        raise ValidationError.single(
            "$.group_by",
            "unknown dimension " + ", ".join(repr(b) for b in bad),
            hint="use any of " + ", ".join(DIMENSIONS),
        )


def check_source_dimensions(plan: Plan, source: str, group_by: Sequence[str]) -> None:
    """Refuse to group a source's KPIs by a dimension its facts do not carry.

    Survey responses, for instance, know their project but not a building or a taxonomy
    category: grouped by those, every survey KPI would land in one empty group and look like
    a real number for "no building". Only checked for sources whose facts are given.

    Raises:
        ValidationError: ``$.group_by`` names the dimensions and the KPIs affected.
    """
    kind = Source(source)
    names = [d.name for d in plan.definitions if d.source is kind]
    bad = [g for g in group_by if g not in kind.dimensions]
    if names and bad:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise ValidationError.single(
            "$.group_by",
            f"{kind.label_en.lower()} have no "
            + ", ".join(repr(b) for b in bad)
            + f", so {shown} cannot be grouped by it",
            subject="KPI grouping",
            hint="group these KPIs by any of "
            + ", ".join(sorted(kind.dimensions))
            + ", or leave them out with definitions=[...]",
        )


def window_bounds(window: tuple[date, date] | None, offset_hours: int) -> tuple[int, int] | None:
    """Epoch-second bounds ``[start, end)`` of a date window, local midnights."""
    if window is None:
        return None
    start, end = window
    if end <= start:
        raise ValidationError.single("$.window", f"the window {start} to {end} is empty")
    return date_to_epoch(start, offset_hours), date_to_epoch(end, offset_hours)


@attrs.frozen(kw_only=True)
class Households:
    """Households per org unit, the denominator of per-household KPIs.

    Attributes:
        by_unit: Org unit id → households.
        total: Households of the whole scope, used when no org dimension is grouped by.
    """

    by_unit: Mapping[str, int] = attrs.field(factory=dict)
    total: int | None = None

    @classmethod
    def from_tree(cls, tree: OrgTree, *, occupied: bool = False) -> Households:
        """Every unit's households (or occupied households) from an org tree."""
        by_unit = {u.id: tree.households(u.id, occupied=occupied) for u in tree}
        roots = [u.id for u in tree if u.parent_id is None]
        return cls(by_unit=by_unit, total=sum(by_unit[r] for r in roots))


def linear_quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``values`` with linear interpolation (numpy's default)."""
    n = len(values)
    if n == 0:
        return None
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])


@attrs.frozen(kw_only=True)
class KpiValue:
    """One KPI for one group, saying what it counted.

    Attributes:
        kpi: The KPI's name.
        label_zh: Chinese label.
        label_en: English label.
        group: ``(dimension, value)`` pairs of the group, in the order grouped by.
        period: The period label (``2026-03``), or ``None`` without period grouping.
        numerator: Rows counted on top (``None`` for statistics of values).
        denominator: Rows (or households, or values) below; ``None`` for counts.
        value: The KPI; ``None`` when the denominator is zero or there are no values.
        unit: What the value measures.
        direction: ``higher`` or ``lower`` is better.
        target: The target compared with.
        met: Whether the value meets the target; ``None`` without a value or target.
        cohort: The cohort rule.
        exclusions: What was left out.
    """

    kpi: str
    label_zh: str
    label_en: str
    group: tuple[tuple[str, str | None], ...]
    period: str | None
    numerator: float | None
    denominator: float | None
    value: float | None
    unit: str
    direction: str
    target: float | None
    met: bool | None
    cohort: str
    exclusions: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A flat record: group dimensions become columns."""
        out: dict[str, Any] = {"kpi": self.kpi, **dict(self.group), "period": self.period}
        for name in (
            "numerator",
            "denominator",
            "value",
            "unit",
            "direction",
            "target",
            "met",
            "cohort",
        ):
            out[name] = getattr(self, name)
        out["exclusions"] = ",".join(self.exclusions)
        out["label_zh"] = self.label_zh
        out["label_en"] = self.label_en
        return out


#: Per group key (dimension values, then period key or ``None``): the slot values.
GroupSlots = Mapping[tuple[Any, ...], Sequence[float | None]]


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    return tuple((1, "") if v is None else (0, v) for v in key)


def finalise(
    plan: Plan,
    groups: Mapping[tuple[str, str], GroupSlots],
    *,
    group_by: Sequence[str],
    period: str | None,
    households: Households | None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
) -> tuple[KpiValue, ...]:
    """Turn filled slots into KPI values, KPI by KPI, groups sorted."""
    out: list[KpiValue] = []
    org_dim = next((g for g in _ORG_DIMS if g in group_by), None)
    # Per cohort, once: the sorted groups with their labels, and their slots as numbers.
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
            # Slots as numbers, NaN (a frame's empty aggregate) as None.
            numbers = [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                for v in by_group[key]
            ]
            rows.append((group, label, hh, days, numbers))
        prepared[cohort_key] = rows
    make = KpiValue
    append = out.append
    for d in plan.definitions:
        source, column, pos = plan.index[d.name]
        target = (targets or {}).get(d.name, d.target)
        name, label_zh, label_en = d.name, d.label_zh, d.label_en
        unit, direction, cohort = d.unit.value, d.direction.value, d.cohort.value
        exclusions = tuple(sorted(x.value for x in d.exclusions))
        higher = d.direction is Direction.HIGHER
        rows = prepared.get((source, column), [])
        for (group, label, _, _, _), (num, den, value) in zip(
            rows, _numbers(d, pos, rows), strict=True
        ):
            # KpiDefinition.met, inlined: this loop runs once per KPI and group.
            if value is None or target is None:
                met = None
            else:
                met = value >= target if higher else value <= target
            append(
                make(
                    kpi=name,
                    label_zh=label_zh,
                    label_en=label_en,
                    group=group,
                    period=label,
                    numerator=num,
                    denominator=den,
                    value=value,
                    unit=unit,
                    direction=direction,
                    target=target,
                    met=met,
                    cohort=cohort,
                    exclusions=exclusions,
                )
            )
    return tuple(out)


def _numbers(
    d: KpiDefinition, pos: tuple[int, ...], rows: Sequence[tuple[Any, ...]]
) -> list[tuple[float | None, float | None, float | None]]:
    """``(numerator, denominator, value)`` of one KPI for each prepared group row."""
    agg = d.aggregation
    p0 = pos[0]
    p1 = pos[1] if len(pos) > 1 else p0
    if agg is Aggregation.RATIO:
        pairs = [(int(r[4][p0] or 0), int(r[4][p1] or 0)) for r in rows]
        return [(num, den, num / den if den else None) for num, den in pairs]
    if agg is Aggregation.COUNT:
        return [(num, None, float(num)) for num in [int(r[4][p0] or 0) for r in rows]]
    if agg is Aggregation.PER_HOUSEHOLD:
        out: list[tuple[float | None, float | None, float | None]] = []
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


def _households(
    households: Households | None,
    org_dim: str | None,
    group_by: Sequence[str],
    key: tuple[Any, ...],
) -> int | None:
    if households is None:
        return None
    if org_dim is None:
        return households.total
    unit = key[list(group_by).index(org_dim)]
    return None if unit is None else households.by_unit.get(str(unit))


def _days(pkey: Any, period: str | None, window: tuple[date, date] | None) -> int | None:
    if period is not None and pkey is not None:
        return period_days(int(pkey), period)
    if window is not None:
        return (window[1] - window[0]).days
    return None


def sources_of(plan: Plan) -> set[str]:
    """The sources a plan reads."""
    return {s for s, _ in plan.slots}
