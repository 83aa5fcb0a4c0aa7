"""Commands: what someone asks the lifecycle to do to a ticket.

A command is a request, not a fact: :meth:`propcrm.workflow.Lifecycle.handle` decides it against
the ticket's state and the rules, and either returns the events it leads to or refuses it with a
typed error. Each command class names its rule name in ``name`` (``"dispatch"``, ``"close"`` …);
:class:`propcrm.workflow.LifecycleRules` refers to commands by that name.

Fields are validated on construction: a command that exists is well formed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, TypeAlias

import attrs

from propcrm._validation import member_of, non_empty_str, optional_aware_datetime
from propcrm.errors import ValidationError
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
    "COMMAND_TYPES",
    "AcceptTicket",
    "AddWorkLog",
    "ApproveAbnormalClose",
    "ArriveOnSite",
    "BounceBack",
    "ClassifyTicket",
    "CloseTicket",
    "Command",
    "CompleteWork",
    "DispatchTicket",
    "EscalateTicket",
    "MarkComplaintInvalid",
    "MergeAsDuplicate",
    "PauseWork",
    "ReassignTicket",
    "ReceiveTicket",
    "RecordFollowUp",
    "RecordRevisit",
    "RejectAbnormalClose",
    "ReopenTicket",
    "RequestAbnormalClose",
    "RespondToCustomer",
    "ResumeWork",
    "StartWork",
    "VoidTicket",
]


def _optional_non_empty(
    _instance: object, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is not None:
        non_empty_str(_instance, attribute, value)


def _non_negative_decimal(
    _instance: object, attribute: attrs.Attribute[Decimal | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"must be a non-negative Decimal, got {value!r}",
            hint="pass money as Decimal('12.50'), never as float",
        )


@attrs.frozen(kw_only=True)
class ReceiveTicket:
    """Take in a new request (受理). The only command that creates a ticket.

    Attributes:
        ticket_id: The new ticket's id (the service makes one if the caller has none).
        kind: Complaint, repair, inquiry, suggestion or praise.
        channel: Where it came in.
        scope: The tenant chain down to the project.
        description: The owner's words.
        priority: P1–P4; defaults to P3, ordinary repair.
        severity: Minor or major.
        category_code: Taxonomy item, if already known at intake.
        taxonomy_version: The taxonomy version of ``category_code``.
        location: Where the issue is.
        reporter: The customer who reported it.
        responsible_party: The party expected to handle it, if known.
        idempotency_key: A key from the intake channel; the same key twice makes one ticket.
    """

    name: ClassVar[str] = "receive"
    ticket_id: str = attrs.field(validator=non_empty_str)
    kind: TicketKind = attrs.field(validator=member_of(TicketKind))
    channel: Channel = attrs.field(validator=member_of(Channel))
    scope: OrgScope
    description: str = attrs.field(validator=non_empty_str)
    priority: Priority = attrs.field(default=Priority.P3, validator=member_of(Priority))
    severity: Severity = attrs.field(default=Severity.MINOR, validator=member_of(Severity))
    category_code: str | None = attrs.field(default=None, validator=_optional_non_empty)
    taxonomy_version: str | None = None
    location: Location | None = None
    reporter: CustomerRef | None = None
    responsible_party: str | None = attrs.field(default=None, validator=_optional_non_empty)
    idempotency_key: str | None = attrs.field(default=None, validator=_optional_non_empty)


@attrs.frozen(kw_only=True)
class ClassifyTicket:
    """Classify the ticket, or correct its classification. Unset fields stay as they are."""

    name: ClassVar[str] = "classify"
    ticket_id: str = attrs.field(validator=non_empty_str)
    category_code: str | None = attrs.field(default=None, validator=_optional_non_empty)
    taxonomy_version: str | None = None
    kind: TicketKind | None = None
    priority: Priority | None = None
    severity: Severity | None = None
    responsible_party: str | None = attrs.field(default=None, validator=_optional_non_empty)


@attrs.frozen(kw_only=True)
class RespondToCustomer:
    """Answer the customer; the first answer stops the first-response clock."""

    name: ClassVar[str] = "respond"
    ticket_id: str = attrs.field(validator=non_empty_str)
    message: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class DispatchTicket:
    """Send the ticket to a responsible party, an assignee, or both (派单)."""

    name: ClassVar[str] = "dispatch"
    ticket_id: str = attrs.field(validator=non_empty_str)
    party: str | None = attrs.field(default=None, validator=_optional_non_empty)
    assignee: str | None = attrs.field(default=None, validator=_optional_non_empty)
    note: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.party is None and self.assignee is None:
            raise ValidationError.single("$.party", "dispatch needs a party or an assignee")


@attrs.frozen(kw_only=True)
class AcceptTicket:
    """The handler accepts the dispatched ticket (接单)."""

    name: ClassVar[str] = "accept"
    ticket_id: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class BounceBack:
    """The handler refuses the ticket and sends it back for dispatch (退单), with a reason."""

    name: ClassVar[str] = "bounce_back"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class ReassignTicket:
    """Move the ticket to another party or assignee (改派)."""

    name: ClassVar[str] = "reassign"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)
    party: str | None = attrs.field(default=None, validator=_optional_non_empty)
    assignee: str | None = attrs.field(default=None, validator=_optional_non_empty)

    def __attrs_post_init__(self) -> None:
        if self.party is None and self.assignee is None:
            raise ValidationError.single("$.party", "reassign needs a party or an assignee")


@attrs.frozen(kw_only=True)
class ArriveOnSite:
    """The handler arrives on site (到场)."""

    name: ClassVar[str] = "arrive"
    ticket_id: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class StartWork:
    """Work begins."""

    name: ClassVar[str] = "start"
    ticket_id: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class PauseWork:
    """Work stops for a reason outside the handler's control (e.g. 待料, waiting for parts)."""

    name: ClassVar[str] = "pause"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: PauseReason = attrs.field(validator=member_of(PauseReason))
    note: str | None = None
    expected_resume_at: datetime | None = attrs.field(
        default=None, validator=optional_aware_datetime
    )


@attrs.frozen(kw_only=True)
class ResumeWork:
    """Work resumes where it stopped."""

    name: ClassVar[str] = "resume"
    ticket_id: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class CompleteWork:
    """The handler finished the work, with the result and optionally cost and materials."""

    name: ClassVar[str] = "complete"
    ticket_id: str = attrs.field(validator=non_empty_str)
    result: str = attrs.field(validator=non_empty_str)
    cost: Decimal | None = attrs.field(default=None, validator=_non_negative_decimal)
    materials: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(kw_only=True)
class RecordRevisit:
    """Record a revisit (回访): the customer's satisfaction and whether the issue is resolved."""

    name: ClassVar[str] = "record_revisit"
    ticket_id: str = attrs.field(validator=non_empty_str)
    satisfaction: Satisfaction = attrs.field(validator=member_of(Satisfaction))
    resolved: bool = attrs.field(validator=attrs.validators.instance_of(bool))
    channel: Channel = attrs.field(default=Channel.HOTLINE, validator=member_of(Channel))
    comment: str | None = None


@attrs.frozen(kw_only=True)
class CloseTicket:
    """Close the ticket (消单)."""

    name: ClassVar[str] = "close"
    ticket_id: str = attrs.field(validator=non_empty_str)
    note: str | None = None


@attrs.frozen(kw_only=True)
class ReopenTicket:
    """Reopen a completed or closed ticket, inside the rules' reopen window."""

    name: ClassVar[str] = "reopen"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class EscalateTicket:
    """Escalate up the ladder (team lead → department head → management), with a reason."""

    name: ClassVar[str] = "escalate"
    ticket_id: str = attrs.field(validator=non_empty_str)
    level: EscalationLevel = attrs.field(validator=member_of(EscalationLevel))
    reason: str = attrs.field(validator=non_empty_str)

    def __attrs_post_init__(self) -> None:
        if self.level is EscalationLevel.NONE:
            raise ValidationError.single("$.level", "escalate to a level above 'none'")


@attrs.frozen(kw_only=True)
class MergeAsDuplicate:
    """Merge the ticket into another one that reports the same issue."""

    name: ClassVar[str] = "merge"
    ticket_id: str = attrs.field(validator=non_empty_str)
    into_ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.into_ticket_id == self.ticket_id:
            raise ValidationError.single("$.into_ticket_id", "a ticket cannot duplicate itself")


@attrs.frozen(kw_only=True)
class VoidTicket:
    """Void the ticket (作废): it was taken in by mistake."""

    name: ClassVar[str] = "void"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class MarkComplaintInvalid:
    """Judge a complaint invalid (out of scope, unverifiable, duplicate)."""

    name: ClassVar[str] = "mark_invalid"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class RequestAbnormalClose:
    """Ask to close the ticket abnormally (非正常关闭); the rules name who must approve."""

    name: ClassVar[str] = "request_abnormal_close"
    ticket_id: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class ApproveAbnormalClose:
    """One approving party signs off the pending abnormal close."""

    name: ClassVar[str] = "approve_abnormal_close"
    ticket_id: str = attrs.field(validator=non_empty_str)
    party: str = attrs.field(validator=non_empty_str)
    comment: str | None = None


@attrs.frozen(kw_only=True)
class RejectAbnormalClose:
    """One approving party rejects the pending abnormal close."""

    name: ClassVar[str] = "reject_abnormal_close"
    ticket_id: str = attrs.field(validator=non_empty_str)
    party: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class AddWorkLog:
    """Add a work-log entry (工作日志)."""

    name: ClassVar[str] = "add_work_log"
    ticket_id: str = attrs.field(validator=non_empty_str)
    note: str = attrs.field(validator=non_empty_str)


@attrs.frozen(kw_only=True)
class RecordFollowUp:
    """Record a follow-up contact with the customer (跟进)."""

    name: ClassVar[str] = "record_follow_up"
    ticket_id: str = attrs.field(validator=non_empty_str)
    note: str = attrs.field(validator=non_empty_str)
    channel: Channel = attrs.field(default=Channel.HOTLINE, validator=member_of(Channel))


#: The union of every ticket command `Lifecycle.handle` accepts.
Command: TypeAlias = (
    ReceiveTicket
    | ClassifyTicket
    | RespondToCustomer
    | DispatchTicket
    | AcceptTicket
    | BounceBack
    | ReassignTicket
    | ArriveOnSite
    | StartWork
    | PauseWork
    | ResumeWork
    | CompleteWork
    | RecordRevisit
    | CloseTicket
    | ReopenTicket
    | EscalateTicket
    | MergeAsDuplicate
    | VoidTicket
    | MarkComplaintInvalid
    | RequestAbnormalClose
    | ApproveAbnormalClose
    | RejectAbnormalClose
    | AddWorkLog
    | RecordFollowUp
)

#: Every command class by its rule name.
COMMAND_TYPES: dict[str, type[Command]] = {
    cls.name: cls
    for cls in (
        ReceiveTicket,
        ClassifyTicket,
        RespondToCustomer,
        DispatchTicket,
        AcceptTicket,
        BounceBack,
        ReassignTicket,
        ArriveOnSite,
        StartWork,
        PauseWork,
        ResumeWork,
        CompleteWork,
        RecordRevisit,
        CloseTicket,
        ReopenTicket,
        EscalateTicket,
        MergeAsDuplicate,
        VoidTicket,
        MarkComplaintInvalid,
        RequestAbnormalClose,
        ApproveAbnormalClose,
        RejectAbnormalClose,
        AddWorkLog,
        RecordFollowUp,
    )
}
