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
- :mod:`propcrm.aggregates`: ``DeliveryService`` and ``ArchiveService``, delivery batches and
  customer records kept in a store;
- :mod:`propcrm.errors`: the exception hierarchy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below load on first use (see ``__getattr__``)
    from propcrm import customers, errors, taxonomy
    from propcrm.aggregates import ArchiveService, DeliveryService
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
    "ArchiveService",
    "Channel",
    "ConcurrencyError",
    "CustomerRef",
    "DeliveryService",
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

# Where each re-exported name lives. They load on first use, so that ``import propcrm.errors``
# or the command line's start-up does not build every value class of the package (~0.5 s).
_HOMES = {
    **dict.fromkeys(
        [
            "ConcurrencyError",
            "DuplicateIntakeError",
            "InvalidTransitionError",
            "NotFoundError",
            "PermissionDeniedError",
            "PropcrmError",
            "StoreError",
            "ValidationError",
        ],
        "propcrm.errors",
    ),
    **dict.fromkeys(
        [
            "Actor",
            "Channel",
            "CustomerRef",
            "Location",
            "OrgScope",
            "OrgTree",
            "OrgUnit",
            "PauseReason",
            "Priority",
            "Role",
            "Satisfaction",
            "Severity",
            "Ticket",
            "TicketKind",
            "TicketStatus",
        ],
        "propcrm.model",
    ),
    "TicketService": "propcrm.service",
    **dict.fromkeys(["ArchiveService", "DeliveryService"], "propcrm.aggregates"),
    **dict.fromkeys(["MemoryStore", "Store", "TicketQuery", "open_store"], "propcrm.stores"),
    **dict.fromkeys(
        ["Event", "Lifecycle", "LifecycleRules", "apply", "replay"], "propcrm.workflow"
    ),
}
_SUBMODULES = frozenset({"customers", "errors", "taxonomy"})


def __getattr__(name: str) -> Any:
    """Load a re-exported name (or one of the re-exported subpackages) on first use."""
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f"propcrm.{name}")
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'propcrm' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
