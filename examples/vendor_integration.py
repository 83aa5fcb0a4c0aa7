"""A CRM vendor's first integration: one hotline complaint from intake to close on SQLite.

Copy this file to start: a store, a ``TicketService`` with a clock and a small plugin (routing
plus a notification listener), a leak complaint run through its lifecycle, the open tickets
seen by a scoped manager, a refused command, and a masked customer.

Run: python examples/vendor_integration.py  (SQLite in a temporary directory; nothing to set up)
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from propcrm import (
    Actor,
    Channel,
    CustomerRef,
    Event,
    InvalidTransitionError,
    OrgScope,
    Role,
    Satisfaction,
    Ticket,
    TicketKind,
    TicketQuery,
    TicketService,
    TicketStatus,
    open_store,
    taxonomy,
)
from propcrm.plugins import (
    Notification,
    NotificationKind,
    Plugins,
    Route,
    hookimpl,
    make_plugin_manager,
)
from propcrm.workflow import commands as c

SCOPE = OrgScope(company_id="C-HUAYU-PM", project_id="P-CUIHU")


class AcmePlugin:
    """Leaks go to our waterproofing subcontractor; completed work reminds the hotline desk."""

    plugins: Plugins | None = None  # set once the manager exists, to send notifications

    @hookimpl
    def propcrm_route_ticket(self, ticket: Ticket) -> Route | None:
        if not (ticket.category_code or "").startswith("Q.WP"):
            return None  # not ours: the built-in router (seed 004) decides
        return Route(party="SUB-WP", assignee="wang.fs", reason="leak contract", router="acme")

    @hookimpl
    def propcrm_events_stored(self, ticket: Ticket, events: Sequence[Event]) -> None:
        # Runs after each save (never for a refused command): feed your queue or SMS here.
        print(f"  stored {ticket.ticket_id} v{ticket.version}: {[e.type for e in events]}")
        if self.plugins and events[-1].type == "ticket_completed":
            self.plugins.deliver_notification(
                Notification(
                    kind=NotificationKind.REVISIT_REMINDER,
                    recipient="hotline-desk",
                    ticket_id=ticket.ticket_id,
                    text_zh="维修已完成，请3天内回访业主",
                    text_en="work completed: call the owner back within 3 days",
                    idempotency_key=f"{ticket.ticket_id}/revisit/{ticket.version}",
                    due_at=events[-1].occurred_at,
                )
            )

    @hookimpl
    def propcrm_deliver_notification(self, notification: Notification) -> None:
        print(f"  notify {notification.recipient}: {notification.text_en}")


def complaint(ticket_id: str, channel: Channel, words: str, **more: Any) -> c.ReceiveTicket:
    """The intake command for a complaint at the Cuihu project."""
    kind = TicketKind.COMPLAINT
    return c.ReceiveTicket(
        ticket_id=ticket_id, kind=kind, channel=channel, scope=SCOPE, description=words, **more
    )


def main() -> None:
    # One store per company (tenant); SQLite is the embedded default.
    store = open_store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'crm.db'}", tenant="C-HUAYU-PM")
    acme = AcmePlugin()
    acme.plugins = plugins = make_plugin_manager(plugins=[acme])  # built-ins + ours only
    now = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    service = TicketService(store, plugins=plugins, clock=lambda: now)  # a fixed day, for repeats
    agent = Actor(id="agent-7", role=Role.HOTLINE_AGENT)
    handler = Actor(id="wang.fs", role=Role.HANDLER, party="SUB-WP")
    manager = Actor(id="mgr-cuihu", role=Role.SUPERVISOR, scope={"P-CUIHU"})  # one project

    def run(minutes: int, actor: Actor, command: c.Command) -> Ticket:
        nonlocal now  # the service's clock moves on
        now += timedelta(minutes=minutes)
        return service.run(command, actor=actor).ticket

    # Intake on the hotline; the idempotency key makes a resubmitted form no second ticket.
    words = "卫生间天花板滴水，一周没人处理"
    owner = CustomerRef(customer_id="K-0042", name="张伟", phone="13812345678")
    run(0, agent, complaint("T-1", Channel.HOTLINE, words, reporter=owner, idempotency_key="k42"))
    resent = complaint("T-9", Channel.HOTLINE, words, idempotency_key="k42")
    again = service.run(resent, actor=agent)
    print(f"form sent twice: duplicate={again.duplicate}, ticket {again.ticket.ticket_id}")
    run(5, agent, c.RespondToCustomer(ticket_id="T-1", message="已受理，今天派人上门"))

    # Classify with the taxonomy's free-text search, then dispatch where the routers say.
    catalog = service.taxonomy or taxonomy.standard()
    node = catalog.get(catalog.search(words)[0].code)
    print(f"classified as {node.code} {node.name_en} ({node.name_zh}), {catalog.tag}")
    run(2, agent, c.ClassifyTicket(ticket_id="T-1", category_code=node.code))
    routed = service.dispatch("T-1", actor=agent).ticket
    print(f"dispatched to {routed.responsible_party} / {routed.assignee}")

    # The handler works it; the hotline calls the owner back, then closes the complaint.
    run(20, handler, c.AcceptTicket(ticket_id="T-1"))
    run(60, handler, c.ArriveOnSite(ticket_id="T-1"))
    run(5, handler, c.StartWork(ticket_id="T-1"))
    run(120, handler, c.CompleteWork(ticket_id="T-1", result="重做卫生间防水层"))
    revisit = c.RecordRevisit(ticket_id="T-1", satisfaction=Satisfaction.SATISFIED, resolved=True)
    run(24 * 60, agent, revisit)
    run(1, agent, c.CloseTicket(ticket_id="T-1"))

    # A second complaint stays open; the project's manager queries what is open in their scope.
    run(30, agent, complaint("T-2", Channel.APP, "楼下噪音扰民"))
    still_open = frozenset(TicketStatus) - {TicketStatus.CLOSED, TicketStatus.VOIDED}
    page = service.query(TicketQuery(statuses=still_open), actor=manager)
    print(f"open for {manager.id}:", [(t.ticket_id, t.status.value) for t in page.items])

    # A command the rules refuse raises a typed error and writes nothing.
    try:
        run(1, handler, c.CompleteWork(ticket_id="T-2", result="done"))
    except InvalidTransitionError as error:
        print(f"refused, {type(error).__name__}: {error.reason}")

    # Personal data is masked in every repr and log line; only an audited read reveals it.
    print("reporter:", service.get("T-1", actor=manager).reporter)
    store.close()


if __name__ == "__main__":
    main()
