"""Shared set-up of the aggregate service tests: a clock, a delivery flow, stores to run on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from propcrm import taxonomy as tx
from propcrm.model import Actor, Location, OrgScope, Role
from propcrm.stores import Store, open_store
from propcrm.workflow import delivery as d

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=SHANGHAI)
SCOPE = OrgScope(company_id="c1", project_id="p1")
STAFF = Actor(id="insp-1", role=Role.SUPERVISOR, name="验房员")
CONTRACTOR = Actor(id="fs-staff", role=Role.HANDLER, party="SUB-WP")
UNITS = ("U1", "U2", "U3")


class Clock:
    """A settable clock; :meth:`tick` moves it on by an hour."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, hours: float = 1) -> datetime:
        self.now += timedelta(hours=hours)
        return self.now


def defect(defect_id: str, code: str, unit: str) -> d.DefectReport:
    return d.DefectReport(
        defect_id=defect_id,
        code=code,
        location=Location(project_id="p1", building_id="b3", unit_id=unit, room_type="bathroom"),
        description=f"{code} 渗水 at {unit}",
    )


def open_batch(batch_id: str = "B1", units: tuple[str, ...] = UNITS) -> d.OpenDeliveryBatch:
    return d.OpenDeliveryBatch(
        batch_id=batch_id,
        scope=SCOPE,
        title="翠湖花园 3 栋 首批交付",
        planned_handover_on=date(2026, 6, 1),
        building_id="b3",
        unit_ids=units,
    )


def delivery_commands(std: tx.Taxonomy, batch_id: str = "B1") -> list[d.DeliveryCommand]:
    """A batch from opening to keys: U2 and U3 keep internal defects, U3 gets an owner's one."""
    checklist = d.checklist(std)
    commands: list[d.DeliveryCommand] = [open_batch(batch_id)]
    for index, unit in enumerate(UNITS):
        commands.append(
            d.RecordInspection(
                batch_id=batch_id,
                unit_id=unit,
                inspector=STAFF.id,
                checklist=checklist,
                defects=[defect(f"{unit}-D{n}", "Q.WP.04", unit) for n in range(index)],
            )
        )
    for unit in UNITS:
        commands += [
            d.BookHandover(
                batch_id=batch_id,
                unit_id=unit,
                customer_id=f"owner-{unit}",
                appointment_at=T0 + timedelta(days=20),
            ),
            d.RecordOwnerInspection(
                batch_id=batch_id,
                unit_id=unit,
                defects=[defect(f"{unit}-O1", "Q.WF.01", unit)] if unit == "U3" else [],
            ),
            d.HandOverUnit(batch_id=batch_id, unit_id=unit, keys=[f"{unit}-K1"]),
        ]
    return commands


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.db'}"


def stores(tmp_path: Path, kind: str) -> Iterator[Store]:
    """A tenant store ``c1`` of ``kind``: ``memory`` or ``sqlite`` (a file)."""
    url = "memory://" if kind == "memory" else sqlite_url(tmp_path)
    store = open_store(url, tenant="c1")
    try:
        yield store
    finally:
        store.close()
