"""``propcrm sla``: one ticket's SLA state is ``evaluate``'s state, with its warning rung."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from propcrm.metrics.sla import default_policies, evaluate, warnings_for

from .conftest import CN, Crm, Run, assert_one_line_error, run_module

Runner = Callable[..., Run]
AT = datetime(2026, 5, 8, 10, 0, tzinfo=CN)


def sla_json(run: Runner, crm: Crm, ticket: str, *extra: str) -> dict[str, Any]:
    result = run("sla", "--store", crm.url, ticket, "--format", "json", *extra)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


@pytest.mark.parametrize("ticket", ["R-1", "R-2", "R-3", "C-1", "C-2"])
def test_states_equal_evaluate(crm: Crm, run: Runner, ticket: str) -> None:
    got = sla_json(run, crm, ticket, "--at", AT.isoformat())
    history = crm.histories[ticket]
    report = evaluate(history, default_policies(), AT)
    assert got["ticket_id"] == ticket
    assert datetime.fromisoformat(got["evaluated_at"]) == AT
    assert got["policies"] == [a.policy.name for a in report.policies]
    assert len(got["targets"]) == len(report.targets)
    fired = warnings_for(history, default_policies(), AT)
    for record, state in zip(got["targets"], report.targets, strict=True):
        assert (record["policy"], record["target"], record["status"]) == (
            state.policy,
            state.target.value,
            state.status.value,
        )
        due = record["due_at"] and datetime.fromisoformat(record["due_at"])
        assert due == state.due_at
        assert record["elapsed_s"] == state.elapsed.total_seconds()
        assert record["remaining_s"] == state.remaining_seconds
        assert record["breached_by_s"] == state.breached_by_seconds
        rungs = [
            w.rung
            for w in fired
            if (w.policy, w.target, w.cycle) == (state.policy, state.target, state.cycle)
        ]
        assert record["warning"] == (rungs[-1] if rungs else None)


def test_running_breached_and_met(crm: Crm, run: Runner) -> None:
    running = sla_json(run, crm, "R-3", "--at", AT.isoformat())["targets"]
    assert [(t["target"], t["status"], t["warning"]) for t in running] == [
        ("resolution", "pending", "50%")
    ]
    # received Wednesday 09:00: two working days of 7.5 h and one hour used, 6.5 h left
    assert running[0]["elapsed_s"] == 16 * 3600
    assert running[0]["remaining_s"] == 6.5 * 3600
    slow = sla_json(run, crm, "R-2", "--at", AT.isoformat())["targets"]
    assert [(t["status"], t["warning"]) for t in slow] == [("breached", "breach+4h")]
    closed = sla_json(run, crm, "C-1", "--at", AT.isoformat())["targets"]
    # every target met; the resolution clock passed its 50% rung on Monday before completion
    assert [(t["target"], t["status"], t["warning"]) for t in closed] == [
        ("first_response", "met", None),
        ("resolution", "met", "50%"),
        ("revisit", "met", None),
    ]
    early = sla_json(run, crm, "R-3", "--at", (AT - timedelta(days=2)).isoformat())["targets"]
    assert (early[0]["status"], early[0]["warning"]) == ("pending", None)


def test_table(crm: Crm, run: Runner) -> None:
    result = run("sla", "--store", crm.url, "R-3", "--at", AT.isoformat(), "--lang", "en")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "R-3 @ 2026-05-08T10:00+08:00"
    assert lines[1].split() == [
        "Policy", "Target", "Status", "Warning", "Due", "Elapsed", "Remaining", "Late", "by",
    ]  # fmt: skip
    # due at 18:00 local: the 6.5 business hours left on Friday
    assert lines[3].split() == [
        "P3-ordinary-repair", "Resolution", "Pending", "50%", "2026-05-08", "18:00", "16.00",
        "h", "6.50", "h", "-",
    ]  # fmt: skip
    chinese = run("sla", "--store", crm.url, "R-2", "--at", AT.isoformat())
    assert "已超时" in chinese.out and "breach+4h" in chinese.out


def test_python_dash_m_sla(crm: Crm) -> None:
    result = run_module("sla", "--store", crm.url, "X-1", "--company", "co2", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["ticket_id"] == "X-1"


def test_sla_mistakes_are_one_line(crm: Crm, run: Runner) -> None:
    store = ("sla", "--store", crm.url)
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((*store, "NOPE-1"), ("unknown ticket", "'NOPE-1'")),
        ((*store, "X-1", "--company", "co1"), ("unknown ticket", "'X-1'")),  # another tenant
        ((*store, "R-3", "--at", "2026-05-08 10:00"), ("$.at", "UTC offset")),
        ((*store, "R-3", "--at", "yesterday"), ("$.at", "ISO 8601")),
        ((*store, "R-3", "--at", "2026-05-01T10:00+08:00"), ("$.at", "before the ticket")),
        ((*store, "R-3", "--calendar", "cn"), ("unknown calendar",)),
        (("sla", "--store", "memroy://", "R-3"), ("store scheme", "memory")),
    ]
    for argv, fragments in cases:
        assert_one_line_error(run(*argv), *fragments)
