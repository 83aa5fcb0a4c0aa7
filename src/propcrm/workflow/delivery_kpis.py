"""Delivery KPIs as pure functions over delivery batches (replayed histories), and their facts.

Each function states its cohort and exclusions in its docstring; none reads a clock, so "as of"
dates are arguments. :data:`DELIVERY_KPIS` names them for a KPI registry: a plugin can
contribute them with ``propcrm_register_kpis`` by calling ``register(name, function)`` for each.

:func:`unit_facts` and :func:`task_facts` flatten batches into one row per unit and per
rectification task (columns :data:`UNIT_COLUMNS`, :data:`TASK_COLUMNS`; times in epoch seconds
like the ticket facts of :mod:`propcrm.metrics.kpi`), so that a KPI engine reading rows can
compute the same KPIs by any dimension.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from propcrm.taxonomy import Taxonomy
from propcrm.workflow.delivery import DefectSource, DeliveryBatch, TaskStatus

__all__ = [
    "DELIVERY_KPIS",
    "TASK_COLUMNS",
    "UNIT_COLUMNS",
    "Ratio",
    "RectificationTimes",
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
        "project": "str",
        "building": "str",
        "stage": "str",
        "planned_handover_on": "str",
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
        "project": "str",
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


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def unit_facts(batches: Iterable[DeliveryBatch]) -> list[dict[str, Any]]:
    """One row per unit (columns :data:`UNIT_COLUMNS`); ``None`` where a fact is not known yet.

    ``handed_over_on_time`` compares the handover's local date with the batch's planned date;
    it is ``None`` while the unit is not handed over.
    """
    rows: list[dict[str, Any]] = []
    for batch in batches:
        for unit in batch.units.values():
            found = [x for x in batch.defects.values() if x.unit_id == unit.unit_id]
            handed = unit.handed_over_at
            rows.append(
                {
                    "batch_id": batch.batch_id,
                    "unit_id": unit.unit_id,
                    "company": batch.scope.company_id,
                    "project": batch.scope.project_id,
                    "building": batch.building_id,
                    "stage": unit.stage.value,
                    "planned_handover_on": batch.planned_handover_on.isoformat(),
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
                    "project": batch.scope.project_id,
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
