"""The Hypothesis setup hook registers strategies for propcrm's values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.model import Actor, OrgScope, Ticket
from propcrm.testing._hypothesis_plugin import _hypothesis_setup_hook
from propcrm.workflow import Event, replay
from propcrm.workflow.commands import ReceiveTicket

_hypothesis_setup_hook()


@settings(max_examples=20)
@given(st.from_type(Ticket), st.from_type(Actor), st.from_type(OrgScope))
def test_from_type_draws_valid_values(ticket: Ticket, actor: Actor, scope: OrgScope) -> None:
    assert ticket.version >= 1 and ticket.received_at.tzinfo is not None
    assert actor.id and scope.company_id


@settings(max_examples=20)
@given(st.from_type(ReceiveTicket), st.from_type(Event))
def test_commands_and_events_too(command: ReceiveTicket, event: Event) -> None:
    assert command.ticket_id
    assert event.sequence >= 1
    if event.sequence == 1:
        assert replay([event]).ticket_id == event.ticket_id
