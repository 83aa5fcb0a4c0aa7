"""The delivery KPIs as KPI definitions: hand-computed values, both engines, the old functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from _delivery_fixtures import delivery_fixture, run_fixture, std_fixture  # noqa: F401 (fixtures)
from _delivery_helpers import Run, defect

from propcrm import taxonomy as tx
from propcrm.errors import ValidationError
from propcrm.metrics.kpi import (
    DELIVERY_DEFINITIONS,
    Cohort,
    KpiDefinition,
    Source,
    compute_frame,
    facts_to_arrow,
    kpi_definitions,
)
from propcrm.model import Severity
from propcrm.workflow import delivery as d
from propcrm.workflow import delivery_kpis as k


def scenario(run: Run) -> list[d.DeliveryBatch]:
    """U1: two defects (Q.WP, Q.WF) at its first inspection; U2 clean and handed over in May.

    ZJ-3's task is rectified in 3 days and 1 hour; FS-1's task stays open.
    """
    run.do(
        d.RecordInspection(
            batch_id="B1",
            unit_id="U1",
            inspector="insp-1",
            checklist=("Q.WP.04", "Q.WF.01"),
            defects=[
                defect("D1", "Q.WP.04", photos=("u1-bath-1.jpg",), severity=Severity.MAJOR),
                defect("D2", "Q.WF.01"),
            ],
        )
    )
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    task = next(t for t in run.b.tasks.values() if t.assignee == "ZJ-3").task_id
    run.do(d.ReportRectified(batch_id="B1", task_id=task), after=timedelta(days=1))
    run.do(
        d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"), after=timedelta(days=2)
    )
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2"))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    return [run.b]


def fitting(group_by: tuple[str, ...]) -> list[KpiDefinition]:
    """The delivery KPIs whose facts carry every dimension of ``group_by``."""
    return [x for x in DELIVERY_DEFINITIONS if set(group_by) <= x.source.dimensions]


def values(batches: list[d.DeliveryBatch], **kw: object) -> dict[tuple[str, object], object]:
    out = k.compute_delivery(batches, **kw)  # type: ignore[arg-type]
    return {(v.kpi, v.group[0][1] if v.group else None): v for v in out}


def test_the_delivery_kpis_are_kpi_definitions() -> None:
    names = {x.name for x in kpi_definitions()}
    assert {x.name for x in DELIVERY_DEFINITIONS} <= names
    assert {x.source for x in DELIVERY_DEFINITIONS} == {Source.UNITS, Source.TASKS, Source.DEFECTS}


def test_hand_computed_values(run: Run, std: tx.Taxonomy) -> None:
    batches = scenario(run)
    whole = values(batches, taxonomy=std, as_of=date(2026, 6, 1))
    # First pass: U2 clean, U1 not -> 1 / 2.
    fp = whole[("delivery_first_pass_rate", None)]
    assert (fp.numerator, fp.denominator, fp.value) == (1, 2, 0.5)  # type: ignore[attr-defined]
    # Two defects in two inspected units.
    dpu = whole[("delivery_defects_per_unit", None)]
    assert (dpu.numerator, dpu.denominator, dpu.value) == (2, 2, 1.0)  # type: ignore[attr-defined]
    # Due by 1 June: U1 (never handed over: late) and U2 (handed over in May).
    on_time = whole[("delivery_handover_on_time_rate", None)]
    assert (on_time.numerator, on_time.denominator, on_time.value) == (1, 2, 0.5)  # type: ignore[attr-defined]
    # Only ZJ-3's task closed, in 3 days and 1 hour.
    assert whole[("delivery_rectification_median", None)].value == 3 * 86400 + 3600  # type: ignore[attr-defined]


def test_by_discipline_and_by_contractor(run: Run, std: tx.Taxonomy) -> None:
    batches = scenario(run)
    by_disc = values(
        batches,
        taxonomy=std,
        definitions=fitting(("category_discipline",)),
        group_by=("category_discipline",),
    )
    per_unit = {
        g: v.value  # type: ignore[attr-defined]
        for (name, g), v in by_disc.items()
        if name == "delivery_defects_per_unit"
    }
    assert per_unit == {"Q.WF": 0.5, "Q.WP": 0.5}
    assert per_unit == k.defects_per_unit_by_discipline(batches, std)
    by_con = values(batches, definitions=fitting(("contractor",)), group_by=("contractor",))
    zj3 = by_con[("delivery_rectification_mean", "ZJ-3")]
    assert (zj3.value, zj3.denominator) == (3 * 86400 + 3600, 1)  # type: ignore[attr-defined]
    fs1 = by_con[("delivery_rectification_median", "FS-1")]
    assert (fs1.value, fs1.denominator) == (None, 0)  # type: ignore[attr-defined]  # none closed
    times = k.rectification_time_by_contractor(batches)
    assert times["ZJ-3"].mean == timedelta(seconds=zj3.value)  # type: ignore[attr-defined]


def test_handover_cohort_follows_the_as_of_date(run: Run) -> None:
    batches = scenario(run)
    assert ("delivery_handover_on_time_rate", None) not in values(batches, as_of=date(2026, 5, 31))
    ratio = k.handover_on_time_rate(batches, as_of=date(2026, 6, 1))
    v = values(batches, as_of=date(2026, 6, 1))[("delivery_handover_on_time_rate", None)]
    assert (v.numerator, v.denominator) == (ratio.numerator, ratio.denominator)  # type: ignore[attr-defined]


def test_nothing_inspected_gives_no_value(run: Run) -> None:
    whole = values([run.b], as_of=date(2026, 6, 1))
    assert ("delivery_first_pass_rate", None) not in whole
    # Both units due, none handed over: 0 of 2 on time, a real 0.
    assert whole[("delivery_handover_on_time_rate", None)].value == 0.0  # type: ignore[attr-defined]


def test_grouping_by_a_dimension_delivery_facts_lack_is_refused(run: Run) -> None:
    with pytest.raises(ValidationError) as info:
        k.compute_delivery(scenario(run), group_by=("channel",))
    assert info.value.errors[0].path == "$.group_by"
    assert "channel" in str(info.value)


@pytest.mark.parametrize("group_by", [(), ("project",), ("contractor",), ("category_discipline",)])
def test_frame_engine_equals_stream(run: Run, std: tx.Taxonomy, group_by: tuple[str, ...]) -> None:
    pl = pytest.importorskip("polars")
    batches = scenario(run)
    chosen = fitting(group_by)
    stream = k.compute_delivery(
        batches, taxonomy=std, definitions=chosen, group_by=group_by, as_of=date(2026, 6, 1)
    )
    units = k.unit_facts(batches, as_of=date(2026, 6, 1))
    inspected = [u for u in units if u["first_inspected_at"] is not None]
    from propcrm.metrics.kpi import Households

    hh = Households(by_unit={"p1": len(inspected), "c1": len(inspected)}, total=len(inspected))
    frames = compute_frame(
        pl.from_arrow(facts_to_arrow([])),
        definitions=chosen,
        sources={
            "units": pl.from_arrow(facts_to_arrow(units, columns=k.UNIT_COLUMNS)),
            "tasks": pl.from_arrow(facts_to_arrow(k.task_facts(batches), columns=k.TASK_COLUMNS)),
            "defects": pl.from_arrow(
                facts_to_arrow(k.defect_facts(batches, std), columns=k.DEFECT_COLUMNS)
            ),
        },
        group_by=group_by,
        households=hh,
        as_records=True,
    )
    assert frames == stream


def test_delivery_definitions_refuse_ticket_shapes() -> None:
    with pytest.raises(ValidationError) as info:
        KpiDefinition(
            name="x",
            label_zh="x",
            label_en="x",
            formula="x",
            source=Source.UNITS,
            cohort=Cohort.RECEIVED,
            exclusions=(),
        )
    assert info.value.errors[0].path == "$.cohort"
    with pytest.raises(ValidationError) as info:
        KpiDefinition(
            name="x",
            label_zh="x",
            label_en="x",
            formula="x",
            source=Source.UNITS,
            cohort=Cohort.INSPECTED,
        )
    assert info.value.errors[0].path == "$.exclusions"
