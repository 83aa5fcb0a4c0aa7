"""A small SQLite store built through ``TicketService``, and helpers to run the command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from propcrm.cli import main
from propcrm.model import (
    Actor,
    Channel,
    OrgScope,
    Priority,
    Role,
    Satisfaction,
    TicketKind,
)
from propcrm.service import TicketService
from propcrm.stores import open_store
from propcrm.workflow import Event
from propcrm.workflow import commands as c

CN = timezone(timedelta(hours=8))
BOSS = Actor(id="boss", role=Role.SUPERVISOR)
#: The instant the store's facts describe in the tests.
AS_OF = datetime(2026, 5, 6, 10, 0, tzinfo=CN)


@dataclass
class Crm:
    """The store's URL and every ticket's history, read back from the store."""

    url: str
    histories: dict[str, list[Event]]


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=CN)

    def __call__(self) -> datetime:
        return self.now


def _build(url: str) -> None:
    clock = _Clock()
    store = open_store(url)
    service = TicketService(store, clock=clock)

    def at(when: datetime, *commands: c.Command) -> None:
        for command in commands:
            clock.now = when
            service.execute(command, actor=BOSS)
            when += timedelta(minutes=30)

    def receive(
        tid: str,
        kind: TicketKind,
        *,
        project: str = "p1",
        company: str = "co1",
        priority: Priority = Priority.P3,
    ) -> c.ReceiveTicket:
        return c.ReceiveTicket(
            ticket_id=tid,
            kind=kind,
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id=company, project_id=project, service_centre_id="sc1"),
            description="卫生间天花板滴水",
            priority=priority,
        )

    def done(tid: str) -> list[c.Command]:
        return [
            c.AcceptTicket(ticket_id=tid),
            c.StartWork(ticket_id=tid),
            c.CompleteWork(ticket_id=tid, result="done"),
        ]

    d = datetime
    # March: a repair done in a day, a complaint handled, revisited and closed, an invalid one.
    at(d(2026, 3, 2, 9, tzinfo=CN), receive("R-1", TicketKind.REPAIR))
    at(d(2026, 3, 2, 10, tzinfo=CN), c.DispatchTicket(ticket_id="R-1", party="PM", assignee="w1"))
    at(d(2026, 3, 3, 11, tzinfo=CN), *done("R-1"))
    at(
        d(2026, 3, 4, 9, tzinfo=CN),
        c.RecordRevisit(ticket_id="R-1", satisfaction=Satisfaction.SATISFIED, resolved=True),
        c.CloseTicket(ticket_id="R-1"),
    )
    at(d(2026, 3, 5, 14, tzinfo=CN), receive("C-1", TicketKind.COMPLAINT))
    at(
        d(2026, 3, 5, 15, tzinfo=CN),
        c.RespondToCustomer(ticket_id="C-1", message="收到"),
        c.DispatchTicket(ticket_id="C-1", party="PM", assignee="w2"),
    )
    at(d(2026, 3, 9, 10, tzinfo=CN), *done("C-1"))
    at(
        d(2026, 3, 10, 10, tzinfo=CN),
        c.RecordRevisit(ticket_id="C-1", satisfaction=Satisfaction.SATISFIED, resolved=True),
        c.CloseTicket(ticket_id="C-1"),
    )
    at(d(2026, 3, 6, 9, tzinfo=CN), receive("C-2", TicketKind.COMPLAINT))
    at(d(2026, 3, 6, 10, tzinfo=CN), c.MarkComplaintInvalid(ticket_id="C-2", reason="无效"))
    # April, project p2: a slow repair, reopened after a dissatisfied revisit, still open.
    at(d(2026, 4, 1, 9, tzinfo=CN), receive("R-2", TicketKind.REPAIR, project="p2"))
    at(d(2026, 4, 1, 9, 30, tzinfo=CN), c.DispatchTicket(ticket_id="R-2", party="PM"))
    at(d(2026, 4, 10, 9, tzinfo=CN), *done("R-2"))
    at(
        d(2026, 4, 11, 9, tzinfo=CN),
        c.RecordRevisit(ticket_id="R-2", satisfaction=Satisfaction.DISSATISFIED, resolved=False),
    )
    # May: a fresh repair in p1 (running at AS_OF), and a complaint of another company.
    at(d(2026, 5, 6, 9, tzinfo=CN), receive("R-3", TicketKind.REPAIR))
    at(d(2026, 4, 20, 9, tzinfo=CN), receive("X-1", TicketKind.COMPLAINT, company="co2"))
    at(d(2026, 4, 20, 10, tzinfo=CN), c.RespondToCustomer(ticket_id="X-1", message="ok"))
    store.close()


@pytest.fixture(scope="session")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Crm:
    """The store, built once per session (tests only read it)."""
    path = tmp_path_factory.mktemp("cli") / "crm.db"
    url = f"sqlite:///{path}"
    _build(url)
    store = open_store(url)
    try:
        ids = sorted({s.event.ticket_id for batch in store.iter_events() for s in batch})
        histories = {tid: store.events(tid) for tid in ids}
    finally:
        store.close()
    return Crm(url=url, histories=histories)


@dataclass
class Run:
    """One command-line run: exit code, stdout and stderr."""

    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``main([...])`` in-process and capture its streams."""

    def call(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code=code, out=captured.out, err=captured.err)

    return call


def run_module(*argv: str, cwd: Path | None = None) -> Run:
    """Run ``python -m propcrm ...`` in a subprocess."""
    result = subprocess.run(
        [sys.executable, "-m", "propcrm", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    return Run(code=result.returncode, out=result.stdout, err=result.stderr)


def assert_one_line_error(result: Run, *fragments: str) -> None:
    """Exit 2, nothing on stdout, one ``propcrm: error:`` line naming the fragments."""
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("propcrm: error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
