"""Delivery KPIs as pure functions over delivery batches (replayed histories), and their facts.

Each function states its cohort and exclusions in its docstring; none reads a clock, so "as of"
dates are arguments. :data:`DELIVERY_KPIS` names them for a KPI registry: a plugin can
contribute them with ``propcrm_register_kpis`` by calling ``register(name, function)`` for each.

:func:`unit_facts` and :func:`task_facts` flatten batches into one row per unit and per
rectification task (columns :data:`UNIT_COLUMNS`, :data:`TASK_COLUMNS`; times in epoch seconds
like the ticket facts of :mod:`propcrm.metrics.kpi`), so that a KPI engine reading rows can
compute the same KPIs by any dimension. :func:`defect_facts` adds one row per defect.

The delivery KPIs are also KPI definitions (``propcrm.metrics.kpi``: source ``units``,
``tasks`` or ``defects``); :func:`compute_delivery` runs them on batches with the same
engines as the ticket KPIs, by any dimension the facts carry.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from propcrm.taxonomy import Taxonomy
from propcrm.workflow.delivery import DefectSource, DeliveryBatch, TaskStatus

if TYPE_CHECKING:
    from propcrm.metrics.kpi import KpiDefinition, KpiValue

__all__ = [
    "DEFECT_COLUMNS",
    "DELIVERY_KPIS",
    "TASK_COLUMNS",
    "UNIT_COLUMNS",
    "Ratio",
    "RectificationTimes",
    "compute_delivery",
    "defect_facts",
    "defects_per_unit_by_discipline",
    "first_pass_inspection_rate",
    "handover_on_time_rate",
    "rectification_time_by_contractor",
    "task_facts",
    "unit_facts",
]


@attrs.frozen(kw_only=True)
class Ratio:
    """A KPI ratio with its numerator and denominator kept (so ratios can be re-aggregated).

    Attributes:
        numerator: Units counted as meeting the KPI.
        denominator: Units in the cohort.
    """

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The ratio, ``None`` for an empty cohort (never a made-up 0 or 100%)."""
        return None if self.denominator == 0 else self.numerator / self.denominator


def first_pass_inspection_rate(batches: Iterable[DeliveryBatch]) -> Ratio:
    """Units whose first internal inspection found no defect / units inspected (一次验收合格率).

    Cohort: every unit with at least one internal inspection. Owner-found defects do not count
    (they are a different measure: defects escaping the internal inspection).
    """
    inspected = [
        unit
        for batch in batches
        for unit in batch.units.values()
        if unit.first_inspection_defects is not None
    ]
    passed = sum(1 for unit in inspected if unit.first_inspection_defects == 0)
    return Ratio(numerator=passed, denominator=len(inspected))


def defects_per_unit_by_discipline(
    batches: Iterable[DeliveryBatch], taxonomy: Taxonomy
) -> dict[str, float]:
    """Defects found per inspected unit, by discipline (``Q.WP`` …), internal and owner alike.

    Cohort: units with at least one internal inspection; the denominator is their number, the
    same for every discipline. Disciplines without defects are left out. Empty when no unit was
    inspected.
    """
    units = 0
    counts: dict[str, int] = {}
    for batch in batches:
        inspected = {u.unit_id for u in batch.units.values() if u.inspections}
        units += len(inspected)
        for defect in batch.defects.values():
            if defect.unit_id in inspected:
                discipline = taxonomy.rollup(defect.code)
                counts[discipline] = counts.get(discipline, 0) + 1
    if units == 0:
        return {}
    return {code: counts[code] / units for code in sorted(counts)}


@attrs.frozen(kw_only=True)
class RectificationTimes:
    """How long one contractor's rectification tasks took, issue to closing re-inspection.

    Attributes:
        closed: Tasks closed by re-inspection.
        still_open: Tasks open or awaiting re-inspection (not in the times).
        mean: Mean time to close, ``None`` when none closed.
        median: Median time to close, ``None`` when none closed.
        longest: The longest time to close, ``None`` when none closed.
        send_backs: Re-inspections that sent a task back.
    """

    closed: int
    still_open: int
    mean: timedelta | None
    median: timedelta | None
    longest: timedelta | None
    send_backs: int


def rectification_time_by_contractor(
    batches: Iterable[DeliveryBatch],
) -> dict[str, RectificationTimes]:
    """Rectification time per contractor (the assignee: contractor code, else party).

    Cohort: every task issued. Times are wall-clock, issue to the re-inspection that closed
    the task. Tasks transferred to warranty at handover are in neither ``closed`` nor
    ``still_open``.
    """
    durations: dict[str, list[timedelta]] = {}
    still_open: dict[str, int] = {}
    send_backs: dict[str, int] = {}
    for batch in batches:
        for task in batch.tasks.values():
            durations.setdefault(task.assignee, [])
            send_backs[task.assignee] = send_backs.get(task.assignee, 0) + task.send_backs
            if task.status is TaskStatus.CLOSED and task.closed_at is not None:
                durations[task.assignee].append(task.closed_at - task.issued_at)
            elif task.status in (TaskStatus.OPEN, TaskStatus.REPORTED):
                still_open[task.assignee] = still_open.get(task.assignee, 0) + 1
    result: dict[str, RectificationTimes] = {}
    for assignee in sorted(durations):
        times = sorted(durations[assignee])
        seconds = [t.total_seconds() for t in times]
        result[assignee] = RectificationTimes(
            closed=len(times),
            still_open=still_open.get(assignee, 0),
            mean=timedelta(seconds=statistics.fmean(seconds)) if times else None,
            median=timedelta(seconds=statistics.median(seconds)) if times else None,
            longest=times[-1] if times else None,
            send_backs=send_backs[assignee],
        )
    return result


def handover_on_time_rate(batches: Iterable[DeliveryBatch], *, as_of: date) -> Ratio:
    """Units handed over on or before their batch's planned date / units due by ``as_of``.

    Cohort: units of batches whose planned handover date is on or before ``as_of``. A unit not
    handed over by then counts as late; the handover's local date (of ``handed_over_at``)
    is compared with the planned date.
    """
    due = on_time = 0
    for batch in batches:
        if batch.planned_handover_on > as_of:
            continue
        for unit in batch.units.values():
            due += 1
            if (
                unit.handed_over_at is not None
                and unit.handed_over_at.date() <= batch.planned_handover_on
            ):
                on_time += 1
    return Ratio(numerator=on_time, denominator=due)


#: The delivery KPIs by registry name, for ``propcrm_register_kpis``.
DELIVERY_KPIS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "delivery-first-pass-inspection-rate": first_pass_inspection_rate,
        "delivery-defects-per-unit-by-discipline": defects_per_unit_by_discipline,
        "delivery-rectification-time-by-contractor": rectification_time_by_contractor,
        "delivery-handover-on-time-rate": handover_on_time_rate,
    }
)


#: Unit-fact columns and their Arrow types (``str``, ``int`` = int64, ``bool``).
UNIT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "batch_id": "str",
        "unit_id": "str",
        "company": "str",
        "service_centre": "str",
        "project": "str",
        "building": "str",
        "stage": "str",
        "planned_handover_on": "str",
        "handover_due_at": "int",
        "first_inspected_at": "int",
        "first_inspection_defects": "int",
        "first_pass": "bool",
        "defects": "int",
        "owner_defects": "int",
        "handed_over_at": "int",
        "handed_over_on_time": "bool",
        "warranty_defects": "int",
    }
)

#: Rectification-task fact columns and their Arrow types.
TASK_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "batch_id": "str",
        "task_id": "str",
        "unit_id": "str",
        "company": "str",
        "service_centre": "str",
        "project": "str",
        "building": "str",
        "contractor": "str",
        "assignee": "str",
        "party": "str",
        "status": "str",
        "defects": "int",
        "send_backs": "int",
        "issued_at": "int",
        "closed_at": "int",
        "rectification_s": "int",
    }
)


#: Defect fact columns and their Arrow types.
DEFECT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "batch_id": "str",
        "defect_id": "str",
        "unit_id": "str",
        "company": "str",
        "service_centre": "str",
        "project": "str",
        "building": "str",
        "category": "str",
        "category_class": "str",
        "category_discipline": "str",
        "severity": "str",
        "source": "str",
        "contractor": "str",
        "found_at": "int",
        "in_inspected_unit": "bool",
    }
)


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _midnight(day: date, utc_offset_hours: int) -> int:
    tz = timezone(timedelta(hours=utc_offset_hours))
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def unit_facts(
    batches: Iterable[DeliveryBatch], *, as_of: date | None = None, utc_offset_hours: int = 8
) -> list[dict[str, Any]]:
    """One row per unit (columns :data:`UNIT_COLUMNS`); ``None`` where a fact is not known yet.

    ``handed_over_on_time`` compares the handover's local date with the batch's planned date;
    it is ``None`` while the unit is not handed over. ``handover_due_at`` is local midnight
    (at ``utc_offset_hours``) of the planned date, the handover-on-time cohort date; it is
    ``None`` when the planned date is after ``as_of`` (the unit is not due yet).
    """
    rows: list[dict[str, Any]] = []
    for batch in batches:
        planned = batch.planned_handover_on
        due = (
            None if as_of is not None and planned > as_of else _midnight(planned, utc_offset_hours)
        )
        for unit in batch.units.values():
            found = [x for x in batch.defects.values() if x.unit_id == unit.unit_id]
            handed = unit.handed_over_at
            rows.append(
                {
                    "batch_id": batch.batch_id,
                    "unit_id": unit.unit_id,
                    "company": batch.scope.company_id,
                    "service_centre": batch.scope.service_centre_id,
                    "project": batch.scope.project_id,
                    "building": batch.building_id,
                    "stage": unit.stage.value,
                    "planned_handover_on": planned.isoformat(),
                    "handover_due_at": due,
                    "first_inspected_at": _ts(unit.first_inspected_at),
                    "first_inspection_defects": unit.first_inspection_defects,
                    "first_pass": None
                    if unit.first_inspection_defects is None
                    else unit.first_inspection_defects == 0,
                    "defects": len(found),
                    "owner_defects": sum(1 for x in found if x.source is DefectSource.OWNER),
                    "handed_over_at": _ts(handed),
                    "handed_over_on_time": None
                    if handed is None
                    else handed.date() <= batch.planned_handover_on,
                    "warranty_defects": len(unit.warranty_defect_ids),
                }
            )
    return rows


def task_facts(batches: Iterable[DeliveryBatch]) -> list[dict[str, Any]]:
    """One row per rectification task (columns :data:`TASK_COLUMNS`).

    ``rectification_s`` is issue to closing re-inspection in wall-clock seconds, ``None`` unless
    the task was closed by re-inspection.
    """
    rows: list[dict[str, Any]] = []
    for batch in batches:
        for task in batch.tasks.values():
            closed = task.closed_at if task.status is TaskStatus.CLOSED else None
            rows.append(
                {
                    "batch_id": batch.batch_id,
                    "task_id": task.task_id,
                    "unit_id": task.unit_id,
                    "company": batch.scope.company_id,
                    "service_centre": batch.scope.service_centre_id,
                    "project": batch.scope.project_id,
                    "building": batch.building_id,
                    "contractor": task.assignee,
                    "assignee": task.assignee,
                    "party": task.party,
                    "status": task.status.value,
                    "defects": len(task.defect_ids),
                    "send_backs": task.send_backs,
                    "issued_at": _ts(task.issued_at),
                    "closed_at": _ts(closed),
                    "rectification_s": None
                    if closed is None
                    else int((closed - task.issued_at).total_seconds()),
                }
            )
    return rows


def defect_facts(
    batches: Iterable[DeliveryBatch], taxonomy: Taxonomy | None = None
) -> list[dict[str, Any]]:
    """One row per defect (columns :data:`DEFECT_COLUMNS`), internal and owner-found alike.

    ``category_discipline`` and ``category_class`` are the taxonomy roll-ups of the defect's
    code (without a taxonomy, the code split at its dots); ``in_inspected_unit`` says whether
    the defect's unit had an internal inspection (the defects-per-unit cohort).
    """
    rows: list[dict[str, Any]] = []
    for batch in batches:
        inspected = {u.unit_id for u in batch.units.values() if u.inspections}
        for defect in batch.defects.values():
            code = defect.code
            if taxonomy is not None:
                discipline: str | None = taxonomy.rollup(code)
                klass: str | None = taxonomy.rollup(code, "class")
            else:
                parts = code.split(".")
                klass = parts[0]
                discipline = ".".join(parts[:2]) if len(parts) >= 2 else None
            rows.append(
                {
                    "batch_id": batch.batch_id,
                    "defect_id": defect.defect_id,
                    "unit_id": defect.unit_id,
                    "company": batch.scope.company_id,
                    "service_centre": batch.scope.service_centre_id,
                    "project": batch.scope.project_id,
                    "building": batch.building_id,
                    "category": code,
                    "category_class": klass,
                    "category_discipline": discipline,
                    "severity": defect.severity.value,
                    "source": defect.source.value,
                    "contractor": defect.contractor or defect.party,
                    "found_at": _ts(defect.found_at),
                    "in_inspected_unit": defect.unit_id in inspected,
                }
            )
    return rows


_ORG_COLUMNS = ("company", "service_centre", "project", "building")


def compute_delivery(
    batches: Iterable[DeliveryBatch],
    *,
    taxonomy: Taxonomy | None = None,
    definitions: Iterable[KpiDefinition | str] | None = None,
    group_by: Sequence[str] = (),
    period: str | None = None,
    as_of: date | None = None,
    targets: Mapping[str, float] | None = None,
    window: tuple[date, date] | None = None,
    utc_offset_hours: int = 8,
) -> tuple[KpiValue, ...]:
    """The delivery KPI definitions on delivery batches, with the streaming KPI engine.

    Builds :func:`unit_facts`, :func:`task_facts` and :func:`defect_facts` and computes the
    KPIs (default: ``propcrm.metrics.kpi``'s delivery set, ``delivery_*``) by any dimension
    their facts carry. The defects-per-unit denominator is the number of inspected units of
    the group's org unit (the finest of building, project, service centre, company grouped
    by; the whole input otherwise), so ``group_by=("category_discipline",)`` gives defects per
    unit by discipline and ``group_by=("contractor",)`` the rectification time per
    contractor.

    Args:
        batches: Replayed delivery batches.
        taxonomy: For the discipline and class roll-ups of defect codes.
        definitions: KPIs or registered names (default: the delivery KPIs).
        group_by: Dimensions, in order.
        period: ``day``, ``week``, ``month``, ``quarter`` or ``year`` of each KPI's cohort date.
        as_of: Units whose planned handover date is later are not due yet (handover on time).
        targets: Targets by KPI name, replacing the defaults.
        window: Only rows whose cohort date falls in ``[start, end)`` count.
        utc_offset_hours: Local time for periods, windows and planned dates.

    Returns:
        One value per KPI and group, as :func:`propcrm.metrics.kpi.compute` returns.

    Raises:
        ValidationError: Unknown dimension or period, an empty window, or a dimension the
            delivery facts do not carry (e.g. ``channel``).
    """
    from propcrm.metrics.kpi import DELIVERY_DEFINITIONS as DEFINITIONS
    from propcrm.metrics.kpi import Households, compute_facts

    chosen = list(batches)
    units = unit_facts(chosen, as_of=as_of, utc_offset_hours=utc_offset_hours)
    inspected = [u for u in units if u["first_inspected_at"] is not None]
    by_unit: dict[str, int] = {}
    for row in inspected:
        for column in _ORG_COLUMNS:
            key = row[column]
            if key is not None:
                by_unit[key] = by_unit.get(key, 0) + 1
    return compute_facts(
        (),
        definitions=DEFINITIONS if definitions is None else definitions,
        source_rows={
            "units": units,
            "tasks": task_facts(chosen),
            "defects": defect_facts(chosen, taxonomy),
        },
        group_by=group_by,
        period=period,
        households=Households(by_unit=by_unit, total=len(inspected)),
        targets=targets,
        window=window,
        utc_offset_hours=utc_offset_hours,
    )
