"""The service facade: run lifecycle commands against a store, with plugins.

:class:`TicketService` runs every command in four steps:

1. **load** the ticket (``None`` for an intake);
2. **decide** with the lifecycle, under the rules extended by ``propcrm_lifecycle_rules`` and
   the taxonomy made by ``propcrm_taxonomy``;
3. **save** the events with the version it loaded (optimistic concurrency);
4. **tell** the ``propcrm_events_stored`` listeners, after the save and never before.

A save that loses a race (``ConcurrencyError``) is retried from step 1, up to ``max_attempts``
times, for every command but an intake (whose ticket id is then taken: retrying cannot
succeed). An intake whose idempotency key already made a ticket returns that ticket's intake
instead of making a second one, also when two submissions race.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone

import attrs

from propcrm._validation import require_aware
from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    ValidationError,
)
from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef
from propcrm.model.ticket import Ticket
from propcrm.plugins import PiiAccess, Plugins, Route, get_plugins
from propcrm.stores import Page, Store, TicketQuery
from propcrm.taxonomy import Taxonomy
from propcrm.workflow import Event, Lifecycle, LifecycleRules, apply
from propcrm.workflow import commands as c

__all__ = ["Clock", "Outcome", "TicketService", "system_clock"]

#: A clock: a callable returning the current time as an aware datetime.
Clock = Callable[[], datetime]

_PII_FIELDS = ("name", "phone", "id_number")


def system_clock() -> datetime:
    """The current time in UTC, from the system clock (the default clock)."""
    return datetime.now(timezone.utc)


@attrs.frozen(kw_only=True)
class Outcome:
    """What running one command did.

    Attributes:
        ticket: The ticket after the command.
        events: The new events, in order. For a repeated intake, the intake events of the
            ticket the first submission made.
        duplicate: Whether this was a repeated intake that made nothing new.
        attempts: How many times the command was decided (more than one after lost races).
    """

    ticket: Ticket
    events: tuple[Event, ...]
    duplicate: bool = False
    attempts: int = 1


def _never_retry_intake(command: c.Command) -> bool:
    return not isinstance(command, c.ReceiveTicket)


class TicketService:
    """Run lifecycle commands against a store: load, decide, save, tell the listeners.

    Args:
        store: Where tickets live (:func:`propcrm.open_store`).
        plugins: The plugins to use; the process-wide ones (:func:`propcrm.plugins.get_plugins`)
            when ``None``, loaded on first use.
        clock: Returns the current time, aware; the system clock by default. Tests pass a
            frozen clock.
        rules: The rules plugins start from; ``LifecycleRules.default()`` when ``None``.
        max_attempts: How many times a command is decided before a ``ConcurrencyError`` is
            re-raised (at least 1).
        retry: Whether a command may be retried after a lost race; by default every command
            but an intake. A retry loads the ticket again and decides again, so a command the
            winner made pointless is refused then with ``InvalidTransitionError``.

    Example:
        >>> service = TicketService(store, clock=lambda: now)  # doctest: +SKIP
        >>> events = service.execute(command, actor=actor)  # doctest: +SKIP
    """

    def __init__(
        self,
        store: Store,
        *,
        plugins: Plugins | None = None,
        clock: Clock = system_clock,
        rules: LifecycleRules | None = None,
        max_attempts: int = 3,
        retry: Callable[[c.Command], bool] = _never_retry_intake,
    ) -> None:
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError.single(
                "$.max_attempts", f"must be an integer ≥ 1, got {max_attempts!r}"
            )
        self.store = store
        self._plugins = plugins
        self.clock = clock
        self._base_rules = rules
        self.max_attempts = max_attempts
        self._retry = retry
        self._lifecycle: Lifecycle | None = None
        self._taxonomy: Taxonomy | None = None

    # -- configuration, resolved on first use -------------------------------------------------

    @property
    def plugins(self) -> Plugins:
        """The plugins this service uses (the process-wide ones are loaded on first use)."""
        if self._plugins is None:
            self._plugins = get_plugins()
        return self._plugins

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle: rules after ``propcrm_lifecycle_rules``, the plugins' taxonomy."""
        if self._lifecycle is None:
            taxonomy = self.taxonomy
            rules = self.plugins.lifecycle_rules(self._base_rules)
            self._lifecycle = Lifecycle(rules=rules, catalog=taxonomy)
        return self._lifecycle

    @property
    def taxonomy(self) -> Taxonomy | None:
        """The taxonomy after ``propcrm_taxonomy`` (``None`` if no plugin supplies one)."""
        if self._taxonomy is None:
            self._taxonomy = self.plugins.taxonomy()
        return self._taxonomy

    def now(self) -> datetime:
        """The clock's current time.

        Raises:
            ValidationError: The clock returned a naive datetime (path ``$.clock``).
        """
        return require_aware(self.clock(), "$.clock")

    # -- commands -----------------------------------------------------------------------------

    def execute(self, command: c.Command, *, actor: Actor) -> list[Event]:
        """Run ``command`` and return the new events (see :meth:`run` for the ticket too).

        Raises:
            PropcrmError: As :meth:`run` raises; nothing was written unless the error is a
                ``PluginError`` from a listener.
        """
        return list(self.run(command, actor=actor).events)

    def run(self, command: c.Command, *, actor: Actor) -> Outcome:
        """Run ``command``: load, decide, save, tell the listeners.

        Args:
            command: What to do.
            actor: Who does it.

        Returns:
            The ticket after the command, the new events, and whether it was a repeated intake.

        Raises:
            InvalidTransitionError: The rules refuse the command; nothing was written.
            PermissionDeniedError: The actor may not issue it; nothing was written.
            ValidationError: A bad category code or a naive clock; nothing was written.
            NotFoundError: The ticket does not exist (or belongs to another tenant).
            ConcurrencyError: Still losing the race after ``max_attempts``; nothing was written.
            PluginError: A listener failed after the events were stored (the error says so).
        """
        attempt = 0
        while True:
            attempt += 1
            if isinstance(command, c.ReceiveTicket) and command.idempotency_key is not None:
                existing = self.store.ticket_for_intake_key(command.idempotency_key)
                if existing is not None:
                    return self._repeated_intake(existing, attempt)
            ticket = (
                None if isinstance(command, c.ReceiveTicket) else self.store.get(command.ticket_id)
            )
            expected = 0 if ticket is None else ticket.version
            events = self.lifecycle.handle(ticket, command, now=self.now(), actor=actor)
            new_ticket = ticket
            for event in events:
                new_ticket = apply(new_ticket, event)
            assert new_ticket is not None  # handle() returns at least one event
            try:
                self.store.save(new_ticket, events, expected)
            except DuplicateIntakeError as race:
                return self._repeated_intake(race.existing_ticket_id, attempt)
            except ConcurrencyError:
                if attempt >= self.max_attempts or not self._retry(command):
                    raise
                continue
            self._tell(new_ticket, events)
            return Outcome(ticket=new_ticket, events=tuple(events), attempts=attempt)

    def _repeated_intake(self, ticket_id: str, attempts: int) -> Outcome:
        ticket = self.store.get(ticket_id)
        intake = tuple(e for e in self.store.events(ticket_id, 0) if e.sequence == 1)
        return Outcome(ticket=ticket, events=intake, duplicate=True, attempts=attempts)

    def _tell(self, ticket: Ticket, events: Iterable[Event]) -> None:
        stored = tuple(events)
        try:
            self.plugins.events_stored(ticket, stored)
        except PluginError as error:
            raise PluginError(
                f"events {stored[0].sequence}-{stored[-1].sequence} of ticket "
                f"{ticket.ticket_id!r} are stored, but {error.message}",
                hint="do not retry the command; replay the listener from the stored events",
            ) from error

    def get(self, ticket_id: str, *, actor: Actor | None = None) -> Ticket:
        """The stored ticket, for ``actor`` when given (checked against the actor's org scope).

        Raises:
            NotFoundError: No such ticket in the store's tenant.
            PermissionDeniedError: The ticket lies outside the actor's scope.
        """
        ticket = self.store.get(ticket_id)
        if actor is not None:
            actor.require_covers(ticket.scope, subject="ticket")
        return ticket

    def events(self, ticket_id: str, *, actor: Actor | None = None) -> list[Event]:
        """A ticket's history, for ``actor`` when given (checked against its org scope)."""
        self.get(ticket_id, actor=actor)
        return self.store.events(ticket_id)

    def query(self, query: TicketQuery, *, actor: Actor | None = None) -> Page[Ticket]:
        """Tickets matching ``query``, narrowed to ``actor``'s org scope when given.

        An actor scoped to one org unit gets the query narrowed to it; one scoped to several
        must name one of them (or a unit below one) as ``query.org_unit``.

        Raises:
            PermissionDeniedError: ``query.org_unit`` lies outside the actor's scope, or the
                actor's scope is several units and the query names none.
        """
        if actor is None or actor.scope is None:
            return self.store.query(query)
        if query.org_unit is None:
            if len(actor.scope) != 1:
                raise PermissionDeniedError(
                    f"actor {actor.id!r} is scoped to {sorted(actor.scope)}; "
                    "a query must name one of them",
                    hint="set TicketQuery.org_unit to a unit inside the actor's scope",
                )
            query = attrs.evolve(query, org_unit=next(iter(actor.scope)))
        elif not self._inside(query.org_unit, actor.scope):
            raise PermissionDeniedError(
                f"org unit {query.org_unit!r} lies outside actor {actor.id!r}'s scope "
                f"{sorted(actor.scope)}",
                hint="query a unit inside the actor's scope",
            )
        page = self.store.query(query)
        # Defence in depth: a store bug must never widen what an actor sees.
        for ticket in page.items:
            actor.require_covers(ticket.scope, subject="ticket")
        return page

    def _inside(self, unit_id: str, scope: frozenset[str]) -> bool:
        if unit_id in scope:
            return True
        tree = self.store.org_tree()
        if unit_id not in tree:
            return False
        return any(a.id in scope for a in tree.ancestors(unit_id))

    # -- routing ------------------------------------------------------------------------------

    def route(self, ticket: Ticket | str, *, now: datetime | None = None) -> Route | None:
        """Ask the routers (``propcrm_route_ticket``) where ``ticket`` should go.

        Args:
            ticket: The ticket or its id.
            now: The time to route at; the clock's when ``None``.

        Returns:
            The first router's route, or ``None`` when no router answers.
        """
        found = self.store.get(ticket) if isinstance(ticket, str) else ticket
        when = self.now() if now is None else require_aware(now, "$.now")
        return self.plugins.route_ticket(found, when, self.taxonomy)

    def dispatch(self, ticket_id: str, *, actor: Actor, note: str | None = None) -> Outcome:
        """Dispatch a ticket where the routers send it (派单 by rule).

        The route is asked afresh on every attempt, so a retry after a lost race routes the
        ticket as it then stands. The route's reason becomes the dispatch note unless ``note``
        is given.

        Raises:
            NotFoundError: No router answered (the built-in router is blocked and no other
                routes this ticket), or no such ticket.
            InvalidTransitionError: The ticket cannot be dispatched in its status.
        """
        route = self.route(ticket_id)
        if route is None:
            raise NotFoundError(
                "route",
                ticket_id,
                hint="register a propcrm_route_ticket plugin or dispatch with a party",
            )
        command = c.DispatchTicket(
            ticket_id=ticket_id,
            party=route.party,
            assignee=route.assignee,
            note=note if note is not None else f"routed by {route.router}: {route.reason}",
        )
        return self.run(command, actor=actor)

    # -- the customer archive -----------------------------------------------------------------

    def read_customer(
        self,
        customer_id: str,
        *,
        actor: Actor,
        purpose: str,
        fields: Iterable[str] = _PII_FIELDS,
        ticket_id: str | None = None,
    ) -> CustomerRef:
        """Read a customer's personal data, recording the access first (seed 001).

        Every ``propcrm_audit_pii_access`` plugin records the read before the data is handed
        out; fields not asked for are masked in the result.

        Args:
            customer_id: Whose record.
            actor: Who reads it.
            purpose: Why, e.g. ``"revisit call for T-1"``.
            fields: Which personal fields to reveal (``name``, ``phone``, ``id_number``).
            ticket_id: The ticket the read serves, if any.

        Raises:
            NotFoundError: No such customer in the store's tenant.
            ValidationError: An unknown field or an empty purpose (``$.fields``, ``$.purpose``).
            PluginError: An audit plugin failed; the data is not returned.
            PermissionDeniedError: A scoped actor named no ticket, or one outside its scope or
                not reported by the customer.
        """
        wanted = frozenset(fields)
        unknown = sorted(wanted - set(_PII_FIELDS))
        if unknown:
            raise ValidationError.single(
                "$.fields",
                f"not personal fields of a customer: {', '.join(unknown)}",
                hint="choose from " + ", ".join(_PII_FIELDS),
            )
        if actor.scope is not None:
            # A scoped actor reads a customer through a ticket in its scope that the customer
            # reported: need to know, not browse.
            if ticket_id is None:
                raise PermissionDeniedError(
                    f"actor {actor.id!r} is scoped to {sorted(actor.scope)}; "
                    "name the ticket this read serves",
                    hint="pass ticket_id= of a ticket in the actor's scope",
                )
            ticket = self.get(ticket_id, actor=actor)
            if ticket.reporter is None or ticket.reporter.customer_id != customer_id:
                raise PermissionDeniedError(
                    f"ticket {ticket_id!r} was not reported by customer {customer_id!r}"
                )
        customer = self.store.get_customer(customer_id)
        access = PiiAccess(
            actor=actor,
            at=self.now(),
            customer_id=customer_id,
            purpose=purpose,
            fields=wanted,
            ticket_id=ticket_id,
        )
        self.plugins.audit_pii_access(access)
        if wanted == frozenset(_PII_FIELDS):
            return customer
        # A masked copy bypasses validation (see CustomerRef.masked): reveal only what was asked.
        shown = customer.masked()
        for name in wanted:
            object.__setattr__(shown, name, getattr(customer, name))
        return shown
