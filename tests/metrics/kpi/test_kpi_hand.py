"""Hand-computed KPI values on a small story: cohorts, boundaries, exclusions, reopens, zeros."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from propcrm.errors import ValidationError
from propcrm.metrics.kpi import (
    SURVEY_COLUMNS,
    FactOptions,
    Households,
    KpiValue,
    compute,
    compute_frame,
    facts_to_arrow,
    kpi_definitions,
    survey_facts,
    ticket_facts,
)
from propcrm.model import (
    OrgScope,
    Satisfaction,
    SurveyDefinition,
    SurveyQuestion,
    SurveyResponse,
    TicketKind,
)

from ._stories import Story, local

C, R = TicketKind.COMPLAINT, TicketKind.REPAIR
AS_OF = local(2026, 5, 1)
HOUSEHOLDS = Households(by_unit={"p1": 200, "p2": 100}, total=300)


def histories() -> list[list]:  # type: ignore[type-arg]
    d = datetime
    stories = [
        Story("c1", C, d(2026, 3, 31, 23)).respond(1).dispatch(1).complete(2).revisit(1).close(1),
        Story("c2", C, d(2026, 4, 1)).invalid(1),
        Story("c3", C, d(2026, 4, 2)).void(1),
        Story("c4", C, d(2026, 4, 3), project="p2").respond(2).dispatch(1).escalate(1),
        Story("c5", C, d(2026, 4, 5)).merge(1),
        Story("c6", C, d(2026, 4, 6)).respond(1).complete(3).revisit(80).close(1),
        Story("r1", R, d(2026, 4, 10, 8)).dispatch(0.5).complete(4).revisit(2).close(1),
        Story("r2", R, d(2026, 4, 11))
        .dispatch(1)
        .complete(2)
        .revisit(1, Satisfaction.DISSATISFIED)
        .complete(5)
        .revisit(1)
        .close(1),
        Story("r3", R, d(2026, 4, 12)).void(1),
        Story("r4", R, d(2026, 4, 20)).dispatch(1).follow_up(251),
    ]
    return [s.events() for s in stories]


SURVEY = SurveyDefinition(
    survey_id="s",
    name_zh="满意度",
    name_en="Satisfaction",
    questions=[SurveyQuestion(id="q1", text_zh="总体", text_en="Overall")],
)


def responses() -> list[SurveyResponse]:
    scope = OrgScope(company_id="co", project_id="p1", service_centre_id="sc")
    rows = [
        (Satisfaction.SATISFIED, {"q1": 5}),
        (Satisfaction.BASICALLY_SATISFIED, {"q1": 4}),
        (Satisfaction.DISSATISFIED, {"q1": 2}),
        (None, {}),
    ]
    return [
        SurveyResponse(
            response_id=f"x{i}",
            survey_id="s",
            respondent_id=f"o{i}",
            scope=scope,
            answered_on=date(2026, 4, 30),
            scores=scores,
            overall=overall,
        )
        for i, (overall, scores) in enumerate(rows)
    ]


def by_month() -> dict[tuple[str, str | None], KpiValue]:
    values = compute(
        histories(),
        period="month",
        households=HOUSEHOLDS,
        surveys=responses(),
        survey_definitions=[SURVEY],
        options=FactOptions(as_of=AS_OF),
    )
    return {(v.kpi, v.period): v for v in values}


APRIL: dict[str, float | None] = {
    "valid_complaint_rate": 2 / 300,
    "valid_complaint_rate_per_100": 2 / 300 * 100,
    "valid_complaint_rate_annualised": 2 / 300 * 365 / 30,
    "complaint_handling_rate": 0.5,
    "complaint_revisit_rate": 1.0,
    "complaint_revisit_rate_3d": 0.5,
    "repair_timeliness": None,
    "repair_pass_rate": 0.5,
    "repair_rework_rate": 0.5,
    "repair_revisit_rate": 1.0,
    "satisfaction_rate": 2 / 3,
    "satisfaction_index": 66.667,
    "revisit_satisfaction_rate": 1.0,
    "completion_rate": 0.5,
    "follow_up_rate": 1 / 3,
    "first_response_median": 5400.0,
    "first_response_p90": 6840.0,
    "first_response_business_median": None,
    "first_response_business_p90": None,
    "handoff_median": 3600.0,
    "handoff_p90": 12960.0,
    "handoff_business_median": None,
    "handoff_business_p90": None,
    "resolution_median": 16200.0,
    "resolution_p90": 29160.0,
    "resolution_business_median": None,
    "resolution_business_p90": None,
    "sla_first_response_attainment": None,
    "sla_dispatch_attainment": None,
    "sla_arrival_attainment": None,
    "sla_resolution_attainment": None,
    "sla_revisit_attainment": None,
    "sla_closure_attainment": None,
    "backlog": 3.0,
    "backlog_over_7d": 3.0,
    "backlog_age_median": 2419200.0,
    "backlog_age_p90": 2557440.0,
    "reopen_rate": 1 / 6,
    "abnormal_close_rate": 0.0,
    "escalation_rate": 1 / 6,
    "revisit_coverage": 1.0,
}

MARCH: dict[str, float | None] = {
    "valid_complaint_rate": 1 / 300,
    "valid_complaint_rate_annualised": 1 / 300 * 365 / 31,
    "complaint_handling_rate": 1.0,
    "completion_rate": 1.0,
    "follow_up_rate": None,  # no open ticket received in March: no value, not 0%
    "first_response_median": 3600.0,
    "backlog": 0.0,
    "reopen_rate": 0.0,
}


def test_every_standard_kpi_has_a_hand_computed_april_value() -> None:
    # The delivery KPIs read delivery facts: tests/delivery/test_delivery_kpis.py computes them.
    standard = {d.name for d in kpi_definitions() if d.source.value in ("tickets", "surveys")}
    assert standard <= set(APRIL)


@pytest.mark.parametrize(("kpi", "expected"), sorted(APRIL.items()))
def test_april(kpi: str, expected: float | None) -> None:
    value = by_month()[(kpi, "2026-04")]
    assert value.value == pytest.approx(expected)


@pytest.mark.parametrize(("kpi", "expected"), sorted(MARCH.items()))
def test_march_cohort_boundary(kpi: str, expected: float | None) -> None:
    # c1 is received at 23:00 on 31 March (local time) and closed on 1 April: it is a March
    # ticket by received date and an April ticket by closed date.
    value = by_month()[(kpi, "2026-03")]
    assert value.value == pytest.approx(expected)


def test_closed_cohort_puts_the_boundary_ticket_in_april() -> None:
    values = by_month()
    assert ("complaint_revisit_rate", "2026-03") not in values
    assert values[("complaint_revisit_rate", "2026-04")].denominator == 2


def test_every_value_says_its_cohort_and_exclusions() -> None:
    v = by_month()[("valid_complaint_rate", "2026-04")]
    assert (v.cohort, v.exclusions) == ("received", ("invalid", "merged", "voided"))
    assert (v.numerator, v.denominator) == (2, 300)
    assert by_month()[("completion_rate", "2026-04")].exclusions == ("merged", "voided")


def test_targets_are_marked_met_or_missed() -> None:
    values = by_month()
    assert values[("complaint_handling_rate", "2026-04")].met is False
    assert values[("complaint_handling_rate", "2026-03")].met is True
    assert values[("valid_complaint_rate_annualised", "2026-04")].met is False
    assert values[("follow_up_rate", "2026-03")].met is None
    override = compute(
        histories(),
        definitions=["complaint_handling_rate"],
        targets={"complaint_handling_rate": 0.5},
        options=FactOptions(as_of=AS_OF),
    )
    assert override[0].met is True


def test_per_household_by_project() -> None:
    values = compute(
        histories(),
        definitions=["valid_complaint_rate_per_100"],
        group_by=("project",),
        households=HOUSEHOLDS,
        window=(date(2026, 4, 1), date(2026, 5, 1)),
    )
    got = {v.group: v.value for v in values}
    assert got == {(("project", "p1"),): pytest.approx(0.5), (("project", "p2"),): 1.0}


def test_no_households_gives_no_value() -> None:
    values = compute(histories(), definitions=["valid_complaint_rate"])
    assert [v.value for v in values] == [None]


def test_window_annualises_by_its_length() -> None:
    values = compute(
        histories(),
        definitions=["valid_complaint_rate_annualised"],
        households=HOUSEHOLDS,
        window=(date(2026, 4, 1), date(2026, 5, 1)),
    )
    assert values[0].value == pytest.approx(2 / 300 * 365 / 30)


def test_reopened_ticket_facts() -> None:
    r2 = ticket_facts(histories()[7], FactOptions(as_of=AS_OF))
    assert r2["reopen_count"] == 1
    assert r2["rework_gap_s"] == 3600
    assert r2["revisit_count"] == 2
    assert r2["revisit_satisfied"] is True
    assert r2["resolution_s"] == 9 * 3600


@pytest.mark.parametrize("backend", ["pandas", "polars", "duckdb"])
def test_frames_agree_on_the_story(backend: str) -> None:
    table = facts_to_arrow(ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories())
    native = {
        "pandas": lambda: table.to_pandas(),
        "polars": lambda: pytest.importorskip("polars").from_arrow(table),
        "duckdb": lambda: pytest.importorskip("duckdb").from_arrow(table),
    }[backend]()
    stream = compute(histories(), period="month", options=FactOptions(as_of=AS_OF))
    frames = compute_frame(native, period="month", as_records=True)
    assert frames == stream


@pytest.mark.parametrize("dimension", ["building", "category_discipline", "assignee", "kind"])
def test_survey_kpis_refuse_dimensions_surveys_do_not_carry(dimension: str) -> None:
    # A survey response knows its project, not a building or a category: grouped by one,
    # every survey KPI would sit in one empty group. The refusal names the field and the KPIs.
    with pytest.raises(ValidationError) as info:
        compute(
            histories(),
            group_by=(dimension,),
            surveys=responses(),
            survey_definitions=[SURVEY],
            options=FactOptions(as_of=AS_OF),
        )
    assert info.value.errors[0].path == "$.group_by"
    assert dimension in str(info.value) and "satisfaction_rate" in str(info.value)
    rows = [ticket_facts(h, FactOptions(as_of=AS_OF)) for h in histories()]
    survey_rows = facts_to_arrow(
        survey_facts(responses(), [SURVEY]), columns=SURVEY_COLUMNS
    ).to_pandas()
    with pytest.raises(ValidationError):
        compute_frame(facts_to_arrow(rows).to_pandas(), surveys=survey_rows, group_by=(dimension,))


def test_survey_kpis_by_project_and_ticket_kpis_by_building_still_work() -> None:
    by_project = compute(
        histories(),
        definitions=["satisfaction_rate"],
        group_by=("project",),
        surveys=responses(),
        options=FactOptions(as_of=AS_OF),
    )
    assert [(v.group, v.numerator, v.denominator) for v in by_project] == [
        ((("project", "p1"),), 2, 3)
    ]
    # Without survey responses there is nothing to mislabel: ticket KPIs group by building.
    by_building = compute(histories(), group_by=("building",), options=FactOptions(as_of=AS_OF))
    assert by_building and all(v.kpi != "satisfaction_rate" for v in by_building)
