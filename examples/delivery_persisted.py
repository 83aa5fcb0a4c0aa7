"""A delivery batch kept in a SQLite file, worked on by two writers at once, read back later.

The inspection team and the handover desk each open the store (in real life two processes, or
two machines on PostgreSQL) and record their work on the same batch at the same time. When one
of them writes on a version the other has just moved past, the store refuses the write and the
service loads the batch again and decides again, so no event is lost or written twice. Keys
handed over with open defects become warranty tickets through the ticket service, once however
often they are issued. After a "restart" the batch is read back from the file and equals the
batch folded from the events the two writers were told were stored.

Run: python examples/delivery_persisted.py
"""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from propcrm import taxonomy as tx
from propcrm.aggregates import DeliveryOutcome, DeliveryService
from propcrm.model import Actor, Location, OrgScope, Role
from propcrm.plugins import make_plugin_manager
from propcrm.service import TicketService
from propcrm.stores import open_store
from propcrm.workflow import delivery as d

TZ = ZoneInfo("Asia/Shanghai")
COMPANY = "nanning-dev"
SCOPE = OrgScope(company_id=COMPANY, project_id="cuihu")
INSPECTOR = Actor(id="insp-01", role=Role.SUPERVISOR)
DESK = Actor(id="desk-02", role=Role.SUPERVISOR)
BATCH = "CH-B3-2"
UNITS = [f"3-{floor:02d}0{door}" for floor in range(1, 7) for door in (1, 2)]
LEAKY = {"3-0201", "3-0502", "3-0601"}


class Clock:
    """Simulated time shared by both writers: every reading is ten minutes after the last."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, tzinfo=TZ)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(minutes=10)
            return self.now


def leak(unit: str) -> d.DefectReport:
    return d.DefectReport(
        defect_id=f"{unit}-WP",
        code="Q.WP.04",
        location=Location(project_id="cuihu", building_id="b3", unit_id=unit, room_type="bathroom"),
        description="卫生间地面渗水",
    )


def main() -> None:
    # The database lives in a temporary folder, removed when the example ends (even on error).
    with tempfile.TemporaryDirectory(prefix="propcrm-delivery-") as folder:
        run(Path(folder) / "crm.db")


def run(path: Path) -> None:
    """Two writers on one SQLite batch, then the batch read back after a restart."""
    std = tx.standard()
    delivery = d.Delivery(taxonomy=std)
    clock = Clock()
    url = f"sqlite:///{path}"
    team_store = open_store(url, tenant=COMPANY)
    desk_store = open_store(url, tenant=COMPANY)
    tickets = TicketService(desk_store, plugins=make_plugin_manager(plugins=[]), clock=clock)
    team = DeliveryService(team_store, delivery, clock=clock, max_attempts=20)
    desk = DeliveryService(desk_store, delivery, clock=clock, max_attempts=20, tickets=tickets)
    outcomes: list[DeliveryOutcome] = []
    lock = threading.Lock()

    def record(outcome: DeliveryOutcome) -> None:
        with lock:
            outcomes.append(outcome)

    record(
        team.run(
            d.OpenDeliveryBatch(
                batch_id=BATCH,
                scope=SCOPE,
                title="翠湖花园 3 栋 二批交付",
                planned_handover_on=date(2026, 6, 6),
                building_id="b3",
                unit_ids=UNITS,
            ),
            actor=INSPECTOR,
        )
    )
    checklist = d.checklist(std)

    def inspect_all() -> None:  # the inspection team, floor by floor
        for unit in UNITS:
            found = [leak(unit)] if unit in LEAKY else []
            command = d.RecordInspection(
                batch_id=BATCH,
                unit_id=unit,
                inspector=INSPECTOR.id,
                checklist=checklist,
                defects=found,
            )
            record(team.run(command, actor=INSPECTOR))

    def book_all() -> None:  # the desk books each unit once the team has inspected it
        waiting = list(UNITS)
        while waiting:
            batch = desk.get(BATCH)
            ready = [u for u in waiting if batch.units[u].stage is d.UnitStage.INSPECTED]
            for unit in ready:
                appointment = datetime(2026, 6, 6, 9, 0, tzinfo=TZ)
                command = d.BookHandover(
                    batch_id=BATCH,
                    unit_id=unit,
                    customer_id=f"owner-{unit}",
                    appointment_at=appointment,
                )
                record(desk.run(command, actor=DESK))
                waiting.remove(unit)
            if not ready:
                time.sleep(0.002)  # wait for the team's next inspection

    writers = [threading.Thread(target=inspect_all), threading.Thread(target=book_all)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    # Formal delivery at the desk: owners inspect and sign, keys are handed over.
    for unit in UNITS:
        record(desk.run(d.RecordOwnerInspection(batch_id=BATCH, unit_id=unit), actor=DESK))
        record(
            desk.run(d.HandOverUnit(batch_id=BATCH, unit_id=unit, keys=[f"{unit}-K1"]), actor=DESK)
        )
    retried = sum(1 for o in outcomes if o.attempts > 1)
    issued = [t for o in outcomes for t in o.tickets]
    again = [t for unit in sorted(LEAKY) for t in desk.issue_warranty_tickets(BATCH, unit)]
    team_store.close()
    desk_store.close()

    # A restart: a new store on the same file reads the batch back.
    reopened = open_store(url, tenant=COMPANY)
    service = DeliveryService(reopened, delivery)
    history = service.history(BATCH)
    batch = service.get(BATCH)
    reported = sorted((e for o in outcomes for e in o.events), key=lambda e: e.sequence)
    reopened.close()

    assert reported == history, "every event a writer was told is stored is stored, once"
    assert d.replay(reported) == batch
    assert [e.sequence for e in history] == list(range(1, len(history) + 1))
    assert all(batch.units[u].stage is d.UnitStage.HANDED_OVER for u in UNITS)
    print(f"Batch {BATCH} ({batch.title}): {len(UNITS)} units, {len(history)} events in crm.db")
    print(
        f"  two writers at once: {len(outcomes)} commands, "
        f"{retried} decided again after a lost race"
    )
    print("  read back after a restart: equal to the batch folded from the reported events")
    print(
        f"  warranty tickets at handover: {len(issued)} "
        f"({', '.join(t.ticket.ticket_id for t in issued)})"
    )
    print(
        f"  issued again: {len(again)} answers, {sum(t.duplicate for t in again)} of them the "
        "tickets already made"
    )


if __name__ == "__main__":
    main()
