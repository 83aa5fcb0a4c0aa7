"""The standard KPI set: domain reference §2 and the service-loop measures."""

from __future__ import annotations

from propcrm.metrics.kpi._conditions import AnyOf, Cmp, Cond, IsIn, IsNull, NotNull
from propcrm.metrics.kpi._definitions import (
    Aggregation,
    Cohort,
    Direction,
    Exclusion,
    KpiDefinition,
    Source,
    Unit,
    register_kpi,
)
from propcrm.metrics.kpi._delivery import DELIVERY_DEFINITIONS
from propcrm.metrics.sla import SlaTarget

__all__ = ["STANDARD_KPIS", "rework_rate"]

_DAY = 86400
_COMPLAINT = Cmp("kind", "==", "complaint")
_REPAIR = Cmp("kind", "==", "repair")
_VALID = frozenset({Exclusion.VOIDED, Exclusion.MERGED, Exclusion.INVALID})
A = Aggregation


def rework_rate(days: int = 30, *, name: str | None = None) -> KpiDefinition:
    """返修率: repairs reopened within ``days`` of their first completion / repairs completed."""
    return KpiDefinition(
        name=name or ("repair_rework_rate" if days == 30 else f"repair_rework_rate_{days}d"),
        label_zh=f"返修率({days}天内)",
        label_en=f"Rework rate (within {days} days)",
        formula=f"repairs reopened within {days} days of first completion / repairs completed",
        cohort=Cohort.COMPLETED,
        population=_REPAIR,
        numerator=Cmp("rework_gap_s", "<=", days * _DAY),
        direction=Direction.LOWER,
        target=0.01,
    )


def _duration(
    name: str, zh: str, en: str, column: str, agg: Aggregation, cohort: Cohort = Cohort.RECEIVED
) -> KpiDefinition:
    stat = "median" if agg is A.MEDIAN else "P90"
    business = column.endswith("_bs")
    return KpiDefinition(
        name=name,
        label_zh=zh + ("中位数" if agg is A.MEDIAN else "P90") + ("(工作时间)" if business else ""),
        label_en=f"{en}, {stat}" + (", business time" if business else ", wall-clock"),
        formula=f"{stat} of {column} over tickets that have it",
        cohort=cohort,
        aggregation=agg,
        value_column=column,
        unit=Unit.SECONDS,
        direction=Direction.LOWER,
    )


def _durations() -> list[KpiDefinition]:
    out = []
    for stem, zh, en in (
        ("first_response", "首次响应时长", "First-response time"),
        ("handoff", "信息传递时间", "Hand-off time"),
        ("resolution", "处理时长", "Resolution time"),
    ):
        for suffix, clock in (("", "_s"), ("_business", "_bs")):
            for agg in (A.MEDIAN, A.P90):
                name = f"{stem}{suffix}_{agg.value}"
                out.append(_duration(name, zh, en, stem + clock, agg))
    return out


def _sla(target: SlaTarget) -> KpiDefinition:
    column = f"sla_{target.value}"
    return KpiDefinition(
        name=f"sla_{target.value}_attainment",
        label_zh=f"SLA达成率({target.label_zh})",
        label_en=f"SLA attainment ({target.label_en})",
        formula=f"tickets whose {target.value} target was met / tickets whose target was met or "
        "breached (pending and not applicable left out)",
        numerator=Cmp(column, "==", "met"),
        denominator=IsIn(column, ("met", "breached")),
        target=0.95,
    )


def _handled() -> Cond:
    return AnyOf((NotNull("first_completed_at"), NotNull("closed_at")))


#: The standard ticket and survey KPIs of the trade, each with its formula, cohort and target.
STANDARD_KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        name="valid_complaint_rate",
        label_zh="有效投诉率",
        label_en="Valid complaint rate",
        formula="valid complaints received in the period / households",
        exclusions=_VALID,
        population=_COMPLAINT,
        aggregation=A.PER_HOUSEHOLD,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="valid_complaint_rate_per_100",
        label_zh="有效投诉率(每百户)",
        label_en="Valid complaints per 100 households",
        formula="valid complaints received in the period / households × 100",
        exclusions=_VALID,
        population=_COMPLAINT,
        aggregation=A.PER_HOUSEHOLD,
        scale=100.0,
        unit=Unit.PER_100_HOUSEHOLDS,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="valid_complaint_rate_annualised",
        label_zh="有效投诉率(年化)",
        label_en="Valid complaint rate, annualised",
        formula="valid complaints received / households × 365 / days in the period",
        exclusions=_VALID,
        population=_COMPLAINT,
        aggregation=A.PER_HOUSEHOLD,
        annualise=True,
        direction=Direction.LOWER,
        target=0.02,
    ),
    KpiDefinition(
        name="complaint_handling_rate",
        label_zh="投诉处理率",
        label_en="Complaint handling rate",
        formula="valid complaints completed or closed / valid complaints received",
        exclusions=_VALID,
        population=_COMPLAINT,
        numerator=_handled(),
        target=1.0,
    ),
    KpiDefinition(
        name="complaint_revisit_rate",
        label_zh="投诉回访率",
        label_en="Complaint revisit rate",
        formula="closed valid complaints with a revisit / valid complaints closed",
        cohort=Cohort.CLOSED,
        exclusions=_VALID,
        population=_COMPLAINT,
        numerator=Cmp("revisit_count", ">", 0),
        target=1.0,
    ),
    KpiDefinition(
        name="complaint_revisit_rate_3d",
        label_zh="投诉回访率(完成后3天内)",
        label_en="Complaint revisit rate within 3 days",
        formula="closed valid complaints revisited within 3 days of completion / valid "
        "complaints closed",
        cohort=Cohort.CLOSED,
        exclusions=_VALID,
        population=_COMPLAINT,
        numerator=Cmp("revisit_delay_s", "<=", 3 * _DAY),
        target=1.0,
    ),
    KpiDefinition(
        name="repair_timeliness",
        label_zh="维修及时率",
        label_en="Repair timeliness",
        formula="repairs whose SLA resolution target was met / repairs received that have a "
        "resolution target",
        population=_REPAIR,
        numerator=Cmp("sla_resolution", "==", "met"),
        denominator=NotNull("sla_resolution"),
        target=0.95,
    ),
    KpiDefinition(
        name="repair_pass_rate",
        label_zh="维修合格率",
        label_en="Repair pass rate",
        formula="completed repairs never reopened after their first completion / repairs completed",
        cohort=Cohort.COMPLETED,
        population=_REPAIR,
        numerator=IsNull("rework_gap_s"),
        target=0.95,
    ),
    rework_rate(30),
    KpiDefinition(
        name="repair_revisit_rate",
        label_zh="维修回访率",
        label_en="Repair revisit rate",
        formula="completed repairs with a revisit / repairs completed",
        cohort=Cohort.COMPLETED,
        population=_REPAIR,
        numerator=Cmp("revisit_count", ">", 0),
    ),
    KpiDefinition(
        name="satisfaction_rate",
        label_zh="满意率",
        label_en="Satisfaction rate (surveys)",
        formula="responses satisfied or basically satisfied overall / responses with an "
        "overall answer",
        source=Source.SURVEYS,
        cohort=Cohort.ANSWERED,
        exclusions=(),
        numerator=Cmp("satisfied", "==", True),
        denominator=NotNull("satisfied"),
        target=0.8,
    ),
    KpiDefinition(
        name="satisfaction_index",
        label_zh="满意度指数",
        label_en="Satisfaction index (surveys)",
        formula="mean of the responses' weighted 0-100 index",
        source=Source.SURVEYS,
        cohort=Cohort.ANSWERED,
        exclusions=(),
        aggregation=A.MEAN,
        value_column="index_milli",
        value_scale=0.001,
        unit=Unit.SCORE,
    ),
    KpiDefinition(
        name="revisit_satisfaction_rate",
        label_zh="回访满意率",
        label_en="Satisfaction rate (revisits)",
        formula="completed tickets whose latest revisit was satisfied or basically satisfied / "
        "completed tickets revisited",
        cohort=Cohort.COMPLETED,
        numerator=Cmp("revisit_satisfied", "==", True),
        denominator=NotNull("revisit_satisfied"),
        target=0.8,
    ),
    KpiDefinition(
        name="completion_rate",
        label_zh="报事完成率",
        label_en="Completion rate",
        formula="tickets received in the period and closed by the as-of instant / tickets received",
        numerator=NotNull("closed_at"),
    ),
    KpiDefinition(
        name="follow_up_rate",
        label_zh="报事跟进率",
        label_en="Follow-up rate",
        formula="open tickets followed up (or received) within the last day / open tickets",
        cohort=Cohort.OPEN,
        numerator=Cmp("since_follow_up_s", "<=", _DAY),
        denominator=NotNull("since_follow_up_s"),
        target=1.0,
    ),
    *_durations(),
    *(_sla(t) for t in SlaTarget),
    KpiDefinition(
        name="backlog",
        label_zh="未完成工单数",
        label_en="Backlog (open tickets)",
        formula="tickets open at the as-of instant",
        cohort=Cohort.OPEN,
        aggregation=A.COUNT,
        unit=Unit.COUNT,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="backlog_over_7d",
        label_zh="超7天未完成工单数",
        label_en="Backlog older than 7 days",
        formula="open tickets received more than 7 days before the as-of instant",
        cohort=Cohort.OPEN,
        aggregation=A.COUNT,
        numerator=Cmp("age_s", ">", 7 * _DAY),
        unit=Unit.COUNT,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="backlog_age_median",
        label_zh="未完成工单账龄中位数",
        label_en="Backlog age, median",
        formula="median of (as-of instant - received) over open tickets",
        cohort=Cohort.OPEN,
        aggregation=A.MEDIAN,
        value_column="age_s",
        unit=Unit.SECONDS,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="backlog_age_p90",
        label_zh="未完成工单账龄P90",
        label_en="Backlog age, P90",
        formula="P90 of (as-of instant - received) over open tickets",
        cohort=Cohort.OPEN,
        aggregation=A.P90,
        value_column="age_s",
        unit=Unit.SECONDS,
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="reopen_rate",
        label_zh="重开率",
        label_en="Reopen rate",
        formula="tickets reopened at least once / tickets received",
        numerator=Cmp("reopen_count", ">", 0),
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="abnormal_close_rate",
        label_zh="非正常关闭率",
        label_en="Abnormal-close rate",
        formula="tickets closed abnormally / tickets closed",
        cohort=Cohort.CLOSED,
        numerator=Cmp("abnormal_close", "==", True),
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="escalation_rate",
        label_zh="升级率",
        label_en="Escalation rate",
        formula="tickets escalated at least once / tickets received",
        numerator=Cmp("escalation_rank", ">", 0),
        direction=Direction.LOWER,
    ),
    KpiDefinition(
        name="revisit_coverage",
        label_zh="回访覆盖率",
        label_en="Revisit coverage",
        formula="completed tickets with a revisit / tickets completed",
        cohort=Cohort.COMPLETED,
        numerator=Cmp("revisit_count", ">", 0),
    ),
)

for _definition in STANDARD_KPIS:
    register_kpi(_definition)

# The delivery KPIs join the registry right after the service KPIs.
for _definition in DELIVERY_DEFINITIONS:
    register_kpi(_definition)
