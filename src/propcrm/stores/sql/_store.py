"""The SQL store over SQLAlchemy 2 Core (private; see :mod:`propcrm.stores.sql`)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import StaticPool

from propcrm.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    NotFoundError,
    PropcrmError,
    StoreError,
    ValidationError,
)
from propcrm.model import CustomerRef, OrgTree, OrgUnit, Ticket
from propcrm.stores._contract import Page, StoredEvent, TicketQuery
from propcrm.stores.helpers import (
    check_batch_size,
    check_notification_claim,
    check_save,
    check_tenant,
    check_unit_tenant,
    decode_cursor,
    dump_customer,
    dump_org_unit,
    dump_ticket,
    encode_cursor,
    load_customer,
    load_org_unit,
    load_ticket,
    to_utc,
    unit_companies,
    visible_units,
)
from propcrm.stores.sql._codec import EventDecoder, event_columns, gc_paused
from propcrm.stores.sql._schema import (
    SCHEMA_VERSION,
    Tables,
    apply_migrations,
    build_tables,
    current_version,
)
from propcrm.stores.sql._streams import StreamsMixin
from propcrm.workflow import Event

__all__ = ["DEFAULT_PREFIX", "SqlStore", "make_engine", "open_sql_store", "split_url"]

T = TypeVar("T")

#: The table prefix when the URL names none (``?prefix=...``).
DEFAULT_PREFIX = "propcrm_"
_WRITE = "propcrm_write"


def split_url(url: str) -> tuple[str, str]:
    """Split propcrm's own ``prefix`` query parameter off a SQL URL: ``(driver url, prefix)``.

    Raises:
        ValidationError: The prefix is not letters, digits and underscores.
    """
    base, _, query_string = url.partition("?")
    query = parse_qsl(query_string, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    rest = []
    for key, value in query:
        if key == "prefix":
            prefix = value
        else:
            rest.append((key, value))
    if not prefix or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in prefix):
        raise ValidationError.single(
            "$.url.prefix",
            f"table prefix must be ASCII letters, digits and underscores, got {prefix!r}",
        )
    if len(prefix) > 30:
        raise ValidationError.single("$.url.prefix", "table prefix must be at most 30 characters")
    return (f"{base}?{urlencode(rest)}" if rest else base), prefix


def make_engine(url: str) -> sa.Engine:
    """An engine for a SQL URL, set up the way the store needs it.

    SQLite files get WAL mode, ``synchronous=NORMAL`` and a 30 s busy timeout, and writes take
    the write lock at ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing;
    ``sqlite://`` (in memory) is one connection shared by the process.

    Raises:
        StoreError: The URL or its driver is not usable.
    """
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as exc:
        raise ValidationError.single("$.url", f"not a SQL URL: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            memory = parsed.database in (None, "", ":memory:")
            if memory:
                engine = sa.create_engine(
                    parsed,
                    poolclass=StaticPool,
                    connect_args={"check_same_thread": False},
                )
            else:
                engine = sa.create_engine(parsed, connect_args={"timeout": 30})
            _sqlite_setup(engine, wal=not memory)
            return engine
        # Every store operation ends its transaction itself (commit, or rollback on close), so
        # the pool's extra ROLLBACK on check-in would be one more round trip per operation.
        return sa.create_engine(parsed, pool_recycle=3600, pool_reset_on_return=None)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"cannot open {parsed.render_as_string(hide_password=True)}: {exc}",
            hint="install the driver: pip install 'propcrm[sql]', "
            "'propcrm[postgres]' or 'propcrm[mysql]'",
        ) from exc


def _sqlite_setup(engine: sa.Engine, *, wal: bool) -> None:
    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer the lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # Straight to the driver: this runs for every transaction.
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.execute("BEGIN IMMEDIATE" if conn.info.get(_WRITE) else "BEGIN")


def _raise_store_error(action: str, exc: sa_exc.SQLAlchemyError) -> NoReturn:
    detail = getattr(exc, "orig", None) or exc
    raise StoreError(
        f"{action} failed: {type(detail).__name__}: {detail}".strip(),
        hint="the write, if any, was rolled back; check the database server and retry",
    ) from exc


class SqlStore(StreamsMixin):
    """The store contract over SQLAlchemy 2 Core: SQLite, PostgreSQL, MariaDB/MySQL.

    Open one with ``open_store(url)``; build one over an engine of your own with this class.
    The schema is created when missing; an older schema must be migrated first
    (:func:`propcrm.stores.sql.migrate`).

    Args:
        engine: The engine to use.
        tenant: The company id this store sees; ``None`` for an admin store seeing all.
        prefix: The table name prefix.
        owns_engine: Whether :meth:`close` disposes of the engine.

    Attributes:
        tenant: The company id this store is scoped to, or ``None``.
        prefix: The table name prefix.

    Raises:
        StoreError: The database is unreachable or its schema is not this propcrm's.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        tenant: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        owns_engine: bool = False,
        _tables: Tables | None = None,
        _lock: contextlib.AbstractContextManager[Any] | None = None,
    ) -> None:
        if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
            raise ValidationError.single("$.tenant", f"must be a company id, got {tenant!r}")
        self.tenant = tenant
        self.prefix = prefix
        self._engine = engine
        self._owns_engine = owns_engine
        memory = engine.dialect.name == "sqlite" and isinstance(engine.pool, StaticPool)
        self._lock = _lock or (threading.RLock() if memory else contextlib.nullcontext())
        self._pg = engine.dialect.name == "postgresql"
        if _tables is None:
            _tables = self._prepare()
        self._t = _tables
        self._build_statements()

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SqlStore({url!r}, tenant={self.tenant!r}, prefix={self.prefix!r})"

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine."""
        return self._engine

    def for_tenant(self, tenant: str | None) -> SqlStore:
        """Another store over the same engine and tables, scoped to ``tenant``."""
        return SqlStore(
            self._engine, tenant=tenant, prefix=self.prefix, _tables=self._t, _lock=self._lock
        )

    # -- plumbing ------------------------------------------------------------------------

    def _prepare(self) -> Tables:
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    tables = build_tables(self.prefix, conn.dialect)
                    version = current_version(conn, tables)
                    conn.rollback()
                if version is None:
                    with self._write() as conn:
                        apply_migrations(conn, tables)
                    return tables
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error("opening the store", exc)
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"the schema with prefix {self.prefix!r} is at version {version}, "
                f"this propcrm needs {SCHEMA_VERSION}",
                hint="run propcrm.stores.sql.migrate(url) (back the database up first)",
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the schema with prefix {self.prefix!r} is at version {version}, newer than "
                f"this propcrm knows ({SCHEMA_VERSION})",
                hint="upgrade propcrm",
            )
        return tables

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as conn:
            conn.info[_WRITE] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop(_WRITE, None)

    def _read(self, action: str, function: Callable[[sa.Connection], T]) -> T:
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    result = function(conn)
                    conn.rollback()
                    return result
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error(action, exc)

    def _scoped(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return column == self.tenant if self.tenant is not None else sa.true()

    def _build_statements(self) -> None:
        ev = self._t.events
        # Times are read as text on SQLite (parsed by the decoder, faster than the type's).
        occurred = (
            sa.type_coerce(ev.c.occurred_at, sa.String)
            if self._engine.dialect.name == "sqlite"
            else ev.c.occurred_at
        )
        self._event_select = sa.select(
            ev.c.position,
            ev.c.event_id,
            ev.c.ticket_id,
            ev.c.sequence,
            ev.c.type,
            occurred,
            ev.c.actor,
            ev.c.payload,
            ev.c.schema_version,
        )
        # The write path's statements as driver SQL, built once: a save runs them on the DBAPI
        # cursor (SQLAlchemy's per-execution work would cost more than the statements).
        sql = _DriverSql(self._engine.dialect)
        t = self._t.tickets
        self._sql_insert_ticket = sql.insert(t.name, _TICKET_COLUMNS)
        self._sql_update_ticket = sql.update(
            t.name,
            _UPDATE_COLUMNS,
            (("ticket_id", "b_ticket_id"), ("version", "b_expected"), ("company_id", "b_company")),
        )
        self._sql_insert_events = sql.insert(ev.name, _EVENT_COLUMNS)
        self._sql_intake_key = sql.select(
            t.name, "ticket_id", (("company_id", "company_id"), ("idempotency_key", "key"))
        )
        scoped = (("ticket_id", "ticket_id"),) + (
            (("company_id", "company_id"),) if self.tenant is not None else ()
        )
        self._sql_ticket_data = sql.select(t.name, "data", scoped)
        self._sql_ticket_version = sql.select(t.name, "version", scoped)
        columns = ", ".join(
            sql.quote(name)
            for name in (
                "position",
                "event_id",
                "ticket_id",
                "sequence",
                "type",
                "occurred_at",
                "actor",
                "payload",
                "schema_version",
            )
        )
        marks, bind = sql.marks(("ticket_id", "after"))
        self._sql_ticket_events = (
            f"SELECT {columns} FROM {sql.quote(ev.name)} WHERE {sql.quote('ticket_id')} = "
            f"{marks[0]} AND {sql.quote('sequence')} > {marks[1]} ORDER BY {sql.quote('sequence')}",
            bind,
        )
        lookup = (("idempotency_key", "key"),) + (
            (("company_id", "company_id"),) if self.tenant is not None else ()
        )
        lookup_sql, lookup_bind = sql.select(t.name, "ticket_id", lookup)
        self._sql_intake_lookup = (
            f"{lookup_sql} ORDER BY {sql.quote('company_id')} LIMIT 1",
            lookup_bind,
        )
        self._sql_lock = (
            f"LOCK TABLE {sql.quote(ev.name)} IN SHARE ROW EXCLUSIVE MODE" if self._pg else None
        )
        self._sqlite = self._engine.dialect.name == "sqlite"
        dbapi = self._engine.dialect.loaded_dbapi
        self._dbapi_error: type[Exception] = dbapi.Error
        self._dbapi_integrity: type[Exception] = dbapi.IntegrityError

    def _when(self, value: datetime | None) -> Any:
        """A time as the driver gets it: naive UTC; on SQLite the text SQLAlchemy writes."""
        if value is None:
            return None
        utc = to_utc(value)
        return utc.isoformat(" ", "microseconds") if self._sqlite else utc

    def _ticket_row(self, ticket: Ticket, due_at: datetime | None) -> dict[str, Any]:
        """The tickets row of ``ticket``, in driver values."""
        scope = ticket.scope
        return {
            "ticket_id": ticket.ticket_id,
            "company_id": scope.company_id,
            "group_id": scope.group_id,
            "service_centre_id": scope.service_centre_id,
            "project_id": scope.project_id,
            "status": ticket.status.value,
            "kind": ticket.kind.value,
            "category_code": ticket.category_code,
            "assignee": ticket.assignee,
            "responsible_party": ticket.responsible_party,
            "received_at": self._when(ticket.received_at),
            "updated_at": self._when(ticket.updated_at),
            "due_at": self._when(due_at),
            "is_open": int(ticket.is_open) if self._sqlite else ticket.is_open,
            "idempotency_key": ticket.idempotency_key,
            "version": ticket.version,
            "data": dump_ticket(ticket),
        }

    def _event_rows(self, company: str, events: Sequence[Event]) -> list[dict[str, Any]]:
        """The events rows, in driver values."""
        rows = []
        for event in events:
            row = event_columns(event)
            row["occurred_at"] = self._when(event.occurred_at)
            row["company_id"] = company
            rows.append(row)
        return rows

    # -- tickets -------------------------------------------------------------------------

    def save(
        self,
        ticket: Ticket,
        new_events: Sequence[Event],
        expected_version: int,
        *,
        due_at: datetime | None = None,
    ) -> None:
        """Append ``new_events`` and store ``ticket``, in one transaction; see ``Store.save``."""
        events = list(new_events)
        check_save(ticket, events, expected_version)
        check_tenant(self.tenant, ticket)
        if due_at is not None and (due_at.tzinfo is None or due_at.utcoffset() is None):
            raise ValidationError.single("$.due_at", "naive datetime refused", subject="save")
        row = self._ticket_row(ticket, due_at)
        event_rows = self._event_rows(ticket.scope.company_id, events)
        with self._lock:
            try:
                self._write_rows(ticket, row, event_rows, expected_version)
            except _ConflictError:
                self._diagnose(ticket, expected_version)

    def _write_rows(
        self,
        ticket: Ticket,
        row: dict[str, Any],
        event_rows: list[dict[str, Any]],
        expected_version: int,
    ) -> None:
        """Run one save's transaction on the pooled DBAPI connection.

        These are the statements a hand-written driver program would run, and nothing else.
        """
        try:
            raw = self._engine.raw_connection()
        except sa_exc.SQLAlchemyError as exc:
            _raise_store_error(f"saving ticket {ticket.ticket_id!r}", exc)
        try:
            cursor = raw.cursor()
            try:
                if self._sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                elif self._sql_lock is not None:
                    # Serialise event inserts so that positions become visible in order: a
                    # reader resuming after position p never misses a later commit below p.
                    cursor.execute(self._sql_lock)
                if expected_version == 0:
                    key = ticket.idempotency_key
                    if key is not None:
                        sql, bind = self._sql_intake_key
                        cursor.execute(
                            sql, bind({"company_id": ticket.scope.company_id, "key": key})
                        )
                        found = cursor.fetchone()
                        if found is not None:
                            raise DuplicateIntakeError(
                                ticket_id=ticket.ticket_id,
                                idempotency_key=key,
                                existing_ticket_id=found[0],
                            )
                    sql, bind = self._sql_insert_ticket
                    cursor.execute(sql, bind(row))
                else:
                    row["b_ticket_id"] = ticket.ticket_id
                    row["b_expected"] = expected_version
                    row["b_company"] = ticket.scope.company_id
                    sql, bind = self._sql_update_ticket
                    cursor.execute(sql, bind(row))
                    if cursor.rowcount != 1:
                        raise _ConflictError
                sql, bind = self._sql_insert_events
                if len(event_rows) == 1:
                    cursor.execute(sql, bind(event_rows[0]))
                else:
                    cursor.executemany(sql, [bind(r) for r in event_rows])
            finally:
                cursor.close()
            raw.commit()
        except BaseException as exc:
            self._after_failure(raw, exc)
            if isinstance(exc, self._dbapi_integrity):
                raise _ConflictError from exc
            if isinstance(exc, self._dbapi_error):
                raise StoreError(
                    f"saving ticket {ticket.ticket_id!r} failed: {type(exc).__name__}: {exc}",
                    hint="the write was rolled back; check the database server and retry",
                ) from exc
            raise
        finally:
            raw.close()

    def _diagnose(self, ticket: Ticket, expected_version: int) -> NoReturn:
        """Raise the right error for a refused write (called after its rollback)."""
        t = self._t.tickets

        def look(conn: sa.Connection) -> tuple[Any, str | None]:
            found = conn.execute(
                sa.select(t.c.version, t.c.company_id).where(t.c.ticket_id == ticket.ticket_id)
            ).first()
            existing = None
            if ticket.idempotency_key is not None:
                existing = conn.execute(
                    sa.select(t.c.ticket_id).where(
                        t.c.company_id == ticket.scope.company_id,
                        t.c.idempotency_key == ticket.idempotency_key,
                    )
                ).scalar()
            return found, existing

        found, existing = self._read(f"saving ticket {ticket.ticket_id!r}", look)
        if found is not None:
            version, company = found
            if company != ticket.scope.company_id:
                if self.tenant is None:
                    raise ValidationError.single(
                        "$.ticket.scope.company_id",
                        f"ticket {ticket.ticket_id!r} cannot move to company "
                        f"{ticket.scope.company_id!r}",
                        subject="save",
                    )
                version = None  # another tenant's ticket: say nothing about it
            raise ConcurrencyError(
                ticket_id=ticket.ticket_id,
                expected_version=expected_version,
                actual_version=version,
            )
        if expected_version == 0 and existing is not None and ticket.idempotency_key:
            raise DuplicateIntakeError(
                ticket_id=ticket.ticket_id,
                idempotency_key=ticket.idempotency_key,
                existing_ticket_id=existing,
            )
        if expected_version != 0:
            raise ConcurrencyError(
                ticket_id=ticket.ticket_id, expected_version=expected_version, actual_version=0
            )
        raise StoreError(
            f"saving ticket {ticket.ticket_id!r} broke a constraint (an event id already used?)",
            hint="event ids must be unique across the store",
        )

    def get(self, ticket_id: str) -> Ticket:
        """The stored ticket; ``NotFoundError`` if absent or of another tenant."""
        sql, bind = self._sql_ticket_data

        def run(cursor: Any) -> Any:
            cursor.execute(sql, bind(self._key_params(ticket_id)))
            found = cursor.fetchone()
            return None if found is None else found[0]

        data = self._driver_read(f"reading ticket {ticket_id!r}", run)
        if data is None:
            raise NotFoundError("ticket", ticket_id)
        return load_ticket(data, ticket_id)

    def events(self, ticket_id: str, after_version: int = 0) -> list[Event]:
        """The ticket's events with sequence above ``after_version``, in order."""
        exists_sql, exists_bind = self._sql_ticket_version
        events_sql, events_bind = self._sql_ticket_events

        def run(cursor: Any) -> list[Any] | None:
            cursor.execute(exists_sql, exists_bind(self._key_params(ticket_id)))
            if cursor.fetchone() is None:
                return None
            cursor.execute(
                events_sql, events_bind({"ticket_id": ticket_id, "after": after_version})
            )
            return list(cursor.fetchall())

        rows = self._driver_read(f"reading the events of ticket {ticket_id!r}", run)
        if rows is None:
            raise NotFoundError("ticket", ticket_id)
        return [stored.event for stored in EventDecoder().decode_rows(rows)]

    def _after_failure(self, raw: Any, exc: BaseException) -> None:
        """Roll back; a connection the server dropped is invalidated so the pool replaces it."""
        dropped = False
        with contextlib.suppress(Exception):
            dropped = isinstance(exc, self._dbapi_error) and self._engine.dialect.is_disconnect(
                exc,  # type: ignore[arg-type]
                raw.dbapi_connection,
                None,
            )
        if dropped:
            with contextlib.suppress(Exception):
                raw.invalidate(exc)
            return
        _rollback_quietly(raw)

    def _key_params(self, ticket_id: str) -> dict[str, Any]:
        return {"ticket_id": ticket_id, "company_id": self.tenant}

    def _driver_read(self, action: str, function: Callable[[Any], T]) -> T:
        """Run ``function(cursor)`` on a pooled DBAPI connection, ending its transaction."""
        with self._lock:
            try:
                raw = self._engine.raw_connection()
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error(action, exc)
            try:
                cursor = raw.cursor()
                try:
                    result = function(cursor)
                finally:
                    cursor.close()
                raw.rollback()
                return result
            except self._dbapi_error as exc:
                self._after_failure(raw, exc)
                raise StoreError(
                    f"{action} failed: {type(exc).__name__}: {exc}",
                    hint="check the database server and retry",
                ) from exc
            finally:
                raw.close()

    def query(self, query: TicketQuery) -> Page[Ticket]:
        """Tickets matching ``query``, in ``(received_at, ticket_id)`` order, one page."""
        t = self._t.tickets
        q = query
        where: list[sa.ColumnElement[bool]] = [self._scoped(t.c.company_id)]
        if q.statuses:
            where.append(t.c.status.in_(sorted(s.value for s in q.statuses)))
        if q.kinds:
            where.append(t.c.kind.in_(sorted(k.value for k in q.kinds)))
        if q.category_prefix is not None:
            prefix = q.category_prefix
            where.append(sa.func.substr(t.c.category_code, 1, len(prefix)) == prefix)
        if q.project_ids:
            where.append(t.c.project_id.in_(sorted(q.project_ids)))
        if q.org_unit is not None:
            unit = q.org_unit
            where.append(
                sa.or_(
                    t.c.group_id == unit,
                    t.c.company_id == unit,
                    t.c.service_centre_id == unit,
                    t.c.project_id == unit,
                )
            )
        for column, low, high in (
            (t.c.received_at, q.received_from, q.received_before),
            (t.c.updated_at, q.updated_from, q.updated_before),
        ):
            if low is not None:
                where.append(column >= to_utc(low))
            if high is not None:
                where.append(column < to_utc(high))
        if q.assignee is not None:
            where.append(t.c.assignee == q.assignee)
        if q.responsible_party is not None:
            where.append(t.c.responsible_party == q.responsible_party)
        if q.overdue_at is not None:
            where.append(t.c.is_open.is_(True))
            where.append(t.c.due_at < to_utc(q.overdue_at))
        if q.after is not None:
            received, last_id = decode_cursor(q.after)
            stamp = to_utc(received)
            where.append(
                sa.or_(
                    t.c.received_at > stamp,
                    sa.and_(t.c.received_at == stamp, t.c.ticket_id > last_id),
                )
            )
        statement = (
            sa.select(t.c.ticket_id, t.c.data)
            .where(*where)
            .order_by(t.c.received_at, t.c.ticket_id)
            .limit(q.limit + 1)
        )
        rows = self._read("querying tickets", lambda conn: conn.execute(statement).all())
        items = tuple(load_ticket(data, ticket_id) for ticket_id, data in rows[: q.limit])
        cursor = None
        if len(rows) > q.limit:
            cursor = encode_cursor(items[-1].received_at, items[-1].ticket_id)
        return Page(items=items, next_cursor=cursor)

    def iter_events(
        self, *, after_position: int = 0, batch_size: int = 10_000
    ) -> Iterator[list[StoredEvent]]:
        """Every event of the tenant after ``after_position``, in global order, in batches.

        Each batch is one keyset query (``position > last ORDER BY position LIMIT n``); no
        connection is held while the caller works on a batch.
        """
        check_batch_size(batch_size)
        ev = self._t.events
        position = max(after_position, 0)
        statement = (
            self._event_select.where(
                ev.c.position > sa.bindparam("after"), self._scoped(ev.c.company_id)
            )
            .order_by(ev.c.position)
            .limit(batch_size)
        )
        decoder = EventDecoder()

        def fetch(conn: sa.Connection) -> list[Any]:
            # Rows straight from the DBAPI cursor: no Row objects, no result processors (times
            # are read as text on SQLite; the decoder parses them).
            result = conn.execute(statement, {"after": position})
            try:
                return list(result.cursor.fetchall())
            finally:
                result.close()

        while True:
            with gc_paused():
                rows = self._read("reading events", fetch)
                batch = decoder.decode_rows(rows)
                # Free the row tuples before the collector resumes: it then scans the batch only.
                del rows
            if not batch:
                return
            position = batch[-1].position
            yield batch

    def ticket_for_intake_key(self, idempotency_key: str) -> str | None:
        """The ticket an intake key made within the tenant (any tenant for an admin store)."""
        sql, bind = self._sql_intake_lookup

        def run(cursor: Any) -> Any:
            cursor.execute(sql, bind({"key": idempotency_key, "company_id": self.tenant}))
            found = cursor.fetchone()
            return None if found is None else found[0]

        found = self._driver_read("reading intake keys", run)
        return None if found is None else str(found)

    # -- organisation and customers ------------------------------------------------------

    def save_org_units(self, units: Iterable[OrgUnit]) -> None:
        """Insert or replace org units; a tenant store may only write its own company's units.

        Raises:
            PermissionDeniedError: A unit belongs to another company, or is a group (admin only).
            ValidationError: A unit has no company above it, or the tree would be invalid.
        """
        batch = list(units)
        if not batch:
            return
        o = self._t.org_units
        with self._lock:
            try:
                with self._write() as conn:
                    stored = {
                        unit_id: (load_org_unit(data, unit_id), company)
                        for unit_id, company, data in conn.execute(
                            sa.select(o.c.unit_id, o.c.company_id, o.c.data)
                        )
                    }
                    known = {k: (u.level, c) for k, (u, c) in stored.items()}
                    companies = unit_companies(batch, known)
                    check_unit_tenant(self.tenant, batch, companies, stored)
                    merged = dict(stored)
                    merged.update({u.id: (u, c) for u, c in zip(batch, companies, strict=True)})
                    OrgTree.from_units(u for u, _ in merged.values())
                    ids = [u.id for u in batch]
                    conn.execute(o.delete().where(o.c.unit_id.in_(ids)))
                    conn.execute(
                        o.insert(),
                        [
                            {
                                "unit_id": u.id,
                                "company_id": c,
                                "level": u.level.value,
                                "parent_id": u.parent_id,
                                "data": dump_org_unit(u),
                            }
                            for u, c in dict(
                                zip(ids, zip(batch, companies, strict=True), strict=True)
                            ).values()
                        ],
                    )
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error("saving org units", exc)

    def org_tree(self) -> OrgTree:
        """The units of the tenant's company and the groups above it (all for an admin)."""
        o = self._t.org_units
        rows = self._read(
            "reading org units",
            lambda conn: conn.execute(sa.select(o.c.unit_id, o.c.company_id, o.c.data)).all(),
        )
        pairs = [(load_org_unit(data, unit_id), company) for unit_id, company, data in rows]
        return OrgTree.from_units(visible_units(pairs, self.tenant))

    def save_customer(self, customer: CustomerRef) -> None:
        """Insert or replace a customer of the tenant (the shared bucket for an admin store)."""
        if not isinstance(customer, CustomerRef):
            raise ValidationError.single(
                "$", f"expected a CustomerRef, got {type(customer).__name__}"
            )
        c = self._t.customers
        company = self.tenant or ""
        with self._lock:
            try:
                with self._write() as conn:
                    conn.execute(
                        c.delete().where(
                            c.c.company_id == company, c.c.customer_id == customer.customer_id
                        )
                    )
                    conn.execute(
                        c.insert().values(
                            company_id=company,
                            customer_id=customer.customer_id,
                            data=dump_customer(customer),
                        )
                    )
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error(f"saving customer {customer.customer_id!r}", exc)

    def get_customer(self, customer_id: str) -> CustomerRef:
        """A customer of the tenant; an admin store looks in its own bucket, then every tenant's.

        Raises:
            NotFoundError: No such customer for this tenant.
        """
        c = self._t.customers
        statement = (
            sa.select(c.c.data)
            .where(c.c.customer_id == customer_id, self._scoped(c.c.company_id))
            .order_by(c.c.company_id)
            .limit(1)
        )
        data = self._read(
            f"reading customer {customer_id!r}", lambda conn: conn.execute(statement).scalar()
        )
        if data is None:
            raise NotFoundError("customer", customer_id)
        return load_customer(data, customer_id)

    # -- the notification ledger ---------------------------------------------------------

    def claim_notification(self, company_id: str, key: str) -> bool:
        """Record a notification as delivered; ``False`` if it already was.

        One ``INSERT``; the primary key makes concurrent claims of one key (from any process)
        have exactly one winner.
        """
        check_notification_claim(self.tenant, company_id, key)
        n = self._t.notifications
        row = {
            "company_id": company_id,
            "key_hash": hashlib.sha256(key.encode("utf-8")).hexdigest(),
            "key": key,
            "claimed_at": to_utc(datetime.now(timezone.utc)),
        }
        with self._lock:
            try:
                with self._write() as conn:
                    conn.execute(n.insert(), row)
            except sa_exc.IntegrityError:
                return False
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error(f"claiming notification {key!r}", exc)
        return True

    def release_notification(self, company_id: str, key: str) -> None:
        """Forget a notification claim (its delivery failed)."""
        check_notification_claim(self.tenant, company_id, key)
        n = self._t.notifications
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        with self._lock:
            try:
                with self._write() as conn:
                    conn.execute(
                        n.delete().where(n.c.company_id == company_id, n.c.key_hash == digest)
                    )
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error(f"releasing notification {key!r}", exc)

    def close(self) -> None:
        """Dispose of the engine if this store opened it."""
        if self._owns_engine:
            self._engine.dispose()

    def delete_all_rows(self) -> None:
        """Delete every ticket, event, customer and org unit of every tenant (tests): data is lost.

        The schema and the event position counter stay.
        """
        t = self._t
        with self._lock:
            try:
                with self._write() as conn:
                    for table in (
                        t.events,
                        t.tickets,
                        t.customers,
                        t.org_units,
                        t.notifications,
                        t.streams,
                    ):
                        conn.execute(table.delete())
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error("deleting all rows", exc)

    def drop_tables(self) -> None:
        """Drop every table of this store's prefix (for tests and teardown): data is lost."""
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    self._t.metadata.drop_all(conn)
            except sa_exc.SQLAlchemyError as exc:
                _raise_store_error("dropping the tables", exc)


class _ConflictError(Exception):
    """Internal: the optimistic update matched no row, or a unique constraint refused a row."""


def _rollback_quietly(raw: Any) -> None:
    # The connection may be gone; the pool replaces it.
    with contextlib.suppress(Exception):
        raw.rollback()


_TICKET_COLUMNS = (
    "ticket_id",
    "company_id",
    "group_id",
    "service_centre_id",
    "project_id",
    "status",
    "kind",
    "category_code",
    "assignee",
    "responsible_party",
    "received_at",
    "updated_at",
    "due_at",
    "is_open",
    "idempotency_key",
    "version",
    "data",
)
_UPDATE_COLUMNS = (
    "status",
    "kind",
    "category_code",
    "assignee",
    "responsible_party",
    "updated_at",
    "due_at",
    "is_open",
    "version",
    "data",
)
_EVENT_COLUMNS = (
    "event_id",
    "ticket_id",
    "company_id",
    "sequence",
    "type",
    "occurred_at",
    "actor",
    "payload",
    "schema_version",
)

Binder = Callable[[dict[str, Any]], Any]


class _DriverSql:
    """Builds SQL text in the driver's parameter style, with a binder from named values."""

    def __init__(self, dialect: sa.engine.Dialect) -> None:
        self.quote = dialect.identifier_preparer.quote
        self.style = dialect.paramstyle

    def marks(self, names: Sequence[str]) -> tuple[list[str], Binder]:
        """The parameter marks for ``names``, and the binder of their named values."""
        style = self.style
        if style == "qmark":
            marks = ["?"] * len(names)
        elif style == "format":
            marks = ["%s"] * len(names)
        elif style == "numeric":
            marks = [f":{i}" for i in range(1, len(names) + 1)]
        elif style == "named":
            marks = [f":{n}" for n in names]
        elif style == "pyformat":
            marks = [f"%({n})s" for n in names]
        else:  # pragma: no cover - every DBAPI uses one of the five PEP 249 styles
            raise StoreError(f"unsupported DBAPI parameter style {style!r}")
        if style in ("named", "pyformat"):
            return marks, _identity
        order = tuple(names)

        def positional(values: dict[str, Any]) -> tuple[Any, ...]:
            return tuple([values[n] for n in order])

        return marks, positional

    def insert(self, table: str, columns: Sequence[str]) -> tuple[str, Binder]:
        marks, bind = self.marks(columns)
        text = (
            f"INSERT INTO {self.quote(table)} ({', '.join(self.quote(c) for c in columns)}) "
            f"VALUES ({', '.join(marks)})"
        )
        return text, bind

    def update(
        self, table: str, columns: Sequence[str], where: Sequence[tuple[str, str]]
    ) -> tuple[str, Binder]:
        names = [*columns, *(param for _, param in where)]
        marks, bind = self.marks(names)
        sets = ", ".join(f"{self.quote(c)} = {m}" for c, m in zip(columns, marks, strict=False))
        conditions = " AND ".join(
            f"{self.quote(c)} = {m}" for (c, _), m in zip(where, marks[len(columns) :], strict=True)
        )
        return f"UPDATE {self.quote(table)} SET {sets} WHERE {conditions}", bind

    def select(
        self, table: str, column: str, where: Sequence[tuple[str, str]]
    ) -> tuple[str, Binder]:
        marks, bind = self.marks([param for _, param in where])
        conditions = " AND ".join(
            f"{self.quote(c)} = {m}" for (c, _), m in zip(where, marks, strict=True)
        )
        return f"SELECT {self.quote(column)} FROM {self.quote(table)} WHERE {conditions}", bind


def _identity(values: dict[str, Any]) -> dict[str, Any]:
    return values


def open_sql_store(url: str, *, tenant: str | None) -> SqlStore:
    """The factory of ``sqlite``, ``postgresql`` and ``mysql`` URLs (any SQLAlchemy driver).

    ``?prefix=name_`` in the URL sets the table prefix (default ``propcrm_``).
    """
    driver_url, prefix = split_url(url)
    engine = make_engine(driver_url)
    try:
        return SqlStore(engine, tenant=tenant, prefix=prefix, owns_engine=True)
    except PropcrmError:
        engine.dispose()
        raise
