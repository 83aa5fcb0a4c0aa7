"""The built-in stores, registered as a plugin through the same hook as third-party stores.

The plugin manager lists this module among its default plugins and calls
``propcrm_register_stores(register=propcrm.stores.register_store)``. The SQL schemes import
SQLAlchemy only when a store is opened, so ``import propcrm`` never needs it.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from propcrm.stores._contract import Store, StoreFactory

__all__ = ["SQL_SCHEMES", "hookimpl", "open_memory", "open_sql", "propcrm_register_stores"]

hookimpl = pluggy.HookimplMarker("propcrm")

#: URL schemes served by the SQL store (``driver`` parts such as ``+psycopg`` included).
SQL_SCHEMES = (
    "sqlite",
    "sqlite+pysqlite",
    "postgresql",
    "postgresql+psycopg",
    "mysql",
    "mysql+pymysql",
    "mariadb",
    "mariadb+pymysql",
)


def open_memory(url: str, *, tenant: str | None) -> Store:
    """Open a ``memory://`` store."""
    from propcrm.stores.memory import open_memory_store

    return open_memory_store(url, tenant=tenant)


def open_sql(url: str, *, tenant: str | None) -> Store:
    """Open a SQL store (needs the ``sql`` extra, plus ``postgres`` or ``mysql`` for servers).

    Raises:
        StoreError: SQLAlchemy or the driver is not installed, or the database is unusable.
    """
    try:
        from propcrm.stores.sql import open_sql_store
    except ImportError as exc:  # pragma: no cover - exercised without the extra installed
        from propcrm.errors import StoreError

        raise StoreError(
            f"cannot open {url.split(':', 1)[0]}:// stores: {exc}",
            hint="pip install 'propcrm[sql]' (or [postgres] / [mysql])",
        ) from exc
    return open_sql_store(url, tenant=tenant)


@hookimpl
def propcrm_register_stores(register: Callable[[str, StoreFactory], None]) -> None:
    """Register ``memory`` and the SQL schemes.

    Args:
        register: The host's callback, ``register(scheme, factory)``.
    """
    register("memory", open_memory)
    for scheme in SQL_SCHEMES:
        register(scheme, open_sql)
