"""Hypothesis: any sequence of delivery commands keeps the batch consistent and replayable."""

from __future__ import annotations

from datetime import date
from typing import Any

from _delivery_helpers import CONTRACTOR, REGISTER, SCOPE, Run, defect
from hypothesis import event, given
from hypothesis import strategies as st

from propcrm import taxonomy as tx
from propcrm.errors import PropcrmError
from propcrm.workflow import delivery as d

UNITS = ("U1", "U2", "U3")
CODES = ("Q.WP.04", "Q.WF.01", "Q.DW.01")
STD = tx.standard()

unit = st.sampled_from(UNITS)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("inspect"), unit, st.lists(st.sampled_from(CODES), max_size=3)),
        st.tuples(st.just("report"), st.integers(1, 6), st.just(None)),
        st.tuples(st.just("reinspect"), st.integers(1, 6), st.booleans()),
        st.tuples(st.just("book"), unit, st.just(None)),
        st.tuples(st.just("owner"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("hand_over"), unit, st.just(None)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
        st.tuples(st.just("advance"), unit, st.lists(st.sampled_from(CODES), max_size=2)),
    ),
    min_size=5,
    max_size=40,
)


def command(run: Run, op: tuple[str, Any, Any], n: int) -> d.DeliveryCommand:
    name, arg, extra = op
    if name == "advance":  # the unit's natural next step, so whole deliveries are common
        stage = run.b.units[arg].stage
        name = {
            d.UnitStage.PLANNED: "inspect",
            d.UnitStage.INSPECTED: "book",
            d.UnitStage.BOOKED: "owner",
        }.get(stage, "hand_over")
    if name in ("inspect", "owner"):
        reports = [defect(f"D{n}-{i}", code, unit=arg) for i, code in enumerate(extra)]
        if name == "owner":
            return d.RecordOwnerInspection(batch_id="B1", unit_id=arg, defects=reports)
        return d.RecordInspection(
            batch_id="B1", unit_id=arg, inspector="i", checklist=CODES, defects=reports
        )
    if name == "report":
        return d.ReportRectified(batch_id="B1", task_id=f"B1/R{arg}")
    if name == "reinspect":
        task = run.b.tasks.get(f"B1/R{arg}")
        failed = task.defect_ids[:1] if task is not None and extra else ()
        return d.RecordReinspection(
            batch_id="B1", task_id=f"B1/R{arg}", inspector="i", failed=failed
        )
    if name == "book":
        return d.BookHandover(batch_id="B1", unit_id=arg, customer_id="C", appointment_at=run.now)
    return d.HandOverUnit(batch_id="B1", unit_id=arg, keys=("K",))


@given(operations)
def test_the_batch_stays_consistent(ops: list[tuple[str, Any, Any]]) -> None:
    run = Run(d.Delivery(taxonomy=STD, register=REGISTER))
    run.do(
        d.OpenDeliveryBatch(
            batch_id="B1",
            scope=SCOPE,
            title="t",
            planned_handover_on=date(2026, 6, 1),
            unit_ids=UNITS,
        )
    )
    for n, op in enumerate(ops):
        before, length = run.b, len(run.history)
        actor = CONTRACTOR if op[0] == "report" else run.history[0].actor
        try:
            run.do(command(run, op, n), actor)
        except PropcrmError:
            assert run.b == before and len(run.history) == length
    b = run.b
    assert d.replay(run.history) == b
    # Every defect is in exactly one task, and each task's assignee routed its defects.
    in_tasks = [i for t in b.tasks.values() for i in t.defect_ids]
    assert sorted(in_tasks) == sorted(b.defects)
    for task in b.tasks.values():
        assert {b.defects[i].contractor or b.defects[i].party for i in task.defect_ids} == {
            task.assignee
        }
        closed = all(b.defects[i].status is d.DefectStatus.CLOSED for i in task.defect_ids)
        assert (task.status is d.TaskStatus.CLOSED) == closed
    handed = 0
    for u in b.units.values():
        open_now = {x.defect_id for x in b.open_defects(u.unit_id)}
        if u.stage is d.UnitStage.HANDED_OVER:
            handed += 1
            assert not open_now
            warranty = {
                x.defect_id
                for x in b.defects.values()
                if x.unit_id == u.unit_id and x.status is d.DefectStatus.WARRANTY
            }
            assert set(u.warranty_defect_ids) == warranty
            assert [c.idempotency_key for c in d.warranty_tickets(b, u.unit_id)] == [
                f"delivery:B1:{i}" for i in u.warranty_defect_ids
            ]
    event(f"units handed over: {handed}")
