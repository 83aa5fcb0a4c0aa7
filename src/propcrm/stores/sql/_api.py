"""Schema administration: init, migrate, schema_version and drop (private; see the package)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from propcrm.errors import StoreError
from propcrm.stores.sql._schema import (
    SCHEMA_VERSION,
    Tables,
    apply_migrations,
    build_tables,
    current_version,
)
from propcrm.stores.sql._store import _WRITE, make_engine, split_url

__all__ = ["drop", "init", "migrate", "schema_version"]

T = TypeVar("T")


def _with_schema(url: str, action: str, function: Callable[[sa.Connection, Tables], T]) -> T:
    driver_url, prefix = split_url(url)
    engine = make_engine(driver_url)
    try:
        with engine.connect() as conn:
            conn.info[_WRITE] = True
            with conn.begin():
                return function(conn, build_tables(prefix, conn.dialect))
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(f"{action} failed: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        engine.dispose()


def schema_version(url: str) -> int | None:
    """The schema version at ``url`` (with its ``?prefix=``), ``None`` when there is none.

    Raises:
        StoreError: The database cannot be reached.
    """
    return _with_schema(url, "reading the schema version", current_version)


def migrate(url: str) -> list[int]:
    """Bring the schema at ``url`` to this propcrm's version; the steps applied, in order.

    Each run applies the pending steps inside one transaction (SQLite and PostgreSQL roll DDL
    back on failure; MariaDB/MySQL commit each DDL statement, so back up first there).

    Raises:
        StoreError: The schema is newer than this propcrm, or a step failed.
    """

    def run(conn: sa.Connection, tables: Tables) -> list[int]:
        version = current_version(conn, tables)
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"the schema is at version {version}, newer than this propcrm ({SCHEMA_VERSION})",
                hint="upgrade propcrm",
            )
        return apply_migrations(conn, tables)

    return _with_schema(url, "migrating the schema", run)


def init(url: str) -> int:
    """Create the schema at ``url`` if missing and migrate it; the resulting version.

    Raises:
        StoreError: As for :func:`migrate`.
    """
    migrate(url)
    return SCHEMA_VERSION


def drop(url: str) -> None:
    """Drop every propcrm table of the URL's prefix: all data there is lost (tests, teardown).

    Raises:
        StoreError: The database cannot be reached.
    """

    def run(conn: sa.Connection, tables: Tables) -> None:
        tables.metadata.drop_all(conn)

    _with_schema(url, "dropping the schema", run)
