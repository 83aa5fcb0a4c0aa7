"""The SQL schema, built per table prefix and dialect, and its ordered migration steps (private).

The schema version is the number of migration steps applied, recorded one row per step in
``<prefix>schema``. A new version appends a step to :data:`MIGRATIONS`; steps are never edited
once released.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "build_tables"]


@attrs.frozen
class Tables:
    """The tables of one schema (one prefix) for one dialect."""

    metadata: sa.MetaData
    schema: sa.Table
    tickets: sa.Table
    events: sa.Table
    customers: sa.Table
    org_units: sa.Table
    notifications: sa.Table
    streams: sa.Table


def _id_type(dialect: sa.engine.Dialect, length: int = 255) -> sa.types.TypeEngine[str]:
    # Ids compare and sort by code point everywhere, as in Python: the "C" collation on
    # PostgreSQL, a binary no-pad collation on MariaDB/MySQL (their default ones ignore case
    # and trailing spaces), SQLite's BINARY default.
    if dialect.name == "postgresql":
        return sa.String(length, collation="C")
    if dialect.name in ("mysql", "mariadb"):
        if getattr(dialect, "is_mariadb", False):
            collation = "utf8mb4_nopad_bin"
        elif (dialect.server_version_info or (0,)) >= (8,):
            collation = "utf8mb4_0900_bin"
        else:  # pragma: no cover - MySQL 5.7
            collation = "utf8mb4_bin"
        return mysql.VARCHAR(length, charset="utf8mb4", collation=collation)
    return sa.String(length)


def _time_type() -> sa.types.TypeEngine[datetime]:
    # Naive UTC instants with microseconds on every dialect.
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _text_type() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.MEDIUMTEXT(charset="utf8mb4"), "mysql", "mariadb")


def build_tables(prefix: str, dialect: sa.engine.Dialect) -> Tables:
    """The tables for ``prefix`` (e.g. ``"propcrm_"``) on ``dialect``."""
    md = sa.MetaData()
    ident = _id_type(dialect)
    short = sa.String(32)
    when = _time_type
    text = _text_type
    schema = sa.Table(
        f"{prefix}schema",
        md,
        sa.Column("step", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("applied_at", when(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    tickets = sa.Table(
        f"{prefix}tickets",
        md,
        sa.Column("ticket_id", ident, primary_key=True),
        sa.Column("company_id", ident, nullable=False),
        sa.Column("group_id", ident),
        sa.Column("service_centre_id", ident),
        sa.Column("project_id", ident, nullable=False),
        sa.Column("status", short, nullable=False),
        sa.Column("kind", short, nullable=False),
        sa.Column("category_code", ident),
        sa.Column("assignee", ident),
        sa.Column("responsible_party", ident),
        sa.Column("received_at", when(), nullable=False),
        sa.Column("updated_at", when(), nullable=False),
        sa.Column("due_at", when()),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("idempotency_key", ident),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", text(), nullable=False),
        sa.UniqueConstraint("company_id", "idempotency_key", name=f"{prefix}uq_intake_key"),
        sa.Index(f"{prefix}ix_tickets_company_order", "company_id", "received_at", "ticket_id"),
        sa.Index(f"{prefix}ix_tickets_order", "received_at", "ticket_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    events = sa.Table(
        f"{prefix}events",
        md,
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", _id_type(dialect, 320), nullable=False, unique=True),
        sa.Column("ticket_id", ident, nullable=False),
        sa.Column("company_id", ident, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", when(), nullable=False),
        sa.Column("actor", text(), nullable=False),
        sa.Column("payload", text(), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("ticket_id", "sequence", name=f"{prefix}uq_event_sequence"),
        sa.Index(f"{prefix}ix_events_company_position", "company_id", "position"),
        sqlite_autoincrement=True,  # positions are never reused
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    customers = sa.Table(
        f"{prefix}customers",
        md,
        sa.Column("company_id", ident, primary_key=True),  # "" for the admin bucket
        sa.Column("customer_id", ident, primary_key=True),
        sa.Column("data", text(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    org_units = sa.Table(
        f"{prefix}org_units",
        md,
        sa.Column("unit_id", ident, primary_key=True),
        sa.Column("company_id", ident),  # None for a group
        sa.Column("level", short, nullable=False),
        sa.Column("parent_id", ident),
        sa.Column("data", text(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    notifications = sa.Table(
        f"{prefix}notifications",
        md,
        sa.Column("company_id", ident, primary_key=True),
        # SHA-256 of the key: keys may be longer than an index allows on MariaDB.
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("key", text(), nullable=False),
        sa.Column("claimed_at", when(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    streams = sa.Table(
        f"{prefix}streams",
        md,
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("kind", _id_type(dialect, 64), nullable=False),
        sa.Column("stream_id", ident, nullable=False),
        sa.Column("company_id", ident, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", when(), nullable=False),
        sa.Column("document", text(), nullable=False),
        # Streams are per company. The concurrency check: two writers of one version of one
        # company's stream cannot both commit. The constraint's index also serves reads and
        # listings of a company's streams.
        sa.UniqueConstraint(
            "kind", "company_id", "stream_id", "version", name=f"{prefix}uq_stream_version"
        ),
        sa.Index(f"{prefix}ix_streams_kind_position", "kind", "position"),
        sa.Index(f"{prefix}ix_streams_kind_company_position", "kind", "company_id", "position"),
        sqlite_autoincrement=True,  # positions are never reused
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    return Tables(
        metadata=md,
        schema=schema,
        tickets=tickets,
        events=events,
        customers=customers,
        org_units=org_units,
        notifications=notifications,
        streams=streams,
    )


def _step_1_initial(conn: sa.Connection, tables: Tables) -> None:
    for table in (tables.tickets, tables.events, tables.customers, tables.org_units):
        table.create(conn, checkfirst=True)


def _step_2_notifications(conn: sa.Connection, tables: Tables) -> None:
    tables.notifications.create(conn, checkfirst=True)


def _step_3_streams(conn: sa.Connection, tables: Tables) -> None:
    tables.streams.create(conn, checkfirst=True)


#: Ordered migration steps: ``(name, function)``; the schema version is how many have run.
MIGRATIONS: tuple[tuple[str, Callable[[sa.Connection, Tables], None]], ...] = (
    ("initial: tickets, events, customers, org units", _step_1_initial),
    ("notification ledger: keys of delivered notifications", _step_2_notifications),
    ("aggregate streams: delivery batches, customer archives", _step_3_streams),
)

#: The schema version this propcrm writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sa.Connection, tables: Tables) -> int | None:
    """The applied schema version, or ``None`` when the schema table does not exist."""
    if not sa.inspect(conn).has_table(tables.schema.name):
        return None
    found = conn.execute(sa.select(sa.func.max(tables.schema.c.step))).scalar()
    return int(found or 0)


def apply_migrations(conn: sa.Connection, tables: Tables) -> list[int]:
    """Apply every pending step in order, recording each; the steps applied."""
    version = current_version(conn, tables)
    if version is None:
        tables.schema.create(conn, checkfirst=True)
        version = 0
    applied = []
    for step, (name, function) in enumerate(MIGRATIONS, start=1):
        if step <= version:
            continue
        function(conn, tables)
        conn.execute(
            tables.schema.insert().values(
                step=step,
                name=name,
                applied_at=datetime.now(timezone.utc).replace(tzinfo=None),
            )
        )
        applied.append(step)
    return applied
