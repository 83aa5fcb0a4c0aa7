"""SQL stores through SQLAlchemy 2 Core (extra ``sql``; ``postgres`` and ``mysql`` for servers).

``open_store("sqlite:///propcrm.db")`` is the embedded default (a file in WAL mode);
``postgresql+psycopg://…`` and ``mysql+pymysql://…`` reach servers. ``?prefix=name_`` in the URL
puts the tables under another prefix (default ``propcrm_``), so several schemas can share one
database.

The schema is versioned by a small built-in migration table, ``<prefix>schema``, one row per
applied step. Opening a store creates a missing schema; an older one is refused until
:func:`migrate` runs, so a deployment never changes its tables by surprise.

Example:
    >>> import tempfile, pathlib
    >>> from propcrm.stores import sql
    >>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'crm.db'}"
    >>> sql.schema_version(url) is None
    True
    >>> sql.init(url)
    3
    >>> sql.migrate(url)
    []
"""

from __future__ import annotations

from propcrm.stores.sql._api import drop, init, migrate, schema_version
from propcrm.stores.sql._schema import SCHEMA_VERSION
from propcrm.stores.sql._store import DEFAULT_PREFIX, SqlStore, make_engine, open_sql_store

__all__ = [
    "DEFAULT_PREFIX",
    "SCHEMA_VERSION",
    "SqlStore",
    "drop",
    "init",
    "make_engine",
    "migrate",
    "open_sql_store",
    "schema_version",
]
