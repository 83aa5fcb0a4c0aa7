"""propcrm: the customer-service loop of Chinese real-estate developers, as a Python SDK.

The most used names are re-exported here; each subpackage documents its own:

- :mod:`propcrm.model`: domain values (organisation, locations, customers, tickets);
- :mod:`propcrm.workflow`: the ticket lifecycle (commands, events, rules, replay);
- :mod:`propcrm.taxonomy`: the standard issue taxonomy and statutory warranty;
- :mod:`propcrm.customers`: the customer archive (verified changes, logged reads, PIPL rights);
- :mod:`propcrm.serialization`: JSON at the edges;
- :mod:`propcrm.stores`: memory and SQL stores behind one contract (``open_store``);
- :mod:`propcrm.plugins`: the ``propcrm_*`` hooks and the plugin manager;
- :mod:`propcrm.service`: ``TicketService``, the facade that loads, decides, saves and tells;
- :mod:`propcrm.errors`: the exception hierarchy.
"""

from __future__ import annotations

from propcrm import customers, errors, taxonomy
from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    PropcrmError,
    StoreError,
    ValidationError,
)
from propcrm.model import (
    Actor,
    Channel,
    CustomerRef,
    Location,
    OrgScope,
    OrgTree,
    OrgUnit,
    PauseReason,
    Priority,
    Role,
    Satisfaction,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)
from propcrm.service import TicketService
from propcrm.stores import MemoryStore, Store, TicketQuery, open_store
from propcrm.workflow import Event, Lifecycle, LifecycleRules, apply, replay

__all__ = [
    "Actor",
    "Channel",
    "ConcurrencyError",
    "CustomerRef",
    "DuplicateIntakeError",
    "Event",
    "InvalidTransitionError",
    "Lifecycle",
    "LifecycleRules",
    "Location",
    "MemoryStore",
    "NotFoundError",
    "OrgScope",
    "OrgTree",
    "OrgUnit",
    "PauseReason",
    "PermissionDeniedError",
    "Priority",
    "PropcrmError",
    "Role",
    "Satisfaction",
    "Severity",
    "Store",
    "StoreError",
    "Ticket",
    "TicketKind",
    "TicketQuery",
    "TicketService",
    "TicketStatus",
    "ValidationError",
    "__version__",
    "apply",
    "customers",
    "errors",
    "open_store",
    "replay",
    "taxonomy",
]

__version__ = "0.1.0.dev0"
