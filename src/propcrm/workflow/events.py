"""Events: the immutable, append-only history of a ticket.

An :class:`Event` is an envelope (id, ticket, sequence, time, actor, schema version) around a
typed payload. Each payload class names its wire type in ``event_type``; the envelope's
:attr:`Event.type` is that name. Payloads hold facts only: the status a fact leads to is decided
by :func:`propcrm.workflow.apply`, the same way every time, so a history replays to the same
state even after the rules change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, TypeAlias

import attrs

from propcrm._validation import aware_datetime, non_empty_str, optional_aware_datetime, positive_int
from propcrm.errors import ValidationError
from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef
from propcrm.model.enums import (
    Channel,
    EscalationLevel,
    PauseReason,
    Priority,
    Satisfaction,
    Severity,
    TicketKind,
)
from propcrm.model.location import Location
from propcrm.model.org import OrgScope

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "AbnormalCloseApproved",
    "AbnormalCloseRejected",
    "AbnormalCloseRequested",
    "ComplaintMarkedInvalid",
    "CustomerResponded",
    "Event",
    "EventPayload",
    "FollowUpRecorded",
    "HandlerArrived",
    "RevisitRecorded",
    "TicketAccepted",
    "TicketBouncedBack",
    "TicketClassified",
    "TicketClosed",
    "TicketCompleted",
    "TicketDispatched",
    "TicketEscalated",
    "TicketMerged",
    "TicketPaused",
    "TicketReassigned",
    "TicketReceived",
    "TicketReopened",
    "TicketResumed",
    "TicketVoided",
    "WorkLogAdded",
    "WorkStarted",
]

#: The schema version written on new events. Bump it, and teach the converter to upgrade older
#: payloads, whenever a payload's fields change meaning.
EVENT_SCHEMA_VERSION = 1


def _non_negative_decimal(
    _instance: object, attribute: attrs.Attribute[Decimal | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a non-negative decimal amount, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class TicketReceived:
    """The request was taken in (受理)."""

    event_type: ClassVar[str] = "ticket_received"
    kind: TicketKind
    channel: Channel
    scope: OrgScope
    description: str
    priority: Priority = Priority.P3
    severity: Severity = Severity.MINOR
    category_code: str | None = None
    taxonomy_version: str | None = None
    location: Location | None = None
    reporter: CustomerRef | None = None
    responsible_party: str | None = None
    idempotency_key: str | None = None


@attrs.frozen(kw_only=True)
class TicketClassified:
    """The request was classified against the taxonomy, or its classification changed."""

    event_type: ClassVar[str] = "ticket_classified"
    category_code: str | None = None
    taxonomy_version: str | None = None
    kind: TicketKind | None = None
    priority: Priority | None = None
    severity: Severity | None = None
    responsible_party: str | None = None


@attrs.frozen(kw_only=True)
class CustomerResponded:
    """Someone answered the customer (the first one counts for first-response time)."""

    event_type: ClassVar[str] = "customer_responded"
    message: str


@attrs.frozen(kw_only=True)
class TicketDispatched:
    """The ticket was sent to a responsible party or assignee (派单)."""

    event_type: ClassVar[str] = "ticket_dispatched"
    party: str | None
    assignee: str | None
    note: str | None = None


@attrs.frozen(kw_only=True)
class TicketAccepted:
    """The handler accepted the ticket (接单)."""

    event_type: ClassVar[str] = "ticket_accepted"


@attrs.frozen(kw_only=True)
class TicketBouncedBack:
    """The handler refused the ticket and sent it back for dispatch (退单)."""

    event_type: ClassVar[str] = "ticket_bounced_back"
    reason: str


@attrs.frozen(kw_only=True)
class TicketReassigned:
    """The ticket moved to another party or assignee (改派)."""

    event_type: ClassVar[str] = "ticket_reassigned"
    party: str | None
    assignee: str | None
    reason: str


@attrs.frozen(kw_only=True)
class HandlerArrived:
    """The handler arrived on site (到场)."""

    event_type: ClassVar[str] = "handler_arrived"


@attrs.frozen(kw_only=True)
class WorkStarted:
    """Work began."""

    event_type: ClassVar[str] = "work_started"


@attrs.frozen(kw_only=True)
class TicketPaused:
    """Work stopped for a reason outside the handler's control."""

    event_type: ClassVar[str] = "ticket_paused"
    reason: PauseReason
    note: str | None = None
    expected_resume_at: datetime | None = attrs.field(
        default=None, validator=optional_aware_datetime
    )


@attrs.frozen(kw_only=True)
class TicketResumed:
    """Work resumed after a pause."""

    event_type: ClassVar[str] = "ticket_resumed"


@attrs.frozen(kw_only=True)
class TicketCompleted:
    """The handler finished the work (完成)."""

    event_type: ClassVar[str] = "ticket_completed"
    result: str
    cost: Decimal | None = attrs.field(default=None, validator=_non_negative_decimal)
    materials: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RevisitRecorded:
    """The customer was asked whether the issue is resolved (回访)."""

    event_type: ClassVar[str] = "revisit_recorded"
    satisfaction: Satisfaction
    resolved: bool
    channel: Channel = Channel.HOTLINE
    comment: str | None = None

    @property
    def is_unsatisfied(self) -> bool:
        """Whether the answer calls for a reopen: not resolved, or below basically satisfied."""
        return not self.resolved or not self.satisfaction.is_satisfied


@attrs.frozen(kw_only=True)
class TicketClosed:
    """The ticket was closed (消单), normally or after an approved abnormal close."""

    event_type: ClassVar[str] = "ticket_closed"
    abnormal: bool = False
    note: str | None = None


@attrs.frozen(kw_only=True)
class TicketReopened:
    """The ticket was reopened, by request or automatically after an unsatisfied revisit."""

    event_type: ClassVar[str] = "ticket_reopened"
    reason: str
    automatic: bool = False


@attrs.frozen(kw_only=True)
class TicketEscalated:
    """The ticket was escalated up the ladder."""

    event_type: ClassVar[str] = "ticket_escalated"
    level: EscalationLevel
    reason: str


@attrs.frozen(kw_only=True)
class TicketMerged:
    """The ticket was merged into another as a duplicate."""

    event_type: ClassVar[str] = "ticket_merged"
    into_ticket_id: str
    reason: str | None = None


@attrs.frozen(kw_only=True)
class TicketVoided:
    """The ticket was voided (作废): taken in by mistake, never a real request."""

    event_type: ClassVar[str] = "ticket_voided"
    reason: str


@attrs.frozen(kw_only=True)
class ComplaintMarkedInvalid:
    """The complaint was judged invalid: out of scope, unverifiable or a duplicate."""

    event_type: ClassVar[str] = "complaint_marked_invalid"
    reason: str


@attrs.frozen(kw_only=True)
class AbnormalCloseRequested:
    """An abnormal close (非正常关闭) was requested; it needs every listed party's approval."""

    event_type: ClassVar[str] = "abnormal_close_requested"
    reason: str
    approvers: frozenset[str]


@attrs.frozen(kw_only=True)
class AbnormalCloseApproved:
    """One party approved the pending abnormal close."""

    event_type: ClassVar[str] = "abnormal_close_approved"
    party: str
    comment: str | None = None


@attrs.frozen(kw_only=True)
class AbnormalCloseRejected:
    """One party rejected the pending abnormal close; the ticket returns to where it was."""

    event_type: ClassVar[str] = "abnormal_close_rejected"
    party: str
    reason: str


@attrs.frozen(kw_only=True)
class WorkLogAdded:
    """A work-log entry (工作日志)."""

    event_type: ClassVar[str] = "work_log_added"
    note: str


@attrs.frozen(kw_only=True)
class FollowUpRecorded:
    """A follow-up contact with the customer (跟进)."""

    event_type: ClassVar[str] = "follow_up_recorded"
    note: str
    channel: Channel = Channel.HOTLINE


#: The union of every ticket event payload; an `Event` envelope carries one of them.
EventPayload: TypeAlias = (
    TicketReceived
    | TicketClassified
    | CustomerResponded
    | TicketDispatched
    | TicketAccepted
    | TicketBouncedBack
    | TicketReassigned
    | HandlerArrived
    | WorkStarted
    | TicketPaused
    | TicketResumed
    | TicketCompleted
    | RevisitRecorded
    | TicketClosed
    | TicketReopened
    | TicketEscalated
    | TicketMerged
    | TicketVoided
    | ComplaintMarkedInvalid
    | AbnormalCloseRequested
    | AbnormalCloseApproved
    | AbnormalCloseRejected
    | WorkLogAdded
    | FollowUpRecorded
)

#: Every payload class by its wire name.
EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.event_type: cls
    for cls in (
        TicketReceived,
        TicketClassified,
        CustomerResponded,
        TicketDispatched,
        TicketAccepted,
        TicketBouncedBack,
        TicketReassigned,
        HandlerArrived,
        WorkStarted,
        TicketPaused,
        TicketResumed,
        TicketCompleted,
        RevisitRecorded,
        TicketClosed,
        TicketReopened,
        TicketEscalated,
        TicketMerged,
        TicketVoided,
        ComplaintMarkedInvalid,
        AbnormalCloseRequested,
        AbnormalCloseApproved,
        AbnormalCloseRejected,
        WorkLogAdded,
        FollowUpRecorded,
    )
}


@attrs.frozen(kw_only=True)
class Event:
    """One immutable fact in a ticket's history.

    Attributes:
        event_id: Globally unique id; ``"<ticket_id>/<sequence>"`` for events the lifecycle makes.
        ticket_id: The ticket the event belongs to.
        sequence: Position in the ticket's history, 1 for intake; equals the ticket's version
            after the event is applied.
        occurred_at: When it happened; timezone-aware (naive datetimes are refused).
        actor: Who did it.
        payload: The typed facts.
        schema_version: The payload schema version it was written with.
    """

    event_id: str = attrs.field(validator=non_empty_str)
    ticket_id: str = attrs.field(validator=non_empty_str)
    sequence: int = attrs.field(validator=positive_int)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    actor: Actor
    payload: EventPayload
    schema_version: int = EVENT_SCHEMA_VERSION

    @property
    def type(self) -> str:
        """The payload's wire name, e.g. ``"ticket_dispatched"``."""
        return self.payload.event_type
