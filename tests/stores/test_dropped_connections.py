"""A connection the server drops fails one operation with a StoreError; the next one works.

The SQL store runs its hot statements on the pooled DBAPI connection, so it must tell the pool
about a dead connection itself (SQLAlchemy would, for statements it runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from propcrm.errors import StoreError
from propcrm.stores.sql import SqlStore
from propcrm.testing.store_contract import T0, act, receive
from propcrm.workflow import commands as c


def _worklog(ticket: Any) -> tuple[Any, list[Any], int]:
    new, events = act(ticket, c.AddWorkLog(ticket_id=ticket.ticket_id, note="on site"), T0)
    return new, events, ticket.version


@pytest.fixture(params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[SqlStore, Callable[[], None]]]:
    kind = request.param
    url = request.getfixturevalue("postgres_url" if kind == "postgres" else "mysql_url")
    opener: Any = request.getfixturevalue("open_server_store")
    stores = opener(url, "drop_")
    store: SqlStore = next(stores)
    killer = sa.create_engine(url)

    def kill_pooled_connections() -> None:
        # End only the store's own pooled session (the server is shared with other test runs).
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(
                "SELECT pg_backend_pid()" if kind == "postgres" else "SELECT CONNECTION_ID()"
            )
            row = cursor.fetchone()
            assert row is not None
            pid = int(row[0])
            cursor.close()
            raw.rollback()
        finally:
            raw.close()
        with killer.connect() as conn:
            if kind == "postgres":
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            else:
                conn.exec_driver_sql(f"KILL {pid}")

    try:
        yield store, kill_pooled_connections
    finally:
        killer.dispose()
        next(stores, None)


def test_a_dropped_connection_fails_once_then_the_pool_replaces_it(
    server: tuple[SqlStore, Callable[[], None]],
) -> None:
    store, kill = server
    ticket, events = receive("t1")
    store.save(ticket, events, 0)
    assert store.get("t1") == ticket  # one pooled connection now exists
    pool: Any = store.engine.pool
    assert pool.checkedin() == 1
    kill()
    with pytest.raises(StoreError, match="t1"):
        store.get("t1")  # the dead connection fails this read, and is invalidated
    assert store.get("t1") == ticket  # the pool made a new one
    kill()
    with pytest.raises(StoreError, match="t1"):
        store.save(*_worklog(ticket))
    store.save(*_worklog(ticket))  # nothing was written by the failed save
    other, more = receive("t2")
    store.save(other, more, 0)
    assert store.events("t2") == more
