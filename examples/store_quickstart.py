"""Open a store, save a ticket through the lifecycle, query it, and see tenant scope at work.

Run: python examples/store_quickstart.py  (SQLite in a temporary directory; nothing to set up)
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from propcrm.errors import NotFoundError
from propcrm.model import Actor, Channel, OrgScope, Role, TicketKind, TicketStatus
from propcrm.stores import TicketQuery, open_store
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c


def main() -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'crm.db'}"
    store = open_store(url, tenant="cuihu-pm")
    lifecycle = Lifecycle()
    agent = Actor(id="agent-7", role=Role.SUPERVISOR)
    now = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))

    receive = c.ReceiveTicket(
        ticket_id="T-0001",
        kind=TicketKind.REPAIR,
        channel=Channel.HOTLINE,
        scope=OrgScope(company_id="cuihu-pm", project_id="cuihu-garden"),
        description="卫生间天花板渗水",
        idempotency_key="hotline-20260302-0042",
    )
    ticket, events = lifecycle.execute(None, receive, now=now, actor=agent)
    store.save(ticket, events, expected_version=0, due_at=now + timedelta(hours=2))

    dispatch = c.DispatchTicket(ticket_id="T-0001", party="PM", assignee="li-gong")
    ticket2, more = lifecycle.execute(
        ticket, dispatch, now=now + timedelta(minutes=10), actor=agent
    )
    store.save(ticket2, more, expected_version=ticket.version, due_at=now + timedelta(hours=4))

    page = store.query(TicketQuery(statuses=frozenset({TicketStatus.DISPATCHED})))
    print("dispatched:", [(t.ticket_id, t.assignee, t.version) for t in page.items])
    overdue = store.query(TicketQuery(overdue_at=now + timedelta(hours=5)))
    print("overdue at 14:30:", [t.ticket_id for t in overdue.items])
    print("intake key ->", store.ticket_for_intake_key("hotline-20260302-0042"))
    events_seen = [s.event.type for batch in store.iter_events(batch_size=1) for s in batch]
    print("event stream:", events_seen)

    other = open_store(url, tenant="binjiang-pm")
    try:
        other.get("T-0001")
    except NotFoundError:
        print("another company's store does not see T-0001")
    store.close()
    other.close()


if __name__ == "__main__":
    main()
