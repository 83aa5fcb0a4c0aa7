"""test_crm_app.py: the app's code on propcrm's fixtures and strategies."""

import pytest
from crm_app import submit_form, ticket_card
from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm import PermissionDeniedError, Ticket, TicketKind, replay
from propcrm.testing.pytest_plugin import SAMPLE_COMPANY, SAMPLE_START
from propcrm.testing.strategies import st_histories

FORM = {
    "form_id": "1001",
    "kind": "complaint",
    "company": SAMPLE_COMPANY,
    "project": "P-CUIHU",
    "text": "电梯经常停运",
}


def test_a_form_sent_twice_makes_one_ticket(propcrm_service, propcrm_clock, outbox):
    """A resubmitted form returns the first ticket and stores nothing new."""
    assert submit_form(propcrm_service, FORM) == "W-1001"
    propcrm_clock.advance(minutes=5)  # the owner presses "send" again
    assert submit_form(propcrm_service, FORM) == "W-1001"
    ticket = propcrm_service.get("W-1001")
    assert ticket.received_at == SAMPLE_START
    assert outbox.messages == ["W-1001:ticket_received"]


def test_a_form_for_another_company_is_refused(propcrm_service, outbox):
    """The store is the tenant's: another company's ticket is refused, nothing is sent."""
    with pytest.raises(PermissionDeniedError):
        submit_form(propcrm_service, {**FORM, "company": "C-ELSEWHERE"})
    assert outbox.messages == []


def test_the_sample_org_is_in_the_store(propcrm_store, propcrm_org):
    """The store fixture holds the sample organisation."""
    assert propcrm_store.org_tree() == propcrm_org
    assert propcrm_org.get("P-CUIHU").households == 1200


@given(st_histories(kind=TicketKind.REPAIR, max_commands=10))
@settings(max_examples=20)
def test_the_card_of_any_repair(history):
    """Any repair history, however it went, makes a consistent card."""
    card = ticket_card(replay(history))
    assert card["kind"] == "报修"
    assert card["version"] == len(history)
    assert card["reopened"] == any(e.type == "ticket_reopened" for e in history)


@given(st.from_type(Ticket))  # propcrm registers its strategies with Hypothesis
@settings(max_examples=10)
def test_every_status_has_a_chinese_label(ticket):
    """Tickets in any reachable state show a Chinese status."""
    assert ticket_card(ticket)["status"]
