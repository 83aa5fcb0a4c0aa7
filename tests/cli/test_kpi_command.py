"""``propcrm kpi``: the numbers are the engines' numbers, from a store or a facts file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from propcrm.cli._data_commands import store_histories
from propcrm.metrics.calendar import get_calendar
from propcrm.metrics.kpi import (
    FactOptions,
    Households,
    compute,
    facts_to_arrow,
    ticket_facts,
    write_parquet,
)
from propcrm.metrics.sla import default_policies
from propcrm.stores import open_store

from .conftest import AS_OF, Crm, Run, assert_one_line_error, run_module

Runner = Callable[..., Run]
OPTIONS = FactOptions(
    as_of=AS_OF, calendar=get_calendar("cn-statutory"), policies=default_policies()
)
STORE_ARGS = ("--as-of", AS_OF.isoformat())


def expected(crm: Crm, **engine: Any) -> list[dict[str, Any]]:
    """The streaming engine's own values on the same histories, as JSON would carry them."""
    values = compute(crm.histories.values(), options=OPTIONS, **engine)
    return [json.loads(json.dumps(v.as_dict())) for v in values]


def as_json(result: Run) -> list[dict[str, Any]]:
    assert result.code == 0, result.err
    data: list[dict[str, Any]] = json.loads(result.out)
    return data


@pytest.fixture(scope="module")
def facts(crm: Crm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The store's facts exported as Parquet (the exporter) and as CSV."""
    folder = tmp_path_factory.mktemp("facts")
    rows = [ticket_facts(h, OPTIONS) for h in crm.histories.values()]
    parquet = folder / "facts.parquet"
    assert write_parquet(rows, str(parquet)) == len(rows)
    csv_file = folder / "facts.csv"
    pl.from_arrow(facts_to_arrow(rows)).write_csv(csv_file)  # type: ignore[union-attr]
    return {"parquet": parquet, "csv": csv_file}


def test_store_json_equals_the_streaming_engine(crm: Crm, run: Runner) -> None:
    got = as_json(
        run("kpi", "--store", crm.url, "--by", "month,project", "--format", "json", *STORE_ARGS)
    )
    want = expected(crm, group_by=("project",), period="month")
    assert got == want
    assert len(got) > 40  # the whole suite, several groups
    timeliness = {
        (r["project"], r["period"]): (r["numerator"], r["denominator"], r["met"])
        for r in got
        if r["kpi"] == "repair_timeliness"
    }
    # R-1 (March) done in a day; R-2 (April, p2) took nine days: the P3 target is 3 working days
    assert timeliness[("p1", "2026-03")] == (1, 1, True)
    assert timeliness[("p2", "2026-04")] == (0, 1, False)


def test_store_stream_yields_every_history_once(crm: Crm) -> None:
    store = open_store(crm.url)
    try:
        streamed = {h[0].ticket_id: h for h in store_histories(store, batch_size=3)}
    finally:
        store.close()
    assert streamed == crm.histories


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_facts_file_agrees_with_the_store(
    crm: Crm, facts: dict[str, Path], run: Runner, kind: str
) -> None:
    args = ("--by", "project,month", "--format", "json")
    from_store = as_json(run("kpi", "--store", crm.url, *args, *STORE_ARGS))
    from_facts = as_json(run("kpi", "--facts", str(facts[kind]), *args))
    assert from_facts == from_store
    assert from_facts == expected(crm, group_by=("project",), period="month")


def test_csv_output_parses_to_the_same_numbers(crm: Crm, run: Runner) -> None:
    args = (
        "kpi",
        "--store",
        crm.url,
        "--by",
        "kind",
        "--kpi",
        "backlog,resolution_median",
        *STORE_ARGS,
    )
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").out)))
    records = as_json(run(*args, "--format", "json"))
    assert [r["kpi"] for r in rows] == [r["kpi"] for r in records]
    assert {r["kpi"] for r in rows} == {"backlog", "resolution_median"}
    for row, record in zip(rows, records, strict=True):
        assert row["kind"] == record["kind"]
        assert (float(row["value"]) if row["value"] else None) == record["value"]
        assert row["met"] == ("" if record["met"] is None else str(record["met"]).lower())


def test_kpi_subset_window_and_households(crm: Crm, run: Runner, tmp_path: Path) -> None:
    homes = tmp_path / "households.csv"
    homes.write_text("org_unit_id,households\np1,200\np2,50\n", encoding="utf-8")
    names = "valid_complaint_rate_per_100,complaint_handling_rate"
    got = as_json(
        run(
            "kpi",
            "--store",
            crm.url,
            "--kpi",
            names,
            "--by",
            "project",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--households",
            str(homes),
            "--format",
            "json",
            *STORE_ARGS,
        )
    )
    want = expected(
        crm,
        definitions=names.split(","),
        group_by=("project",),
        window=(date(2026, 3, 1), date(2026, 4, 1)),
        households=Households(by_unit={"p1": 200, "p2": 50}, total=250),
    )
    assert got == want
    rate = next(r for r in got if r["kpi"] == "valid_complaint_rate_per_100")
    # one valid complaint in March (C-2 was invalid) over p1's 200 households
    assert (rate["project"], rate["numerator"], rate["denominator"]) == ("p1", 1, 200)
    assert rate["value"] == pytest.approx(0.5)


def test_company_scopes_the_store_and_the_facts(
    crm: Crm, facts: dict[str, Path], run: Runner
) -> None:
    args = ("--kpi", "backlog", "--by", "company", "--format", "json", "--company", "co2")
    from_store = as_json(run("kpi", "--store", crm.url, *args, *STORE_ARGS))
    assert [(r["company"], r["value"]) for r in from_store] == [("co2", 1.0)]
    assert as_json(run("kpi", "--facts", str(facts["parquet"]), *args)) == from_store


def test_table_shows_value_target_and_result(crm: Crm, run: Runner) -> None:
    args = ("kpi", "--store", crm.url, "--kpi", "repair_timeliness", "--by", "month", *STORE_ARGS)
    english = run(*args, "--lang", "en")
    assert english.code == 0, english.err
    lines = english.out.splitlines()
    assert lines[0].split() == ["KPI", "Period", "Value", "Target", "Result", "Num/Den"]
    march = next(line for line in lines if "2026-03" in line)
    assert march.split() == ["Repair", "timeliness", "2026-03", "100.0%", "95.0%", "met", "1/1"]
    may = next(line for line in lines if "2026-05" in line)
    assert "missed" in may.split()
    chinese = run(*args)
    assert "维修及时率" in chinese.out and "达标" in chinese.out
    assert english.err == "" and chinese.err == ""  # no progress bar off a terminal


def test_empty_selection(crm: Crm, run: Runner) -> None:
    args = ("kpi", "--store", crm.url, "--from", "2020-01-01", "--to", "2020-01-31", *STORE_ARGS)
    assert as_json(run(*args, "--format", "json")) == []
    assert run(*args, "--format", "csv").out.splitlines()[0].startswith("kpi,period,")
    assert run(*args, "--lang", "en").out == "No values: nothing to count in this selection.\n"


def test_python_dash_m_kpi(crm: Crm, facts: dict[str, Path]) -> None:
    result = run_module(
        "kpi",
        "--facts",
        str(facts["parquet"]),
        "--kpi",
        "backlog",
        "--format",
        "csv",
        "--no-progress",
    )
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    (want,) = expected(crm, definitions=["backlog"])
    # C-2 (invalid but never closed), R-2 (reopened), R-3 and X-1 are open at AS_OF
    assert (
        [(r["kpi"], float(r["value"])) for r in rows]
        == [("backlog", want["value"])]
        == [("backlog", 4.0)]
    )


# -- mistakes ---------------------------------------------------------------------------------


@pytest.fixture
def bad_facts(facts: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    frame = pl.read_csv(facts["csv"], infer_schema=False)
    missing = tmp_path / "missing.csv"
    frame.drop("received_at").write_csv(missing)
    wrong = tmp_path / "wrong.csv"
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("soon"))
        .otherwise(pl.col("closed_at"))
        .alias("closed_at")
    ).write_csv(wrong)
    other = tmp_path / "facts.xlsx"
    other.write_text("x", encoding="utf-8")
    return {"missing": missing, "wrong": wrong, "other": other}


def test_user_mistakes_are_one_line(
    crm: Crm, facts: dict[str, Path], bad_facts: dict[str, Path], run: Runner, tmp_path: Path
) -> None:
    store = ("kpi", "--store", crm.url)
    homes = tmp_path / "homes.csv"
    homes.write_text("org_unit_id,households\np1,many\n", encoding="utf-8")
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((*store, "--kpi", "repair_timelines"), ("unknown KPI", "repair_timeliness")),
        ((*store, "--by", "month,projet"), ("$.by[1]", "'project'")),
        ((*store, "--by", "month,week"), ("$.by[1]", "second period")),
        ((*store, "--as-of", "2026-05-01T10:00"), ("$.as_of", "UTC offset")),
        ((*store, "--from", "2026-13-01", "--to", "2026-12-31"), ("$.from", "ISO date")),
        ((*store, "--from", "2026-04-01", "--to", "2026-03-01"), ("$.to",)),
        ((*store, "--from", "2026-04-01"), ("$.to", "go together")),
        ((*store, "--calendar", "cn-statutroy"), ("unknown calendar", "cn-statutory")),
        ((*store, "--households", str(homes)), ("$.households[0].households", "'many'")),
        ((*store, "--households", str(tmp_path / "none.csv")), ("households file",)),
        (("kpi", "--store", "sqlit:///x.db"), ("store scheme", "sqlite")),
        (("kpi", "--store", "no-scheme.db"), ("$.url", "no scheme")),
        (("kpi", "--store", f"sqlite:///{tmp_path / 'typo.db'}"), ("SQLite store file",)),
        (("kpi", "--facts", str(tmp_path / "none.parquet")), ("unknown facts file",)),
        (("kpi", "--facts", str(bad_facts["other"])), ("$.facts", ".parquet nor .csv")),
        (("kpi", "--facts", str(bad_facts["missing"])), ("$.facts.columns", "received_at")),
        (("kpi", "--facts", str(bad_facts["wrong"])), ("$.facts[2].closed_at", "'soon'")),
        (("kpi", "--facts", str(facts["csv"]), "--as-of", AS_OF.isoformat()), ("$.as_of",)),
    ]
    for argv, fragments in cases:
        assert_one_line_error(run(*argv), *fragments)
    assert not (tmp_path / "typo.db").exists()  # a mistyped store is not created


def test_argparse_mistakes_exit_2_without_traceback(crm: Crm) -> None:
    result = run_module("kpi", "--store", crm.url, "--format", "xml")
    assert result.code == 2
    assert "invalid choice" in result.err and "Traceback" not in result.err
    result = run_module("kpi", "--kpi", "backlog")
    assert result.code == 2 and "one of the arguments --store --facts is required" in result.err


def test_python_dash_m_mistake_is_one_line(tmp_path: Path) -> None:
    result = run_module("kpi", "--facts", str(tmp_path / "nope.parquet"))
    assert_one_line_error(result, "unknown facts file")


class _Racing:
    """A store whose writers add events while the command reads the stream."""

    def __init__(self, inner: Any, write: Callable[[], None]) -> None:
        self._inner = inner
        self._write = write
        self.passes = 0

    def iter_events(self, **kwargs: Any) -> Any:
        self.passes += 1
        if self.passes == 2:
            self._write()  # between the scan and the fold
        return self._inner.iter_events(**kwargs)


def test_stream_is_a_snapshot_of_the_first_pass() -> None:
    from propcrm.testing.store_contract import act, receive
    from propcrm.workflow import commands as c

    store = open_store("memory://")
    one, events = receive("A")
    store.save(one, events, expected_version=0)
    one2, more = act(one, c.DispatchTicket(ticket_id="A", party="PM"), events[0].occurred_at)
    store.save(one2, more, expected_version=one.version)
    before = {"A": store.events("A")}

    def write() -> None:
        later, extra = act(one2, c.AcceptTicket(ticket_id="A"), events[0].occurred_at)
        store.save(later, extra, expected_version=one2.version)
        two, first = receive("B")
        store.save(two, first, expected_version=0)

    racing = _Racing(store, write)
    got = {h[0].ticket_id: h for h in store_histories(racing, batch_size=1)}  # type: ignore[arg-type]
    assert racing.passes == 2
    assert got == before  # A without the late event; B, received after the scan, left out
    assert len(store.events("A")) == 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only(
    crm: Crm, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    args = ("kpi", "--store", crm.url, "--kpi", "backlog", "--format", "csv", *STORE_ARGS)
    plain = run(*args)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    shown = run(*args)
    total = sum(len(h) for h in crm.histories.values())
    assert shown.out == plain.out  # the data never carries the bar
    assert "folding events" in terminal.getvalue()
    assert f"{total}/{total}" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert run(*args, "--no-progress").out == plain.out
    assert quiet.getvalue() == ""


def test_help_documents_the_options() -> None:
    result = run_module("kpi", "--help")
    assert result.code == 0
    for option in ("--store", "--facts", "--by", "--kpi", "--from", "--to", "--households",
                   "--company", "--format", "--lang", "--no-progress"):  # fmt: skip
        assert option in result.out, option
    rfm_help = run_module("rfm", "--help").out
    for column in ("customer_id", "date", "amount", "type", "order_id", "--summary", "--map"):
        assert column in rfm_help, column


def test_households_default_to_the_store_org_units(crm: Crm, run: Runner, tmp_path: Path) -> None:
    import shutil

    from propcrm.model import OrgLevel, OrgUnit

    path = tmp_path / "crm.db"
    shutil.copy(crm.url.removeprefix("sqlite:///"), path)
    store = open_store(f"sqlite:///{path}")
    store.save_org_units(
        [
            OrgUnit(id="grp", name="集团", level=OrgLevel.GROUP),
            OrgUnit(id="co1", name="物业一", level=OrgLevel.COMPANY, parent_id="grp"),
            OrgUnit(id="p1", name="翠湖", level=OrgLevel.PROJECT, parent_id="co1", households=400),
            OrgUnit(id="p2", name="锦澜", level=OrgLevel.PROJECT, parent_id="co1", households=100),
        ]
    )
    store.close()
    args = ("--kpi", "valid_complaint_rate_per_100", "--format", "json", *STORE_ARGS)
    by_project = as_json(run("kpi", "--store", f"sqlite:///{path}", "--by", "project", *args))
    # C-1 and the other company's X-1 are p1's valid complaints; C-2 was invalid
    assert [(r["project"], r["numerator"], r["denominator"]) for r in by_project] == [
        ("p1", 2, 400),
        ("p2", 0, 100),
    ]
    overall = as_json(run("kpi", "--store", f"sqlite:///{path}", *args))
    # the whole tree (the group's 500 households) when no org dimension is grouped by
    assert [(r["numerator"], r["denominator"]) for r in overall] == [(2, 500)]


SERVERS = {"postgres": "PROPCRM_TEST_POSTGRES_URL", "mysql": "PROPCRM_TEST_MYSQL_URL"}


def _server(name: str) -> str:
    """The server's URL from the environment; skip, saying why, when there is none."""
    import os

    import sqlalchemy as sa

    url = os.environ.get(SERVERS[name])
    if not url:
        pytest.skip(f"{SERVERS[name]} is not set: no {name} server configured")
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to reach the server means: skip, with why
        pytest.skip(f"{name} server at {SERVERS[name]} is not reachable: {exc}")
    return url


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_server_stores_give_the_same_kpis(crm: Crm, run: Runner, server: str) -> None:
    import uuid

    from propcrm.stores.sql import open_sql_store
    from propcrm.workflow import replay

    url = f"{_server(server)}?prefix=cli{uuid.uuid4().hex[:8]}_"
    store = open_sql_store(url, tenant=None)
    try:
        for history in crm.histories.values():
            store.save(replay(history), history, expected_version=0)
        args = ("--by", "month,project", "--format", "json", *STORE_ARGS)
        got = as_json(run("kpi", "--store", url, *args))
        assert got == as_json(run("kpi", "--store", crm.url, *args))
        assert got == expected(crm, group_by=("project",), period="month")
    finally:
        store.drop_tables()
        store.close()
