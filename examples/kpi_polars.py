"""KPIs on Polars, notebook style: facts from histories, then the KPI suite by project and month.

Run it as a script, or cell by cell (``# %%``) in an editor that understands cells.
"""

# %% Build some ticket histories: a quarter of complaints and repairs in three projects.
import random
from datetime import date, datetime, timedelta, timezone

import polars as pl

from propcrm.metrics.kpi import (
    FactOptions,
    Households,
    complaint_focus,
    compute_frame,
    facts_to_arrow,
    iter_facts,
    monthly_assessment,
)
from propcrm.metrics.sla import default_policies
from propcrm.model import (
    Actor,
    Channel,
    OrgLevel,
    OrgScope,
    OrgTree,
    OrgUnit,
    Role,
    Satisfaction,
    TicketKind,
)
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c

CN = timezone(timedelta(hours=8))
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
CATEGORIES = ["Q.WP.01", "Q.WP.02", "Q.DW.01", "Q.PL.01", "S.CL.01", "S.SE.01"]
rng = random.Random(7)
lifecycle = Lifecycle()


def history(i: int) -> list:  # type: ignore[type-arg]
    tid = f"t{i:04d}"
    kind = TicketKind.COMPLAINT if rng.random() < 0.3 else TicketKind.REPAIR
    now = datetime(2026, 1, 1, 8, tzinfo=CN) + timedelta(minutes=rng.randrange(90 * 24 * 60))
    receive = c.ReceiveTicket(
        ticket_id=tid,
        kind=kind,
        channel=rng.choice([Channel.HOTLINE, Channel.APP, Channel.FRONT_DESK]),
        scope=OrgScope(company_id="co", project_id=rng.choice(["p1", "p2", "p3"])),
        description="…",
        category_code=rng.choice(CATEGORIES),
        responsible_party=rng.choice(["PM", "GC", "SUB-WP"]),
    )
    ticket, events = lifecycle.execute(None, receive, now=now, actor=BOSS)
    steps: list[c.Command] = [
        c.RespondToCustomer(ticket_id=tid, message="收到"),
        c.DispatchTicket(ticket_id=tid, party=ticket.responsible_party, assignee=f"w{i % 5}"),
        c.AcceptTicket(ticket_id=tid),
        c.StartWork(ticket_id=tid),
        c.CompleteWork(ticket_id=tid, result="done"),
        c.RecordRevisit(
            ticket_id=tid,
            satisfaction=rng.choice(list(Satisfaction)[:3]),
            resolved=True,
        ),
        c.CloseTicket(ticket_id=tid),
    ]
    for command in steps[: rng.randrange(2, len(steps) + 1)]:
        now += timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        ticket, more = lifecycle.execute(ticket, command, now=now, actor=BOSS)
        events += more
    return events


histories = [history(i) for i in range(400)]
print(f"{len(histories)} tickets, {sum(len(h) for h in histories)} events")

# %% Export flat ticket facts (epoch seconds), with SLA states from the default policies.
options = FactOptions(as_of=datetime(2026, 4, 1, tzinfo=CN), policies=default_policies())
facts = pl.from_arrow(facts_to_arrow(iter_facts(histories, options)))
print(facts.select("ticket_id", "kind", "project", "received_at", "sla_resolution").head(3))

# %% The KPIs by project and month, against their targets.
tree = OrgTree.from_units(
    [
        OrgUnit(id="co", name="物业公司", level=OrgLevel.COMPANY),
        OrgUnit(id="p1", name="翠湖花园", level=OrgLevel.PROJECT, parent_id="co", households=800),
        OrgUnit(id="p2", name="江景苑", level=OrgLevel.PROJECT, parent_id="co", households=500),
        OrgUnit(id="p3", name="云山居", level=OrgLevel.PROJECT, parent_id="co", households=300),
    ]
)
kpis = compute_frame(
    facts,
    definitions=[
        "valid_complaint_rate_per_100",
        "complaint_handling_rate",
        "repair_timeliness",
        "first_response_median",
        "revisit_satisfaction_rate",
    ],
    group_by=("project",),
    period="month",
    households=Households.from_tree(tree),
)
print(kpis.select("kpi", "project", "period", "numerator", "denominator", "value", "met"))

# %% Complaint focus (投诉焦点) for the quarter, and the March assessment table (考核).
print(complaint_focus(facts, window=(date(2026, 1, 1), date(2026, 4, 1))))
print(
    monthly_assessment(facts, month=date(2026, 3, 1), households=Households.from_tree(tree)).select(
        "project", "period", "complaint_handling_rate", "complaint_handling_rate_met"
    )
)
