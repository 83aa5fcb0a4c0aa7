"""Domain values: the organisation tree, locations, customers, actors and tickets.

Every value is a frozen, keyword-only attrs class validated on construction; a bad field raises
:class:`propcrm.errors.ValidationError` naming it.
"""

from __future__ import annotations

from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef, mask_id_number, mask_name, mask_phone
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
from propcrm.model.location import Location
from propcrm.model.org import OrgLevel, OrgScope, OrgTree, OrgUnit
from propcrm.model.survey import SurveyDefinition, SurveyQuestion, SurveyResponse
from propcrm.model.ticket import Ticket

__all__ = [
    "Actor",
    "AreaType",
    "Channel",
    "ClosureType",
    "ComplaintValidity",
    "CustomerRef",
    "EscalationLevel",
    "Location",
    "OrgLevel",
    "OrgScope",
    "OrgTree",
    "OrgUnit",
    "PauseReason",
    "Priority",
    "Role",
    "Satisfaction",
    "Severity",
    "SurveyDefinition",
    "SurveyQuestion",
    "SurveyResponse",
    "Ticket",
    "TicketKind",
    "TicketStatus",
    "mask_id_number",
    "mask_name",
    "mask_phone",
]
