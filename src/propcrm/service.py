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

Every save passes the ticket's ``due_at``, the earliest deadline of its running SLA targets
(from the service's SLA policies and their calendars), so ``TicketQuery(overdue_at=...)`` finds
the tickets that are late. :meth:`TicketService.deliver_due_notifications` hands the SLA
warnings and revisit reminders that have come due to the ``propcrm_deliver_notification``
plugins, each once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.metrics.sla import (
    DEFAULT_LADDER,
    CalendarLookup,
    PolicySet,
    SlaPolicy,
    SlaWarning,
    WarningRung,
    default_policies,
    warnings_for,
)
from propcrm.metrics.sla._evaluate import clocks_for, crossing
from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef
from propcrm.model.enums import TicketStatus
from propcrm.model.ticket import Ticket
from propcrm.plugins import (
    Notification,
    NotificationKind,
    PiiAccess,
    Plugins,
    Route,
    get_plugins,
)
from propcrm.stores import NotificationLedger, Page, Store, TicketQuery
from propcrm.taxonomy import Taxonomy
from propcrm.workflow import Event, Lifecycle, LifecycleRules, apply, replay
from propcrm.workflow import commands as c
from propcrm.workflow.revisits import DueRevisit, Rain, RevisitProgramme, revisits_due

__all__ = ["Clock", "Outcome", "TicketService", "sla_due_at", "system_clock"]

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


_OPEN_STATUSES = frozenset(
    s
    for s in TicketStatus
    if s not in (TicketStatus.CLOSED, TicketStatus.VOIDED, TicketStatus.MERGED)
)


def sla_due_at(
    history: Sequence[Event],
    policies: Iterable[SlaPolicy],
    now: datetime,
    calendars: CalendarLookup,
) -> datetime | None:
    """The earliest due instant of the ticket's running SLA targets: what ``due_at`` stores.

    A target counts while its clock has started and not stopped (met) or ended (voided,
    merged); a target held by a pause has no due instant until it resumes. ``None`` when no
    target runs.

    Args:
        history: The ticket's events, in order.
        policies: The policies that apply to the ticket (``PolicySet.applicable``).
        now: Events after it are ignored.
        calendars: Resolves the targets' calendar names.
    """
    due: datetime | None = None
    for policy in policies:
        for clock in clocks_for(history, policy.targets, now):
            if clock.ended is not None or clock.started_at is None or clock.stopped_at is not None:
                continue
            at = crossing(clock, calendars(clock.rule.calendar_name), clock.rule.duration)
            if at is not None and (due is None or at < due):
                due = at
    return due


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
        sla_policies: The SLA policies behind ``due_at`` and the warnings;
            :func:`propcrm.metrics.sla.default_policies` when ``None``.
        calendars: Calendars by name for the SLA targets; names not given come from the
            calendar registry (plugins' calendars included).
        track_due: Whether saves carry ``due_at`` (on by default). Off, a save skips the SLA
            evaluation and ``TicketQuery.overdue_at`` does not see the service's tickets.
        warning_ladder: The SLA warning rungs :meth:`deliver_due_notifications` sends.
        quiet_hours: Warnings are held until this calendar's next working instant (rungs
            marked ``ignores_quiet_hours`` excepted); ``None`` sends at once.
        revisits: The revisit programme behind revisit reminders;
            ``RevisitProgramme.default()`` when ``None``.
        revisit_recipient: Who gets revisit reminders (a team queue).

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
        sla_policies: PolicySet | None = None,
        calendars: Mapping[str, BusinessCalendar] | None = None,
        track_due: bool = True,
        warning_ladder: Sequence[WarningRung] = DEFAULT_LADDER,
        quiet_hours: BusinessCalendar | None = None,
        revisits: RevisitProgramme | None = None,
        revisit_recipient: str = "revisit-desk",
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
        if not isinstance(revisit_recipient, str) or not revisit_recipient.strip():
            raise ValidationError.single(
                "$.revisit_recipient", f"must be a non-empty string, got {revisit_recipient!r}"
            )
        self._sla_policies = sla_policies
        self._calendars = CalendarLookup(calendars)
        self._calendar_map = calendars
        self.track_due = track_due
        self.warning_ladder = tuple(warning_ladder)
        self.quiet_hours = quiet_hours
        self._revisits = revisits
        self.revisit_recipient = revisit_recipient
        self._sent: set[tuple[str, str]] = set()  # claims, when the store keeps no ledger

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

    @property
    def sla_policies(self) -> PolicySet:
        """The SLA policies behind ``due_at`` and the warnings."""
        if self._sla_policies is None:
            self._sla_policies = default_policies()
        return self._sla_policies

    @property
    def revisits(self) -> RevisitProgramme:
        """The revisit programme behind revisit reminders."""
        if self._revisits is None:
            self._revisits = RevisitProgramme.default()
        return self._revisits

    def _policies_for(self, ticket: Ticket) -> tuple[SlaPolicy, ...]:
        # PolicySet memoises the choice per match key (kind, priority, channel, project, code).
        return self.sla_policies.policies_for(ticket)

    def due_at(self, history: Sequence[Event], *, now: datetime | None = None) -> datetime | None:
        """The ``due_at`` a save of this history carries: see :func:`sla_due_at`.

        ``None`` for a closed, voided or merged ticket and when no SLA target runs.

        Raises:
            ValidationError: An empty or invalid history, or a naive ``now``.
        """
        when = self.now() if now is None else require_aware(now, "$.now")
        past = [e for e in history if e.occurred_at <= when]
        if not past:
            return None
        ticket = replay(past)
        if not ticket.is_open:
            return None
        return sla_due_at(past, self._policies_for(ticket), when, self._calendars)

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
            history: list[Event] = []
            ticket: Ticket | None = None
            if not isinstance(command, c.ReceiveTicket):
                if self.track_due:
                    # One read gives the history (for the SLA clocks) and the ticket (its fold).
                    history = self.store.events(command.ticket_id)
                    ticket = replay(history)
                else:
                    ticket = self.store.get(command.ticket_id)
            expected = 0 if ticket is None else ticket.version
            now = self.now()
            events = self.lifecycle.handle(ticket, command, now=now, actor=actor)
            new_ticket = ticket
            for event in events:
                new_ticket = apply(new_ticket, event)
            assert new_ticket is not None  # handle() returns at least one event
            due = None
            if self.track_due and new_ticket.is_open:
                after = history + list(events)
                due = sla_due_at(after, self._policies_for(new_ticket), now, self._calendars)
            try:
                self.store.save(new_ticket, events, expected, due_at=due)
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

    # -- notifications: SLA warnings and revisit reminders --------------------------------------

    def due_notifications(
        self,
        *,
        now: datetime | None = None,
        actor: Actor | None = None,
        org_unit: str | None = None,
        rains: Iterable[Rain] = (),
        page_size: int = 500,
    ) -> list[Notification]:
        """The SLA warnings and revisit reminders due by ``now``, delivered or not, in order.

        Reads every open ticket the store's tenant (narrowed to ``actor``'s scope and to
        ``org_unit`` when given) holds, evaluates its SLA warning ladder
        (:func:`propcrm.metrics.sla.warnings_for`) and its revisit
        (:func:`propcrm.workflow.revisits.revisits_due`). Nothing is delivered or recorded: see
        :meth:`deliver_due_notifications`.

        Args:
            now: The instant; the clock's when ``None``.
            actor: Narrows the tickets to the actor's org scope (as :meth:`query` does).
            org_unit: Narrows the tickets to one org unit (a group, company, centre or project).
            rains: Rains observed, for revisits held until the first rain after a leak repair.
            page_size: Tickets read per query.

        Returns:
            Notifications ordered by ``due_at``, then ``idempotency_key``.

        Raises:
            PermissionDeniedError: ``org_unit`` lies outside ``actor``'s scope.
            ValidationError: A naive ``now``.
        """
        found = self._due(now=now, actor=actor, org_unit=org_unit, rains=rains, page_size=page_size)
        return [notice for _, notice in found]

    def _due(
        self,
        *,
        now: datetime | None,
        actor: Actor | None,
        org_unit: str | None,
        rains: Iterable[Rain],
        page_size: int,
    ) -> list[tuple[str, Notification]]:
        """Each due notification with its ticket's company (the ledger's key), in order."""
        when = self.now() if now is None else require_aware(now, "$.now")
        rain_list = tuple(rains)
        found: list[tuple[str, Notification]] = []
        after: str | None = None
        while True:
            query = TicketQuery(
                statuses=_OPEN_STATUSES, org_unit=org_unit, limit=page_size, after=after
            )
            page = self.query(query, actor=actor)
            for ticket in page.items:
                if ticket.received_at > when:
                    continue
                history = self.store.events(ticket.ticket_id)
                warnings = warnings_for(
                    history,
                    self.sla_policies,
                    when,
                    ladder=self.warning_ladder,
                    quiet_hours=self.quiet_hours,
                    calendars=self._calendars,
                )
                company = ticket.scope.company_id
                found += [(company, _warning_notice(w, ticket)) for w in warnings]
                past = replay([e for e in history if e.occurred_at <= when])
                for due in revisits_due(
                    at=when, programme=self.revisits, tickets=(past,), rains=rain_list
                ):
                    found += [
                        (company, notice)
                        for notice in _revisit_notices(due, when, self.revisit_recipient)
                    ]
            if page.next_cursor is None:
                break
            after = page.next_cursor
        found.sort(key=lambda pair: (pair[1].due_at, pair[1].idempotency_key))
        return found

    def deliver_due_notifications(
        self,
        *,
        now: datetime | None = None,
        actor: Actor | None = None,
        org_unit: str | None = None,
        rains: Iterable[Rain] = (),
        page_size: int = 500,
    ) -> list[Notification]:
        """Deliver each due SLA warning and revisit reminder once, through the plugins.

        Takes :meth:`due_notifications` in order; for each, claims its idempotency key in the
        store's notification ledger (:class:`propcrm.stores.NotificationLedger`; in this
        service's memory when the store keeps none) and, when the claim is new, calls every
        ``propcrm_deliver_notification`` plugin. Running it again, from this process or
        another sharing the store, delivers nothing twice; a notification whose delivery
        failed is released and tried again on the next run. Claims are kept per company, the
        ticket's.

        Run it from a scheduler (every minute, say); ``now`` defaults to the clock.

        Args:
            now: The instant; the clock's when ``None``.
            actor: Narrows the tickets to the actor's org scope.
            org_unit: Narrows the tickets to one org unit.
            rains: Rains observed, for leak revisits.
            page_size: Tickets read per query.

        Returns:
            The notifications delivered by this call, in delivery order.

        Raises:
            PluginError: A delivery plugin failed; raised after every other notification was
                delivered, naming how many failed (they will be tried again next run).
            PermissionDeniedError: ``org_unit`` lies outside ``actor``'s scope.
        """
        # The company comes with each notice from the ticket already read: no second load.
        notices = self._due(
            now=now, actor=actor, org_unit=org_unit, rains=rains, page_size=page_size
        )
        delivered: list[Notification] = []
        failures: list[tuple[Notification, PluginError]] = []
        for company, notice in notices:
            if not self._claim(company, notice.idempotency_key):
                continue
            try:
                self.plugins.deliver_notification(notice)
            except PluginError as error:
                self._release(company, notice.idempotency_key)
                failures.append((notice, error))
                continue
            delivered.append(notice)
        if failures:
            first_notice, first_error = failures[0]
            raise PluginError(
                f"{len(delivered)} notification(s) delivered, {len(failures)} failed and will "
                f"be tried again (first: {first_notice.idempotency_key!r}: {first_error.message})",
                hint="fix or block the failing delivery plugin; the next run retries",
            ) from first_error
        return delivered

    def _claim(self, company: str, key: str) -> bool:
        if isinstance(self.store, NotificationLedger):
            return self.store.claim_notification(company, key)
        if (company, key) in self._sent:
            return False
        self._sent.add((company, key))
        return True

    def _release(self, company: str, key: str) -> None:
        if isinstance(self.store, NotificationLedger):
            self.store.release_notification(company, key)
        else:
            self._sent.discard((company, key))

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


def _utc_text(instant: datetime | None) -> str:
    if instant is None:
        return "-"
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _warning_notice(warning: SlaWarning, ticket: Ticket) -> Notification:
    """The notification of one SLA warning: a breach once the due instant has passed."""
    breach = warning.due_at is not None and warning.fire_at >= warning.due_at
    recipient = warning.recipient
    if recipient == "assignee" and ticket.assignee:
        recipient = ticket.assignee
    target = warning.target
    due = _utc_text(warning.due_at)
    if breach:
        text_zh = (
            f"工单 {ticket.ticket_id}「{target.label_zh}」已超时（{warning.rung}），时限 {due}"
        )
        text_en = (
            f"Ticket {ticket.ticket_id}: {target.label_en} is overdue ({warning.rung}); "
            f"it was due {due}"
        )
    else:
        text_zh = (
            f"工单 {ticket.ticket_id}「{target.label_zh}」时限预警（{warning.rung}），时限 {due}"
        )
        text_en = (
            f"Ticket {ticket.ticket_id}: {target.label_en} SLA warning ({warning.rung}); due {due}"
        )
    return Notification(
        kind=NotificationKind.SLA_BREACH if breach else NotificationKind.SLA_WARNING,
        recipient=recipient,
        ticket_id=ticket.ticket_id,
        text_zh=text_zh,
        text_en=text_en,
        idempotency_key=warning.idempotency_key,
        due_at=warning.deliver_at,
    )


def _revisit_notices(due: DueRevisit, now: datetime, recipient: str) -> list[Notification]:
    """A reminder when a revisit window opens, and one more once it is overdue."""
    assert due.ticket_id is not None  # ticket revisits only: the service passes no move-ins
    by = _utc_text(due.due_by)
    notices = [
        Notification(
            kind=NotificationKind.REVISIT_REMINDER,
            recipient=recipient,
            ticket_id=due.ticket_id,
            text_zh=f"工单 {due.ticket_id} 待回访（{due.rule_id}），请于 {by} 前完成",
            text_en=f"Ticket {due.ticket_id} is due for a revisit ({due.rule_id}) by {by}",
            idempotency_key=f"revisit:{due.key}",
            due_at=due.opens_at,
        )
    ]
    if due.overdue and now > due.due_by:
        notices.append(
            Notification(
                kind=NotificationKind.REVISIT_REMINDER,
                recipient=recipient,
                ticket_id=due.ticket_id,
                text_zh=f"工单 {due.ticket_id} 回访已逾期（{due.rule_id}），时限 {by}",
                text_en=f"Ticket {due.ticket_id}: the revisit ({due.rule_id}) was due by {by}",
                idempotency_key=f"revisit:{due.key}:overdue",
                due_at=due.due_by,
            )
        )
    return notices
