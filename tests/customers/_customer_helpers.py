"""Shared set-up of the archive tests: one customer and a driver.

The ``archive`` fixture is in ``_customer_fixtures``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from propcrm import customers as cu
from propcrm.model import Actor, OrgScope, Role

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI)
SCOPE = OrgScope(company_id="c1", project_id="p1")
AGENT = Actor(id="cs-1", role=Role.HOTLINE_AGENT)
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
HANDLER = Actor(id="fixer", role=Role.HANDLER, party="GC")

PHONE = "13812345678"
ID_NUMBER = "45010219900101123X"
ADDRESS = "南宁市青秀区民族大道100号"


def registration(customer_id: str = "C1", **changes: object) -> cu.RegisterCustomer:
    fields: dict[str, object] = {
        "customer_id": customer_id,
        "scope": SCOPE,
        "full_name": "张三",
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "address": ADDRESS,
        "units": [cu.UnitHolding(unit_id="U1", since=date(2026, 1, 5))],
    }
    fields.update(changes)
    return cu.RegisterCustomer(**fields)  # type: ignore[arg-type]


def evidence(**changes: object) -> cu.Verification:
    fields: dict[str, object] = {
        "form_ref": "变更登记表-001",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "unit_id": "U1",
    }
    fields.update(changes)
    return cu.Verification(**fields)  # type: ignore[arg-type]


class Archive:
    """Drives one customer's record, a minute per step."""

    def __init__(self) -> None:
        self.now = T0
        self.record: cu.CustomerRecord | None = None
        self.history: list[cu.ArchiveEvent] = []

    @property
    def r(self) -> cu.CustomerRecord:
        assert self.record is not None
        return self.record

    def do(
        self, command: cu.ArchiveCommand, actor: Actor = AGENT, *, after: timedelta | None = None
    ) -> list[cu.ArchiveEvent]:
        self.now += after if after is not None else timedelta(minutes=1)
        events = cu.decide(self.record, command, now=self.now, actor=actor)
        for event in events:
            self.record = cu.apply(self.record, event)
        self.history.extend(events)
        return events
