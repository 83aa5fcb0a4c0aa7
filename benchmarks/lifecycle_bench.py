"""Lifecycle benchmarks: replay throughput and memory, and handle+apply against python-statemachine.

Run: ``python benchmarks/lifecycle_bench.py [--quick]``. Writes ``benchmarks/results/lifecycle.md``.

1. Replay 1,000,000 events (100,000 tickets x 10 events) with ``replay_many``: events/s.
2. Memory: peak traced memory of replaying a lazily generated stream, for several ticket and
   event counts, so growth in tickets and in events can be read apart.
3. A typical 8-step repair (receive, dispatch, accept, arrive, start, complete, revisit, close)
   driven through ``Lifecycle.execute`` (decide + apply, with validation and events) against
   python-statemachine driving the same transitions on the same 8 states, in the same run.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs

from propcrm.model import (
    Actor,
    Channel,
    OrgScope,
    PauseReason,
    Role,
    Satisfaction,
    Ticket,
    TicketKind,
)
from propcrm.workflow import Event, Lifecycle, replay_many
from propcrm.workflow import commands as c

RESULTS = Path(__file__).parent / "results" / "lifecycle.md"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
SUPERVISOR = Actor(id="s", role=Role.SUPERVISOR)


def repair_commands(ticket_id: str, *, with_pause: bool) -> list[c.Command]:
    steps: list[c.Command] = [
        c.ReceiveTicket(
            ticket_id=ticket_id,
            kind=TicketKind.REPAIR,
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id="c1", project_id="p1"),
            description="卫生间天花板滴水",
        ),
        c.DispatchTicket(ticket_id=ticket_id, party="PM", assignee="h1"),
        c.AcceptTicket(ticket_id=ticket_id),
        c.ArriveOnSite(ticket_id=ticket_id),
        c.StartWork(ticket_id=ticket_id),
    ]
    if with_pause:
        steps += [
            c.PauseWork(ticket_id=ticket_id, reason=PauseReason.WAITING_FOR_PARTS),
            c.ResumeWork(ticket_id=ticket_id),
        ]
    steps += [
        c.CompleteWork(ticket_id=ticket_id, result="换密封圈"),
        c.RecordRevisit(ticket_id=ticket_id, satisfaction=Satisfaction.SATISFIED, resolved=True),
        c.CloseTicket(ticket_id=ticket_id),
    ]
    return steps


def template_history(events_per_ticket: int) -> list[Event]:
    """One real 10-event history, padded with work-log events to the length asked for."""
    lifecycle = Lifecycle()
    ticket: Ticket | None = None
    history: list[Event] = []
    for minute, command in enumerate(repair_commands("TEMPLATE", with_pause=True)):
        ticket, events = lifecycle.execute(
            ticket, command, now=T0 + timedelta(minutes=minute), actor=SUPERVISOR
        )
        history += events
    while len(history) < events_per_ticket:
        ticket, events = lifecycle.execute(
            ticket,
            c.AddWorkLog(ticket_id="TEMPLATE", note="回访记录"),
            now=T0 + timedelta(minutes=len(history)),
            actor=SUPERVISOR,
        )
        history += events
    return history[:events_per_ticket]


def stream(tickets: int, events_per_ticket: int) -> Iterator[Event]:
    """Events of ``tickets`` tickets, made lazily from the template (ids differ per ticket)."""
    template = template_history(events_per_ticket)
    for number in range(tickets):
        ticket_id = f"T{number}"
        for event in template:
            yield attrs.evolve(event, ticket_id=ticket_id, event_id=f"{ticket_id}/{event.sequence}")


def bench_replay(tickets: int) -> dict[str, float]:
    events = list(stream(tickets, 10))
    gc.collect()
    start = time.perf_counter()
    count = 0
    for _ in replay_many(events):
        count += 1
    elapsed = time.perf_counter() - start
    assert count == tickets
    return {"events": len(events), "seconds": elapsed, "events_per_s": len(events) / elapsed}


def peak_memory(tickets: int, events_per_ticket: int, *, keep: bool) -> int:
    """Peak traced bytes while replaying a lazy stream; ``keep`` retains the tickets."""
    gc.collect()
    tracemalloc.start()
    kept = []
    for ticket in replay_many(stream(tickets, events_per_ticket)):
        if keep:
            kept.append(ticket)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def bench_handle(tickets: int) -> float:
    """Seconds per ticket for the 8-step repair through Lifecycle.execute."""
    lifecycle = Lifecycle()
    scripts = [repair_commands(f"T{n}", with_pause=False) for n in range(tickets)]
    start = time.perf_counter()
    for script in scripts:
        ticket: Ticket | None = None
        now = T0
        for command in script:
            now += timedelta(minutes=1)
            ticket, _ = lifecycle.execute(ticket, command, now=now, actor=SUPERVISOR)
    return (time.perf_counter() - start) / tickets


def bench_statemachine(tickets: int) -> tuple[float, float] | None:
    """Seconds per ticket for the same 8 steps in python-statemachine.

    Returns (with building the machine, transitions only on machines built beforehand).
    """
    try:
        from statemachine import State, StateMachine
    except ImportError:
        return None

    class Repair(StateMachine):  # type: ignore[misc]
        received = State(initial=True)
        dispatched = State()
        accepted = State()
        arrived = State()
        in_progress = State()
        completed = State()
        revisited = State()
        closed = State(final=True)

        dispatch = received.to(dispatched)
        accept = dispatched.to(accepted)
        arrive = accepted.to(arrived)
        start = arrived.to(in_progress)
        complete = in_progress.to(completed)
        revisit = completed.to(revisited)
        close = revisited.to(closed)

    steps = ["dispatch", "accept", "arrive", "start", "complete", "revisit", "close"]
    start = time.perf_counter()
    for _ in range(tickets):
        machine = Repair()  # creating it is the "receive" step
        for step in steps:
            machine.send(step)
        assert machine.current_state_value == "closed"
    with_build = (time.perf_counter() - start) / tickets
    machines = [Repair() for _ in range(tickets)]
    start = time.perf_counter()
    for machine in machines:
        for step in steps:
            machine.send(step)
    transitions_only = (time.perf_counter() - start) / tickets
    return with_build, transitions_only


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    replay_tickets = 2_000 if args.quick else 100_000
    handle_tickets = 200 if args.quick else 10_000
    memory_base = 500 if args.quick else 5_000

    replay = bench_replay(replay_tickets)
    memory = {
        (t, e): peak_memory(t, e, keep=False)
        for t, e in [(memory_base, 10), (memory_base, 40), (memory_base * 4, 10)]
    }
    memory_kept = {t: peak_memory(t, 10, keep=True) for t in (memory_base, memory_base * 4)}
    ours = bench_handle(handle_tickets)
    peer = bench_statemachine(handle_tickets)

    lines = [
        "# Lifecycle benchmarks",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}; run {time.strftime('%Y-%m-%d %H:%M')}"
        + (" (--quick)" if args.quick else ""),
        "",
        "## Replay",
        "",
        "| events | tickets | seconds | events/s | target |",
        "|---:|---:|---:|---:|---|",
        f"| {replay['events']:,} | {replay_tickets:,} | {replay['seconds']:.2f} | "
        f"{replay['events_per_s']:,.0f} | ≥ 300,000 "
        f"({'met' if replay['events_per_s'] >= 300_000 else 'missed'}) |",
        "",
        "## Replay memory (tracemalloc peak, lazy event stream)",
        "",
        "| tickets | events/ticket | tickets kept | peak KiB |",
        "|---:|---:|---|---:|",
    ]
    for (t, e), peak in memory.items():
        lines.append(f"| {t:,} | {e} | no | {peak / 1024:,.0f} |")
    for t, peak in memory_kept.items():
        lines.append(f"| {t:,} | 10 | yes | {peak / 1024:,.0f} |")
    lines += [
        "",
        "Streaming replay holds one ticket's state at a time: the peak does not grow with events "
        "per ticket or with tickets. Keeping the rebuilt tickets costs memory linear in tickets.",
        "",
        "## Typical 8-step repair: decide + apply vs python-statemachine",
        "",
        "| implementation | µs per ticket (8 steps) | ratio |",
        "|---|---:|---:|",
        f"| propcrm `Lifecycle.execute` | {ours * 1e6:,.1f} | 1.00 |",
    ]
    if peer is not None:
        with_build, transitions_only = peer
        lines.append(
            f"| python-statemachine, machine built per ticket + 7 `send` | "
            f"{with_build * 1e6:,.1f} | {with_build / ours:.2f} |"
        )
        lines.append(
            f"| python-statemachine, 7 `send` on a pre-built machine | "
            f"{transitions_only * 1e6:,.1f} | {transitions_only / ours:.2f} |"
        )
        lines.append("")
        lines.append("Ratio = peer time / propcrm time; above 1 means propcrm is faster.")
    else:
        lines.append("| python-statemachine | not installed | – |")
    lines += [
        "",
        "propcrm does more per step than the peer: it validates the command and the role, "
        "checks guards, builds an immutable event (id, sequence, time, actor, payload) and "
        "folds it into a frozen ticket. The peer only moves a state pointer.",
    ]
    text = "\n".join(lines) + "\n"
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
