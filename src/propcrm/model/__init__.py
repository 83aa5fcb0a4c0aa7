"""Domain values: the organisation tree, locations, customers and tickets."""

from __future__ import annotations

from propcrm.model.enums import (
    AreaType,
    Channel,
    ClosureType,
    ComplaintValidity,
    EscalationLevel,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    Severity,
    TicketKind,
    TicketStatus,
)

__all__ = [
    "AreaType",
    "Channel",
    "ClosureType",
    "ComplaintValidity",
    "EscalationLevel",
    "PauseReason",
    "Priority",
    "Role",
    "Satisfaction",
    "Severity",
    "TicketKind",
    "TicketStatus",
]
