"""Shared set-up of the delivery tests: one project, a contractor register, a clock.

Fixtures are in ``_delivery_fixtures``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from propcrm import taxonomy as tx
from propcrm.model import Actor, Location, OrgScope, Role, Ticket
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow import delivery as d

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=SHANGHAI)
SCOPE = OrgScope(company_id="c1", project_id="p1")
STAFF = Actor(id="insp-1", role=Role.SUPERVISOR, name="验房员")
CONTRACTOR = Actor(id="fs-staff", role=Role.HANDLER, party="SUB-WP")

REGISTER = tx.ContractorRegister(
    contractors=[
        tx.Contractor(code="ZJ-3", name_zh="总包三公司", name_en="GC three", party="GC"),
        tx.Contractor(
            code="FS-1", name_zh="防水一公司", name_en="Waterproofing one", party="SUB-WP"
        ),
    ],
    engagements=[
        tx.Engagement(
            contractor="ZJ-3", project_id="p1", scope=("Q",), accepted_on=date(2026, 3, 1)
        ),
        tx.Engagement(
            contractor="FS-1", project_id="p1", scope=("Q.WP",), accepted_on=date(2026, 3, 1)
        ),
    ],
)


def where(unit: str, room_type: str = "bathroom") -> Location:
    return Location(project_id="p1", building_id="b3", unit_id=unit, room_type=room_type)


def defect(defect_id: str, code: str, unit: str = "U1", **kw: object) -> d.DefectReport:
    return d.DefectReport(
        defect_id=defect_id,
        code=code,
        location=where(unit),
        description=kw.pop("description", f"defect {defect_id}"),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


class Run:
    """Drives one batch: each step an hour after the last unless told otherwise."""

    def __init__(self, delivery: d.Delivery) -> None:
        self.delivery = delivery
        self.now = T0
        self.batch: d.DeliveryBatch | None = None
        self.history: list[d.DeliveryEvent] = []

    @property
    def b(self) -> d.DeliveryBatch:
        assert self.batch is not None
        return self.batch

    def do(
        self, command: d.DeliveryCommand, actor: Actor = STAFF, *, after: timedelta | None = None
    ) -> list[d.DeliveryEvent]:
        self.now += after if after is not None else timedelta(hours=1)
        self.batch, events = self.delivery.execute(self.batch, command, now=self.now, actor=actor)
        self.history.extend(events)
        return events


def receive(command: c.ReceiveTicket, at: datetime, lifecycle: Lifecycle) -> Ticket:
    ticket, _ = lifecycle.execute(None, command, now=at, actor=Actor.system())
    return ticket
