"""The SQL store's trusted-row decoder agrees with the validating one, and still refuses bad rows.

``EventDecoder.decode_rows`` skips cattrs' detailed validation and the envelope validators for
rows the store wrote itself; every row it cannot vouch for goes through ``decode``, which raises
the typed error. These tests feed it the rows the store really writes (through the same
``event_columns`` encoding) and rows damaged one field at a time.
"""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from propcrm.errors import StoreError, ValidationError
from propcrm.stores import open_store
from propcrm.stores.sql import SqlStore
from propcrm.stores.sql._codec import EventDecoder, event_columns, gc_paused
from propcrm.testing.store_contract import T0, act, receive
from propcrm.testing.strategies import st_histories
from propcrm.workflow import Event
from propcrm.workflow import commands as c

_COLUMNS = (
    "event_id",
    "ticket_id",
    "sequence",
    "type",
    "occurred_at",
    "actor",
    "payload",
    "schema_version",
)


def _row(position: int, event: Event, *, as_text: bool = True) -> list[Any]:
    columns = event_columns(event)
    row = [position] + [columns[name] for name in _COLUMNS]
    if as_text:  # SQLite hands times back as text
        row[5] = str(row[5])
    return row


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(history=st_histories(max_commands=12))
def test_trusted_rows_decode_to_the_events_written(history: list[Event]) -> None:
    for as_text in (True, False):
        rows = [_row(i + 1, e, as_text=as_text) for i, e in enumerate(history)]
        decoded = EventDecoder().decode_rows(rows)
        assert [s.event for s in decoded] == history
        assert [s.position for s in decoded] == list(range(1, len(history) + 1))
        # the validating path agrees
        assert [EventDecoder().decode(*row) for row in rows] == history


def _history() -> list[Event]:
    ticket, events = receive("t1")
    _, more = act(ticket, c.AddWorkLog(ticket_id="t1", note="x"), T0 + timedelta(minutes=5))
    return events + more


@pytest.mark.parametrize(
    ("index", "value", "error", "path"),
    [
        (1, "  ", ValidationError, "$.event_id"),
        (1, None, ValidationError, "$.event_id"),
        (3, 0, ValidationError, "$.sequence"),
        (3, "2", ValidationError, "$.sequence"),
        (4, "ticket_nope", ValidationError, "$.type"),
        (5, "yesterday", ValidationError, "$.occurred_at"),
        (6, '{"id": ""}', ValidationError, "$.actor"),
        (7, "[1, 2", StoreError, None),
        (7, "{}", ValidationError, "$.payload.note"),
        (7, '{"note": "x", "colour": "red"}', ValidationError, "$.payload"),
        (8, 99, ValidationError, "$.schema_version"),
    ],
)
def test_a_damaged_row_raises_the_typed_error_naming_ticket_position_and_field(
    index: int, value: Any, error: type[Exception], path: str | None
) -> None:
    rows = [_row(i + 1, e) for i, e in enumerate(_history())]
    rows[1][index] = value
    decoder = EventDecoder()
    with pytest.raises(error, match=r"t1.*position 2") as info:
        decoder.decode_rows(rows)
    if path is not None:
        assert isinstance(info.value, ValidationError)
        assert any(p.startswith(path) for p in info.value.paths), info.value.paths
    # an undamaged batch still decodes with the same decoder (nothing bad was cached)
    good = [_row(i + 1, e) for i, e in enumerate(_history())]
    assert [s.event for s in decoder.decode_rows(good)] == _history()


def test_a_time_with_an_offset_is_still_read() -> None:
    history = _history()
    rows = [_row(i + 1, e) for i, e in enumerate(history)]
    rows[0][5] = history[0].occurred_at.isoformat()  # aware text, not the store's naive UTC
    assert [s.event for s in EventDecoder().decode_rows(rows)] == history


def test_gc_paused_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()


def test_iter_events_streams_what_was_saved_in_batches(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(store, SqlStore)
    written: list[Event] = []
    for n in range(7):
        ticket, events = receive(f"t{n}")
        store.save(ticket, events, 0)
        new, more = act(ticket, c.AddWorkLog(ticket_id=f"t{n}", note=f"note {n}"), T0)
        store.save(new, more, 1)
        written += events + more
    batches = list(store.iter_events(batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 3, 3, 2]
    streamed = [s for b in batches for s in b]
    assert [s.event for s in streamed] == written
    positions = [s.position for s in streamed]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    store.close()
