"""The store contract: what every storage backend provides, and the values it speaks in.

A store keeps tickets as their event histories plus the folded ticket (a cache a store may
rebuild from the events at any time). It is opened for one tenant (a company id) or, for
administration only, for all tenants. It never returns data of another tenant: a ticket of
another company is simply *not found*.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

import attrs

from propcrm._validation import optional_aware_datetime
from propcrm.errors import ValidationError
from propcrm.model import CustomerRef, OrgTree, OrgUnit, Ticket, TicketKind, TicketStatus
from propcrm.workflow import Event

__all__ = ["NotificationLedger", "Page", "Store", "StoreFactory", "StoredEvent", "TicketQuery"]

T = TypeVar("T")


def _limit(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ValidationError.single(
            "$.limit", f"must be an integer from 1 to 10000, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class TicketQuery:
    """Filters for :meth:`Store.query`; every set filter must match (AND), empty sets match all.

    Results are ordered by ``(received_at, ticket_id)`` and paged by keyset: pass the previous
    page's ``next_cursor`` as ``after``.

    Attributes:
        statuses: Any of these statuses.
        kinds: Any of these kinds.
        category_prefix: Category codes starting with this (``"Q.WP"`` matches ``"Q.WP.08"``).
        project_ids: Any of these projects.
        org_unit: Tickets whose scope path contains this org unit id (group, company, centre or
            project).
        received_from: Received at or after this instant.
        received_before: Received strictly before this instant.
        updated_from: Latest event at or after this instant.
        updated_before: Latest event strictly before this instant.
        assignee: Assigned to this staff member.
        responsible_party: Dispatched to this party.
        overdue_at: Open tickets whose stored ``due_at`` is before this instant.
        limit: Page size, 1 to 10,000.
        after: The cursor of the previous page.
    """

    statuses: frozenset[TicketStatus] = frozenset()
    kinds: frozenset[TicketKind] = frozenset()
    category_prefix: str | None = None
    project_ids: frozenset[str] = frozenset()
    org_unit: str | None = None
    received_from: datetime | None = attrs.field(default=None, validator=optional_aware_datetime)
    received_before: datetime | None = attrs.field(default=None, validator=optional_aware_datetime)
    updated_from: datetime | None = attrs.field(default=None, validator=optional_aware_datetime)
    updated_before: datetime | None = attrs.field(default=None, validator=optional_aware_datetime)
    assignee: str | None = None
    responsible_party: str | None = None
    overdue_at: datetime | None = attrs.field(default=None, validator=optional_aware_datetime)
    limit: int = attrs.field(default=100, validator=_limit)
    after: str | None = None


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of results; ``next_cursor`` is ``None`` on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class StoredEvent:
    """An event with its position in the store's global order (strictly increasing)."""

    position: int
    event: Event


@runtime_checkable
class Store(Protocol):
    """The contract every store meets; ``propcrm.testing`` ships the suite that proves it.

    Attributes:
        tenant: The company id this store is scoped to; ``None`` for an all-tenant admin store.
    """

    tenant: str | None

    def save(
        self,
        ticket: Ticket,
        new_events: Sequence[Event],
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        """Append ``new_events`` and store ``ticket`` (their fold), atomically.

        Args:
            ticket: The ticket after the new events; ``ticket.version`` equals the last event's
                sequence.
            new_events: Events numbered ``expected_version + 1`` onwards, in order.
            expected_version: The version the writer read (0 for a new ticket).
            due_at: The earliest pending SLA deadline, kept for ``TicketQuery.overdue_at``.

        Raises:
            ConcurrencyError: The stored version is not ``expected_version``; nothing written.
            DuplicateIntakeError: A new ticket reuses an intake idempotency key of this tenant.
            ValidationError: The events are not contiguous or do not belong to the ticket.
            PermissionDeniedError: The ticket belongs to another tenant than the store's.
        """
        ...

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket. Raises ``NotFoundError`` (also for another tenant's ticket)."""
        ...

    def events(self, ticket_id: str, after_version: int = 0) -> list[Event]:
        """The ticket's events with sequence above ``after_version``, in order."""
        ...

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """Tickets matching ``query`` in ``(received_at, ticket_id)`` order, one page."""
        ...

    def iter_events(
        self, *, after_position: int = 0, batch_size: int = 10_000
    ) -> Iterator[list[StoredEvent]]:
        """Every event of the tenant after ``after_position``, in global order, in batches.

        Memory is bounded by ``batch_size`` whatever the number of events.
        """
        ...

    def ticket_for_intake_key(self, idempotency_key: str) -> str | None:
        """The ticket an intake idempotency key made, if any (within the tenant)."""
        ...

    def save_org_units(self, units: Iterable[OrgUnit]) -> None:
        """Insert or replace organisation units."""
        ...

    def org_tree(self) -> OrgTree:
        """The organisation tree visible to the tenant."""
        ...

    def save_customer(self, customer: CustomerRef) -> None:
        """Insert or replace a customer reference of the tenant."""
        ...

    def get_customer(self, customer_id: str) -> CustomerRef:
        """A customer of the tenant. Raises ``NotFoundError``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class NotificationLedger(Protocol):
    """An optional store capability: remembers which notifications were handed out.

    ``TicketService.deliver_due_notifications`` claims each notification's idempotency key
    before it calls the delivery hook and releases the claim when delivery fails, so a
    notification is delivered once however often the scheduler runs, from however many
    processes. Keys are kept per company: a tenant store claims only its own company's keys.
    The built-in stores have it; a store without it makes the service remember keys in memory
    (for its own lifetime only).
    """

    def claim_notification(self, company_id: str, key: str) -> bool:
        """Record ``key`` as delivered for ``company_id``; ``False`` if it already was.

        The claim is atomic: of two concurrent claims of one key exactly one gets ``True``.

        Raises:
            PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
            ValidationError: An empty company id or key.
        """
        ...

    def release_notification(self, company_id: str, key: str) -> None:
        """Forget a claim (the delivery failed); releasing an unknown key does nothing.

        Raises:
            PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
        """
        ...


class StoreFactory(Protocol):
    """Opens a store for a URL; registered per URL scheme (``memory``, ``sqlite`` …)."""

    def __call__(self, url: str, *, tenant: str | None) -> Store:
        """Open the store at ``url`` scoped to ``tenant``."""
        ...
