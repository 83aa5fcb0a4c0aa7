"""Every in-tree store behaves like the memory store under the same random operations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from propcrm.stores import open_store
from propcrm.stores.sql import SqlStore
from propcrm.testing.store_contract import MakeStore
from propcrm.testing.store_machine import store_machine

SETTINGS = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _run(open_stores: Callable[[], tuple[MakeStore, Callable[[], None]]], examples: int) -> None:
    machine = store_machine(open_stores)
    machine.TestCase.settings = settings(SETTINGS, max_examples=examples)
    machine.TestCase().runTest()


def test_memory_store_matches_itself() -> None:
    from propcrm.stores.memory import MemoryStore

    def open_stores() -> tuple[MakeStore, Callable[[], None]]:
        root = MemoryStore()
        return root.for_tenant, root.close

    _run(open_stores, 10)


def test_sqlite_file_store_matches_memory(tmp_path: Path) -> None:
    counter = iter(range(10_000))

    def open_stores() -> tuple[MakeStore, Callable[[], None]]:
        root = open_store(f"sqlite:///{tmp_path / f'm{next(counter)}.db'}")
        assert isinstance(root, SqlStore)
        return root.for_tenant, root.close

    _run(open_stores, 15)


@pytest.mark.postgres
def test_postgres_store_matches_memory(postgres_url: str, open_server_store: Any) -> None:
    _run_on_server(postgres_url, open_server_store)


@pytest.mark.mysql
def test_mariadb_store_matches_memory(mysql_url: str, open_server_store: Any) -> None:
    _run_on_server(mysql_url, open_server_store)


def _run_on_server(url: str, open_server_store: Any) -> None:
    tables = open_server_store(url, "machine_")
    root: SqlStore = next(tables)
    try:

        def open_stores() -> tuple[MakeStore, Callable[[], None]]:
            root.delete_all_rows()
            return root.for_tenant, lambda: None

        _run(open_stores, 8)
    finally:
        tables.close()
