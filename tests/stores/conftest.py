"""Fixtures for the store tests: SQL servers from the environment, skipped with the reason.

``PROPCRM_TEST_POSTGRES_URL`` and ``PROPCRM_TEST_MYSQL_URL`` name the servers (``.ci/run`` sets
them). Every test run uses its own random table prefix and drops its tables at the end, so runs
cannot collide.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator

import pytest

from propcrm.stores.sql import SqlStore, open_sql_store

RUN_PREFIX = f"t{uuid.uuid4().hex[:8]}_"
SERVERS = {
    "postgres": "PROPCRM_TEST_POSTGRES_URL",
    "mysql": "PROPCRM_TEST_MYSQL_URL",
}


@functools.cache
def server_url(name: str) -> str:
    """The server's URL, or skip the test saying why there is none."""
    variable = SERVERS[name]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: no {name} server configured for the tests")
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to reach the server means: skip, with why
        pytest.skip(f"{name} server at {variable} is not reachable: {exc}")
    return url


def with_prefix(url: str, prefix: str) -> str:
    """``url`` with propcrm's ``prefix`` query parameter."""
    return f"{url}{'&' if '?' in url else '?'}prefix={prefix}"


@functools.cache
def _server_url_or_reason(name: str) -> tuple[str | None, str]:
    try:
        return server_url(name), ""
    except pytest.skip.Exception as exc:
        return None, str(exc)


def require_server(name: str) -> str:
    """The server's URL; skips (with the reason) when it is not configured or reachable."""
    url, reason = _server_url_or_reason(name)
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL for this run (skips when none)."""
    return require_server("postgres")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """The MariaDB/MySQL URL for this run (skips when none)."""
    return require_server("mysql")


def server_store(url: str, suffix: str) -> Iterator[SqlStore]:
    """An admin store on fresh tables with this run's prefix; the tables are dropped after."""
    store = open_sql_store(with_prefix(url, f"{RUN_PREFIX}{suffix}"), tenant=None)
    try:
        yield store
    finally:
        store.drop_tables()
        store.close()


@pytest.fixture(scope="session")
def open_server_store() -> object:
    """:func:`server_store`, for tests that cannot import this conftest."""
    return server_store
