"""Routing dispatched tickets through the plugin hooks (seed 004: desk by day, centre by night).

Builds a hermetic plugin manager (built-ins only), then asks ``propcrm_route_ticket`` where a few
tickets go at different times of day: first with the built-in router, then with a vendor's
``Router`` that gives the 1,200-household project its own hotline desk and sends its leaks to the
waterproofing subcontractor.

Run: python examples/plugin_routing.py
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from propcrm.model import Actor, Channel, OrgScope, Role, Ticket, TicketKind
from propcrm.plugins import Plugins, Router, RoutingConfig, make_plugin_manager
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
AGENT = Actor(id="agent-7", role=Role.HOTLINE_AGENT)

REPORTS = [
    ("T-101", "P-CUIHU", "S.CS.02", "报修两天没人回电话 (no call back for two days)"),
    ("T-102", "P-CUIHU", "Q.WP.08", "卫生间天花板滴水 (ceiling drip in the bathroom)"),
    ("T-103", "P-LANTING", "Q.LF.01", "电梯困人 (passenger trapped in a lift)"),
    ("T-104", "P-LANTING", None, "楼下噪音 (noise downstairs, not classified yet)"),
]
TIMES = [(8, 29, 59), (8, 30, 0), (19, 59, 59), (20, 0, 0)]


def receive(ticket_id: str, project: str, code: str | None, text: str) -> Ticket:
    command = c.ReceiveTicket(
        ticket_id=ticket_id,
        kind=TicketKind.REPAIR,
        channel=Channel.HOTLINE,
        scope=OrgScope(company_id="C-HUAYU-PM", project_id=project),
        description=text,
        category_code=code,
    )
    ticket, _ = Lifecycle().execute(None, command, now=DAY, actor=AGENT)
    return ticket


def show(title: str, plugins: Plugins, tickets: list[Ticket]) -> None:
    taxonomy = plugins.taxonomy()
    print(title)
    print(f"  {'ticket':<6} {'project':<9} {'category':<8} {'time':<8}  party    assignee / desk")
    for ticket in tickets:
        for hh, mm, ss in TIMES:
            when = DAY.replace(hour=hh, minute=mm, second=ss)
            route = plugins.route_ticket(ticket, when, taxonomy)
            assert route is not None
            who = route.assignee or f"(party assigns; {route.desk} follows up)"
            print(
                f"  {ticket.ticket_id:<6} {ticket.scope.project_id:<9} "
                f"{ticket.category_code or '-':<8} {when:%H:%M:%S}  {route.party or '-':<8} {who}"
            )
    print()


def main() -> None:
    tickets = [receive(*report) for report in REPORTS]
    show(
        "Built-in router (hotline desk 08:30-20:00, monitoring centre 20:00-08:30):",
        make_plugin_manager(),
        tickets,
    )

    vendor = Router(
        RoutingConfig(
            dedicated_desks={"P-CUIHU": "cuihu-hotline"},
            project_parties={"P-CUIHU": {"Q.WP": "SUB-WP"}},
        )
    )
    show(
        "A vendor's router (P-CUIHU has its own desk; its leaks go to SUB-WP):",
        make_plugin_manager(plugins=[vendor]),
        tickets,
    )

    blocked = make_plugin_manager(blocked=["propcrm.plugins.builtin_router"])
    answer = blocked.route_ticket(tickets[0], DAY.replace(hour=10), blocked.taxonomy())
    print(f"With the built-in router blocked, no route: {answer}")


if __name__ == "__main__":
    main()
