"""A full delivery: inspection, rectification, owner inspection, handover, warranty tickets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from _delivery_fixtures import delivery_fixture, run_fixture, std_fixture  # noqa: F401 (fixtures)
from _delivery_helpers import (
    CONTRACTOR,
    REGISTER,
    SCOPE,
    STAFF,
    Run,
    defect,
    receive,
    where,
)

from propcrm import taxonomy as tx
from propcrm.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from propcrm.model import Actor, Channel, Priority, Role, Severity, TicketKind, TicketStatus
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow import delivery as d
from propcrm.workflow import delivery_kpis as k


def inspect_u1(run: Run) -> None:
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


def test_a_unit_goes_from_inspection_to_a_warranty_ticket_at_its_contractor(run: Run) -> None:
    inspect_u1(run)
    b = run.b
    assert b.units["U1"].stage is d.UnitStage.INSPECTED
    assert b.units["U1"].first_inspection_defects == 2
    # Each defect went to the contractor that built its discipline, one task per contractor.
    assert {t.assignee: t.defect_ids for t in b.tasks.values()} == {
        "FS-1": ("D1",),
        "ZJ-3": ("D2",),
    }
    assert b.defects["D1"].party == "SUB-WP" and b.defects["D1"].contractor == "FS-1"
    leak_task = next(t for t in b.tasks.values() if t.assignee == "FS-1").task_id
    # The contractor reports, re-inspection sends it back, then closes it.
    run.do(d.ReportRectified(batch_id="B1", task_id=leak_task), CONTRACTOR, after=timedelta(days=2))
    run.do(
        d.RecordReinspection(batch_id="B1", task_id=leak_task, inspector="insp-1", failed=["D1"])
    )
    assert run.b.tasks[leak_task].status is d.TaskStatus.OPEN
    assert run.b.tasks[leak_task].send_backs == 1
    assert run.b.defects["D1"].status is d.DefectStatus.OPEN
    run.do(d.ReportRectified(batch_id="B1", task_id=leak_task), CONTRACTOR, after=timedelta(days=1))
    run.do(d.RecordReinspection(batch_id="B1", task_id=leak_task, inspector="insp-1"))
    assert run.b.tasks[leak_task].status is d.TaskStatus.CLOSED
    assert run.b.defects["D1"].status is d.DefectStatus.CLOSED
    # The owner's appointment, inspection (one new defect) and the keys.
    run.do(
        d.BookHandover(
            batch_id="B1",
            unit_id="U1",
            customer_id="C1",
            appointment_at=run.now + timedelta(days=20),
        )
    )
    run.do(
        d.RecordOwnerInspection(
            batch_id="B1", unit_id="U1", defects=[defect("D3", "Q.DW.01")], signed=True
        ),
        after=timedelta(days=20),
    )
    events = run.do(
        d.HandOverUnit(
            batch_id="B1",
            unit_id="U1",
            keys=("K-1", "K-2"),
            meter_readings=[d.MeterReading(meter=d.MeterKind.WATER, reading=Decimal("3.2"))],
            move_in_fee_ref="BILL-2026-0001",
        )
    )
    handed = events[-1].payload
    assert isinstance(handed, d.UnitHandedOver)
    assert handed.open_defect_ids == ("D2", "D3")
    unit = run.b.units["U1"]
    assert unit.stage is d.UnitStage.HANDED_OVER and unit.handed_over_at == run.now
    assert unit.keys == ("K-1", "K-2") and unit.move_in_fee_ref == "BILL-2026-0001"
    assert {run.b.defects[i].status for i in ("D2", "D3")} == {d.DefectStatus.WARRANTY}
    assert run.b.tasks[leak_task].status is d.TaskStatus.CLOSED  # closed stays closed
    assert {t.status for t in run.b.tasks.values() if t.task_id != leak_task} == {
        d.TaskStatus.TRANSFERRED
    }

    # Open defects become warranty tickets under the handover date, routed to the contractor.
    commands = d.warranty_tickets(run.b, "U1")
    assert [cmd.category_code for cmd in commands] == ["Q.WF.01", "Q.DW.01"]
    lifecycle = Lifecycle(catalog=tx.standard())
    ticket = receive(commands[0], run.now, lifecycle)
    assert ticket.channel is Channel.INSPECTION and ticket.kind is TicketKind.REPAIR
    assert ticket.priority is Priority.P4
    assert ticket.received_at == unit.handed_over_at
    assert ticket.responsible_party == "GC" and "ZJ-3" in ticket.description
    assert ticket.location == where("U1")
    assert ticket.reporter is not None and ticket.reporter.customer_id == "C1"
    assert ticket.idempotency_key == "delivery:B1:D2"
    dispatched, _ = lifecycle.execute(
        ticket,
        c.DispatchTicket(ticket_id=ticket.ticket_id, party="GC", assignee="ZJ-3"),
        now=run.now + timedelta(hours=1),
        actor=STAFF,
    )
    assert dispatched.status is TicketStatus.DISPATCHED and dispatched.assignee == "ZJ-3"
    # The history replays to the same state.
    assert d.replay(run.history) == run.b


def test_a_unit_handed_over_clean_makes_no_ticket(run: Run) -> None:
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2"))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    assert d.warranty_tickets(run.b, "U2") == ()
    assert run.b.tasks == {}


def test_without_a_register_defects_go_to_the_default_party(std: tx.Taxonomy) -> None:
    run = Run(d.Delivery(taxonomy=std))
    run.do(
        d.OpenDeliveryBatch(
            batch_id="B1",
            scope=SCOPE,
            title="t",
            planned_handover_on=date(2026, 6, 1),
            unit_ids=["U1"],
        )
    )
    inspect_u1(run)
    assert run.b.defects["D1"].party == std.get("Q.WP.04").parties[0]
    assert run.b.defects["D1"].contractor is None
    recorded = run.history[1].payload
    assert isinstance(recorded, d.InspectionRecorded)
    assert "default party" in recorded.defects[0].reason


def test_kpis_over_the_delivery_history(run: Run, std: tx.Taxonomy) -> None:
    inspect_u1(run)
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    task = next(t for t in run.b.tasks.values() if t.assignee == "ZJ-3").task_id
    run.do(d.ReportRectified(batch_id="B1", task_id=task), after=timedelta(days=1))
    run.do(
        d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"), after=timedelta(days=2)
    )
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2"))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    batches = [run.b]
    assert k.first_pass_inspection_rate(batches) == k.Ratio(numerator=1, denominator=2)
    assert k.defects_per_unit_by_discipline(batches, std) == {"Q.WF": 0.5, "Q.WP": 0.5}
    times = k.rectification_time_by_contractor(batches)
    assert times["ZJ-3"].closed == 1 and times["ZJ-3"].mean == timedelta(days=3, hours=1)
    assert times["FS-1"].closed == 0 and times["FS-1"].still_open == 1
    assert times["FS-1"].mean is None
    # Planned 2026-06-01; U2 handed over in May, U1 not at all.
    assert k.handover_on_time_rate(batches, as_of=date(2026, 5, 31)).denominator == 0
    assert k.handover_on_time_rate(batches, as_of=date(2026, 6, 1)) == k.Ratio(
        numerator=1, denominator=2
    )
    assert k.Ratio(numerator=0, denominator=0).value is None
    assert set(k.DELIVERY_KPIS) == {
        "delivery-first-pass-inspection-rate",
        "delivery-defects-per-unit-by-discipline",
        "delivery-rectification-time-by-contractor",
        "delivery-handover-on-time-rate",
    }


def test_handing_over_late_is_counted_late(run: Run) -> None:
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2"), after=timedelta(days=40))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    assert run.b.units["U2"].handed_over_at is not None
    assert run.b.units["U2"].handed_over_at.date() > date(2026, 6, 1)
    assert k.handover_on_time_rate([run.b], as_of=date(2026, 7, 1)).numerator == 0


# ---------------------------------------------------------------------------------------------
# refusals leave the batch as it was


def refused(
    run: Run, command: d.DeliveryCommand, error: type[Exception], actor: Actor = STAFF
) -> Exception:
    before = run.b
    with pytest.raises(error) as info:
        run.delivery.handle(before, command, now=run.now + timedelta(hours=1), actor=actor)
    assert run.b == before
    return info.value


def test_stage_refusals_name_the_unit_stage_and_command(run: Run) -> None:
    error = refused(
        run, d.HandOverUnit(batch_id="B1", unit_id="U1", keys=("K",)), d.DeliveryRefusedError
    )
    assert isinstance(error, InvalidTransitionError)
    assert error.status == "planned" and error.command == "hand_over"
    assert "unit 'U1'" in str(error)
    error = refused(
        run,
        d.BookHandover(batch_id="B1", unit_id="U1", customer_id="C1", appointment_at=run.now),
        d.DeliveryRefusedError,
    )
    assert "Hint: record the internal inspection first" in str(error)
    refused(run, d.RecordOwnerInspection(batch_id="B1", unit_id="U1"), d.DeliveryRefusedError)
    inspect_u1(run)
    task = next(iter(run.b.tasks))
    refused(
        run,
        d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"),
        d.DeliveryRefusedError,
    )
    run.do(d.ReportRectified(batch_id="B1", task_id=task))
    refused(run, d.ReportRectified(batch_id="B1", task_id=task), d.DeliveryRefusedError)
    refused(
        run,
        d.RecordReinspection(batch_id="B1", task_id=task, inspector="i", failed=["D9"]),
        ValidationError,
    )
    run.do(d.BookHandover(batch_id="B1", unit_id="U1", customer_id="C1", appointment_at=run.now))
    refused(
        run,
        d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=("Q.WP.04",)),
        d.DeliveryRefusedError,
    )


def test_bad_defects_are_refused_with_every_field_path(run: Run) -> None:
    command = d.RecordInspection(
        batch_id="B1",
        unit_id="U1",
        inspector="i",
        checklist=("Q.WP.04",),
        defects=[
            defect("D1", "Q.WP.99"),
            defect("D2", "Q.WP.04", unit="U2"),
        ],
    )
    error = refused(run, command, ValidationError)
    assert isinstance(error, ValidationError)
    assert error.paths == ("$.defects[0].code", "$.defects[1].location")


def test_unknown_units_tasks_and_checklist_codes_are_refused(run: Run) -> None:
    error = refused(
        run,
        d.RecordInspection(batch_id="B1", unit_id="U9", inspector="i", checklist=("Q.WP.04",)),
        ValidationError,
    )
    assert isinstance(error, ValidationError) and error.paths == ("$.unit_id",)
    error = refused(
        run,
        d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=("Q.XX.01",)),
        ValidationError,
    )
    assert isinstance(error, ValidationError) and error.paths == ("$.checklist[0]",)
    refused(run, d.ReportRectified(batch_id="B1", task_id="B1/R9"), ValidationError)


def test_defect_ids_are_unique_in_the_batch(run: Run) -> None:
    inspect_u1(run)
    run.do(d.BookHandover(batch_id="B1", unit_id="U1", customer_id="C1", appointment_at=run.now))
    error = refused(
        run,
        d.RecordOwnerInspection(batch_id="B1", unit_id="U1", defects=[defect("D1", "Q.WP.04")]),
        ValidationError,
    )
    assert isinstance(error, ValidationError) and error.paths == ("$.defects[0].defect_id",)
    with pytest.raises(ValidationError, match="duplicate defect id"):
        d.RecordInspection(
            batch_id="B1",
            unit_id="U1",
            inspector="i",
            checklist=("Q.WP.04",),
            defects=[defect("D1", "Q.WP.04"), defect("D1", "Q.WP.04")],
        )


def test_roles_and_time_are_checked(run: Run) -> None:
    refused(
        run,
        d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=("Q.WP.04",)),
        PermissionDeniedError,
        CONTRACTOR,
    )
    inspect_u1(run)
    task = next(iter(run.b.tasks))
    run.do(d.ReportRectified(batch_id="B1", task_id=task), CONTRACTOR)  # contractors may report
    with pytest.raises(ValidationError, match="before the batch's latest event"):
        run.delivery.handle(
            run.b,
            d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"),
            now=run.now - timedelta(seconds=1),
            actor=STAFF,
        )
    with pytest.raises(d.DeliveryRefusedError, match="does not exist"):
        run.delivery.handle(
            None, d.ReportRectified(batch_id="B2", task_id="x"), now=run.now, actor=STAFF
        )
    with pytest.raises(d.DeliveryRefusedError, match="already exists"):
        run.delivery.handle(
            run.b,
            d.OpenDeliveryBatch(
                batch_id="B1",
                scope=SCOPE,
                title="t",
                planned_handover_on=date(2026, 6, 1),
                unit_ids=["U"],
            ),
            now=run.now,
            actor=STAFF,
        )


def test_histories_must_be_whole_and_in_order(run: Run) -> None:
    inspect_u1(run)
    with pytest.raises(ValidationError, match="starts with delivery_batch_opened"):
        d.replay(run.history[1:])
    with pytest.raises(ValidationError, match="expected event 2"):
        d.replay([run.history[0], run.history[2]])
    with pytest.raises(ValidationError, match="empty history"):
        d.replay([])
    state = None
    for event in run.history:
        state = d.apply(state, event)
    assert state == run.b


def test_warranty_tickets_need_a_handed_over_unit(run: Run) -> None:
    with pytest.raises(ValidationError, match="not handed over"):
        d.warranty_tickets(run.b, "U1")


def test_values_validate_their_fields() -> None:
    with pytest.raises(ValidationError, match=r"\$\.reading"):
        d.MeterReading(meter=d.MeterKind.GAS, reading=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"\$\.unit_ids"):
        d.OpenDeliveryBatch(
            batch_id="B", scope=SCOPE, title="t", planned_handover_on=date(2026, 1, 1), unit_ids=()
        )
    with pytest.raises(ValidationError, match=r"\$\.photos\[0\]"):
        defect("D1", "Q.WP.04", photos=("",))


def test_checklist_is_drawn_from_the_taxonomy(std: tx.Taxonomy) -> None:
    items = d.checklist(std, disciplines=["Q.WP"])
    assert items and all(code.startswith("Q.WP.") for code in items)
    everything = d.checklist(std)
    assert set(items) < set(everything)
    assert all(code.startswith("Q.") and std.is_valid(code, live=True) for code in everything)


def test_the_register_decides_by_building(std: tx.Taxonomy) -> None:
    register = attrs.evolve(
        REGISTER,
        engagements=(
            *REGISTER.engagements,
            tx.Engagement(
                contractor="ZJ-3",
                project_id="p1",
                scope=("Q.WP",),
                accepted_on=date(2026, 3, 1),
                buildings=("b9",),
            ),
        ),
    )
    run = Run(d.Delivery(taxonomy=std, register=register))
    run.do(
        d.OpenDeliveryBatch(
            batch_id="B1",
            scope=SCOPE,
            title="t",
            planned_handover_on=date(2026, 6, 1),
            unit_ids=["U1"],
        )
    )
    inspect_u1(run)
    assert run.b.defects["D1"].contractor == "FS-1"  # building b3, not b9
    assert Role.HANDLER in d.DEFAULT_PERMISSIONS["report_rectified"]


def test_actors_act_only_inside_their_org_scope(run: Run) -> None:
    elsewhere = Actor(id="p9-staff", role=Role.SUPERVISOR, scope={"p9"})
    error = refused(
        run,
        d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=("Q.WP.04",)),
        PermissionDeniedError,
        elsewhere,
    )
    assert "project 'p1'" in str(error)
    assert "does not cover" in str(error)
    company_wide = Actor(id="c1-staff", role=Role.SUPERVISOR, scope={"c1"})
    run.do(
        d.RecordInspection(batch_id="B1", unit_id="U1", inspector="i", checklist=("Q.WP.04",)),
        company_wide,
    )
    with pytest.raises(PermissionDeniedError):
        run.delivery.handle(
            None,
            d.OpenDeliveryBatch(
                batch_id="B2",
                scope=SCOPE,
                title="t",
                planned_handover_on=date(2026, 6, 1),
                unit_ids=["U1"],
            ),
            now=run.now,
            actor=elsewhere,
        )


def test_keys_wait_for_the_owners_signature(run: Run) -> None:
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(
        d.RecordOwnerInspection(
            batch_id="B1", unit_id="U2", defects=[defect("D9", "Q.DW.01", unit="U2")], signed=False
        )
    )
    error = refused(
        run, d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)), d.DeliveryRefusedError
    )
    assert "has not signed" in str(error)
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2", signed=True))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    assert run.b.units["U2"].warranty_defect_ids == ("D9",)
    refused(run, d.RecordOwnerInspection(batch_id="B1", unit_id="U2"), d.DeliveryRefusedError)


def test_fact_rows_agree_with_the_kpi_functions(run: Run) -> None:
    inspect_u1(run)
    run.do(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=("Q.WP.04",)))
    task = next(t for t in run.b.tasks.values() if t.assignee == "ZJ-3").task_id
    run.do(d.ReportRectified(batch_id="B1", task_id=task), after=timedelta(days=1))
    run.do(
        d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"), after=timedelta(days=2)
    )
    run.do(d.BookHandover(batch_id="B1", unit_id="U2", customer_id="C2", appointment_at=run.now))
    run.do(d.RecordOwnerInspection(batch_id="B1", unit_id="U2"))
    run.do(d.HandOverUnit(batch_id="B1", unit_id="U2", keys=("K",)))
    units = k.unit_facts([run.b])
    tasks = k.task_facts([run.b])
    assert all(set(row) == set(k.UNIT_COLUMNS) for row in units)
    assert all(set(row) == set(k.TASK_COLUMNS) for row in tasks)
    by_unit = {row["unit_id"]: row for row in units}
    assert (by_unit["U1"]["first_pass"], by_unit["U2"]["first_pass"]) == (False, True)
    assert (by_unit["U1"]["handed_over_on_time"], by_unit["U2"]["handed_over_on_time"]) == (
        None,
        True,
    )
    assert by_unit["U1"]["defects"] == 2 and by_unit["U2"]["handed_over_at"] == int(
        run.b.units["U2"].handed_over_at.timestamp()  # type: ignore[union-attr]
    )
    first_pass = k.first_pass_inspection_rate([run.b])
    assert sum(1 for row in units if row["first_pass"]) == first_pass.numerator
    assert sum(1 for row in units if row["first_pass"] is not None) == first_pass.denominator
    closed = [row for row in tasks if row["rectification_s"] is not None]
    assert [(row["assignee"], row["rectification_s"]) for row in closed] == [
        ("ZJ-3", int(k.rectification_time_by_contractor([run.b])["ZJ-3"].mean.total_seconds()))  # type: ignore[union-attr]
    ]
