"""The ticket: the state of one owner request, derived from its events.

A :class:`Ticket` is never edited. :func:`propcrm.workflow.replay` folds a ticket's events into
one, and :func:`propcrm.workflow.apply` folds one more event in. Every timestamp here is the
``occurred_at`` of the event that set it.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from propcrm.model.customer import CustomerRef
from propcrm.model.enums import (
    Channel,
    ClosureType,
    ComplaintValidity,
    EscalationLevel,
    PauseReason,
    Priority,
    Satisfaction,
    Severity,
    TicketKind,
    TicketStatus,
)
from propcrm.model.location import Location
from propcrm.model.org import OrgScope

__all__ = ["Ticket"]


@attrs.frozen(kw_only=True)
class Ticket:
    """One owner request (报事): a complaint, repair, inquiry, suggestion or praise.

    Attributes:
        ticket_id: Stable id, unique across tenants.
        kind: Complaint, repair, inquiry, suggestion or praise.
        channel: Where it came in.
        scope: The tenant chain down to the project.
        description: The owner's words.
        priority: P1 (life safety) to P4 (warranty repair).
        severity: Minor or major.
        category_code: The taxonomy item it is classified under, if classified.
        taxonomy_version: The taxonomy version the code belongs to.
        location: Where the issue is.
        reporter: The customer who reported it (personal data masked in ``repr``).
        responsible_party: The party it is dispatched to (e.g. ``"GC"``, ``"PM"``).
        assignee: The staff member handling it.
        status: Where it stands in the lifecycle.
        validity: For complaints, whether it counts in the valid-complaint KPIs.
        closure_type: Normal or abnormal, once closed.
        received_at: When it was taken in.
        first_response_at: The first response to the customer.
        dispatched_at: The first dispatch.
        accepted_at: The first acceptance by a handler.
        arrived_at: The first arrival on site.
        completed_at: The latest completion (cleared by a reopen).
        revisited_at: The latest revisit.
        closed_at: The latest close (cleared by a reopen).
        revisit_satisfaction: The latest revisit's answer (cleared by a reopen).
        revisit_resolved: Whether the latest revisit found the issue resolved.
        escalation_level: The highest escalation so far.
        reopen_count: How many times it was reopened.
        version: The sequence number of its latest event; 1 after intake.
        updated_at: When its latest event occurred.
        paused_since: When the current pause began, while paused.
        pause_reason: Why it is paused, while paused.
        paused_from: The status to resume to, while paused.
        abnormal_close_from: The status to return to if an abnormal close is rejected.
        abnormal_close_approvers: Parties whose approval an abnormal close still needs.
        abnormal_close_approvals: Parties that approved the pending abnormal close.
        merged_into: The ticket this one duplicates, once merged.
        last_follow_up_at: The latest follow-up contact (跟进) or work-log entry.
        idempotency_key: The intake key that makes a repeated submission one ticket.
    """

    ticket_id: str
    kind: TicketKind
    channel: Channel
    scope: OrgScope
    description: str
    priority: Priority
    severity: Severity
    category_code: str | None
    taxonomy_version: str | None
    location: Location | None
    reporter: CustomerRef | None
    responsible_party: str | None
    assignee: str | None
    status: TicketStatus
    validity: ComplaintValidity
    closure_type: ClosureType | None
    received_at: datetime
    first_response_at: datetime | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    arrived_at: datetime | None
    completed_at: datetime | None
    revisited_at: datetime | None
    closed_at: datetime | None
    revisit_satisfaction: Satisfaction | None
    revisit_resolved: bool | None
    escalation_level: EscalationLevel
    reopen_count: int
    version: int
    updated_at: datetime
    paused_since: datetime | None = None
    pause_reason: PauseReason | None = None
    paused_from: TicketStatus | None = None
    abnormal_close_from: TicketStatus | None = None
    abnormal_close_approvers: frozenset[str] = frozenset()
    abnormal_close_approvals: frozenset[str] = frozenset()
    merged_into: str | None = None
    last_follow_up_at: datetime | None = None
    idempotency_key: str | None = None

    @property
    def is_open(self) -> bool:
        """Whether the ticket still needs work or a decision (not closed, voided or merged)."""
        return self.status not in _NOT_OPEN


_NOT_OPEN = frozenset({TicketStatus.CLOSED, TicketStatus.VOIDED, TicketStatus.MERGED})
