"""The testing kit fails on broken stores: each planted bug is caught by the suite and the machine.

A conformance suite that always passes proves nothing; these stores each break one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import Phase, settings

from propcrm.model import Ticket
from propcrm.stores import Page, TicketQuery
from propcrm.stores.helpers import encode_cursor
from propcrm.stores.memory import MemoryStore
from propcrm.testing.store_contract import MakeStore, StoreContract
from propcrm.testing.store_machine import store_machine
from propcrm.workflow import Event


class LeaksTenants(MemoryStore):
    """Reads another tenant's tickets."""

    def get(self, ticket_id: str) -> Ticket:
        return self.for_tenant(None).get(ticket_id)


class LastWriteWins(MemoryStore):
    """Ignores the expected version."""

    def save(
        self,
        ticket: Ticket,
        new_events: Any,
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        try:
            current = self.for_tenant(None).get(ticket.ticket_id).version
        except LookupError:
            current = 0
        events: list[Event] = list(new_events)
        shifted = [e for e in events if e.sequence > current]
        if shifted:
            super().save(ticket, shifted, current, due_at=due_at)


class PagesTooFar(MemoryStore):
    """Hands out a cursor on the last page too."""

    def query(self, query: TicketQuery) -> Page[Ticket]:
        page = super().query(query)
        if page.items and page.next_cursor is None:
            last = page.items[-1]
            return Page(items=page.items, next_cursor=encode_cursor(last.received_at, "~"))
        return page


def _views(cls: type[MemoryStore]) -> MakeStore:
    root = cls()
    return lambda tenant: cls(tenant=tenant, data=root._data)


SUITE = StoreContract()


@pytest.mark.parametrize(
    ("cls", "test", "uses"),
    [
        (LeaksTenants, SUITE.test_another_tenants_ticket_is_not_found, "make_store"),
        (LastWriteWins, SUITE.test_stale_version_is_a_conflict_and_writes_nothing, "store"),
        (PagesTooFar, SUITE.test_exact_last_page_has_no_cursor, "store"),
    ],
)
def test_the_suite_fails_on_a_broken_store(
    cls: type[MemoryStore], test: Callable[..., None], uses: str
) -> None:
    make = _views(cls)
    argument: Any = make if uses == "make_store" else make("c1")
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        test(argument)
    # ...and passes on the memory store.
    good = _views(MemoryStore)
    test(good if uses == "make_store" else good("c1"))


@pytest.mark.parametrize("cls", [LeaksTenants, LastWriteWins, PagesTooFar])
def test_the_machine_fails_on_a_broken_store(cls: type[MemoryStore]) -> None:
    def open_stores() -> tuple[MakeStore, Callable[[], None]]:
        return _views(cls), lambda: None

    machine = store_machine(open_stores)
    # No shrinking: the point is that a difference is found, not the smallest one.
    machine.TestCase.settings = settings(
        max_examples=200, deadline=None, stateful_step_count=30, phases=[Phase.generate]
    )
    with pytest.raises(AssertionError):
        machine.TestCase().runTest()
