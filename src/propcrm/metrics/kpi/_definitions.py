"""KPI definitions as data, and the registry both engines read them from."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import attrs

from propcrm.errors import NotFoundError, ValidationError
from propcrm.metrics.kpi._conditions import TRUE, All, Cmp, Cond, col_names
from propcrm.model.enums import LabelledEnum

__all__ = [
    "Aggregation",
    "Cohort",
    "Direction",
    "Exclusion",
    "KpiDefinition",
    "Source",
    "Unit",
    "get_kpi",
    "kpi_definitions",
    "register_kpi",
]


class Source(LabelledEnum):
    """Which facts a KPI reads."""

    TICKETS = ("tickets", "工单", "Ticket facts")
    SURVEYS = ("surveys", "满意度调查", "Survey facts")
    UNITS = ("units", "交付单元", "Delivery unit facts")
    TASKS = ("tasks", "整改任务", "Rectification task facts")
    DEFECTS = ("defects", "交付缺陷", "Delivery defect facts")

    @property
    def dimensions(self) -> frozenset[str]:
        """The grouping dimensions this source's facts carry (others would be all empty)."""
        return _SOURCE_DIMENSIONS[self]

    @property
    def cohorts(self) -> frozenset[Cohort]:
        """The cohorts a KPI of this source may use."""
        return _SOURCE_COHORTS[self]


class Cohort(LabelledEnum):
    """Which rows a KPI counts and which date puts them in a period."""

    RECEIVED = ("received", "按受理日期", "By received date")
    COMPLETED = ("completed", "按首次完成日期", "By first completion date")
    CLOSED = ("closed", "按关闭日期", "By closed date")
    OPEN = ("open", "截至统计时点未关闭(按受理日期)", "Open at the as-of instant, by received date")
    ANSWERED = ("answered", "按答卷日期", "By answer date")
    INSPECTED = ("inspected", "按首次内部验房日期", "By first internal inspection date")
    HANDOVER_DUE = (
        "handover_due",
        "按计划交付日期(截至统计日已到期)",
        "By planned handover date (units due by the as-of date)",
    )
    ISSUED = ("issued", "按整改下发日期", "By rectification issue date")
    FOUND = ("found", "按缺陷发现日期", "By defect found date")

    @property
    def date_column(self) -> str:
        """The fact column whose date places a row in a period."""
        return _DATE_COLUMNS[self]


_DATE_COLUMNS = {
    Cohort.RECEIVED: "received_at",
    Cohort.COMPLETED: "first_completed_at",
    Cohort.CLOSED: "closed_at",
    Cohort.OPEN: "received_at",
    Cohort.ANSWERED: "answered_at",
    Cohort.INSPECTED: "first_inspected_at",
    Cohort.HANDOVER_DUE: "handover_due_at",
    Cohort.ISSUED: "issued_at",
    Cohort.FOUND: "found_at",
}

_TICKET_COHORTS = frozenset({Cohort.RECEIVED, Cohort.COMPLETED, Cohort.CLOSED, Cohort.OPEN})
_SOURCE_COHORTS = {
    Source.TICKETS: _TICKET_COHORTS,
    Source.SURVEYS: frozenset({Cohort.ANSWERED}),
    Source.UNITS: frozenset({Cohort.INSPECTED, Cohort.HANDOVER_DUE}),
    Source.TASKS: frozenset({Cohort.ISSUED}),
    Source.DEFECTS: frozenset({Cohort.FOUND}),
}
_ALL_DIMENSIONS = frozenset(
    {
        "company",
        "service_centre",
        "project",
        "building",
        "category",
        "category_class",
        "category_discipline",
        "kind",
        "channel",
        "responsible_party",
        "contractor",
        "assignee",
        "priority",
        "severity",
    }
)
_SOURCE_DIMENSIONS = {
    Source.TICKETS: _ALL_DIMENSIONS,
    # A survey response knows its respondent's org scope and channel, nothing else.
    Source.SURVEYS: frozenset({"company", "service_centre", "project", "channel"}),
    Source.UNITS: frozenset({"company", "service_centre", "project", "building"}),
    Source.TASKS: frozenset({"company", "service_centre", "project", "building", "contractor"}),
    Source.DEFECTS: frozenset(
        {
            "company",
            "service_centre",
            "project",
            "building",
            "category",
            "category_class",
            "category_discipline",
            "contractor",
            "severity",
        }
    ),
}


class Exclusion(LabelledEnum):
    """Rows a KPI leaves out."""

    VOIDED = ("voided", "作废单", "Voided tickets")
    MERGED = ("merged", "重复单(已合并)", "Duplicates merged into another ticket")
    INVALID = ("invalid", "无效投诉", "Invalid complaints")

    @property
    def condition(self) -> Cond:
        """The condition a row must meet to stay in."""
        return Cmp(self.value, "==", False)


class Aggregation(LabelledEnum):
    """How a KPI's rows become one number per group."""

    RATIO = ("ratio", "比率", "Numerator count / denominator count")
    PER_HOUSEHOLD = ("per_household", "户均比率", "Count / households of the org unit")
    COUNT = ("count", "计数", "Count")
    MEDIAN = ("median", "中位数", "Median")
    P90 = ("p90", "90分位", "90th percentile (linear interpolation)")
    MEAN = ("mean", "平均值", "Mean")


class Unit(LabelledEnum):
    """What a KPI's value measures."""

    RATIO = ("ratio", "比率(0-1)", "Ratio (0-1)")
    PER_100_HOUSEHOLDS = ("per_100_households", "每百户", "Per 100 households")
    SECONDS = ("seconds", "秒", "Seconds")
    COUNT = ("count", "件", "Count")
    SCORE = ("score", "分(0-100)", "Score (0-100)")
    PER_UNIT = ("per_unit", "每户", "Per unit")


class Direction(LabelledEnum):
    """Whether a higher value is better."""

    HIGHER = ("higher", "越高越好", "Higher is better")
    LOWER = ("lower", "越低越好", "Lower is better")


_VALUE_AGGREGATIONS = frozenset({Aggregation.MEDIAN, Aggregation.P90, Aggregation.MEAN})


def _exclusions(values: Iterable[Exclusion]) -> frozenset[Exclusion]:
    return frozenset(Exclusion(v) for v in values)


@attrs.frozen(kw_only=True)
class KpiDefinition:
    """One KPI as data: both engines compute it from this alone.

    The rows counted are those of ``source`` whose cohort date is set (and in the period),
    that pass every exclusion and ``population``. For ``ratio`` the value is
    ``count(numerator) / count(denominator)`` over those rows; for ``per_household`` it is
    ``count(numerator) / households × scale`` (annualised when asked); for ``count`` it is
    ``count(numerator)``; for ``median``, ``p90`` and ``mean`` it is that statistic of
    ``value_column × value_scale`` over the rows meeting ``numerator`` where the column is set.
    A zero denominator (or no values) gives ``None``, never 0.

    Attributes:
        name: Stable id, e.g. ``"valid_complaint_rate"``.
        label_zh: Chinese label.
        label_en: English label.
        formula: The formula in words, for documents.
        source: Ticket facts or survey facts.
        cohort: Which date places a row in a period (and, for ``open``, which rows count).
        exclusions: Rows left out.
        population: Further condition every counted row meets (e.g. complaints only).
        aggregation: How rows become a number.
        numerator: Condition of the counted rows (``ratio``, ``count``, ``per_household``) or
            of the rows whose values are taken.
        denominator: Condition of the denominator rows (``ratio`` only).
        value_column: The fact column for ``median``, ``p90`` and ``mean``.
        value_scale: Factor applied to values (e.g. ``0.001`` for milli-points).
        scale: Factor applied to the value of ``per_household`` KPIs (100 for per 100 households).
        annualise: Scale a ``per_household`` value to a year (× 365 / days in the period).
        occupied: Use occupied households (入住户数) instead of all households.
        unit: What the value measures.
        direction: Whether higher is better.
        target: Default target; ``None`` when there is none.
    """

    name: str
    label_zh: str
    label_en: str
    formula: str
    source: Source = attrs.field(default=Source.TICKETS, converter=Source)
    cohort: Cohort = attrs.field(default=Cohort.RECEIVED, converter=Cohort)
    exclusions: frozenset[Exclusion] = attrs.field(
        default=frozenset({Exclusion.VOIDED, Exclusion.MERGED}), converter=_exclusions
    )
    population: Cond = TRUE
    aggregation: Aggregation = attrs.field(default=Aggregation.RATIO, converter=Aggregation)
    numerator: Cond = TRUE
    denominator: Cond = TRUE
    value_column: str | None = None
    value_scale: float = 1.0
    scale: float = 1.0
    annualise: bool = False
    occupied: bool = False
    unit: Unit = attrs.field(default=Unit.RATIO, converter=Unit)
    direction: Direction = attrs.field(default=Direction.HIGHER, converter=Direction)
    target: float | None = None

    def __attrs_post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValidationError.single(
                "$.name", f"a KPI name is letters, digits, '_' and '-', got {self.name!r}"
            )
        if (self.aggregation in _VALUE_AGGREGATIONS) != (self.value_column is not None):
            raise ValidationError.single(
                "$.value_column",
                f"{self.aggregation.value} KPIs "
                + ("need" if self.aggregation in _VALUE_AGGREGATIONS else "take no")
                + " a value column",
                subject=f"KPI {self.name!r}",
            )
        if self.cohort not in self.source.cohorts:
            raise ValidationError.single(
                "$.cohort",
                f"{self.source.value} KPIs use the "
                + " or ".join(repr(c.value) for c in sorted(self.source.cohorts, key=str))
                + f" cohort, not {self.cohort.value!r}",
                subject=f"KPI {self.name!r}",
            )
        if self.source is not Source.TICKETS and self.exclusions:
            raise ValidationError.single(
                "$.exclusions",
                f"{self.source.value} facts have no voided, merged or invalid rows",
                subject=f"KPI {self.name!r}",
                hint="pass exclusions=()",
            )

    @property
    def row_filter(self) -> Cond:
        """Exclusions, the open-cohort rule and the population, as one condition."""
        conds: list[Cond] = [e.condition for e in sorted(self.exclusions, key=lambda e: e.value)]
        if self.cohort is Cohort.OPEN:
            conds.append(Cmp("is_open", "==", True))
        conds.append(self.population)
        return All(conds)

    @property
    def is_value_kpi(self) -> bool:
        """Whether the KPI takes a statistic of a value column."""
        return self.aggregation in _VALUE_AGGREGATIONS

    def columns(self) -> set[str]:
        """Every fact column the KPI reads."""
        out = {self.cohort.date_column} | col_names(self.row_filter) | col_names(self.numerator)
        out |= col_names(self.denominator)
        if self.value_column is not None:
            out.add(self.value_column)
        return out

    def met(self, value: float | None, target: float | None = None) -> bool | None:
        """Whether ``value`` meets ``target`` (the default target when not given)."""
        goal = self.target if target is None else target
        if value is None or goal is None:
            return None
        return value >= goal if self.direction is Direction.HIGHER else value <= goal


_lock = threading.Lock()
_registry: dict[str, KpiDefinition] = {}


def register_kpi(definition: KpiDefinition, *, replace: bool = False) -> KpiDefinition:
    """Add a KPI to the registry both engines compute by default.

    Registering an equal definition twice is a no-op.

    Raises:
        ValidationError: Another definition already has the name and ``replace`` is false.
    """
    with _lock:
        old = _registry.get(definition.name)
        if old is not None and old != definition and not replace:
            raise ValidationError.single(
                "$.name",
                f"a different KPI named {definition.name!r} is already registered",
                subject="KPI registry",
                hint="pick another name, or pass replace=True",
            )
        _registry[definition.name] = definition
    return definition


def kpi_definitions() -> tuple[KpiDefinition, ...]:
    """Every registered KPI, standard ones first, in registration order."""
    from propcrm.metrics.kpi import _standard  # noqa: F401  (registers the standard set)
    from propcrm.plugins import get_kpi as plugin_kpi
    from propcrm.plugins import kpi_names as plugin_kpi_names

    with _lock:
        own = dict(_registry)
    # KPIs contributed through the propcrm_register_kpis hook (plugins load on first use).
    # Other KPI shapes registered there (e.g. delivery KPI functions) are not definitions.
    for name in plugin_kpi_names():
        definition = plugin_kpi(name)
        if not isinstance(definition, KpiDefinition) or name in own:
            continue
        if definition.name != name:
            raise ValidationError.single(
                "$.name",
                f"plugin registered KPI {definition.name!r} under the name {name!r}",
                hint="register each KpiDefinition under its own name",
            )
        own[name] = definition
    return tuple(own.values())


def get_kpi(name: str) -> KpiDefinition:
    """The registered KPI ``name``.

    Raises:
        NotFoundError: No KPI has that name; the hint names close ones.
    """
    import difflib

    for definition in kpi_definitions():
        if definition.name == name:
            return definition
    names = [d.name for d in kpi_definitions()]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    raise NotFoundError("KPI", name, suggestions=close)
