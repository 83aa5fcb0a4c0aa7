"""Aggregate streams in the SQL store: the ``<prefix>streams`` table (private; see the package).

One row per stream record: ``(kind, company_id, stream_id, version)`` is unique (streams are per
company: two companies may both have a batch ``"B1"``), and that constraint is the concurrency
check: of two writers appending the same version exactly one commits. Each append also reads the
stream's version first inside its transaction, so a stale writer is refused before it writes and
a racing one by the constraint; either way nothing of it is kept. The documents are the JSON text
the aggregate's service wrote; this module never decodes them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import timezone
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from propcrm.errors import PropcrmError, StoreError, ValidationError
from propcrm.stores._contract import (
    Page,
    StoredStreamRecord,
    StreamConcurrencyError,
    StreamRecord,
    check_stream_page,
    check_stream_read,
    check_stream_write,
)
from propcrm.stores.helpers import to_utc

if TYPE_CHECKING:
    from propcrm.stores.sql._schema import Tables

__all__ = ["StreamsMixin"]

T = TypeVar("T")


def _store_error(action: str, exc: BaseException) -> NoReturn:
    detail = getattr(exc, "orig", None) or exc
    raise StoreError(
        f"{action} failed: {type(detail).__name__}: {detail}",
        hint="the write, if any, was rolled back; check the database server and retry",
    ) from exc


class StreamsMixin:
    """The :class:`propcrm.stores.AggregateStreams` capability of ``SqlStore``.

    Uses the store's engine, tables, lock and transaction helpers; holds no state of its own.
    """

    if TYPE_CHECKING:
        tenant: str | None
        _t: Tables
        _pg: bool
        _lock: contextlib.AbstractContextManager[Any]

        def _write(self) -> contextlib.AbstractContextManager[sa.Connection]: ...

        def _read(self, action: str, function: Callable[[sa.Connection], T]) -> T: ...

    def _stream_of(self, kind: str, company_id: str, stream_id: str) -> list[Any]:
        """The WHERE conditions of one company's stream."""
        s = self._t.streams
        return [s.c.kind == kind, s.c.company_id == company_id, s.c.stream_id == stream_id]

    def _stream_version(
        self, conn: sa.Connection, kind: str, company_id: str, stream_id: str
    ) -> int:
        """The company's stream's version (0 for an unknown stream)."""
        s = self._t.streams
        found = conn.execute(
            sa.select(sa.func.max(s.c.version)).where(*self._stream_of(kind, company_id, stream_id))
        ).scalar()
        return int(found or 0)

    def _checked_version(
        self,
        conn: sa.Connection,
        kind: str,
        stream_id: str,
        company_id: str,
        expected_version: int,
    ) -> None:
        """Refuse a write at a stale version."""
        version = self._stream_version(conn, kind, company_id, stream_id)
        if version != expected_version:
            raise StreamConcurrencyError(
                kind=kind,
                stream_id=stream_id,
                expected_version=expected_version,
                actual_version=version,
            )

    def _lock_streams(self, conn: sa.Connection) -> None:
        # As for ticket events: PostgreSQL writers serialise, so positions become visible in
        # order and a projection resuming after a position never misses an earlier commit.
        if self._pg:
            name = conn.dialect.identifier_preparer.quote(self._t.streams.name)
            conn.exec_driver_sql(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")

    def append_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> int:
        """Append records to a stream in one transaction; see ``AggregateStreams``."""
        batch = list(records)
        check_stream_write(self.tenant, kind, stream_id, company_id, batch, expected_version)
        rows = [
            {
                "kind": kind,
                "stream_id": stream_id,
                "company_id": company_id,
                "version": r.version,
                "type": r.type,
                "occurred_at": to_utc(r.occurred_at),
                "document": r.document,
            }
            for r in batch
        ]
        action = f"appending to {kind} stream {stream_id!r}"
        with self._lock:
            try:
                with self._write() as conn:
                    self._lock_streams(conn)
                    self._checked_version(conn, kind, stream_id, company_id, expected_version)
                    conn.execute(self._t.streams.insert(), rows)
            except sa_exc.SQLAlchemyError as exc:
                # A racing writer took the version (unique constraint, or a deadlock on
                # MariaDB): say so with the version now stored; anything else is a store error.
                self._refuse_if_moved(kind, stream_id, company_id, expected_version, action, exc)
        return expected_version + len(batch)

    def _refuse_if_moved(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        expected_version: int,
        action: str,
        exc: sa_exc.SQLAlchemyError,
    ) -> NoReturn:
        try:
            version = self._read(
                action, lambda conn: self._stream_version(conn, kind, company_id, stream_id)
            )
        except PropcrmError:
            _store_error(action, exc)
        if version != expected_version:
            raise StreamConcurrencyError(
                kind=kind,
                stream_id=stream_id,
                expected_version=expected_version,
                actual_version=version,
            ) from exc
        _store_error(action, exc)

    def read_stream(
        self,
        kind: str,
        stream_id: str,
        after_version: int = 0,
        *,
        company_id: str | None = None,
    ) -> list[StreamRecord]:
        """The company's stream's records above ``after_version``; empty if unknown."""
        company = check_stream_read(
            self.tenant, kind, company_id, stream_id=stream_id, after_version=after_version
        )
        assert company is not None  # check_stream_read requires one here
        s = self._t.streams
        statement = (
            sa.select(s.c.version, s.c.type, s.c.occurred_at, s.c.document)
            .where(*self._stream_of(kind, company, stream_id), s.c.version > after_version)
            .order_by(s.c.version)
        )
        rows = self._read(
            f"reading {kind} stream {stream_id!r}", lambda conn: conn.execute(statement).all()
        )
        return [_record(kind, stream_id, *row) for row in rows]

    def stream_ids(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[str]:
        """The company's stream ids of ``kind`` in code-point order, one page."""
        company = check_stream_read(self.tenant, kind, company_id)
        check_stream_page(limit, after)
        s = self._t.streams
        # Every stream has exactly one version 1: one row per stream, no DISTINCT needed.
        where = [s.c.kind == kind, s.c.company_id == company, s.c.version == 1]
        if after is not None:
            where.append(s.c.stream_id > after)
        statement = sa.select(s.c.stream_id).where(*where).order_by(s.c.stream_id).limit(limit + 1)
        ids = self._read(
            f"listing {kind} streams", lambda conn: list(conn.execute(statement).scalars())
        )
        items = tuple(str(i) for i in ids[:limit])
        return Page(items=items, next_cursor=items[-1] if len(ids) > limit else None)

    def iter_stream_records(
        self,
        kind: str,
        *,
        company_id: str | None = None,
        after_position: int = 0,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredStreamRecord]]:
        """Every record of ``kind`` of the company (all, for an admin) after a position.

        Each batch is one keyset query; no connection is held between batches.
        """
        only = check_stream_read(
            self.tenant,
            kind,
            company_id,
            after_position=after_position,
            batch_size=batch_size,
            every_company=True,
        )
        s = self._t.streams
        scoped = s.c.company_id == only if only is not None else sa.true()
        statement = (
            sa.select(
                s.c.position,
                s.c.stream_id,
                s.c.company_id,
                s.c.version,
                s.c.type,
                s.c.occurred_at,
                s.c.document,
            )
            .where(s.c.kind == kind, s.c.position > sa.bindparam("after"), scoped)
            .order_by(s.c.position)
            .limit(batch_size)
        )

        def fetch(conn: sa.Connection, after: int) -> list[Any]:
            return list(conn.execute(statement, {"after": after}).all())

        position = after_position
        while True:
            rows = self._read(f"reading {kind} streams", functools.partial(fetch, after=position))
            if not rows:
                return
            batch = [
                StoredStreamRecord(
                    position=int(pos),
                    stream_id=stream_id,
                    company_id=company,
                    record=_record(kind, stream_id, *rest),
                )
                for pos, stream_id, company, *rest in rows
            ]
            position = batch[-1].position
            yield batch

    def rewrite_stream(
        self,
        kind: str,
        stream_id: str,
        company_id: str,
        records: Sequence[StreamRecord],
        expected_version: int,
    ) -> None:
        """Replace stored documents in place (erasure); see ``AggregateStreams``."""
        batch = list(records)
        check_stream_write(
            self.tenant, kind, stream_id, company_id, batch, expected_version, rewrite=True
        )
        s = self._t.streams
        action = f"rewriting {kind} stream {stream_id!r}"
        with self._lock:
            try:
                with self._write() as conn:
                    self._lock_streams(conn)
                    self._checked_version(conn, kind, stream_id, company_id, expected_version)
                    stored = dict(
                        conn.execute(
                            sa.select(s.c.version, s.c.type).where(
                                *self._stream_of(kind, company_id, stream_id),
                                s.c.version.in_([r.version for r in batch]),
                            )
                        ).all()
                    )
                    for index, record in enumerate(batch):
                        if stored.get(record.version) != record.type:
                            raise ValidationError.single(
                                f"$.records[{index}].type",
                                f"version {record.version} is a {stored.get(record.version)!r}, "
                                f"not a {record.type!r}",
                                subject="rewrite_stream",
                            )
                    update = (
                        s.update()
                        .where(
                            *self._stream_of(kind, company_id, stream_id),
                            s.c.version == sa.bindparam("b_version"),
                        )
                        .values(document=sa.bindparam("b_document"))
                    )
                    conn.execute(
                        update,
                        [{"b_version": r.version, "b_document": r.document} for r in batch],
                    )
            except sa_exc.SQLAlchemyError as exc:
                _store_error(action, exc)


def _record(
    kind: str, stream_id: str, version: Any, type_: Any, occurred_at: Any, document: Any
) -> StreamRecord:
    """A stored row as a record; a row changed outside propcrm raises a typed error."""
    if isinstance(document, bytes | bytearray):
        document = bytes(document).decode("utf-8", errors="replace")
    try:
        when = occurred_at.replace(tzinfo=timezone.utc)
        return StreamRecord(version=version, type=type_, occurred_at=when, document=document)
    except (ValidationError, AttributeError, TypeError) as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else ()
        if errors:
            raise ValidationError(
                errors,
                subject=f"{kind} stream {stream_id!r} version {version}",
                hint="the row was changed outside propcrm; restore it from a backup",
            ) from None
        raise StoreError(
            f"{kind} stream {stream_id!r} version {version}: stored time {occurred_at!r} "
            "is not a time",
            hint="the row was changed outside propcrm; restore it from a backup",
        ) from None
