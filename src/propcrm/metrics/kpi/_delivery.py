"""The delivery KPIs of house handover (交付), as KPI definitions over delivery facts.

They read the unit, rectification-task and defect facts that
:mod:`propcrm.workflow.delivery_kpis` exports (``unit_facts``, ``task_facts``,
``defect_facts``), so both engines compute them from the same definitions as the ticket
KPIs; ``propcrm.workflow.delivery_kpis.compute_delivery`` runs them on delivery batches.
"""

from __future__ import annotations

from propcrm.metrics.kpi._conditions import Cmp, NotNull
from propcrm.metrics.kpi._definitions import (
    Aggregation,
    Cohort,
    Direction,
    KpiDefinition,
    Source,
    Unit,
)

__all__ = ["DELIVERY_DEFINITIONS"]

#: The delivery KPIs: first-pass inspection, defects per unit, rectification, handover on time.
DELIVERY_DEFINITIONS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        name="delivery_first_pass_rate",
        label_zh="一次验收合格率",
        label_en="First-pass inspection rate",
        formula="units whose first internal inspection found no defect / units inspected",
        source=Source.UNITS,
        cohort=Cohort.INSPECTED,
        exclusions=(),
        numerator=Cmp("first_pass", "==", True),
        denominator=NotNull("first_pass"),
    ),
    KpiDefinition(
        name="delivery_defects_per_unit",
        label_zh="户均缺陷数",
        label_en="Defects per inspected unit",
        formula="defects found in inspected units (internal and owner) / units inspected; "
        "group by category_discipline for defects per unit by discipline",
        source=Source.DEFECTS,
        cohort=Cohort.FOUND,
        exclusions=(),
        population=Cmp("in_inspected_unit", "==", True),
        aggregation=Aggregation.PER_HOUSEHOLD,
        unit=Unit.PER_UNIT,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="delivery_rectification_median",
        label_zh="整改时长中位数",
        label_en="Rectification time, median",
        formula="median of (closing re-inspection - issue) over rectification tasks closed; "
        "group by contractor for the time per contractor",
        source=Source.TASKS,
        cohort=Cohort.ISSUED,
        exclusions=(),
        aggregation=Aggregation.MEDIAN,
        value_column="rectification_s",
        unit=Unit.SECONDS,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="delivery_rectification_mean",
        label_zh="整改时长平均值",
        label_en="Rectification time, mean",
        formula="mean of (closing re-inspection - issue) over rectification tasks closed",
        source=Source.TASKS,
        cohort=Cohort.ISSUED,
        exclusions=(),
        aggregation=Aggregation.MEAN,
        value_column="rectification_s",
        unit=Unit.SECONDS,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="delivery_handover_on_time_rate",
        label_zh="按期交付率",
        label_en="Handover on time",
        formula="units handed over on or before their batch's planned date / units due "
        "(planned date on or before the as-of date; a unit not handed over is late)",
        source=Source.UNITS,
        cohort=Cohort.HANDOVER_DUE,
        exclusions=(),
        numerator=Cmp("handed_over_on_time", "==", True),
    ),
)
