"""Stores: where tickets, their events, customers and org units are kept.

Open one with :func:`open_store` (``memory://``, ``sqlite:///path.db``, PostgreSQL, MariaDB, or a
plugin's scheme). Every store meets the :class:`Store` contract; ``propcrm.testing`` ships the
conformance suite that proves it.

- :class:`MemoryStore` (``memory://``) is the reference implementation;
- :mod:`propcrm.stores.sql` holds the SQL stores (extra ``sql``; imported only when used);
- :mod:`propcrm.stores.helpers` has the checks and encodings every store shares;
- :class:`AggregateStreams` is the optional capability that keeps other aggregates' event
  streams (delivery batches, customer archives), which the built-in stores have;
- :mod:`propcrm.stores.builtin_plugin` registers the built-in schemes through the
  ``propcrm_register_stores`` hook.
"""

from __future__ import annotations

from propcrm.stores._contract import (
    AggregateStreams,
    NotificationLedger,
    Page,
    Store,
    StoredEvent,
    StoredStreamRecord,
    StoreFactory,
    StreamConcurrencyError,
    StreamRecord,
    TicketQuery,
)
from propcrm.stores._registry import open_store, register_store, registered_schemes
from propcrm.stores.memory import MemoryStore

__all__ = [
    "AggregateStreams",
    "MemoryStore",
    "NotificationLedger",
    "Page",
    "Store",
    "StoreFactory",
    "StoredEvent",
    "StoredStreamRecord",
    "StreamConcurrencyError",
    "StreamRecord",
    "TicketQuery",
    "open_store",
    "register_store",
    "registered_schemes",
]
