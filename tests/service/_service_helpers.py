"""A small in-test store and values for the service tests (independent of the real stores)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from propcrm.errors import ConcurrencyError, DuplicateIntakeError, NotFoundError
from propcrm.model import (
    Actor,
    Channel,
    CustomerRef,
    OrgScope,
    OrgTree,
    OrgUnit,
    Role,
    Ticket,
    TicketKind,
)
from propcrm.stores import Page, StoredEvent, TicketQuery
from propcrm.workflow import Event
from propcrm.workflow import commands as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SCOPE = OrgScope(company_id="C1", project_id="P-CUIHU")
AGENT = Actor(id="agent-1", role=Role.HOTLINE_AGENT)
DISPATCHER = Actor(id="disp-1", role=Role.DISPATCHER)
SUPERVISOR = Actor(id="boss", role=Role.SUPERVISOR)


def receive(
    ticket_id: str = "T-1",
    *,
    key: str | None = None,
    code: str | None = None,
    kind: TicketKind = TicketKind.REPAIR,
    party: str | None = None,
) -> c.ReceiveTicket:
    return c.ReceiveTicket(
        ticket_id=ticket_id,
        kind=kind,
        channel=Channel.HOTLINE,
        scope=SCOPE,
        description="卫生间天花板滴水",
        category_code=code,
        idempotency_key=key,
        responsible_party=party,
    )


class FakeStore:
    """Just enough of the Store contract, with hooks to lose races on purpose.

    ``fail_next`` makes the next saves raise ``ConcurrencyError`` after a rival write (a
    callable run before raising, e.g. one that saves an event of its own).
    """

    tenant: str | None = "C1"

    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}
        self.history: dict[str, list[Event]] = {}
        self.keys: dict[str, str] = {}
        self.customers: dict[str, CustomerRef] = {}
        self.saves: list[tuple[str, int]] = []
        self.fail_next: list[object] = []
        self.log: list[str] = []

    def save(
        self,
        ticket: Ticket,
        new_events: Sequence[Event],
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        if self.fail_next:
            rival = self.fail_next.pop(0)
            if callable(rival):
                rival()
            held = self.tickets.get(ticket.ticket_id)
            actual = 0 if held is None else held.version
            raise ConcurrencyError(
                ticket_id=ticket.ticket_id, expected_version=expected_version, actual_version=actual
            )
        current = self.tickets.get(ticket.ticket_id)
        actual = 0 if current is None else current.version
        if actual != expected_version:
            raise ConcurrencyError(
                ticket_id=ticket.ticket_id, expected_version=expected_version, actual_version=actual
            )
        key = ticket.idempotency_key
        if current is None and key is not None and key in self.keys:
            raise DuplicateIntakeError(
                ticket_id=ticket.ticket_id, idempotency_key=key, existing_ticket_id=self.keys[key]
            )
        if current is None and key is not None:
            self.keys[key] = ticket.ticket_id
        self.tickets[ticket.ticket_id] = ticket
        self.history.setdefault(ticket.ticket_id, []).extend(new_events)
        self.saves.append((ticket.ticket_id, ticket.version))
        self.log.append(f"save {ticket.ticket_id}@{ticket.version}")

    def get(self, ticket_id: str) -> Ticket:
        if ticket_id not in self.tickets:
            raise NotFoundError("ticket", ticket_id)
        return self.tickets[ticket_id]

    def events(self, ticket_id: str, after_version: int = 0) -> list[Event]:
        return [e for e in self.history.get(ticket_id, []) if e.sequence > after_version]

    def query(self, query: TicketQuery) -> Page[Ticket]:
        return Page(items=tuple(self.tickets.values()))

    def iter_events(
        self, *, after_position: int = 0, batch_size: int = 10_000
    ) -> Iterator[list[StoredEvent]]:
        yield []

    def ticket_for_intake_key(self, idempotency_key: str) -> str | None:
        return self.keys.get(idempotency_key)

    def save_org_units(self, units: Iterable[OrgUnit]) -> None:
        pass

    def org_tree(self) -> OrgTree:
        return OrgTree.from_units([])

    def save_customer(self, customer: CustomerRef) -> None:
        self.customers[customer.customer_id] = customer

    def get_customer(self, customer_id: str) -> CustomerRef:
        if customer_id not in self.customers:
            raise NotFoundError("customer", customer_id)
        return self.customers[customer_id]

    def close(self) -> None:
        pass
