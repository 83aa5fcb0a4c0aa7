"""A slice of a vendor's CRM built on propcrm: the code the tests next to it check.

- ``submit_form``: the owner portal's complaint form becomes a ticket; a form sent twice makes
  one ticket (the form id is the intake's idempotency key).
- ``Outbox``: a plugin that queues one message per stored event (a message bus in production).
- ``ticket_card``: what the app shows for a ticket, in Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from propcrm import Actor, Channel, Event, OrgScope, Role, Ticket, TicketKind, TicketService
from propcrm.plugins import hookimpl
from propcrm.workflow import commands as c

PORTAL = Actor(id="owner-portal", role=Role.HOTLINE_AGENT)


def submit_form(service: TicketService, form: Mapping[str, str]) -> str:
    """Receive the portal's form as a ticket and return the ticket's id."""
    command = c.ReceiveTicket(
        ticket_id=f"W-{form['form_id']}",
        kind=TicketKind(form["kind"]),
        channel=Channel.APP,
        scope=OrgScope(company_id=form["company"], project_id=form["project"]),
        description=form["text"],
        idempotency_key=form["form_id"],
    )
    return service.run(command, actor=PORTAL).ticket.ticket_id


class Outbox:
    """Queues ``"<ticket>:<event type>"`` for every event the service stored."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @hookimpl
    def propcrm_events_stored(self, ticket: Ticket, events: Sequence[Event]) -> None:
        """Queue a message per event, after the service stored them."""
        self.messages.extend(f"{ticket.ticket_id}:{event.type}" for event in events)


def ticket_card(ticket: Ticket) -> dict[str, object]:
    """The ticket as the app's list shows it."""
    return {
        "id": ticket.ticket_id,
        "kind": ticket.kind.label_zh,
        "status": ticket.status.label_zh,
        "reopened": ticket.reopen_count > 0,
        "version": ticket.version,
    }
