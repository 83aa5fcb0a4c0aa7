"""Stores: where tickets, their events, customers and org units are kept.

Open one with :func:`open_store` (``memory://``, ``sqlite:///path.db``, PostgreSQL, MariaDB, or a
plugin's scheme). Every store meets the :class:`Store` contract; ``propcrm.testing`` ships the
conformance suite that proves it.
"""

from __future__ import annotations

from propcrm.stores._contract import Page, Store, StoredEvent, StoreFactory, TicketQuery
from propcrm.stores._registry import open_store, register_store, registered_schemes

__all__ = [
    "Page",
    "Store",
    "StoreFactory",
    "StoredEvent",
    "TicketQuery",
    "open_store",
    "register_store",
    "registered_schemes",
]
