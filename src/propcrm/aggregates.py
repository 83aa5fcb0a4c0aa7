"""Durable delivery batches and customer archives: services over a store's aggregate streams.

:class:`DeliveryService` and :class:`ArchiveService` do for house-delivery batches and customer
records what :class:`propcrm.service.TicketService` does for tickets, in the same four steps:

1. **load** the aggregate: its stream read from the store and folded by ``replay``;
2. **decide** the command with the pure core (:meth:`propcrm.workflow.delivery.Delivery.handle`,
   :func:`propcrm.customers.decide`) at the service clock's time;
3. **append** the new events with the version loaded (optimistic concurrency): a writer that lost
   a race reloads and decides again, up to ``max_attempts`` times (never for the command that
   creates the aggregate: its id is then taken);
4. **tell** the listeners and the plugins (``propcrm_delivery_events_stored``,
   ``propcrm_archive_events_stored``), after the append and never before; every one runs, and
   a ``PluginError`` naming those that failed is raised once all have run.

The store must have the :class:`propcrm.stores.AggregateStreams` capability (the memory and SQL
stores do). Events are kept as JSON documents written by the propcrm converter with personal
data kept, exactly as tickets are; the store never decodes them, the service does, and a damaged
document raises ``StoreError`` (not JSON) or ``ValidationError`` (not an event) naming the stream
and the version (field paths only: a stored value may be personal data).

Streams are kept per company. A service works on one company's aggregates: the store's tenant,
or for an admin store (``tenant=None``) the ``company_id`` the service is given.

Customer records hold personal data, so :meth:`ArchiveService.get` and
:meth:`ArchiveService.history` return masked values, listeners, plugins and outcomes get masked
events, and full reads go only through :meth:`ArchiveService.read_full` and
:meth:`ArchiveService.reveal_history`, which check the PII policy and record the access with the
audit sink (the ``propcrm_audit_pii_access`` plugins by default) before returning anything. An
erasure (:class:`propcrm.customers.EraseCustomer`) appends its tombstone and then rewrites the
earlier events without the personal values (:func:`propcrm.customers.redact`);
:meth:`ArchiveService.redact_all_erased` finishes any rewrite a crash interrupted.

Example:
    >>> from datetime import date, datetime, timezone
    >>> from propcrm import taxonomy
    >>> from propcrm.model import Actor, OrgScope, Role
    >>> from propcrm.stores import open_store
    >>> from propcrm.workflow import delivery as d
    >>> store = open_store("memory://", tenant="c1")
    >>> at = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
    >>> service = DeliveryService(store, d.Delivery(taxonomy=taxonomy.standard()), clock=lambda: at)
    >>> staff = Actor(id="insp-1", role=Role.SUPERVISOR)
    >>> opened = service.execute(
    ...     d.OpenDeliveryBatch(
    ...         batch_id="B1",
    ...         scope=OrgScope(company_id="c1", project_id="p1"),
    ...         title="3 栋 首批交付",
    ...         planned_handover_on=date(2026, 6, 1),
    ...         unit_ids=("U1", "U2"),
    ...     ),
    ...     actor=staff,
    ... )
    >>> [e.type for e in opened], service.get("B1").version
    (['delivery_batch_opened'], 1)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from propcrm._validation import require_aware
from propcrm.customers import (
    DEFAULT_PII_POLICY,
    ArchiveCommand,
    ArchiveEvent,
    AuditSink,
    CustomerChanged,
    CustomerRecord,
    CustomerRegistered,
    EraseCustomer,
    FamilyMember,
    PiiPolicy,
    RegisterCustomer,
    TitleCertificateRecorded,
    export_personal_data,
    mask_text,
    redact,
)
from propcrm.customers import apply as archive_apply
from propcrm.customers import decide as archive_decide
from propcrm.customers import read_full as archive_read_full
from propcrm.customers import replay as archive_replay
from propcrm.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PropcrmError,
    StoreError,
    ValidationError,
)
from propcrm.model import mask_id_number, mask_name, mask_phone
from propcrm.model.actor import Actor
from propcrm.plugins import Plugins, get_plugins
from propcrm.service import Clock, Outcome, TicketService, system_clock
from propcrm.stores import AggregateStreams, Page, Store, StreamRecord
from propcrm.workflow import delivery as d

__all__ = [
    "ARCHIVE_KIND",
    "DELIVERY_KIND",
    "ArchiveListener",
    "ArchiveOutcome",
    "ArchiveService",
    "DeliveryListener",
    "DeliveryOutcome",
    "DeliveryService",
]

#: The stream kind delivery batches are kept under.
DELIVERY_KIND = "delivery_batch"
#: The stream kind customer records are kept under.
ARCHIVE_KIND = "customer_archive"

#: Hears about a batch's new events after they are stored: ``(batch after, events)``.
DeliveryListener = Callable[[d.DeliveryBatch, Sequence[d.DeliveryEvent]], None]
#: Hears about a record's new events after they are stored: ``(record after, events)``; the
#: record and the events are masked (personal values as ``CustomerRecord.masked`` shows them).
ArchiveListener = Callable[[CustomerRecord, Sequence[ArchiveEvent]], None]

E = TypeVar("E", d.DeliveryEvent, ArchiveEvent)
S = TypeVar("S", d.DeliveryBatch, CustomerRecord)


@functools.cache
def _converter() -> Any:
    from propcrm.serialization import make_converter

    # Personal data kept, as the stores keep tickets: a masked value could never be read back.
    return make_converter(reveal_pii=True)


def _encode(event: d.DeliveryEvent | ArchiveEvent) -> StreamRecord:
    data = _converter().unstructure(event)
    return StreamRecord(
        version=event.sequence,
        type=event.type,
        occurred_at=event.occurred_at,
        document=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    )


def _decode(kind: str, stream_id: str, record: StreamRecord, envelope: type[E], id_field: str) -> E:
    where = f"{kind} stream {stream_id!r} version {record.version}"
    try:
        data = json.loads(record.document)
    except ValueError as exc:
        raise StoreError(
            f"{where}: the stored document is not JSON ({exc})",
            hint="the row was changed outside propcrm; restore it from a backup",
        ) from None
    try:
        event: E = _converter().structure(data, envelope)
    except ValidationError as exc:
        # The paths only: the converter's messages quote the bad value, which in a stored
        # document may be personal data.
        raise ValidationError(
            [FieldError(path=e.path, message="not a valid value here") for e in exc.errors],
            subject=where,
            hint="the row was changed outside propcrm or written by another schema",
        ) from None
    if getattr(event, id_field) != stream_id or event.sequence != record.version:
        raise ValidationError.single(
            f"$.{id_field}",
            f"the document is event {event.event_id!r}, not version {record.version} of "
            f"{stream_id!r}",
            subject=where,
            hint="the row was changed outside propcrm; restore it from a backup",
        )
    return event


def _masked_member(member: FamilyMember) -> FamilyMember:
    return attrs.evolve(
        member, name=mask_name(member.name) or "*", phone=mask_phone(member.phone), birthday=None
    )


def _masked_event(event: ArchiveEvent) -> ArchiveEvent:
    """The event fit for display: personal values masked as ``CustomerRecord.masked`` does."""
    payload = event.payload
    masked: CustomerRegistered | CustomerChanged | TitleCertificateRecorded
    if isinstance(payload, CustomerRegistered | CustomerChanged):
        masked = attrs.evolve(
            payload,
            full_name=mask_name(payload.full_name),
            phone=mask_phone(payload.phone),
            id_number=mask_id_number(payload.id_number),
            address=mask_text(payload.address),
            email=mask_text(payload.email),
            birthday=None,
        )
        if payload.family is not None:
            masked = attrs.evolve(masked, family=tuple(_masked_member(m) for m in payload.family))
    elif isinstance(payload, TitleCertificateRecorded):
        masked = attrs.evolve(payload, certificate_no=mask_text(payload.certificate_no))
    else:
        return event
    return attrs.evolve(event, payload=masked)


def _streams_of(store: Store) -> AggregateStreams:
    if not isinstance(store, AggregateStreams):
        raise ValidationError.single(
            "$.store",
            f"{type(store).__name__} keeps no aggregate streams",
            hint="use a store with the AggregateStreams capability (memory://, sqlite:///…, "
            "PostgreSQL, MariaDB)",
        )
    return store


@attrs.frozen(kw_only=True)
class DeliveryOutcome:
    """What running one delivery command did.

    Attributes:
        batch: The batch after the command.
        events: The new events, in order.
        tickets: The warranty tickets issued after a handover (when the service has a
            ticket service), one outcome per defect; a repeated issue is marked ``duplicate``.
        attempts: How many times the command was decided (more than one after lost races).
    """

    batch: d.DeliveryBatch
    events: tuple[d.DeliveryEvent, ...]
    tickets: tuple[Outcome, ...] = ()
    attempts: int = 1


@attrs.frozen(kw_only=True)
class ArchiveOutcome:
    """What running one archive command did.

    Attributes:
        record: The record after the command, masked (read it in full with
            :meth:`ArchiveService.read_full`).
        events: The new events, in order, masked (read them in full with
            :meth:`ArchiveService.reveal_history`).
        attempts: How many times the command was decided (more than one after lost races).
    """

    record: CustomerRecord
    events: tuple[ArchiveEvent, ...]
    attempts: int = 1


class _StreamService(Generic[E, S]):
    """Load, decide, append with the expected version, retry lost races, tell the listeners.

    The listeners are the callables the service was given, then the subclass's telling hook on
    ``plugins`` (the process-wide plugins when ``None``, loaded on the first tell).
    """

    kind: str
    _envelope: type[E]
    _id_field: str
    _subject: str

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        max_attempts: int,
        listeners: Sequence[Callable[[S, Sequence[E]], None]],
        plugins: Plugins | None,
        company_id: str | None,
    ) -> None:
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
            raise ValidationError.single(
                "$.max_attempts", f"must be an integer ≥ 1, got {max_attempts!r}"
            )
        self.store = store
        self._streams = _streams_of(store)
        tenant = store.tenant
        if company_id is None:
            if tenant is None:
                raise ValidationError.single(
                    "$.company_id",
                    "an admin store keeps streams per company: say which company this service "
                    "works on",
                    hint="pass company_id=..., or open the store for that company",
                )
            company_id = tenant
        elif tenant is not None and company_id != tenant:
            raise PermissionDeniedError(
                f"company {company_id!r} is outside the store's tenant {tenant!r}",
                hint="open the store for that company, or an admin store with tenant=None",
            )
        #: The company whose aggregates this service reads and writes.
        self.company_id: str = company_id
        self.clock = clock
        self.max_attempts = max_attempts
        self.listeners: tuple[Callable[[S, Sequence[E]], None], ...] = tuple(listeners)
        self._plugins = plugins

    @property
    def plugins(self) -> Plugins:
        """The plugins this service tells (the process-wide ones are loaded on first use)."""
        if self._plugins is None:
            self._plugins = get_plugins()
        return self._plugins

    def now(self) -> datetime:
        """The clock's current time.

        Raises:
            ValidationError: The clock returned a naive datetime (path ``$.clock``).
        """
        return require_aware(self.clock(), "$.clock")

    # -- the aggregate's core, supplied by the subclass ------------------------------------

    def _replay(self, events: Sequence[E]) -> S:
        raise NotImplementedError

    def _apply(self, state: S | None, event: E) -> S:
        raise NotImplementedError

    def _company(self, state: S) -> str:
        return state.scope.company_id

    def _tell_plugins(self, state: S, events: tuple[E, ...]) -> None:
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------------------

    def _stored(self, stream_id: str) -> list[E]:
        """The aggregate's events as stored (personal data kept), in order."""
        return [
            _decode(self.kind, stream_id, record, self._envelope, self._id_field)
            for record in self._streams.read_stream(
                self.kind, stream_id, company_id=self.company_id
            )
        ]

    def _scoped(self, stream_id: str, actor: Actor | None, subject: str) -> list[E]:
        """The stored events, after checking the aggregate lies inside ``actor``'s scope."""
        events = self._stored(stream_id)
        if actor is not None and events:
            actor.require_covers(self._replay(events).scope, subject=subject)
        return events

    def _load(self, stream_id: str) -> S | None:
        history = self._stored(stream_id)
        return self._replay(history) if history else None

    def _require(self, stream_id: str) -> S:
        state = self._load(stream_id)
        if state is None:
            raise NotFoundError(self._subject, stream_id)
        return state

    def ids(self, *, after: str | None = None, limit: int = 100) -> Page[str]:
        """The ids of the service's company's aggregates of this kind, in code-point order.

        One page; pass the previous page's ``next_cursor`` as ``after``.
        """
        return self._streams.stream_ids(
            self.kind, company_id=self.company_id, after=after, limit=limit
        )

    def __iter__(self) -> Iterator[str]:
        """Every aggregate id of the service's company, page by page."""
        cursor = None
        while True:
            page = self.ids(after=cursor, limit=500)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- writing ---------------------------------------------------------------------------

    def _decide(self, state: S | None, command: Any, actor: Actor) -> list[E]:
        raise NotImplementedError

    def _creates(self, command: Any) -> bool:
        raise NotImplementedError

    def _run(self, stream_id: str, command: Any, actor: Actor) -> tuple[S, list[E], int]:
        attempt = 0
        while True:
            attempt += 1
            state = None if self._creates(command) else self._require(stream_id)
            expected = 0 if state is None else state.version
            events = self._decide(state, command, actor)
            after = state
            for event in events:
                after = self._apply(after, event)
            assert after is not None  # decide returns at least one event
            self._require_company(after, stream_id)
            try:
                self._streams.append_stream(
                    self.kind, stream_id, self.company_id, [_encode(e) for e in events], expected
                )
            except ConcurrencyError as exc:
                if self._creates(command):  # the id is taken: deciding again cannot succeed
                    raise AlreadyExistsError(
                        kind=self._subject,
                        key=stream_id,
                        actual_version=getattr(exc, "actual_version", None),
                    ) from exc
                if attempt >= self.max_attempts:
                    raise
                continue
            return after, events, attempt

    def _require_company(self, state: S, stream_id: str) -> None:
        if self._company(state) != self.company_id:
            raise PermissionDeniedError(
                f"{self._subject} {stream_id!r} of company {self._company(state)!r} is outside "
                f"this service's company {self.company_id!r}; nothing was written",
                hint="use a service (and store) for that company",
            )

    def _import(self, events: Sequence[E]) -> tuple[str, S]:
        """Append events decided elsewhere (the caller tells the listeners)."""
        if not events:
            raise ValidationError.single("$.events", "nothing to import")
        stream_id: str = getattr(events[0], self._id_field)
        history = self._stored(stream_id)
        expected = len(history)
        history.extend(events)
        # Replaying the whole history checks the events: one aggregate, contiguous, in order.
        state = self._replay(history)
        self._require_company(state, stream_id)
        self._streams.append_stream(
            self.kind, stream_id, self.company_id, [_encode(e) for e in events], expected
        )
        return stream_id, state

    def _tell(self, stream_id: str, state: S, events: Sequence[E]) -> None:
        """Tell every listener, then every plugin; one ``PluginError`` for all that failed."""
        told = tuple(events)
        failures = []
        for listener in self.listeners:
            try:
                listener(state, told)
            except Exception as exc:  # a listener's bug must not hide that the events are stored
                failures.append(f"listener {getattr(listener, '__name__', listener)!s}: {exc}")
        plugin_error: PluginError | None = None
        try:
            self._tell_plugins(state, told)
        except PluginError as exc:  # the facade ran every plugin before raising
            plugin_error = exc
            failures.append(exc.message)
        if failures:
            raise PluginError(
                f"events {told[0].sequence}-{told[-1].sequence} of {self._subject} "
                f"{stream_id!r} are stored, but {'; '.join(failures)}",
                hint="do not retry the command; replay the listener from the stored events",
            ) from plugin_error


class DeliveryService(_StreamService[d.DeliveryEvent, d.DeliveryBatch]):
    """Run delivery-batch commands against a store: load, decide, append, tell the listeners.

    Args:
        store: A store with the :class:`propcrm.stores.AggregateStreams` capability.
        delivery: The delivery flows (taxonomy, contractor register, permissions).
        clock: Returns the current time, aware; the system clock by default.
        max_attempts: How many times a command is decided before a ``ConcurrencyError`` is
            re-raised (at least 1).
        listeners: Called with the batch and its new events after every append.
        plugins: Told ``propcrm_delivery_events_stored`` after every append, after the
            listeners; the process-wide plugins (:func:`propcrm.plugins.get_plugins`, loaded on
            the first append) when ``None``.
        tickets: When given, the warranty tickets of a unit handed over with open defects are
            received through it right after the handover is stored (idempotent: their intake
            keys ``delivery:<batch>:<defect>`` make a repeat return the first ticket).
        ticket_actor: Who receives the warranty tickets.
        company_id: The company whose batches the service works on: the store's tenant by
            default; required with an admin store.

    Raises:
        ValidationError: The store keeps no aggregate streams, a bad ``max_attempts``, or an
            admin store without ``company_id``.
        PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
    """

    kind = DELIVERY_KIND
    _envelope = d.DeliveryEvent
    _id_field = "batch_id"
    _subject = "delivery batch"

    def __init__(
        self,
        store: Store,
        delivery: d.Delivery,
        *,
        clock: Clock = system_clock,
        max_attempts: int = 3,
        listeners: Sequence[DeliveryListener] = (),
        plugins: Plugins | None = None,
        tickets: TicketService | None = None,
        ticket_actor: Actor | None = None,
        company_id: str | None = None,
    ) -> None:
        super().__init__(
            store,
            clock=clock,
            max_attempts=max_attempts,
            listeners=listeners,
            plugins=plugins,
            company_id=company_id,
        )
        self.delivery = delivery
        self.tickets = tickets
        self.ticket_actor = ticket_actor or Actor.system("delivery")

    def _replay(self, events: Sequence[d.DeliveryEvent]) -> d.DeliveryBatch:
        return d.replay(events)

    def _apply(self, state: d.DeliveryBatch | None, event: d.DeliveryEvent) -> d.DeliveryBatch:
        return d.apply(state, event)

    def _decide(
        self, state: d.DeliveryBatch | None, command: d.DeliveryCommand, actor: Actor
    ) -> list[d.DeliveryEvent]:
        return self.delivery.handle(state, command, now=self.now(), actor=actor)

    def _creates(self, command: d.DeliveryCommand) -> bool:
        return isinstance(command, d.OpenDeliveryBatch)

    def _tell_plugins(self, state: d.DeliveryBatch, events: tuple[d.DeliveryEvent, ...]) -> None:
        self.plugins.delivery_events_stored(state, events)

    def history(self, batch_id: str, *, actor: Actor | None = None) -> list[d.DeliveryEvent]:
        """The batch's events, in order (empty when there is no such batch).

        For ``actor`` when given: checked against its org scope, as ``TicketService.events``.

        Raises:
            PermissionDeniedError: The batch lies outside the actor's scope.
            StoreError: A stored document is not JSON, or the store failed.
            ValidationError: A stored document is not an event of this batch.
        """
        return self._scoped(batch_id, actor, "batch")

    def get(self, batch_id: str, *, actor: Actor | None = None) -> d.DeliveryBatch:
        """The batch, replayed from its stream; for ``actor`` when given (its org scope).

        Raises:
            NotFoundError: No such batch in the store's tenant.
            PermissionDeniedError: The batch lies outside the actor's scope.
        """
        batch = self._require(batch_id)
        if actor is not None:
            actor.require_covers(batch.scope, subject="batch")
        return batch

    def execute(self, command: d.DeliveryCommand, *, actor: Actor) -> list[d.DeliveryEvent]:
        """Run ``command`` and return the new events (see :meth:`run`)."""
        return list(self.run(command, actor=actor).events)

    def run(self, command: d.DeliveryCommand, *, actor: Actor) -> DeliveryOutcome:
        """Run ``command``: load, decide, append, tell listeners and plugins, issue tickets.

        Returns:
            The batch after the command, its new events and the warranty tickets issued.

        Raises:
            DeliveryRefusedError: The command does not fit the batch; nothing was written.
            PermissionDeniedError: The actor may not issue it; nothing was written.
            ValidationError: A bad command for this batch; nothing was written.
            NotFoundError: No such batch in the service's company.
            AlreadyExistsError: Opening a batch whose id the company already uses; nothing
                was written.
            ConcurrencyError: Still losing the race after ``max_attempts``; nothing was written.
            PluginError: A listener or plugin failed after the events were stored.
            PropcrmError: Issuing a warranty ticket failed after the handover was stored
                (:meth:`issue_warranty_tickets` issues the rest again, idempotently).
        """
        batch, events, attempts = self._run(command.batch_id, command, actor)
        self._tell(command.batch_id, batch, events)
        tickets: tuple[Outcome, ...] = ()
        if self.tickets is not None and isinstance(command, d.HandOverUnit):
            tickets = self._issue(batch, command.unit_id)
        return DeliveryOutcome(
            batch=batch, events=tuple(events), tickets=tickets, attempts=attempts
        )

    def import_history(self, events: Sequence[d.DeliveryEvent]) -> d.DeliveryBatch:
        """Store a batch's events decided elsewhere (by ``Delivery.execute`` in memory).

        The events must continue the stored history (start at version 1 for a new batch):
        the whole history is replayed first, so a gap, a repeat, another batch's event or a
        history that does not fold is refused and nothing is written. Listeners and plugins are
        told; warranty tickets are not issued (use :meth:`issue_warranty_tickets`).

        Returns:
            The batch after the events.

        Raises:
            ValidationError: No events, or the history does not replay.
            ConcurrencyError: Another writer appended meanwhile; nothing was written.
        """
        batch_id, batch = self._import(events)
        self._tell(batch_id, batch, events)
        return batch

    def issue_warranty_tickets(self, batch_id: str, unit_id: str) -> tuple[Outcome, ...]:
        """Receive the warranty tickets of a handed-over unit through the ticket service.

        Safe to repeat: each ticket's intake key ``delivery:<batch>:<defect>`` makes a second
        issue return the first ticket (``Outcome.duplicate``).

        Raises:
            ValidationError: No ticket service was given, or the unit is not handed over.
            NotFoundError: No such batch.
        """
        if self.tickets is None:
            raise ValidationError.single(
                "$.tickets", "this delivery service has no ticket service to issue tickets with"
            )
        return self._issue(self.get(batch_id), unit_id)

    def _issue(self, batch: d.DeliveryBatch, unit_id: str) -> tuple[Outcome, ...]:
        assert self.tickets is not None
        return tuple(
            self.tickets.run(command, actor=self.ticket_actor)
            for command in d.warranty_tickets(batch, unit_id)
        )


class ArchiveService(_StreamService[ArchiveEvent, CustomerRecord]):
    """Run customer-archive commands against a store; read records masked or, logged, in full.

    Args:
        store: A store with the :class:`propcrm.stores.AggregateStreams` capability.
        clock: Returns the current time, aware; the system clock by default.
        max_attempts: How many times a command is decided before a ``ConcurrencyError`` is
            re-raised (at least 1).
        listeners: Called with the masked record and its new events after every append.
        audit: Receives one access per full read or revealed export, before the data is
            returned; the ``propcrm_audit_pii_access`` plugins of ``plugins`` by default.
        plugins: Told ``propcrm_archive_events_stored`` (masked, as the listeners) after every
            append, after the listeners, and behind the default audit sink; the process-wide
            plugins (:func:`propcrm.plugins.get_plugins`, loaded on first use) when ``None``.
        policy: Who may read personal data in full.
        company_id: The company whose customers the service works on: the store's tenant by
            default; required with an admin store.

    Raises:
        ValidationError: The store keeps no aggregate streams, a bad ``max_attempts``, or an
            admin store without ``company_id``.
        PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
    """

    kind = ARCHIVE_KIND
    _envelope = ArchiveEvent
    _id_field = "customer_id"
    _subject = "customer"

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = system_clock,
        max_attempts: int = 3,
        listeners: Sequence[ArchiveListener] = (),
        audit: AuditSink | None = None,
        plugins: Plugins | None = None,
        policy: PiiPolicy = DEFAULT_PII_POLICY,
        company_id: str | None = None,
    ) -> None:
        super().__init__(
            store,
            clock=clock,
            max_attempts=max_attempts,
            listeners=listeners,
            plugins=plugins,
            company_id=company_id,
        )
        self._audit = audit
        self.policy = policy

    @property
    def audit(self) -> AuditSink:
        """Where full reads are recorded."""
        if self._audit is None:
            self._audit = self.plugins.audit_pii_access
        return self._audit

    def _replay(self, events: Sequence[ArchiveEvent]) -> CustomerRecord:
        return archive_replay(events)

    def _apply(self, state: CustomerRecord | None, event: ArchiveEvent) -> CustomerRecord:
        return archive_apply(state, event)

    def _decide(
        self, state: CustomerRecord | None, command: ArchiveCommand, actor: Actor
    ) -> list[ArchiveEvent]:
        return archive_decide(state, command, now=self.now(), actor=actor)

    def _creates(self, command: ArchiveCommand) -> bool:
        return isinstance(command, RegisterCustomer)

    def _tell_plugins(self, state: CustomerRecord, events: tuple[ArchiveEvent, ...]) -> None:
        # ``_stored_then_told`` masks both before any listener or plugin sees them.
        self.plugins.archive_events_stored(state, events)

    def history(self, customer_id: str, *, actor: Actor | None = None) -> list[ArchiveEvent]:
        """The customer's events, in order, masked (no access is logged; empty if unknown).

        For ``actor`` when given: checked against its org scope. Read the events in full with
        :meth:`reveal_history`.

        Raises:
            PermissionDeniedError: The customer lies outside the actor's scope.
            StoreError: A stored document is not JSON, or the store failed.
            ValidationError: A stored document is not an event of this customer.
        """
        return [_masked_event(e) for e in self._scoped(customer_id, actor, "customer")]

    def reveal_history(
        self, customer_id: str, *, actor: Actor, reason: str, ticket_id: str | None = None
    ) -> list[ArchiveEvent]:
        """The customer's events in full, after the audit sink recorded the access.

        As :meth:`read_full`: the PII policy must permit the actor and the access is recorded
        before anything is returned.

        Raises:
            NotFoundError: No such customer in the service's company.
            PermissionDeniedError: The PII policy does not permit the actor; nothing is logged.
            ValidationError: An empty reason.
            PluginError: An audit plugin failed; nothing is returned.
        """
        events = self._stored(customer_id)
        if not events:
            raise NotFoundError(self._subject, customer_id)
        self._audited(customer_id, archive_replay(events), actor, reason, ticket_id)
        return events

    def _audited(
        self,
        customer_id: str,
        record: CustomerRecord,
        actor: Actor,
        reason: str,
        ticket_id: str | None,
    ) -> CustomerRecord:
        return archive_read_full(
            {customer_id: record},
            customer_id,
            actor=actor,
            reason=reason,
            audit=self.audit,
            at=self.now(),
            ticket_id=ticket_id,
            policy=self.policy,
        )

    def get(self, customer_id: str, *, actor: Actor | None = None) -> CustomerRecord:
        """The record, masked (no access is logged); for ``actor`` when given (its org scope).

        Raises:
            NotFoundError: No such customer in the store's tenant.
            PermissionDeniedError: The customer lies outside the actor's scope.
        """
        record = self._require(customer_id)
        if actor is not None:
            actor.require_covers(record.scope, subject="customer")
        return record.masked()

    def read_full(
        self, customer_id: str, *, actor: Actor, reason: str, ticket_id: str | None = None
    ) -> CustomerRecord:
        """The record in full, after the audit sink recorded the access (seed 001).

        Raises:
            NotFoundError: No such customer in the store's tenant.
            PermissionDeniedError: The PII policy does not permit the actor; nothing is logged.
            ValidationError: An empty reason.
            PluginError: An audit plugin failed; the record is not returned.
        """
        return self._audited(customer_id, self._require(customer_id), actor, reason, ticket_id)

    def export(
        self, customer_id: str, *, actor: Actor, reason: str, reveal: bool = False
    ) -> dict[str, Any]:
        """One person's data as JSON-ready data (PIPL access), masked unless ``reveal``.

        A revealed export needs the policy's permission and is recorded like a full read.
        """
        record = self._require(customer_id)
        return export_personal_data(
            record,
            actor=actor,
            at=self.now(),
            reason=reason,
            audit=self.audit,
            reveal=reveal,
            policy=self.policy,
        )

    def execute(self, command: ArchiveCommand, *, actor: Actor) -> list[ArchiveEvent]:
        """Run ``command`` and return the new events (see :meth:`run`)."""
        return list(self.run(command, actor=actor).events)

    def run(self, command: ArchiveCommand, *, actor: Actor) -> ArchiveOutcome:
        """Run ``command``: load, decide, append, tell listeners and plugins; redact if erased.

        The outcome, the listeners and the plugins get the masked record and masked events.

        Raises:
            VerificationError: The evidence does not match the record; nothing was written.
            ArchiveRefusedError: The command does not fit the record; nothing was written.
            PermissionDeniedError: The actor may not issue it; nothing was written.
            ValidationError: A bad command for this record; nothing was written.
            NotFoundError: No such customer in the service's company.
            AlreadyExistsError: Registering a customer id the company already uses; nothing
                was written.
            ConcurrencyError: Still losing the race after ``max_attempts``, and nothing was
                written; or, after an erasure was stored, its redaction kept losing races with
                other writers (the erasure stands: call :meth:`redact_erased` or
                :meth:`redact_all_erased` again).
            StoreError: The erasure is stored but its redaction failed (as above); raised even
                when a listener failed too.
            PluginError: A listener or plugin failed after the events were stored (do not retry).
        """
        record, events, attempts = self._run(command.customer_id, command, actor)
        erased = isinstance(command, EraseCustomer)
        masked = self._stored_then_told(command.customer_id, record, events, redact_now=erased)
        return ArchiveOutcome(
            record=masked, events=tuple(_masked_event(e) for e in events), attempts=attempts
        )

    def _stored_then_told(
        self,
        customer_id: str,
        record: CustomerRecord,
        events: Sequence[ArchiveEvent],
        *,
        redact_now: bool,
    ) -> CustomerRecord:
        """Redact (after an erasure), then tell listeners and plugins, masked; the record, masked.

        The events are stored: the listeners hear of them even if redaction failed, and then
        the redaction's error is raised (it calls for a retry of the redaction), not the
        listener's ``PluginError`` (which says not to retry).
        """
        masked = record.masked()
        redaction_error: PropcrmError | None = None
        if redact_now:
            try:
                self.redact_erased(customer_id)
            except PropcrmError as exc:
                redaction_error = exc
        try:
            self._tell(customer_id, masked, [_masked_event(e) for e in events])
        except PluginError:
            if redaction_error is None:
                raise
        if redaction_error is not None:
            raise redaction_error
        return masked

    def import_history(self, events: Sequence[ArchiveEvent]) -> CustomerRecord:
        """Store a record's events decided elsewhere (by ``customers.decide`` in memory).

        As :meth:`DeliveryService.import_history`: the events continue the stored history,
        which is replayed first; the masked record is returned and told to the listeners and
        plugins with the events masked. An imported erasure is redacted like one run here.

        Raises:
            ValidationError: No events, or the history does not replay.
            ConcurrencyError: Another writer appended meanwhile; nothing was written.
        """
        customer_id, record = self._import(events)
        return self._stored_then_told(customer_id, record, events, redact_now=record.erased)

    def redact_erased(self, customer_id: str) -> int:
        """Rewrite an erased customer's stored events without their personal values.

        :meth:`run` does it right after an erasure; call it again if that failed half-way (it
        is idempotent). Events appended after the erasure hold no personal data.

        Returns:
            How many stored events were rewritten (0 when nothing personal was left).

        Raises:
            ValidationError: The customer is not erased.
            NotFoundError: No such customer.
        """
        for attempt in range(1, self.max_attempts + 1):
            history = self._stored(customer_id)
            if not history:
                raise NotFoundError("customer", customer_id)
            record = archive_replay(history)
            if not record.erased:
                raise ValidationError.single(
                    "$.customer_id",
                    f"customer {customer_id!r} is not erased",
                    hint="erase with EraseCustomer first",
                )
            changed = [
                _encode(new)
                for old, new in zip(history, redact(history), strict=True)
                if new != old
            ]
            if not changed:
                return 0
            try:
                self._streams.rewrite_stream(
                    self.kind, customer_id, self.company_id, changed, record.version
                )
            except ConcurrencyError:
                if attempt >= self.max_attempts:
                    raise
                continue
            return len(changed)
        raise AssertionError("unreachable")  # pragma: no cover

    def redact_all_erased(self) -> dict[str, int]:
        """Redact every erased customer whose stored events still hold personal data.

        The sweep after a process died between an erasure and its rewrite; idempotent. Run it
        at start-up or from a scheduler; it reads every customer stream of the company.

        Returns:
            Customer id → how many events were rewritten, for the customers it changed.

        Raises:
            StoreError: The store failed (the customers done so far stay redacted).
            ConcurrencyError: A customer's redaction kept losing races; run it again.
        """
        done: dict[str, int] = {}
        for customer_id in self:
            history = self._stored(customer_id)
            if not history or not archive_replay(history).erased:
                continue
            if any(new != old for old, new in zip(history, redact(history), strict=True)):
                count = self.redact_erased(customer_id)
                if count:
                    done[customer_id] = count
        return done
