"""KPI calculators: the industry's service KPIs by any dimension, on plain Python or a dataframe.

KPIs are data (:class:`KpiDefinition`): a cohort, exclusions, a population, a numerator and a
denominator (or a value column and a statistic), a unit, a direction and a target. Two engines
read the same definitions: :func:`compute` folds ticket histories in one streaming pass;
:func:`compute_frame` runs on a ticket-facts frame (pandas, Polars, DuckDB … through narwhals)
and returns the caller's frame type. The delivery KPIs (``DELIVERY_DEFINITIONS``) read delivery
facts with the same engines. :func:`ticket_facts`, :func:`facts_to_arrow` and
:func:`write_parquet` export the facts. See ``docs/kpis.md``.
"""

from __future__ import annotations

from propcrm.metrics.calendar._sources import OptionalDependencyError
from propcrm.metrics.kpi._conditions import (
    TRUE,
    All,
    AnyOf,
    Cmp,
    Cond,
    IsIn,
    IsNull,
    Not,
    NotNull,
)
from propcrm.metrics.kpi._definitions import (
    Aggregation,
    Cohort,
    Direction,
    Exclusion,
    KpiDefinition,
    Source,
    Unit,
    get_kpi,
    kpi_definitions,
    register_kpi,
)
from propcrm.metrics.kpi._delivery import DELIVERY_DEFINITIONS
from propcrm.metrics.kpi._engine import Households, KpiValue, linear_quantile
from propcrm.metrics.kpi._facts import (
    DIMENSIONS,
    FACT_COLUMNS,
    SURVEY_COLUMNS,
    FactOptions,
    facts_to_arrow,
    histories_from_events,
    iter_facts,
    survey_facts,
    ticket_facts,
    write_parquet,
)
from propcrm.metrics.kpi._frames import compute_frame, rows_to_frame, values_to_frame
from propcrm.metrics.kpi._periods import PERIODS
from propcrm.metrics.kpi._reports import (
    ASSESSMENT_KPIS,
    complaint_focus,
    contractor_scorecard,
    daily_unfinished,
    monthly_assessment,
)
from propcrm.metrics.kpi._standard import STANDARD_KPIS, rework_rate
from propcrm.metrics.kpi._stream import Accumulator, compute, compute_facts

__all__ = [
    "ASSESSMENT_KPIS",
    "DELIVERY_DEFINITIONS",
    "DIMENSIONS",
    "FACT_COLUMNS",
    "PERIODS",
    "STANDARD_KPIS",
    "SURVEY_COLUMNS",
    "TRUE",
    "Accumulator",
    "Aggregation",
    "All",
    "AnyOf",
    "Cmp",
    "Cohort",
    "Cond",
    "Direction",
    "Exclusion",
    "FactOptions",
    "Households",
    "IsIn",
    "IsNull",
    "KpiDefinition",
    "KpiValue",
    "Not",
    "NotNull",
    "OptionalDependencyError",
    "Source",
    "Unit",
    "complaint_focus",
    "compute",
    "compute_facts",
    "compute_frame",
    "contractor_scorecard",
    "daily_unfinished",
    "facts_to_arrow",
    "get_kpi",
    "histories_from_events",
    "iter_facts",
    "kpi_definitions",
    "linear_quantile",
    "monthly_assessment",
    "register_kpi",
    "rework_rate",
    "rows_to_frame",
    "survey_facts",
    "ticket_facts",
    "values_to_frame",
    "write_parquet",
]
