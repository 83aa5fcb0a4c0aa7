"""Hand-made inputs for the dashboard tests: a few tickets told through the lifecycle."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from propcrm.metrics.rfm import Transaction
from propcrm.model import (
    Actor,
    Channel,
    CustomerRef,
    OrgLevel,
    OrgScope,
    OrgTree,
    OrgUnit,
    Priority,
    Role,
    Satisfaction,
    SurveyResponse,
    TicketKind,
)
from propcrm.taxonomy import standard
from propcrm.workflow import Event, Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow import delivery as d

CN = timezone(timedelta(hours=8))
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
PHONE = "13912345678"
ID_NUMBER = "110101199003071234"
PERIOD = (date(2025, 3, 1), date(2025, 5, 1))
AS_OF = datetime(2025, 5, 1, tzinfo=CN)
HOUSEHOLDS = {"p1": 200, "p2": 300}
PROJECT_COMPANY = {"p1": "co1", "p2": "co2"}


def local(m: int, d_: int, h: int = 9) -> datetime:
    return datetime(2025, m, d_, h, tzinfo=CN)


class Tale:
    """One ticket, command by command, hours apart."""

    def __init__(
        self,
        tid: str,
        kind: TicketKind,
        at: datetime,
        *,
        project: str = "p1",
        category: str | None = None,
        party: str | None = None,
        priority: Priority = Priority.P3,
    ) -> None:
        self.id = tid
        self.lifecycle = Lifecycle()
        self.now = at
        receive = c.ReceiveTicket(
            ticket_id=tid,
            kind=kind,
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id=PROJECT_COMPANY[project], project_id=project),
            description="漏水",
            priority=priority,
            category_code=category,
            responsible_party=party,
            reporter=CustomerRef(
                customer_id=f"cust-{tid}", name="王芳", phone=PHONE, id_number=ID_NUMBER
            ),
        )
        self.ticket, self.history = self.lifecycle.execute(None, receive, now=at, actor=BOSS)

    def do(self, hours: float, command: c.Command) -> Tale:
        self.now += timedelta(hours=hours)
        self.ticket, events = self.lifecycle.execute(self.ticket, command, now=self.now, actor=BOSS)
        self.history += events
        return self

    def respond(self, hours: float = 1) -> Tale:
        return self.do(hours, c.RespondToCustomer(ticket_id=self.id, message="收到"))

    def complete(self, hours: float = 2) -> Tale:
        party = self.ticket.responsible_party or "PM"
        self.do(hours, c.DispatchTicket(ticket_id=self.id, party=party, assignee="w1"))
        self.do(0.5, c.AcceptTicket(ticket_id=self.id))
        self.do(0.5, c.StartWork(ticket_id=self.id))
        return self.do(hours, c.CompleteWork(ticket_id=self.id, result="done"))

    def revisit(self, sat: Satisfaction = Satisfaction.SATISFIED, hours: float = 3) -> Tale:
        return self.do(
            hours,
            c.RecordRevisit(ticket_id=self.id, satisfaction=sat, resolved=sat.is_satisfied),
        )

    def close(self, hours: float = 1) -> Tale:
        return self.do(hours, c.CloseTicket(ticket_id=self.id))

    def invalid(self, hours: float = 1) -> Tale:
        return self.do(hours, c.MarkComplaintInvalid(ticket_id=self.id, reason="不属实"))

    def void(self, hours: float = 1) -> Tale:
        return self.do(hours, c.VoidTicket(ticket_id=self.id, reason="重复录入"))

    def events(self) -> list[Event]:
        return list(self.history)

    def reopen(self, hours: float = 24) -> Tale:
        return self.do(hours, c.ReopenTicket(ticket_id=self.id, reason="again"))


def histories() -> list[list[Event]]:
    """Nine tickets in March and April 2025 (and one before, one after the period)."""
    k, r = TicketKind.COMPLAINT, TicketKind.REPAIR
    tales = [
        Tale("c1", k, local(3, 3), category="S.EN.01").respond().complete().revisit().close(),
        Tale("c2", k, local(3, 10), category="S.EN.01").respond().complete().revisit(),
        Tale("c3", k, local(3, 12), category="S.SO.01", project="p2").respond(30).invalid(),
        Tale("c4", k, local(4, 2), category="Q.WP.02", party="SUB-WP").respond(),
        Tale("c5", k, local(4, 20), category="S.EN.02", project="p2").respond().complete(80),
        Tale("r1", r, local(3, 4), category="Q.WP.01", party="SUB-WP")
        .respond()
        .complete()
        .revisit(Satisfaction.DISSATISFIED),
        Tale("r2", r, local(3, 20), category="Q.DW.01", party="SUB-DW", project="p2")
        .respond()
        .complete(40)
        .revisit()
        .close(),
        Tale("r3", r, local(4, 8), category="Q.WF.01", party="GC").respond().complete().close(),
        Tale("r4", r, local(4, 15), category="Q.WP.01", party="SUB-WP").void(),
        Tale("r5", r, local(4, 28), category="Q.EL.01", party="PM").respond(),
        Tale("old", r, local(2, 10), category="Q.WP.01", party="SUB-WP").respond().complete(),
        Tale("late", r, local(4, 30, 23), category="Q.WP.01", party="SUB-WP").respond(2),
    ]
    return [t.history for t in tales]


def org() -> OrgTree:
    return OrgTree.from_units(
        [
            OrgUnit(id="grp", name="集团", level=OrgLevel.GROUP),
            OrgUnit(id="co1", name="南宁置业", level=OrgLevel.COMPANY, parent_id="grp"),
            OrgUnit(
                id="co2", name=f"桂林物业(热线{PHONE})", level=OrgLevel.COMPANY, parent_id="grp"
            ),
            OrgUnit(
                id="p1", name="翠湖花园", level=OrgLevel.PROJECT, parent_id="co1", households=999
            ),
            OrgUnit(id="p2", name="兰亭苑", level=OrgLevel.PROJECT, parent_id="co2"),
        ]
    )


def surveys() -> list[SurveyResponse]:
    answers = [
        ("p1", date(2025, 3, 5), Satisfaction.SATISFIED),
        ("p1", date(2025, 3, 25), Satisfaction.DISSATISFIED),
        ("p2", date(2025, 4, 5), Satisfaction.VERY_SATISFIED),
        ("p2", date(2025, 4, 6), Satisfaction.BASICALLY_SATISFIED),
        ("p2", date(2025, 2, 6), Satisfaction.DISSATISFIED),  # before the period
    ]
    return [
        SurveyResponse(
            response_id=f"S{i}",
            survey_id="annual",
            respondent_id=f"cust-{i}",
            scope=OrgScope(company_id=PROJECT_COMPANY[p], project_id=p),
            answered_on=day,
            overall=sat,
        )
        for i, (p, day, sat) in enumerate(answers)
    ]


def transactions() -> list[Transaction]:
    return [
        Transaction(customer_id="a", date=date(2024, 11, 2), amount=Decimal("3200000")),
        Transaction(customer_id="b", date=date(2019, 5, 20), amount=Decimal("850000")),
        Transaction(customer_id="b", date=date(2020, 3, 9), amount=Decimal("180000")),
        Transaction(customer_id="c", date=date(2025, 1, 9), amount=Decimal("400000")),
        Transaction(
            customer_id="d", date=date(2025, 1, 9), amount=Decimal("300"), type="property_fee"
        ),
    ]


def delivery_events() -> list[d.DeliveryEvent]:
    """Two units: U1 with a leak found at inspection and fixed, U2 clean but handed over late."""
    std = standard()
    flows = d.Delivery(taxonomy=std)
    scope = OrgScope(company_id="co1", project_id="p1")
    now = local(3, 1)
    batch, history = flows.execute(
        None,
        d.OpenDeliveryBatch(
            batch_id="B1",
            scope=scope,
            title="1栋",
            planned_handover_on=date(2025, 4, 1),
            unit_ids=["U1", "U2"],
        ),
        now=now,
        actor=BOSS,
    )

    def step(command: d.DeliveryCommand, hours: float = 1) -> None:
        nonlocal batch, now
        now += timedelta(hours=hours)
        batch, events = flows.execute(batch, command, now=now, actor=BOSS)
        history.extend(events)

    from propcrm.model import Location, Severity

    leak = d.DefectReport(
        defect_id="D1",
        code="Q.WP.04",
        location=Location(project_id="p1", unit_id="U1"),
        description="卫生间渗漏",
        severity=Severity.MINOR,
    )
    step(
        d.RecordInspection(
            batch_id="B1", unit_id="U1", inspector="i", checklist=d.checklist(std), defects=[leak]
        )
    )
    step(d.RecordInspection(batch_id="B1", unit_id="U2", inspector="i", checklist=d.checklist(std)))
    task = next(iter(batch.tasks))
    step(d.ReportRectified(batch_id="B1", task_id=task), 48)
    step(d.RecordReinspection(batch_id="B1", task_id=task, inspector="i"), 24)
    for unit, at in (("U1", local(3, 30)), ("U2", local(4, 10))):
        now = max(now, at)
        step(
            d.BookHandover(batch_id="B1", unit_id=unit, customer_id=f"o-{unit}", appointment_at=at)
        )
        step(d.RecordOwnerInspection(batch_id="B1", unit_id=unit))
        step(d.HandOverUnit(batch_id="B1", unit_id=unit, keys=[f"{unit}-K"]))
    return history
