"""A repair from intake to close, a refused command, and a rule changed as data.

Run: python examples/lifecycle_basics.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from propcrm import (
    Actor,
    Channel,
    InvalidTransitionError,
    Lifecycle,
    LifecycleRules,
    OrgScope,
    Role,
    Satisfaction,
    TicketKind,
    replay,
)
from propcrm.serialization import dumps
from propcrm.workflow import commands as c

agent = Actor(id="agent-7", role=Role.HOTLINE_AGENT)
handler = Actor(id="li.wei", role=Role.HANDLER, party="PM")
t0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

lifecycle = Lifecycle()
script = [
    (
        agent,
        c.ReceiveTicket(
            ticket_id="R-1",
            kind=TicketKind.REPAIR,
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id="c1", project_id="p1"),
            description="厨房水龙头漏水",
        ),
    ),
    (agent, c.DispatchTicket(ticket_id="R-1", party="PM", assignee="li.wei")),
    (handler, c.AcceptTicket(ticket_id="R-1")),
    (handler, c.ArriveOnSite(ticket_id="R-1")),
    (handler, c.CompleteWork(ticket_id="R-1", result="更换阀芯", cost=Decimal("35.50"))),
    (agent, c.RecordRevisit(ticket_id="R-1", satisfaction=Satisfaction.SATISFIED, resolved=True)),
    (agent, c.CloseTicket(ticket_id="R-1")),
]
ticket, history = None, []
for minute, (actor, command) in enumerate(script):
    ticket, events = lifecycle.execute(
        ticket, command, now=t0 + timedelta(minutes=10 * minute), actor=actor
    )
    history += events
assert ticket is not None
print(f"{ticket.ticket_id}: {ticket.status.label_en} after {ticket.version} events")
print("replay equals the live ticket:", replay(history) == ticket)
print("last event as JSON:", dumps(history[-1])[:120], "...")

# A refused command changes nothing and says why.
try:
    lifecycle.handle(
        ticket, c.StartWork(ticket_id="R-1"), now=t0 + timedelta(days=1), actor=handler
    )
except InvalidTransitionError as error:
    print("refused:", error.reason)

# Rules are data: let handlers close their own repairs.
rules = LifecycleRules.default()
permissions = dict(rules.permissions)
permissions[Role.HANDLER] = permissions[Role.HANDLER] | {"close"}
relaxed = Lifecycle(rules=attrs.evolve(rules, permissions=permissions))
print("handlers may close under the relaxed rules:", relaxed.rules.may(Role.HANDLER, "close"))
