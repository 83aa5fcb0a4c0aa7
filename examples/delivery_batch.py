"""A delivery batch from internal inspection to keys, warranty tickets and revisits.

Forty units of building 3 are inspected internally a month before handover. The contractors
rectify what was found; some of it is sent back at re-inspection. The owners then inspect, sign
and take their keys. Defects still open at handover become warranty tickets for the contractors,
and the residence revisits fall due three months later. The same defects are drawn on every run:
they come from a hash, not from a random generator.

Run: python examples/delivery_batch.py
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from propcrm import taxonomy as tx
from propcrm.model import Actor, Location, OrgScope, Role, Severity
from propcrm.workflow import Lifecycle
from propcrm.workflow import delivery as d
from propcrm.workflow import delivery_kpis as k
from propcrm.workflow import revisits as r

TZ = ZoneInfo("Asia/Shanghai")
SCOPE = OrgScope(company_id="nanning-dev", project_id="cuihu", service_centre_id="sc-1")
STAFF = Actor(id="insp-01", role=Role.SUPERVISOR, name="Inspection team")
CONTRACTOR_STAFF = Actor(id="site-office", role=Role.HANDLER)
DEFECT_CODES = ("Q.WP.04", "Q.WF.01", "Q.DW.01", "Q.PL.01", "Q.EL.01", "Q.FO.01")
ROOMS = {"Q.WP.04": "bathroom", "Q.PL.01": "kitchen"}


def draw(*parts: object) -> int:
    """A stable number in 0..99 for the given parts."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def register() -> tx.ContractorRegister:
    accepted = date(2026, 3, 20)
    return tx.ContractorRegister(
        contractors=[
            tx.Contractor(code="ZJ-3", name_zh="总包三公司", name_en="GC three", party="GC"),
            tx.Contractor(code="FS-1", name_zh="防水一公司", name_en="WP one", party="SUB-WP"),
            tx.Contractor(code="MC-2", name_zh="门窗二公司", name_en="DW two", party="SUB-DW"),
        ],
        engagements=[
            tx.Engagement(contractor="ZJ-3", project_id="cuihu", scope="Q", accepted_on=accepted),
            tx.Engagement(
                contractor="FS-1", project_id="cuihu", scope="Q.WP", accepted_on=accepted
            ),
            tx.Engagement(
                contractor="MC-2", project_id="cuihu", scope="Q.DW", accepted_on=accepted
            ),
        ],
    )


def defects_for(unit: str, source: str) -> list[d.DefectReport]:
    found = []
    for code in DEFECT_CODES:
        if draw(unit, source, code) < (12 if source == "internal" else 3):
            found.append(
                d.DefectReport(
                    defect_id=f"{unit}-{source[0]}-{code}",
                    code=code,
                    location=Location(
                        project_id="cuihu",
                        building_id="b3",
                        unit_id=unit,
                        room_type=ROOMS.get(code, "living_room"),
                    ),
                    description=f"{code} found at {source} inspection",
                    severity=Severity.MAJOR if draw(unit, code) < 10 else Severity.MINOR,
                    photos=[f"{unit}-{code}.jpg"],
                )
            )
    return found


def main() -> None:
    std = tx.standard()
    delivery = d.Delivery(taxonomy=std, register=register())
    units = [f"3-{floor:02d}0{door}" for floor in range(1, 11) for door in range(1, 5)]
    now = datetime(2026, 5, 4, 9, 0, tzinfo=TZ)
    batch, history = delivery.execute(
        None,
        d.OpenDeliveryBatch(
            batch_id="CH-B3-1",
            scope=SCOPE,
            title="翠湖花园 3 栋 首批交付",
            planned_handover_on=date(2026, 6, 6),
            building_id="b3",
            unit_ids=units,
        ),
        now=now,
        actor=STAFF,
    )

    def step(
        command: d.DeliveryCommand, actor: Actor = STAFF, after: timedelta = timedelta(minutes=20)
    ) -> None:
        nonlocal batch, now
        now += after
        batch, events = delivery.execute(batch, command, now=now, actor=actor)
        history.extend(events)

    checklist = d.checklist(std)
    for unit in units:
        step(
            d.RecordInspection(
                batch_id=batch.batch_id,
                unit_id=unit,
                inspector=STAFF.id,
                checklist=checklist,
                defects=defects_for(unit, "internal"),
            )
        )
    # Contractors report; re-inspection sends back about one task in five; most come back fixed.
    for task in list(batch.tasks.values()):
        step(
            d.ReportRectified(batch_id=batch.batch_id, task_id=task.task_id),
            CONTRACTOR_STAFF,
            timedelta(hours=9),
        )
        failed = task.defect_ids[:1] if draw(task.task_id, "reinspect") < 20 else ()
        step(
            d.RecordReinspection(
                batch_id=batch.batch_id, task_id=task.task_id, inspector=STAFF.id, failed=failed
            )
        )
        if failed and draw(task.task_id, "second") < 60:
            step(
                d.ReportRectified(batch_id=batch.batch_id, task_id=task.task_id),
                CONTRACTOR_STAFF,
                timedelta(days=1),
            )
            step(
                d.RecordReinspection(
                    batch_id=batch.batch_id, task_id=task.task_id, inspector=STAFF.id
                )
            )
    # Formal delivery: appointments, owners' inspections, keys. Four owners come ten days late;
    # a batch's history only moves forward in time, so their handovers come last.
    handover_day = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)
    now = max(now, handover_day - timedelta(days=7))
    for unit in units:
        step(
            d.BookHandover(
                batch_id=batch.batch_id,
                unit_id=unit,
                customer_id=f"owner-{unit}",
                appointment_at=handover_day,
            )
        )
    late = [u for i, u in enumerate(units) if i % 10 == 9]
    now = max(now, handover_day)
    for unit in [u for u in units if u not in late] + late:
        if unit == late[0]:
            now = max(now, handover_day + timedelta(days=10))
        step(
            d.RecordOwnerInspection(
                batch_id=batch.batch_id, unit_id=unit, defects=defects_for(unit, "owner")
            )
        )
        step(
            d.HandOverUnit(
                batch_id=batch.batch_id,
                unit_id=unit,
                keys=[f"{unit}-K1", f"{unit}-K2"],
                meter_readings=[
                    d.MeterReading(meter=d.MeterKind.WATER, reading=Decimal(draw(unit, "w")) / 10),
                    d.MeterReading(meter=d.MeterKind.ELECTRICITY, reading=Decimal(draw(unit, "e"))),
                ],
                move_in_fee_ref=f"BILL-{unit}",
            )
        )

    assert d.replay(history) == batch
    print(f"Batch {batch.batch_id} ({batch.title}): {len(units)} units, {len(history)} events")
    print(f"  defects found: {len(batch.defects)}, rectification tasks: {len(batch.tasks)}")

    # Warranty tickets for what was still open at handover, routed to the contractors.
    lifecycle = Lifecycle(catalog=std)
    tickets = []
    for unit in units:
        handed_at = batch.units[unit].handed_over_at
        assert handed_at is not None
        for command in d.warranty_tickets(batch, unit):
            ticket, _ = lifecycle.execute(None, command, now=handed_at, actor=Actor.system())
            tickets.append(ticket)
    by_party = Counter(t.responsible_party for t in tickets)
    print(f"  warranty tickets at handover: {len(tickets)} " + str(dict(sorted(by_party.items()))))

    first_pass = k.first_pass_inspection_rate([batch])
    on_time = k.handover_on_time_rate([batch], as_of=date(2026, 6, 30))
    rate = f"{first_pass.numerator}/{first_pass.denominator} = {first_pass.value:.0%}"
    print(f"  first-pass inspection rate: {rate}")
    print(f"  handed over on time: {on_time.numerator}/{on_time.denominator} = {on_time.value:.0%}")
    print("  defects per unit by discipline:")
    for code, per_unit in k.defects_per_unit_by_discipline([batch], std).items():
        print(f"    {code:<5} {std.get(code).name_en:<32} {per_unit:.2f}")
    print("  rectification time by contractor (issue to closing re-inspection):")
    for contractor, times in k.rectification_time_by_contractor([batch]).items():
        mean = "-" if times.mean is None else f"{times.mean.total_seconds() / 86400:.1f} d"
        print(
            f"    {contractor:<5} closed {times.closed:>2}, still open {times.still_open:>2}, "
            f"sent back {times.send_backs:>2}, mean {mean}"
        )

    # Three months after move-in, the residence revisits fall due.
    move_ins = [
        r.MoveIn(customer_id=f"owner-{u}", unit_id=u, scope=SCOPE, moved_in_at=at)
        for u in units
        if (at := batch.units[u].handed_over_at) is not None
    ]
    programme = r.RevisitProgramme.default(seed="cuihu-2026")
    due = r.revisits_due(
        at=datetime(2026, 9, 5, 9, 0, tzinfo=TZ), programme=programme, move_ins=move_ins
    )
    print(
        f"  residence revisits due on 2026-09-05: {len(due)} of {len(move_ins)} "
        f"(the late owners' come later; first due by {due[0].due_by.date()})"
    )


if __name__ == "__main__":
    main()
