"""Reports built on the KPI engines: complaint focus, contractor scorecard, daily and monthly.

Each report takes either ticket histories (the streaming engine) or a ticket-facts frame (the
dataframe engine) and returns records, or a frame of the caller's backend for frame input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from propcrm.metrics.kpi._conditions import Cmp
from propcrm.metrics.kpi._definitions import (
    Aggregation,
    Direction,
    Exclusion,
    KpiDefinition,
    Unit,
    get_kpi,
)
from propcrm.metrics.kpi._engine import Households, KpiValue
from propcrm.metrics.kpi._facts import FactOptions
from propcrm.metrics.kpi._frames import compute_frame, rows_to_frame
from propcrm.metrics.kpi._stream import compute

__all__ = [
    "ASSESSMENT_KPIS",
    "complaint_focus",
    "contractor_scorecard",
    "daily_unfinished",
    "monthly_assessment",
]

_FRAME_MODULES = {"pandas", "polars", "duckdb", "pyarrow", "pyspark", "modin", "narwhals"}

#: The KPIs of the monthly assessment table (考核), in column order.
ASSESSMENT_KPIS: tuple[str, ...] = (
    "valid_complaint_rate_per_100",
    "complaint_handling_rate",
    "complaint_revisit_rate",
    "repair_timeliness",
    "repair_pass_rate",
    "completion_rate",
    "follow_up_rate",
    "revisit_satisfaction_rate",
)

_COMPLAINTS = KpiDefinition(
    name="valid_complaints",
    label_zh="有效投诉数",
    label_en="Valid complaints",
    formula="valid complaints received",
    exclusions=frozenset({Exclusion.VOIDED, Exclusion.MERGED, Exclusion.INVALID}),
    population=Cmp("kind", "==", "complaint"),
    aggregation=Aggregation.COUNT,
    unit=Unit.COUNT,
    direction=Direction.LOWER,
)
_REPAIRS = KpiDefinition(
    name="repairs_reported",
    label_zh="维修(缺陷)数",
    label_en="Repairs (defects) reported",
    formula="repairs received",
    population=Cmp("kind", "==", "repair"),
    aggregation=Aggregation.COUNT,
    unit=Unit.COUNT,
    direction=Direction.LOWER,
)


def _is_frame(value: object) -> bool:
    return type(value).__module__.split(".")[0] in _FRAME_MODULES


def _run(
    source: Any,
    definitions: Sequence[KpiDefinition],
    options: FactOptions | None,
    **kw: Any,
) -> tuple[KpiValue, ...]:
    if _is_frame(source):
        result: tuple[KpiValue, ...] = compute_frame(
            source, definitions=definitions, as_records=True, **kw
        )
        return result
    return compute(source, definitions=definitions, options=options, **kw)


def _out(rows: list[dict[str, Any]], source: Any) -> Any:
    return rows_to_frame(rows, source) if _is_frame(source) else rows


def complaint_focus(
    source: Iterable[Sequence[Any]] | Any,
    *,
    level: str = "category_discipline",
    window: tuple[date, date] | None = None,
    vital_share: float = 0.8,
    options: FactOptions | None = None,
) -> Any:
    """投诉焦点: a Pareto of valid complaints by category in a period.

    Args:
        source: Ticket histories, or a ticket-facts frame.
        level: ``category``, ``category_discipline`` or ``category_class``.
        window: Complaints received in ``[start, end)``; all when ``None``.
        vital_share: The cumulative share that marks the vital few.
        options: Fact options for histories.

    Returns:
        Rows ``category, complaints, share, cumulative_share, vital_few`` by count descending
        (records, or a frame for frame input). Uncategorised complaints appear as ``None``.
    """
    values = _run(source, [_COMPLAINTS], options, group_by=(level,), window=window)
    counts = [(dict(v.group)[level], int(v.numerator or 0)) for v in values]
    counts = sorted((c for c in counts if c[1] > 0), key=lambda c: (-c[1], c[0] or ""))
    total = sum(n for _, n in counts)
    rows: list[dict[str, Any]] = []
    running = 0
    for category, n in counts:
        before = running / total
        running += n
        rows.append(
            {
                "category": category,
                "complaints": n,
                "share": n / total,
                "cumulative_share": running / total,
                "vital_few": before < vital_share,
            }
        )
    return _out(rows, source)


def _wide(values: Iterable[KpiValue], key: str, names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group: each KPI's value and whether it met its target."""
    rows: dict[Any, dict[str, Any]] = {}
    for v in values:
        group = dict(v.group)
        row = rows.setdefault((group.get(key), v.period), {key: group.get(key), "period": v.period})
        row[v.kpi] = v.value
        if v.target is not None:
            row[f"{v.kpi}_met"] = v.met
    out = []
    for row in rows.values():
        for name in names:
            row.setdefault(name, None)
        out.append(row)
    return out


def contractor_scorecard(
    source: Iterable[Sequence[Any]] | Any,
    *,
    window: tuple[date, date] | None = None,
    targets: Mapping[str, float] | None = None,
    options: FactOptions | None = None,
) -> Any:
    """承建商后评估: defects, timeliness, rework and revisit satisfaction per contractor.

    Contractors are responsible parties ``GC`` and ``SUB-*``; each row has the KPI values and
    ``<kpi>_met`` for those with a target. Timeliness needs SLA policies in ``options``.
    """
    names = [
        "repairs_reported",
        "repair_timeliness",
        "repair_rework_rate",
        "revisit_satisfaction_rate",
    ]
    defs = [_REPAIRS, *(get_kpi(n) for n in names[1:])]
    values = _run(source, defs, options, group_by=("contractor",), window=window, targets=targets)
    rows = [r for r in _wide(values, "contractor", names) if r["contractor"] is not None]
    for r in rows:
        del r["period"]
    return _out(rows, source)


def daily_unfinished(
    source: Iterable[Sequence[Any]] | Any,
    *,
    by: str = "assignee",
    options: FactOptions | None = None,
) -> Any:
    """日报: unfinished tickets per responsible person at the as-of instant.

    Histories need ``options.as_of`` (ages are measured to it); facts frames carry it already.
    Rows: the person, ``backlog``, ``backlog_over_7d``, ``backlog_age_median`` (seconds),
    ``follow_up_rate``.
    """
    names = ["backlog", "backlog_over_7d", "backlog_age_median", "follow_up_rate"]
    values = _run(source, [get_kpi(n) for n in names], options, group_by=(by,))
    rows = [r for r in _wide(values, by, names) if r.get("backlog")]
    for r in rows:
        del r["period"]
    rows.sort(key=lambda r: (-(r["backlog"] or 0), r[by] or ""))
    return _out(rows, source)


def monthly_assessment(
    source: Iterable[Sequence[Any]] | Any,
    *,
    month: date,
    group_by: str = "project",
    households: Households | None = None,
    kpis: Sequence[str] = ASSESSMENT_KPIS,
    targets: Mapping[str, float] | None = None,
    options: FactOptions | None = None,
) -> Any:
    """考核: one row per org unit for one month, each KPI with its target met or missed."""
    start = month.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    values = _run(
        source,
        [get_kpi(n) for n in kpis],
        options,
        group_by=(group_by,),
        window=(start, end),
        households=households,
        targets=targets,
    )
    rows = _wide(values, group_by, kpis)
    for r in rows:
        r["period"] = f"{start:%Y-%m}"
    rows.sort(key=lambda r: r[group_by] or "")
    return _out(rows, source)
