"""What both engines share: the slot plan of a KPI set, and the finaliser.

Each KPI needs a few per-group statistics ("slots"): counts of rows meeting a condition,
sums and counts of a column, medians and 90th percentiles. An engine fills the slots per group;
the finaliser, the same code for both engines, turns slots into values, so the engines can only
disagree on the slots themselves.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from itertools import repeat
from types import MemberDescriptorType
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


#: ``KpiValue``'s fields, in order.
_FIELDS: tuple[str, ...] = tuple(a.name for a in attrs.fields(KpiValue))


def _slot_setters() -> list[tuple[str, Callable[[Any, Any], None]]] | None:
    """The slot descriptors' setters of ``KpiValue``, or ``None`` if it cannot be built so.

    Values are built in bulk (:func:`_build`): ``object.__new__`` and one C-level ``map`` per
    field over a KPI's groups, which is what ``__init__`` does value by value (it only sets
    the slots) at a fraction of the cost; ``finalise`` makes one value per KPI and group.
    That is only the same object while ``__init__`` does nothing else: no validator,
    converter, default or init hook. Otherwise ``None``, and values are made by ``__init__``.
    """
    cls: Any = KpiValue
    if any(hasattr(cls, h) for h in ("__attrs_pre_init__", "__attrs_post_init__")):
        return None
    setters = []
    for a in attrs.fields(KpiValue):
        desc = cls.__dict__.get(a.name)
        if (
            a.validator is not None
            or a.converter is not None
            or not a.init
            or a.default is not attrs.NOTHING
            or not isinstance(desc, MemberDescriptorType)
        ):
            return None
        setters.append((a.name, desc.__set__))
    return setters


_SETTERS = _slot_setters()
_exhaust: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend


def _build(n: int, columns: Mapping[str, Iterable[Any]]) -> list[KpiValue]:
    """``n`` values, each field from ``columns`` (an iterable of ``n`` items per field)."""
    if _SETTERS is None:
        return [
            KpiValue(**dict(zip(_FIELDS, items, strict=True)))
            for items in zip(*(columns[f] for f in _FIELDS), strict=True)
        ]
    values: list[KpiValue] = list(map(object.__new__, repeat(KpiValue, n)))
    for name, set_slot in _SETTERS:
        _exhaust(map(set_slot, values, columns[name]))
    return values


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
    # Per cohort, once: the sorted groups' labels, households and days, and each slot's
    # values over the groups (converted on first use, shared by the KPIs reading the slot).
    prepared: dict[tuple[str, str], _Cohort] = {}
    for cohort_key, by_group in groups.items():
        keys = sorted(by_group, key=_sort_key)
        prepared[cohort_key] = _Cohort(
            keys,
            by_group,
            group_by,
            period,
            _households_of(households, org_dim, group_by, keys),
            window,
        )
    empty = _Cohort([], {}, group_by, period, [], window)
    for d in plan.definitions:
        source, column, pos = plan.index[d.name]
        target = (targets or {}).get(d.name, d.target)
        cohort = prepared.get((source, column), empty)
        n = len(cohort.groups)
        nums, dens, values = _numbers(d, pos, cohort)
        # KpiDefinition.met, inlined: this runs once per KPI and group.
        if target is None:
            met: Iterable[bool | None] = repeat(None, n)
        elif d.direction is Direction.HIGHER:
            met = [None if v is None else v >= target for v in values]
        else:
            met = [None if v is None else v <= target for v in values]
        out += _build(
            n,
            {
                "kpi": repeat(d.name, n),
                "label_zh": repeat(d.label_zh, n),
                "label_en": repeat(d.label_en, n),
                "group": cohort.groups,
                "period": cohort.labels,
                "numerator": nums,
                "denominator": dens,
                "value": values,
                "unit": repeat(d.unit.value, n),
                "direction": repeat(d.direction.value, n),
                "target": repeat(target, n),
                "met": met,
                "cohort": repeat(d.cohort.value, n),
                "exclusions": repeat(tuple(sorted(x.value for x in d.exclusions)), n),
            },
        )
    return tuple(out)


class _Cohort:
    """One cohort's sorted groups, prepared once for every KPI of the cohort."""

    def __init__(
        self,
        keys: list[tuple[Any, ...]],
        by_group: GroupSlots,
        group_by: Sequence[str],
        period: str | None,
        households: list[int | None],
        window: tuple[date, date] | None,
    ) -> None:
        self.groups = [
            tuple((g, None if v is None else str(v)) for g, v in zip(group_by, key, strict=False))
            for key in keys
        ]
        pkeys = [key[-1] if period is not None else None for key in keys]
        self.labels = [
            None if pkey is None or period is None else period_label(int(pkey), period)
            for pkey in pkeys
        ]
        self.households = households
        self.days = [_days(pkey, period, window) for pkey in pkeys]
        self._slots = [by_group[key] for key in keys]
        self._numbers: dict[int, list[float | None]] = {}

    def numbers(self, i: int) -> list[float | None]:
        """Slot ``i`` of each group as a number, NaN (a frame's empty aggregate) as None."""
        out = self._numbers.get(i)
        if out is None:
            out = self._numbers[i] = [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                for v in [s[i] for s in self._slots]
            ]
        return out

    def counts(self, i: int) -> list[int]:
        """Slot ``i`` of each group as a count (empty is 0)."""
        return [int(x or 0) for x in self.numbers(i)]


def _numbers(
    d: KpiDefinition, pos: tuple[int, ...], cohort: _Cohort
) -> tuple[list[Any], Iterable[Any], list[float | None]]:
    """Numerators, denominators and values of one KPI over the cohort's groups."""
    agg = d.aggregation
    p0 = pos[0]
    p1 = pos[1] if len(pos) > 1 else p0
    if agg is Aggregation.RATIO:
        nums = cohort.counts(p0)
        dens = cohort.counts(p1)
        return nums, dens, [num / den if den else None for num, den in zip(nums, dens, strict=True)]
    if agg is Aggregation.COUNT:
        nums = cohort.counts(p0)
        return nums, repeat(None, len(nums)), [float(num) for num in nums]
    if agg is Aggregation.PER_HOUSEHOLD:
        nums = cohort.counts(p0)
        values: list[float | None] = []
        for num, hh, days in zip(nums, cohort.households, cohort.days, strict=True):
            value = None if not hh else num / hh * d.scale
            if value is not None and d.annualise:
                value = None if days is None else value * 365 / days
            values.append(value)
        return nums, cohort.households, values
    scale = d.value_scale
    ns = cohort.counts(p1)
    stats = cohort.numbers(p0)
    if agg is Aggregation.MEAN:
        values = [
            None if stat is None or n == 0 else round(stat / n * scale, 3)
            for n, stat in zip(ns, stats, strict=True)
        ]
    else:
        values = [
            None if stat is None or n == 0 else round(stat * scale, 3)
            for n, stat in zip(ns, stats, strict=True)
        ]
    return repeat(None, len(ns)), ns, values  # type: ignore[return-value]


def _households_of(
    households: Households | None,
    org_dim: str | None,
    group_by: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
) -> list[int | None]:
    return [_households(households, org_dim, group_by, key) for key in keys]


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
