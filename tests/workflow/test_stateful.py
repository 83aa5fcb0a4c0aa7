"""Random command sequences against the lifecycle: invariants hold, refusals change nothing,
replay equals the state built step by step, and every event round-trips through JSON."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from propcrm import serialization
from propcrm.errors import PropcrmError
from propcrm.model import (
    ClosureType,
    ComplaintValidity,
    Role,
    Ticket,
    TicketKind,
    TicketStatus,
)
from propcrm.testing.strategies import st_actors, st_command_for, st_receive_commands
from propcrm.workflow import Event, Lifecycle, LifecycleRules, StatusChange, replay
from propcrm.workflow import commands as c

S = TicketStatus
RULES = LifecycleRules.default()


def reachable(kind: TicketKind) -> set[TicketStatus]:
    """Statuses the rules can lead a ticket of ``kind`` to, computed from the rules alone."""
    seen = {S.RECEIVED}
    frontier = [S.RECEIVED]
    while frontier:
        status = frontier.pop()
        for move in RULES.transitions(kind):
            if move.source is not status:
                continue
            targets: set[TicketStatus] = set()
            if isinstance(move.target, TicketStatus):
                targets.add(move.target)
            elif move.target is StatusChange.PREVIOUS:
                targets |= seen  # conservatively: somewhere it has been
            if move.command == "record_revisit" and kind in RULES.auto_reopen_kinds:
                targets.add(S.REOPENED)
            if move.command == "approve_abnormal_close":
                targets.add(S.CLOSED)
            for target in targets - seen:
                seen.add(target)
                frontier.append(target)
    return seen


REACHABLE = {kind: reachable(kind) for kind in TicketKind}


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.lifecycle = Lifecycle(rules=RULES)
        self.ticket: Ticket | None = None
        self.history: list[Event] = []
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
        self.escalation_rank = 0
        self.reopens = 0

    @initialize(receive=st_receive_commands(ticket_id="T-1"))
    def receive(self, receive: c.ReceiveTicket) -> None:
        self.step(receive, Role.HOTLINE_AGENT)
        assert self.ticket is not None

    def step(self, command: c.Command, role: Role) -> list[Event] | None:
        from propcrm.model import Actor

        actor = Actor(id="x", role=role)
        before = self.ticket
        before_history = list(self.history)
        try:
            events = self.lifecycle.handle(self.ticket, command, now=self.now, actor=actor)
        except PropcrmError:
            # A refusal leaves everything as it was.
            assert self.ticket is before
            assert self.history == before_history
            return None
        # What was accepted was allowed by the rules for that status and role.
        assert RULES.may(role, command.name)
        if before is not None:
            assert RULES.allows(before.kind, before.status, command.name)
            assert self.now >= before.updated_at, "a command dated before the latest event"
        for event in events:
            self.ticket = self.lifecycle.apply(self.ticket, event)
            self.history.append(event)
        return events

    @rule(
        data=st.data(),
        role=st.sampled_from(list(Role)),
        minutes=st.integers(min_value=-30, max_value=5 * 24 * 60),
        prefer_allowed=st.booleans(),
    )
    def command(self, data: st.DataObject, role: Role, minutes: int, prefer_allowed: bool) -> None:
        assert self.ticket is not None
        self.now += timedelta(minutes=minutes)
        names = None
        if prefer_allowed:
            names = sorted(RULES.commands_for(self.ticket.kind, self.ticket.status)) or None
        command = data.draw(st_command_for("T-1", names=names))
        events = self.step(command, role)
        if events is not None:
            self.reopens += sum(e.type == "ticket_reopened" for e in events)

    @precondition(lambda self: self.ticket is not None)
    @rule(actor=st_actors())
    def foreign_command_is_refused(self, actor: object) -> None:
        assert self.ticket is not None
        before = self.ticket
        try:
            self.lifecycle.handle(
                self.ticket,
                c.AddWorkLog(ticket_id="other", note="x"),
                now=self.now,
                actor=actor,  # type: ignore[arg-type]
            )
        except PropcrmError:
            pass
        else:
            raise AssertionError("a command for another ticket was accepted")
        assert self.ticket is before

    @invariant()
    def status_is_one_the_rules_can_reach(self) -> None:
        if self.ticket is not None:
            assert self.ticket.status in REACHABLE[self.ticket.kind]

    @invariant()
    def fields_agree_with_status(self) -> None:
        t = self.ticket
        if t is None:
            return
        assert t.version == len(self.history)
        assert (t.status is S.PAUSED) == (t.paused_since is not None)
        assert (t.status is S.PENDING_ABNORMAL_CLOSE) == bool(t.abnormal_close_approvers)
        assert (t.status is S.CLOSED) == (t.closed_at is not None) == (t.closure_type is not None)
        if t.status in (S.COMPLETED, S.REVISITED):
            assert t.completed_at is not None
        if t.closure_type is ClosureType.ABNORMAL:
            assert any(e.type == "abnormal_close_approved" for e in self.history)
        if t.validity is ComplaintValidity.INVALID:
            assert t.kind is TicketKind.COMPLAINT
        assert t.reopen_count == self.reopens
        assert t.escalation_level.rank >= self.escalation_rank
        self.escalation_rank = t.escalation_level.rank
        assert (t.status is S.MERGED) == (t.merged_into is not None)

    @invariant()
    def history_is_ordered(self) -> None:
        assert [e.sequence for e in self.history] == list(range(1, len(self.history) + 1))
        times = [e.occurred_at for e in self.history]
        assert times == sorted(times)

    @invariant()
    def replay_equals_the_stepwise_state(self) -> None:
        if self.history:
            assert replay(self.history) == self.ticket

    @invariant()
    def latest_event_round_trips_through_json(self) -> None:
        if self.history:
            event = self.history[-1]
            text = serialization.dumps(event, reveal_pii=True)
            assert serialization.loads(text, Event) == event


TestLifecycle = LifecycleMachine.TestCase
