"""The service director's dashboard from a year of tickets, surveys, a delivery and sales.

A small group (two companies, three projects, 6,000 households) receives about 900 tickets in
2025: complaints and repairs drawn from the standard taxonomy, handled, revisited, sometimes
reopened. Owners answer surveys, one building is delivered and the sales ledger feeds the RFM
segments. The script prints the dashboard in English (``--lang zh`` for Chinese) and writes a
self-contained HTML report with charts (needs ``pip install "propcrm[report]"``).

Run: python examples/service_report.py [--lang zh] [--out report.html] [--tickets 900]
(the report goes to the temporary folder unless --out says where)
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from propcrm import taxonomy as tx
from propcrm.errors import OptionalDependencyError
from propcrm.metrics.rfm import PROPERTY_WEIGHTS, Transaction
from propcrm.model import (
    Actor,
    AreaType,
    Channel,
    Location,
    OrgLevel,
    OrgScope,
    OrgTree,
    OrgUnit,
    Priority,
    Role,
    Satisfaction,
    Severity,
    SurveyResponse,
    TicketKind,
)
from propcrm.reports import build_dashboard, render_text, write_html
from propcrm.workflow import Event, Lifecycle
from propcrm.workflow import commands as c
from propcrm.workflow import delivery as d

TZ = ZoneInfo("Asia/Shanghai")
BOSS = Actor(id="dispatcher", role=Role.SUPERVISOR)
PROJECTS = {  # project -> (company, name, households)
    "cuihu": ("nn-dev", "翠湖花园", 3000),
    "jiangwan": ("nn-dev", "江湾壹号", 1800),
    "lanting": ("gl-prop", "兰亭苑", 1200),
}
# category -> (kind, responsible party, relative frequency)
CATEGORIES = {
    "Q.WP.01": (TicketKind.REPAIR, "SUB-WP", 9),
    "Q.WP.04": (TicketKind.REPAIR, "SUB-WP", 6),
    "Q.DW.01": (TicketKind.REPAIR, "SUB-DW", 6),
    "Q.WF.01": (TicketKind.REPAIR, "GC", 7),
    "Q.PL.01": (TicketKind.REPAIR, "GC", 5),
    "Q.EL.01": (TicketKind.REPAIR, "PM", 4),
    "S.EN.01": (TicketKind.COMPLAINT, "PM", 2),
    "S.SO.01": (TicketKind.COMPLAINT, "PM", 1.5),
    "S.FE.01": (TicketKind.COMPLAINT, "PM", 0.7),
    "Q.WP.02": (TicketKind.COMPLAINT, "SUB-WP", 1),
    "C.DL.01": (TicketKind.COMPLAINT, "DEV-CS", 0.8),
}


def org_tree() -> OrgTree:
    units = [OrgUnit(id="grp", name="南湖集团", level=OrgLevel.GROUP)]
    units += [
        OrgUnit(id="nn-dev", name="南宁置业", level=OrgLevel.COMPANY, parent_id="grp"),
        OrgUnit(id="gl-prop", name="桂林物业", level=OrgLevel.COMPANY, parent_id="grp"),
    ]
    units += [
        OrgUnit(id=p, name=name, level=OrgLevel.PROJECT, parent_id=co, households=n)
        for p, (co, name, n) in PROJECTS.items()
    ]
    return OrgTree.from_units(units)


def ticket(rng: random.Random, n: int, lifecycle: Lifecycle) -> list[Event]:
    """One ticket's history: received somewhere in 2025, then as far as it got."""
    codes = list(CATEGORIES)
    code = rng.choices(codes, weights=[CATEGORIES[k][2] for k in codes])[0]
    kind, party, _ = CATEGORIES[code]
    project = rng.choice(list(PROJECTS))
    tid = f"T{n:05d}"
    now = datetime(2025, 1, 1, 8, tzinfo=TZ) + timedelta(minutes=rng.randrange(364 * 24 * 60))
    receive = c.ReceiveTicket(
        ticket_id=tid,
        kind=kind,
        channel=rng.choice([Channel.HOTLINE, Channel.APP, Channel.FRONT_DESK]),
        scope=OrgScope(company_id=PROJECTS[project][0], project_id=project),
        description="业主报事",
        priority=Priority.P4 if code.startswith("Q.") else Priority.P3,
        category_code=code,
        location=Location(
            project_id=project, area=AreaType.UNIT, building_id="b1", unit_id="1-0101"
        ),
        responsible_party=party,
    )
    state, events = lifecycle.execute(None, receive, now=now, actor=BOSS)
    slow = rng.random() < 0.2  # a fifth of the tickets drag on

    def step(hours: float, command: c.Command) -> None:
        nonlocal state, now
        now += timedelta(hours=hours)
        state, more = lifecycle.execute(state, command, now=now, actor=BOSS)
        events.extend(more)

    step(rng.uniform(0.1, 30 if slow else 3), c.RespondToCustomer(ticket_id=tid, message="收到"))
    if kind is TicketKind.COMPLAINT and rng.random() < 0.12:
        step(rng.uniform(1, 24), c.MarkComplaintInvalid(ticket_id=tid, reason="不属实"))
        return events
    if now > datetime(2025, 12, 20, tzinfo=TZ) and rng.random() < 0.6:
        return events  # still open at the year's end
    step(rng.uniform(0.5, 20), c.DispatchTicket(ticket_id=tid, party=party, assignee="w1"))
    step(rng.uniform(0.2, 4), c.AcceptTicket(ticket_id=tid))
    step(rng.uniform(0.3, 30 if slow else 3), c.ArriveOnSite(ticket_id=tid))
    step(rng.uniform(0.1, 2), c.StartWork(ticket_id=tid))
    step(rng.uniform(2, 150 if slow else 30), c.CompleteWork(ticket_id=tid, result="已处理"))
    if rng.random() < 0.06:  # came back
        step(rng.uniform(24, 300), c.ReopenTicket(ticket_id=tid, reason="复发"))
        step(rng.uniform(1, 20), c.DispatchTicket(ticket_id=tid, party=party, assignee="w2"))
        step(rng.uniform(0.2, 4), c.AcceptTicket(ticket_id=tid))
        step(rng.uniform(0.3, 3), c.ArriveOnSite(ticket_id=tid))
        step(rng.uniform(0.1, 2), c.StartWork(ticket_id=tid))
        step(rng.uniform(2, 40), c.CompleteWork(ticket_id=tid, result="返修完成"))
    if kind is TicketKind.COMPLAINT or rng.random() < 0.5:
        sat = rng.choices(list(Satisfaction), weights=[30, 40, 15, 10, 5])[0]
        step(
            rng.uniform(2, 60 if slow else 20),
            c.RecordRevisit(ticket_id=tid, satisfaction=sat, resolved=sat.is_satisfied),
        )
    if state.status.value != "reopened":  # a dissatisfied revisit reopens it
        step(rng.uniform(1, 10), c.CloseTicket(ticket_id=tid))
    return events


def surveys(rng: random.Random) -> list[SurveyResponse]:
    out = []
    for n in range(600):
        project = rng.choice(list(PROJECTS))
        out.append(
            SurveyResponse(
                response_id=f"S{n:04d}",
                survey_id="annual-2025",
                respondent_id=f"owner-{n:04d}",
                scope=OrgScope(company_id=PROJECTS[project][0], project_id=project),
                answered_on=date(2025, 1, 1) + timedelta(days=rng.randrange(364)),
                overall=rng.choices(list(Satisfaction), weights=[25, 45, 15, 10, 5])[0],
            )
        )
    return out


def delivery_events(rng: random.Random) -> list[d.DeliveryEvent]:
    """Building 3 of 翠湖花园: 16 units inspected, rectified and handed over."""
    std = tx.standard()
    flows = d.Delivery(taxonomy=std)
    staff = Actor(id="insp-01", role=Role.SUPERVISOR)
    scope = OrgScope(company_id="nn-dev", project_id="cuihu")
    units = [f"3-{floor:02d}0{door}" for floor in range(1, 5) for door in range(1, 5)]
    now = datetime(2025, 5, 4, 9, tzinfo=TZ)
    batch, history = flows.execute(
        None,
        d.OpenDeliveryBatch(
            batch_id="CH-B3",
            scope=scope,
            title="翠湖花园 3 栋",
            planned_handover_on=date(2025, 6, 6),
            building_id="b3",
            unit_ids=units,
        ),
        now=now,
        actor=staff,
    )

    def step(command: d.DeliveryCommand, hours: float = 0.5) -> None:
        nonlocal batch, now
        now += timedelta(hours=hours)
        batch, events = flows.execute(batch, command, now=now, actor=staff)
        history.extend(events)

    for unit in units:
        defects = [
            d.DefectReport(
                defect_id=f"{unit}-{code}",
                code=code,
                location=Location(project_id="cuihu", building_id="b3", unit_id=unit),
                description="内部验收发现",
                severity=Severity.MINOR,
            )
            for code in ("Q.WP.04", "Q.DW.01", "Q.WF.01")
            if rng.random() < 0.25
        ]
        step(
            d.RecordInspection(
                batch_id="CH-B3",
                unit_id=unit,
                inspector=staff.id,
                checklist=d.checklist(std),
                defects=defects,
            )
        )
    for task in list(batch.tasks.values()):
        step(d.ReportRectified(batch_id="CH-B3", task_id=task.task_id), rng.uniform(10, 60))
        step(d.RecordReinspection(batch_id="CH-B3", task_id=task.task_id, inspector=staff.id))
    now = max(now, datetime(2025, 6, 1, 9, tzinfo=TZ))
    for unit in units:
        step(
            d.BookHandover(
                batch_id="CH-B3",
                unit_id=unit,
                customer_id=f"owner-{unit}",
                appointment_at=datetime(2025, 6, 2, 9, tzinfo=TZ),
            )
        )
        step(d.RecordOwnerInspection(batch_id="CH-B3", unit_id=unit), rng.uniform(1, 10))
        step(d.HandOverUnit(batch_id="CH-B3", unit_id=unit, keys=[f"{unit}-K1"]))
    return history


def transactions(rng: random.Random) -> list[Transaction]:
    out = []
    for n in range(300):
        customer = f"owner-{n:04d}"
        bought = date(2018, 1, 1) + timedelta(days=rng.randrange(7 * 365))
        price = Decimal(rng.randrange(60, 600)) * 10000
        out.append(Transaction(customer_id=customer, date=bought, amount=price))
        if rng.random() < 0.15:  # a second home
            out.append(
                Transaction(
                    customer_id=customer,
                    date=bought + timedelta(days=rng.randrange(30, 900)),
                    amount=Decimal(rng.randrange(80, 300)) * 10000,
                )
            )
        for month in range(1, 13):
            out.append(
                Transaction(
                    customer_id=customer,
                    date=date(2025, month, 5),
                    amount=Decimal("320.00"),
                    type="property_fee",
                )
            )
    return [t for t in out if t.date <= date(2025, 12, 31)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "propcrm-service-report.html",
        help="HTML file to write",
    )
    parser.add_argument("--tickets", type=int, default=900)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lifecycle = Lifecycle(catalog=tx.standard())
    histories = [ticket(rng, n, lifecycle) for n in range(args.tickets)]
    dashboard = build_dashboard(
        histories,
        households={p: n for p, (_, _, n) in PROJECTS.items()},
        period=(date(2025, 1, 1), date(2026, 1, 1)),
        as_of=datetime(2026, 1, 1, tzinfo=TZ),
        org=org_tree(),
        surveys=surveys(rng),
        delivery_events=delivery_events(rng),
        transactions=transactions(rng),
        rfm_weights=PROPERTY_WEIGHTS,
        title="南湖集团 2025 年度客户服务报告",
    )
    print(render_text(dashboard, lang=args.lang))
    try:
        path = write_html(dashboard, args.out, lang=args.lang)
    except OptionalDependencyError as err:  # matplotlib or jinja2 missing: say how to get them
        print(f"No HTML report: {err}")
    else:
        print(f"HTML report: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
