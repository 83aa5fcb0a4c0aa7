"""Store benchmark: saves per second and filtered queries for the memory, SQLite, PostgreSQL and
MariaDB stores, each SQL store against its raw driver doing the same statements in the same run;
then streaming events from SQLite, with peak memory.

The raw-driver baseline (stdlib ``sqlite3``, ``psycopg``, ``pymysql``) runs the statements the
SQL store runs, on tables of the same schema, with the same row encoding (``dump_ticket`` /
``dump_event``) and the same decoding of query results (``load_ticket``), so the ratio measures
what SQLAlchemy Core and the store's own checks cost.

    python benchmarks/store_bench.py            # full run, writes benchmarks/results/store.md
    python benchmarks/store_bench.py --quick    # small sizes, seconds
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from propcrm.model import TicketStatus
from propcrm.stores import StoredEvent, TicketQuery, open_store
from propcrm.stores.helpers import load_ticket
from propcrm.stores.memory import MemoryStore
from propcrm.stores.sql import SqlStore
from propcrm.stores.sql._codec import gc_paused
from propcrm.testing.store_contract import T0, act, receive
from propcrm.workflow import Event
from propcrm.workflow import commands as c

ROOT = Path(__file__).resolve().parent
PG_URL = os.environ.get(
    "PROPCRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MY_URL = os.environ.get("PROPCRM_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def workload(n: int) -> list[tuple[Any, list[Any], Any, list[Any]]]:
    """``n`` tickets: intake (version 1) and a dispatch (version 2), over three projects."""
    items = []
    for i in range(n):
        ticket_id = f"b{i:07d}"
        at = T0 + timedelta(minutes=i)
        t1, e1 = receive(ticket_id, project=f"p{i % 3}", at=at)
        t2, e2 = act(
            t1, c.DispatchTicket(ticket_id=ticket_id, party="PM", assignee=f"w{i % 7}"), at
        )
        items.append((t1, e1, t2, e2))
    return items


QUERY = TicketQuery(
    statuses=frozenset({TicketStatus.DISPATCHED}), project_ids=frozenset({"p1"}), limit=50
)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # not Linux
        return "unknown"


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_store(store: Any, items: list[Any], queries: int) -> tuple[float, float]:
    gc.collect()
    start = time.perf_counter()
    for t1, e1, t2, e2 in items:
        store.save(t1, e1, 0, due_at=t1.received_at + timedelta(hours=4))
        store.save(t2, e2, 1, due_at=t2.received_at + timedelta(days=1))
    saves = rate(2 * len(items), time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(queries):
        page = store.query(QUERY)
        assert page.items
    return saves, rate(queries, time.perf_counter() - start)


# -- raw drivers ------------------------------------------------------------------------------


def raw_statements(store: SqlStore) -> dict[str, str]:
    """The SQL the store's write path runs, and its query, as text for the raw driver.

    The write statements are the store's own (``_DriverSql`` renders them in the driver's
    parameter style); the query is what SQLAlchemy renders for the benchmark's filter.
    """
    prefix = store.prefix
    pg = store.engine.dialect.name == "postgresql"
    qmark = store.engine.dialect.paramstyle == "qmark"

    def p(name: str) -> str:
        return f":{name}" if qmark else f"%({name})s"

    quote = store.engine.dialect.identifier_preparer.quote
    return {
        "lock": f"LOCK TABLE {quote(prefix + 'events')} IN SHARE ROW EXCLUSIVE MODE" if pg else "",
        "insert_ticket": store._sql_insert_ticket[0],
        "update_ticket": store._sql_update_ticket[0],
        "insert_events": store._sql_insert_events[0],
        "query": f"SELECT ticket_id, data FROM {prefix}tickets WHERE status IN ({p('s')}) "
        f"AND project_id IN ({p('p')}) ORDER BY received_at, ticket_id LIMIT {p('n')}",
    }


def bench_raw(
    connect: Callable[[], Any],
    store: SqlStore,
    begin: str | None,
    items: list[Any],
    queries: int,
) -> tuple[float, float]:
    """The store's statements through the bare driver, with the store's row encoding.

    Per save: ``BEGIN IMMEDIATE`` on SQLite (the lock on PostgreSQL), the ticket ``INSERT`` or
    the optimistic ``UPDATE … WHERE version = ?`` (its rowcount checked), the events
    ``INSERT`` (``executemany`` for several), ``COMMIT``. Rows are encoded by the store's own
    ``_ticket_row`` / ``_event_rows`` (JSON with cattrs), so the ratio measures what the store
    adds around the driver: SQLAlchemy's pool, the save checks, the optimistic-concurrency
    bookkeeping. Query results are decoded with ``load_ticket`` as the store does.
    """
    sql = raw_statements(store)
    conn = connect()
    cur = conn.cursor()
    binders = {
        "insert_ticket": store._sql_insert_ticket[1],
        "update_ticket": store._sql_update_ticket[1],
        "insert_events": store._sql_insert_events[1],
    }

    def _ticket_params(ticket: Any, due: Any) -> dict[str, Any]:
        return store._ticket_row(ticket, due)

    def _event_params(company: str, events: list[Any]) -> list[dict[str, Any]]:
        return store._event_rows(company, events)

    def bind(statement_key: str, params: dict[str, Any]) -> Any:
        # The store's statements are in the driver's parameter style (qmark on SQLite): the
        # store's binder turns the named values into what the statement takes.
        return binders[statement_key](params)

    def execute(statement: str, params: Any) -> Any:
        cur.execute(statement, params)
        return cur

    def run_tx(first: str, first_params: dict[str, Any], events: list[dict[str, Any]]) -> None:
        if begin:
            cur.execute(begin)
        if sql["lock"]:
            cur.execute(sql["lock"])
        result = execute(sql[first], bind(first, first_params))
        assert result.rowcount == 1
        if len(events) == 1:
            cur.execute(sql["insert_events"], bind("insert_events", events[0]))
        else:
            cur.executemany(sql["insert_events"], [bind("insert_events", e) for e in events])
        conn.commit() if not begin else cur.execute("COMMIT")

    gc.collect()
    start = time.perf_counter()
    for t1, e1, t2, e2 in items:
        run_tx(
            "insert_ticket",
            _ticket_params(t1, t1.received_at + timedelta(hours=4)),
            _event_params(t1.scope.company_id, e1),
        )
        params = _ticket_params(t2, t2.received_at + timedelta(days=1))
        params.update(b_ticket_id=t2.ticket_id, b_expected=1, b_company=t2.scope.company_id)
        run_tx("update_ticket", params, _event_params(t2.scope.company_id, e2))
    saves = rate(2 * len(items), time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(queries):
        if begin:
            cur.execute(begin.replace(" IMMEDIATE", ""))
        cur.execute(sql["query"], {"s": "dispatched", "p": "p1", "n": 51})
        rows = cur.fetchall()
        items_out = [load_ticket(data, ticket_id) for ticket_id, data in rows[:50]]
        assert items_out
        conn.commit() if not begin else cur.execute("COMMIT")
    found = rate(queries, time.perf_counter() - start)
    conn.close()
    return saves, found


# -- streaming --------------------------------------------------------------------------------


def fill_events(path: Path, n_events: int, store: SqlStore, *, distinct: bool = False) -> None:
    """``n_events`` events (tickets of ten events each) written straight into the table.

    By default every ticket repeats one template history, so payload texts repeat (as the
    actors and the payload-less events of real data do). With ``distinct`` each ticket's intake
    description and work-log notes carry its number, so nearly every payload text is new and
    must be parsed: the worst case for the decoder.
    """
    prefix = store.prefix
    ticket, events = receive("TPL")
    for i in range(9):
        ticket, more = act(
            ticket, c.AddWorkLog(ticket_id="TPL", note=f"note {i}"), T0 + timedelta(minutes=i + 1)
        )
        events += more
    template = store._event_rows("c1", events)
    columns = list(template[0])
    statement = (
        f"INSERT INTO {prefix}events ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    raw = sqlite3.connect(path)
    chunk = []
    for k in range(n_events // len(template)):
        tid = f"T{k:08d}"
        for row in template:
            values = dict(row, ticket_id=tid, event_id=f"{tid}/{row['sequence']}")
            if distinct:
                values["payload"] = (
                    row["payload"]
                    .replace("note ", f"note {tid} ")
                    .replace("bathroom", f"bathroom of {tid}")
                )
            chunk.append(tuple(values[name] for name in columns))
        if len(chunk) >= 100_000:
            raw.executemany(statement, chunk)
            chunk.clear()
    raw.executemany(statement, chunk)
    raw.commit()
    raw.close()


def raw_fetch_events(path: Path, prefix: str, *, batch_size: int) -> int:
    """The peer: the stdlib ``sqlite3`` driver running the store's keyset query, rows discarded.

    The same columns, order and batches as ``iter_events`` on an unscoped store, so the time is
    what the driver alone needs to hand the rows to Python, before any decoding.
    """
    statement = (
        "SELECT position, event_id, ticket_id, sequence, type, occurred_at, actor, payload, "
        f"schema_version FROM {prefix}events WHERE position > ? ORDER BY position LIMIT ?"
    )
    conn = sqlite3.connect(path)
    count, position = 0, 0
    try:
        while True:
            rows = conn.execute(statement, (position, batch_size)).fetchall()
            if not rows:
                return count
            count += len(rows)
            position = rows[-1][0]
            del rows
    finally:
        conn.close()


def floor_events(path: Path, prefix: str, *, batch_size: int) -> int:
    """A lower bound for any decoder: the raw fetch plus building the values with no checks.

    Each row becomes the same ``StoredEvent`` and ``Event`` as ``iter_events`` returns, built
    from slots, with the actor and payload looked up in dicts of already-decoded values and
    no validation at all; each batch is dropped before the next, as a streaming consumer does.
    """
    from propcrm.stores.sql._codec import _EVENT_SLOTS, _STORED_SLOTS, EventDecoder

    statement = (
        "SELECT position, event_id, ticket_id, sequence, type, occurred_at, actor, payload, "
        f"schema_version FROM {prefix}events WHERE position > ? ORDER BY position LIMIT ?"
    )
    set_id, set_ticket, set_seq, set_at, set_actor, set_payload, set_version = _EVENT_SLOTS
    set_position, set_event = _STORED_SLOTS
    decoder = EventDecoder()
    actors: dict[str, Any] = {}
    payloads: dict[tuple[str, str], Any] = {}
    new, fromiso = object.__new__, datetime.fromisoformat
    conn = sqlite3.connect(path)
    count, position = 0, 0
    try:
        while True:
            rows = conn.execute(statement, (position, batch_size)).fetchall()
            if not rows:
                return count
            with gc_paused():
                batch = []
                for pos, event_id, ticket_id, seq, kind, at, actor, payload, version in rows:
                    if actor not in actors or (kind, payload) not in payloads:
                        # Decoded once per distinct text, outside the bound (shared values).
                        event = decoder.decode(
                            pos, event_id, ticket_id, seq, kind, at, actor, payload, version
                        )
                        actors[actor], payloads[(kind, payload)] = event.actor, event.payload
                    event = new(Event)
                    set_id(event, event_id)
                    set_ticket(event, ticket_id)
                    set_seq(event, seq)
                    set_at(event, fromiso(at + "+00:00"))
                    set_actor(event, actors[actor])
                    set_payload(event, payloads[(kind, payload)])
                    set_version(event, version)
                    stored = new(StoredEvent)
                    set_position(stored, pos)
                    set_event(stored, event)
                    batch.append(stored)
                del rows
            count += len(batch)
            position = batch[-1].position
            del batch
    finally:
        conn.close()


def stream_seconds(n_events: int, *, distinct: bool) -> tuple[int, float, float]:
    """Fill a fresh SQLite file and stream it once: (events, wall seconds, CPU seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.db"
        store = open_store(f"sqlite:///{path}")
        assert isinstance(store, SqlStore)
        fill_events(path, n_events, store, distinct=distinct)
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        count = sum(len(batch) for batch in store.iter_events(batch_size=10_000))
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        store.close()
    assert count == n_events - n_events % 10
    return count, seconds, cpu_seconds


def bench_stream(n_events: int, peak_events: int, rounds: int) -> dict[str, Any]:
    distinct_events = max(10, n_events // 5)
    _, distinct_seconds, distinct_cpu = stream_seconds(distinct_events, distinct=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.db"
        store = open_store(f"sqlite:///{path}")
        assert isinstance(store, SqlStore)
        fill_events(path, n_events, store)
        timings: list[tuple[float, float]] = []
        raw_timings: list[tuple[float, float]] = []
        floor_timings: list[tuple[float, float]] = []
        for round_number in range(rounds):
            # The peer and the store alternate which goes first, as in the throughput rounds.
            for side in ("store", "raw") if round_number % 2 == 0 else ("raw", "store"):
                gc.collect()
                start, cpu = time.perf_counter(), time.process_time()
                if side == "store":
                    count = sum(len(batch) for batch in store.iter_events(batch_size=10_000))
                else:
                    count = raw_fetch_events(path, store.prefix, batch_size=10_000)
                took = (time.perf_counter() - start, time.process_time() - cpu)
                (timings if side == "store" else raw_timings).append(took)
                assert count == n_events - n_events % 10
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            count = floor_events(path, store.prefix, batch_size=10_000)
            floor_timings.append((time.perf_counter() - start, time.process_time() - cpu))
            assert count == n_events - n_events % 10
        seconds, cpu_seconds = min(timings)
        raw_seconds, raw_cpu = min(raw_timings)
        floor_seconds, floor_cpu = min(floor_timings)
        all_seconds = [t for t, _ in timings]
        peaks = {}
        for batch_size in (1_000, 10_000):
            tracemalloc.start()
            seen = 0
            for batch in store.iter_events(batch_size=batch_size):
                seen += len(batch)
                if seen >= peak_events:
                    break
            peaks[batch_size] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        store.close()
    return {
        "events": count,
        "seconds": seconds,
        "all_seconds": all_seconds,
        "cpu": cpu_seconds,
        "peaks": peaks,
        "peak_events": peak_events,
        "distinct_events": distinct_events,
        "distinct_seconds": distinct_seconds,
        "distinct_cpu": distinct_cpu,
        "raw_seconds": raw_seconds,
        "raw_cpu": raw_cpu,
        "floor_seconds": floor_seconds,
        "floor_cpu": floor_cpu,
    }


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, not minutes)")
    parser.add_argument("--tickets", type=int, help="tickets saved per store")
    parser.add_argument("--events", type=int, help="events streamed from SQLite")
    parser.add_argument("--stores", default="memory,sqlite,postgres,mariadb")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per measurement; the best one counts"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "store.md")
    args = parser.parse_args(argv)
    n = args.tickets or (200 if args.quick else 2_000)
    n_events = args.events or (50_000 if args.quick else 1_000_000)
    queries = max(10, n // 10)
    wanted = set(args.stores.split(","))
    load_start = _loadavg()
    items = workload(n)
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    rows: list[tuple[str, float, float, str, str]] = []

    rounds = args.rounds
    if "memory" in wanted:
        best = [bench_store(MemoryStore(), items, queries) for _ in range(rounds)]
        rows.append(("memory", max(b[0] for b in best), max(b[1] for b in best), "", ""))

    def sql_row(name: str, url: str, connect: Callable[[], Any], begin: str | None) -> None:
        store_url = f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
        saves = found = raw_saves = raw_found = 0.0

        def fresh() -> SqlStore:
            # New tables for every run: rows deleted by an earlier run would leave dead index
            # entries (PostgreSQL) that slow whichever side runs later.
            store = open_store(store_url)
            assert isinstance(store, SqlStore)
            store.drop_tables()
            store.close()
            store = open_store(store_url)
            assert isinstance(store, SqlStore)
            return store

        # Rounds alternate which side goes first; each side keeps its best round, so a burst
        # of load from the machine's other users hurts neither side.
        for round_number in range(rounds):
            for side in ("store", "raw") if round_number % 2 == 0 else ("raw", "store"):
                store = fresh()
                try:
                    if side == "store":
                        s, q = bench_store(store, items, queries)
                        saves, found = max(saves, s), max(found, q)
                    else:
                        s, q = bench_raw(connect, store, begin, items, queries)
                        raw_saves, raw_found = max(raw_saves, s), max(raw_found, q)
                finally:
                    store.drop_tables()
                    store.close()
        rows.append(
            (
                name,
                saves,
                found,
                f"{raw_saves:,.0f} / {raw_found:,.0f}",
                f"{saves / raw_saves:.0%} / {found / raw_found:.0%}",
            )
        )

    tmp = Path(tempfile.mkdtemp())
    if "sqlite" in wanted:
        db = tmp / "bench.db"

        def sqlite_connect() -> sqlite3.Connection:
            conn = sqlite3.connect(db, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn

        sql_row(
            "SQLite (file, WAL) vs sqlite3",
            f"sqlite:///{db}",
            sqlite_connect,
            "BEGIN IMMEDIATE",
        )
    skipped = []
    if "postgres" in wanted:
        try:
            import psycopg

            dsn = sa.make_url(PG_URL).set(drivername="postgresql").render_as_string(False)
            sql_row(
                "PostgreSQL vs psycopg",
                PG_URL,
                lambda: psycopg.connect(dsn),
                None,
            )
        except Exception as exc:  # a missing server is reported, not fatal
            skipped.append(f"PostgreSQL: {exc}")
    if "mariadb" in wanted:
        try:
            import pymysql

            u = sa.make_url(MY_URL)
            sql_row(
                "MariaDB vs pymysql",
                MY_URL,
                lambda: pymysql.connect(
                    host=u.host,
                    port=u.port or 3306,
                    user=u.username,
                    password=u.password or "",
                    database=u.database,
                    charset="utf8mb4",
                ),
                None,
            )
        except Exception as exc:
            skipped.append(f"MariaDB: {exc}")

    load_before = _loadavg()
    stream = bench_stream(n_events, min(n_events, 200_000), rounds)
    lines = [
        "# Store benchmark",
        "",
        f"`python benchmarks/store_bench.py{' --quick' if args.quick else ''}` on "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs. {n:,} tickets, each saved twice "
        f"(intake, then dispatch); {queries} filtered queries (status + project, 50 a page). "
        f"Each figure is the best of {rounds} rounds on fresh tables, store and raw driver "
        "alternating which goes first. "
        f"Load average at the start: {load_start}; before streaming: {load_before}; "
        f"at the end: {_loadavg()}.",
        "",
        "| store | saves/s | queries/s | raw driver saves/s / queries/s | store ÷ raw |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b:,.0f} | {q:,.0f} | {r} | {x} |" for a, b, q, r, x in rows]
    lines += [
        "",
        f"Streaming {stream['events']:,} events from SQLite with `iter_events(batch_size=10000)`: "
        f"**{stream['seconds']:.2f} s** ({stream['events'] / stream['seconds']:,.0f} events/s; "
        f"{stream['cpu']:.2f} s of CPU; best of "
        f"{', '.join(f'{t:.2f}' for t in stream['all_seconds'])} s). Tickets repeat one "
        "ten-event template, so payload texts repeat and are decoded once each.",
        "",
        f"The peer in the same run, the stdlib `sqlite3` driver running the same keyset query "
        f"and discarding the rows (no decoding): **{stream['raw_seconds']:.2f} s** "
        f"({stream['raw_cpu']:.2f} s of CPU). The store streams decoded events at "
        f"**{stream['raw_seconds'] / stream['seconds']:.0%}** of the speed at which the raw "
        "driver alone returns the rows.",
        "",
        f"A lower bound for any decoder in the same run: the raw fetch plus building the same "
        f"`StoredEvent` and `Event` values from slots with shared actors and payloads and no "
        f"checks at all, each batch dropped before the next: **{stream['floor_seconds']:.2f} s** "
        f"({stream['floor_cpu']:.2f} s of CPU).",
        "",
        f"Worst case, every payload text distinct: {stream['distinct_events']:,} events in "
        f"{stream['distinct_seconds']:.2f} s "
        f"({stream['distinct_events'] / stream['distinct_seconds']:,.0f} events/s; "
        f"{stream['distinct_cpu']:.2f} s of CPU).",
        "",
        f"Peak traced memory while streaming {stream['peak_events']:,} events: "
        + ", ".join(f"{mb:.1f} MiB at batch size {size:,}" for size, mb in stream["peaks"].items())
        + " (it follows the batch size, not the number of events).",
    ]
    lines += [
        "",
        "Targets (issue 5): SQL store throughput ≥ 50% of the raw driver; 1,000,000 events "
        "streamed from SQLite in ≤ 3 s with memory bounded by the batch size. The machine these "
        "results come from is shared, so ratios move by tens of points between runs.",
    ]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped)]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
