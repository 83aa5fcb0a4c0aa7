"""Schema step 3 (aggregate streams): a database at version 2 migrates and keeps its data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from propcrm.errors import StoreError
from propcrm.stores import open_store
from propcrm.stores.sql import SCHEMA_VERSION, SqlStore, drop, migrate, schema_version
from propcrm.stores.sql._schema import MIGRATIONS, build_tables
from propcrm.testing.store_contract import receive, stream_records


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL with a prefix of its own on each database; its tables are dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = request.getfixturevalue(f"{request.param}_url")
    found = f"{server}{'&' if '?' in server else '?'}prefix=m{uuid.uuid4().hex[:8]}_"
    yield found
    drop(found)


def _downgrade_to_version_2(store: SqlStore) -> None:
    """Make the database what propcrm with schema version 2 left: no streams table."""
    with store.engine.begin() as conn:
        tables = build_tables(store.prefix, conn.dialect)
        tables.streams.drop(conn)
        conn.execute(tables.schema.delete().where(tables.schema.c.step == 3))


def test_schema_step_3_adds_the_streams_table() -> None:
    assert SCHEMA_VERSION == 3
    assert MIGRATIONS[2][0].startswith("aggregate streams")


def test_a_version_2_database_migrates_and_keeps_its_data(url: str) -> None:
    store = open_store(url, tenant="c1")
    assert isinstance(store, SqlStore)
    ticket, events = receive("T-old")
    store.save(ticket, events, 0)
    _downgrade_to_version_2(store)
    store.close()
    assert schema_version(url) == 2

    with pytest.raises(StoreError, match="version 2"):
        open_store(url, tenant="c1")

    assert migrate(url) == [3]
    assert schema_version(url) == 3
    assert migrate(url) == []
    migrated = open_store(url, tenant="c1")
    try:
        assert migrated.get("T-old") == ticket
        assert migrated.events("T-old") == events
        assert isinstance(migrated, SqlStore)
        records = stream_records(1, 2)
        assert migrated.append_stream("delivery_batch", "B1", "c1", records, 0) == 2
        assert migrated.read_stream("delivery_batch", "B1") == records
        inspector_tables = sa.inspect(migrated.engine).get_table_names()
        assert f"{migrated.prefix}streams" in inspector_tables
    finally:
        migrated.close()
