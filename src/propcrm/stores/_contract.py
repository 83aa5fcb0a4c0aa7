"""The store contract: what every storage backend provides, and the values it speaks in.

A store keeps tickets as their event histories plus the folded ticket (a cache a store may
rebuild from the events at any time). It is opened for one tenant (a company id) or, for
administration only, for all tenants. It never returns data of another tenant: a ticket of
another company is simply *not found*.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

import attrs

from propcrm._validation import aware_datetime, non_empty_str, optional_aware_datetime
from propcrm.errors import ConcurrencyError, PermissionDeniedError, PropcrmError, ValidationError
from propcrm.model import CustomerRef, OrgTree, OrgUnit, Ticket, TicketKind, TicketStatus
from propcrm.workflow import Event

__all__ = [
    "MAX_STREAM_ID_LENGTH",
    "MAX_STREAM_TYPE_LENGTH",
    "AggregateStreams",
    "NotificationLedger",
    "Page",
    "Store",
    "StoreFactory",
    "StoredEvent",
    "StoredStreamRecord",
    "StreamConcurrencyError",
    "StreamRecord",
    "TicketQuery",
    "check_stream_page",
    "check_stream_read",
    "check_stream_write",
]

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


# -- aggregate streams (an optional capability) ------------------------------------------------

#: The longest stream (and company) id a store must keep (the SQL stores' id columns).
MAX_STREAM_ID_LENGTH = 255
#: The longest record type a store must keep (the SQL stores' ``type`` column).
MAX_STREAM_TYPE_LENGTH = 64
_KIND = re.compile(r"[a-z][a-z0-9_.-]{0,63}")


def _json_object_text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    # A cheap shape check on every record; the write path parses the text in full
    # (check_stream_write), reads trust what the store wrote. The message never quotes the
    # document: it may hold personal data.
    if not isinstance(value, str):
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"must be the JSON text of an object, got a {type(value).__name__}",
        )
    if not value.lstrip().startswith("{"):
        raise ValidationError.single(
            f"$.{attribute.name}", "must be the JSON text of an object (it does not start with '{')"
        )


def _record_type(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    non_empty_str(instance, attribute, value)
    if len(value) > MAX_STREAM_TYPE_LENGTH:
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"must be at most {MAX_STREAM_TYPE_LENGTH} characters, got {len(value)}",
        )


def _version(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be an integer ≥ 1, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class StreamRecord:
    """One event of an aggregate's stream as a store keeps it: a few columns and a JSON document.

    The store never decodes ``document``: the aggregate's service writes it with the propcrm
    converter (personal data kept, as for tickets) and structures it back into the aggregate's
    envelope (``DeliveryEvent``, ``ArchiveEvent``), so a store needs no aggregate's types.
    ``repr`` leaves the document out, since it may hold personal data.

    Attributes:
        version: The event's place in its stream, 1 for the first (the envelope's ``sequence``).
        type: The event's wire type, e.g. ``"unit_handed_over"`` (at most 64 characters).
        occurred_at: When it happened; timezone-aware (stores may return it in UTC).
        document: The JSON text of the whole envelope, an object.
    """

    version: int = attrs.field(validator=_version)
    type: str = attrs.field(validator=_record_type)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    document: str = attrs.field(validator=_json_object_text, repr=False)


@attrs.frozen(kw_only=True)
class StoredStreamRecord:
    """A stream record with where it sits: its stream, its company and its global position.

    Attributes:
        position: The record's place in the store's order of its kind (strictly increasing).
        stream_id: The stream (aggregate) id.
        company_id: The company the stream belongs to.
        record: The record.
    """

    position: int
    stream_id: str
    company_id: str
    record: StreamRecord


class StreamConcurrencyError(ConcurrencyError):
    """A stream write was based on a stale version; nothing was written.

    A ``ConcurrencyError`` (catch either); ``ticket_id`` holds the stream id.

    Args:
        kind: The stream kind, e.g. ``"delivery_batch"``.
        stream_id: The stream.
        expected_version: The version the writer read.
        actual_version: The version the company's stream is at (streams are per company, so
            another company's stream of the same id is never involved).
    """

    def __init__(
        self, *, kind: str, stream_id: str, expected_version: int, actual_version: int
    ) -> None:
        self.kind = kind
        self.stream_id = stream_id
        self.ticket_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        PropcrmError.__init__(
            self,
            f"{kind} stream {stream_id!r} is at version {actual_version}, "
            f"not the expected {expected_version}; nothing was written",
            hint="reload the stream, decide the command again and retry the write",
        )


def _check_kind(kind: object, subject: str) -> None:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValidationError.single(
            "$.kind",
            f"must be lower-case ASCII letters, digits, '_', '.' or '-' (1 to 64, a letter "
            f"first), got {kind!r}",
            subject=subject,
        )


def _check_id(path: str, value: object, subject: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.single(
            path, f"must be a non-empty string, got {value!r}", subject=subject
        )
    if len(value) > MAX_STREAM_ID_LENGTH:
        raise ValidationError.single(
            path, f"must be at most {MAX_STREAM_ID_LENGTH} characters", subject=subject
        )
    if not _encodable(value):
        raise ValidationError.single(
            path, "holds a lone surrogate (not encodable as UTF-8)", subject=subject
        )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_count(path: str, value: object, least: int, subject: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValidationError.single(
            path, f"must be an integer ≥ {least}, got {value!r}", subject=subject
        )


def _stream_company(tenant: str | None, company_id: str | None, subject: str) -> str | None:
    if company_id is None:
        return tenant
    _check_id("$.company_id", company_id, subject)
    if tenant is not None and company_id != tenant:
        raise PermissionDeniedError(
            f"company {company_id!r} is outside this store's tenant {tenant!r}",
            hint="open the store for that company, or an admin store with tenant=None",
        )
    return company_id


_NO_STREAM = object()


def check_stream_read(
    tenant: str | None,
    kind: str,
    company_id: str | None,
    *,
    stream_id: object = _NO_STREAM,
    after_version: int = 0,
    after_position: int = 0,
    batch_size: int = 1,
    every_company: bool = False,
) -> str | None:
    """The checks every store makes before reading streams; the company the call reads.

    Used by ``read_stream``, ``stream_ids`` (with :func:`check_stream_page`) and
    ``iter_stream_records``.

    Streams are kept per company: a tenant store reads its tenant's (``company_id`` may be
    omitted or must be the tenant); an admin store must name the company, except where
    ``every_company`` allows reading all of them (``iter_stream_records``, whose records say
    their company).

    Args:
        tenant: The store's tenant (``None`` for an admin store).
        kind: The stream kind.
        company_id: The company the caller named, if any.
        stream_id: The stream id, for calls that read one stream.
        after_version: ``read_stream``'s lower bound (≥ 0).
        after_position: ``iter_stream_records``' lower bound (≥ 0).
        batch_size: ``iter_stream_records``' batch size (≥ 1).
        every_company: Whether an admin store may leave the company out (all companies).

    Returns:
        The company to read, or ``None`` for every company (an admin store, ``every_company``).

    Raises:
        ValidationError: A bad argument, at its path (``$.kind``, ``$.stream_id``,
            ``$.company_id``, ``$.after_version``, ``$.after_position``, ``$.batch_size``);
            an admin store that names no company where one is needed.
        PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
    """
    subject = "reading streams"
    _check_kind(kind, subject)
    if stream_id is not _NO_STREAM:
        _check_id("$.stream_id", stream_id, subject)
    _check_count("$.after_version", after_version, 0, subject)
    _check_count("$.after_position", after_position, 0, subject)
    _check_count("$.batch_size", batch_size, 1, subject)
    company = _stream_company(tenant, company_id, subject)
    if company is None and not every_company:
        raise ValidationError.single(
            "$.company_id",
            "an admin store keeps streams per company: name the company to read",
            subject=subject,
            hint="pass company_id=..., or open the store for that company",
        )
    return company


def check_stream_write(
    tenant: str | None,
    kind: str,
    stream_id: str,
    company_id: str,
    records: Sequence[StreamRecord],
    expected_version: int,
    *,
    rewrite: bool = False,
) -> None:
    """The checks every store makes before an ``append_stream`` or ``rewrite_stream``.

    Raises:
        ValidationError: A bad kind, id or expected version, records that are not
            :class:`StreamRecord` values, not numbered ``expected_version + 1`` onwards
            (appends) or not within the stream in increasing order (rewrites), or a document
            that is not a JSON object or not encodable as UTF-8 (a lone surrogate). Messages
            name the field and the problem, never the document's text.
        PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
    """
    subject = "rewrite_stream" if rewrite else "append_stream"
    _check_kind(kind, subject)
    _check_id("$.stream_id", stream_id, subject)
    _check_id("$.company_id", company_id, subject)
    _check_count("$.expected_version", expected_version, 0, subject)
    if not records:
        raise ValidationError.single("$.records", "nothing to write", subject=subject)
    previous = 0
    for index, record in enumerate(records):
        path = f"$.records[{index}]"
        if not isinstance(record, StreamRecord):
            raise ValidationError.single(
                path, f"expected a StreamRecord, got {type(record).__name__}", subject=subject
            )
        if rewrite:
            if not previous < record.version <= expected_version:
                raise ValidationError.single(
                    f"{path}.version",
                    f"a rewrite replaces stored versions 1 to {expected_version} in increasing "
                    f"order, got {record.version}",
                    subject=subject,
                )
        elif record.version != expected_version + index + 1:
            raise ValidationError.single(
                f"{path}.version",
                f"expected version {expected_version + index + 1}, got {record.version}",
                subject=subject,
                hint="number new records on from the stream's version, without gaps",
            )
        previous = record.version
        if len(record.type) > MAX_STREAM_TYPE_LENGTH:  # checked again: values can be forced
            raise ValidationError.single(
                f"{path}.type",
                f"must be at most {MAX_STREAM_TYPE_LENGTH} characters",
                subject=subject,
            )
        if not _encodable(record.type):
            raise ValidationError.single(
                f"{path}.type", "holds a lone surrogate (not encodable as UTF-8)", subject=subject
            )
        if not _encodable(record.document):
            raise ValidationError.single(
                f"{path}.document",
                "holds a lone surrogate (not encodable as UTF-8)",
                subject=subject,
            )
        try:
            parsed = json.loads(record.document)
        except ValueError as exc:
            # The position only: the decoder's message quotes nothing, but stay on the safe side.
            raise ValidationError.single(
                f"{path}.document",
                f"not JSON (at line {getattr(exc, 'lineno', '?')} column "
                f"{getattr(exc, 'colno', '?')})",
                subject=subject,
            ) from None
        if not isinstance(parsed, dict):
            raise ValidationError.single(
                f"{path}.document", "must be a JSON object", subject=subject
            )
    if tenant is not None and company_id != tenant:
        raise PermissionDeniedError(
            f"{kind} stream {stream_id!r} of company {company_id!r} is outside this store's "
            f"tenant {tenant!r}; nothing was written",
            hint="open the store for that company, or an admin store with tenant=None",
        )


def check_stream_page(limit: int, after: str | None) -> None:
    """Refuse a ``stream_ids`` page size outside 1 to 10,000 or a cursor that is not a string.

    Use it beside :func:`check_stream_read` (which checks the kind and the company).

    Raises:
        ValidationError: At ``$.limit`` or ``$.after``.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise ValidationError.single(
            "$.limit", f"must be an integer from 1 to 10000, got {limit!r}"
        )
    if after is not None and not isinstance(after, str):
        raise ValidationError.single("$.after", f"must be a cursor string, got {after!r}")


@runtime_checkable
class AggregateStreams(Protocol):
    """An optional store capability: append-only event streams of other aggregates.

    Tickets have their own tables; delivery batches, customer archives and any vendor
    aggregate keep their events here, one stream per ``(kind, company_id, stream_id)``: two
    companies may each have a batch ``"B1"``, and nothing about one company's stream is
    observable from another's. Records are versioned ``1, 2, 3 …`` without gaps; an append names
    the version it read and is refused (:class:`StreamConcurrencyError`, nothing written) when
    another writer got there first, so two processes can work on one stream safely.

    A tenant store reads, lists and writes only its company's streams (``company_id`` may be
    left out of reads; naming another company raises ``PermissionDeniedError``). An admin store
    (``tenant=None``) must name the company of every stream it reads or writes, as every write
    already does; only :meth:`iter_stream_records` may leave it out to read every company's.
    The built-in stores have it; ``propcrm.aggregates`` builds the delivery and archive
    services on it. A store checks its arguments with :func:`check_stream_write`,
    :func:`check_stream_read` and :func:`check_stream_page` (re-exported from
    ``propcrm.stores.helpers``).
    """

    def append_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> int:
        """Append ``records`` (versions ``expected_version + 1`` onwards), all or none.

        Args:
            kind: The aggregate kind, e.g. ``"delivery_batch"`` (lower-case ASCII).
            stream_id: The aggregate's id (unique per kind and company).
            company_id: The company the stream belongs to.
            records: The new records, in order.
            expected_version: The stream's version the writer read (0 for a new stream).

        Returns:
            The stream's new version.

        Raises:
            StreamConcurrencyError: The company's stream is not at ``expected_version``;
                nothing written.
            PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
            ValidationError: Bad arguments, misnumbered records, a type longer than 64
                characters, or a document that is not a JSON object or not valid UTF-8.
        """
        ...

    def read_stream(
        self,
        kind: str,
        stream_id: str,
        after_version: int = 0,
        *,
        company_id: str | None = None,
    ) -> list[StreamRecord]:
        """The company's stream's records above ``after_version``, in order.

        An unknown stream reads as empty (a stream at version 0). ``company_id`` defaults to
        a tenant store's tenant; an admin store must give it.

        Raises:
            ValidationError: Bad arguments (see :func:`check_stream_read`).
            PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
        """
        ...

    def stream_ids(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[str]:
        """The company's stream ids of ``kind`` in code-point order, one page.

        Pass the previous page's ``next_cursor`` as ``after``; ``limit`` is 1 to 10,000.
        ``company_id`` defaults to a tenant store's tenant; an admin store must give it.
        """
        ...

    def iter_stream_records(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after_position: int = 0,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredStreamRecord]]:
        """Every record of ``kind`` of the company after ``after_position``, in store order.

        For projections: resume from the last position seen. Batches hold at most
        ``batch_size`` records. A tenant store reads its tenant's; an admin store reads
        ``company_id``'s, or every company's when it is left out.
        """
        ...

    def rewrite_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> None:
        """Replace the documents of stored records, in place (PIPL erasure only).

        Versions, types and positions stay; the stream must still be at
        ``expected_version``. This is the one exception to append-only: it exists so that an
        erased person's data can be removed from the history (``customers.redact``).

        Raises:
            StreamConcurrencyError: The stream is not at ``expected_version``; nothing written.
            PermissionDeniedError: ``company_id`` is not the tenant of a tenant store.
            ValidationError: A record's version is not stored, versions not increasing, a
                record's type differs from the stored one, or a bad document.
        """
        ...
