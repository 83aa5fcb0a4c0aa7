"""The in-tree stores pass the conformance suite exactly as a vendor's store would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from propcrm.stores import open_store
from propcrm.stores.memory import MemoryStore
from propcrm.stores.sql import SqlStore
from propcrm.testing.store_contract import MakeStore, StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> MakeStore:
        return MemoryStore().for_tenant


class TestNamedMemoryStore(StoreContract):
    """``memory://name`` views of one data set, opened through the registry."""

    @pytest.fixture
    def make_store(self, request: pytest.FixtureRequest) -> MakeStore:
        name = f"memory://contract-{id(request.node)}"
        return lambda tenant: open_store(name, tenant=tenant)


class TestSqliteFileStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[MakeStore]:
        root = open_store(f"sqlite:///{tmp_path / 'crm.db'}")
        assert isinstance(root, SqlStore)
        yield root.for_tenant
        root.close()


class TestSqliteMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> Iterator[MakeStore]:
        root = open_store("sqlite://")
        assert isinstance(root, SqlStore)
        yield root.for_tenant
        root.close()


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture(scope="class")
    @classmethod
    def root(cls, postgres_url: str, open_server_store: Any) -> Iterator[SqlStore]:
        yield from open_server_store(postgres_url, "contract_")

    @pytest.fixture
    def make_store(self, root: SqlStore) -> MakeStore:
        root.delete_all_rows()
        return root.for_tenant


@pytest.mark.mysql
class TestMariaDbStore(StoreContract):
    @pytest.fixture(scope="class")
    @classmethod
    def root(cls, mysql_url: str, open_server_store: Any) -> Iterator[SqlStore]:
        yield from open_server_store(mysql_url, "contract_")

    @pytest.fixture
    def make_store(self, root: SqlStore) -> MakeStore:
        root.delete_all_rows()
        return root.for_tenant
