"""The ticket lifecycle as pure functions.

``decide`` turns (ticket, command, now, actor, rules) into events or a typed refusal; ``apply``
folds one event into a ticket; ``replay`` folds a whole history. Nothing here reads a clock,
draws a random number or does I/O, so the same inputs always give the same output.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

import attrs

from propcrm._validation import require_aware
from propcrm.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from propcrm.model.actor import Actor
from propcrm.model.enums import (
    ClosureType,
    ComplaintValidity,
    EscalationLevel,
    TicketStatus,
)
from propcrm.model.ticket import Ticket
from propcrm.workflow import commands as c
from propcrm.workflow import events as e
from propcrm.workflow.rules import LifecycleRules

__all__ = ["CategoryCatalog", "Lifecycle", "apply", "decide", "replay", "replay_many"]

S = TicketStatus


class CategoryCatalog(Protocol):
    """What the lifecycle needs of a taxonomy to check category codes.

    :func:`propcrm.taxonomy.standard` returns one; any object with these members will do.
    """

    @property
    def tag(self) -> str:
        """``name@version``, stamped on tickets it classifies."""
        ...

    def validate_code(self, code: object, *, live: bool = ..., path: str = ...) -> object:
        """Raise ``ValidationError`` (at ``path``) unless ``code`` is a code of this taxonomy.

        With ``live=True`` deprecated codes are refused too, with the replacement in the hint.
        """
        ...


# ---------------------------------------------------------------------------------------------
# decide


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _refuse(
    ticket: Ticket | None, command: c.Command, reason: str, hint: str | None = None
) -> None:
    raise InvalidTransitionError(
        ticket_id=ticket.ticket_id if ticket else getattr(command, "ticket_id", None),
        status=ticket.status.value if ticket else None,
        command=command.name,
        reason=reason,
        hint=hint,
    )


def _check_category(
    code: str | None, version: str | None, catalog: CategoryCatalog | None
) -> str | None:
    """Check ``code`` against ``catalog``; return the taxonomy tag to stamp on the ticket.

    New classifications must use live codes, so deprecated ones are refused here.
    """
    if code is None or catalog is None:
        return version
    catalog.validate_code(code, live=True, path="$.category_code")
    return version or catalog.tag


def _payloads(
    ticket: Ticket | None,
    command: c.Command,
    now: datetime,
    rules: LifecycleRules,
    catalog: CategoryCatalog | None,
) -> list[e.EventPayload]:
    """The payloads ``command`` leads to; raises when a guard refuses it."""
    if isinstance(command, c.ReceiveTicket):
        version = _check_category(command.category_code, command.taxonomy_version, catalog)
        return [
            e.TicketReceived(
                kind=command.kind,
                channel=command.channel,
                scope=command.scope,
                description=command.description,
                priority=command.priority,
                severity=command.severity,
                category_code=command.category_code,
                taxonomy_version=version,
                location=command.location,
                reporter=command.reporter,
                responsible_party=command.responsible_party,
                idempotency_key=command.idempotency_key,
            )
        ]
    assert ticket is not None  # handle() refuses every other command without a ticket
    if isinstance(command, c.ClassifyTicket):
        version = _check_category(command.category_code, command.taxonomy_version, catalog)
        if command.kind is not None and command.kind is not ticket.kind:
            target_rules = rules.commands_for(command.kind, ticket.status)
            if not target_rules:
                _refuse(
                    ticket,
                    command,
                    f"{_a(command.kind.value)} cannot be in status {ticket.status.value!r}",
                )
        return [
            e.TicketClassified(
                category_code=command.category_code,
                taxonomy_version=version if command.category_code else None,
                kind=command.kind,
                priority=command.priority,
                severity=command.severity,
                responsible_party=command.responsible_party,
            )
        ]
    if isinstance(command, c.RespondToCustomer):
        return [e.CustomerResponded(message=command.message)]
    if isinstance(command, c.DispatchTicket):
        return [
            e.TicketDispatched(party=command.party, assignee=command.assignee, note=command.note)
        ]
    if isinstance(command, c.AcceptTicket):
        return [e.TicketAccepted()]
    if isinstance(command, c.BounceBack):
        return [e.TicketBouncedBack(reason=command.reason)]
    if isinstance(command, c.ReassignTicket):
        return [
            e.TicketReassigned(
                party=command.party or ticket.responsible_party,
                assignee=command.assignee,
                reason=command.reason,
            )
        ]
    if isinstance(command, c.ArriveOnSite):
        return [e.HandlerArrived()]
    if isinstance(command, c.StartWork):
        return [e.WorkStarted()]
    if isinstance(command, c.PauseWork):
        return [
            e.TicketPaused(
                reason=command.reason,
                note=command.note,
                expected_resume_at=command.expected_resume_at,
            )
        ]
    if isinstance(command, c.ResumeWork):
        return [e.TicketResumed()]
    if isinstance(command, c.CompleteWork):
        return [
            e.TicketCompleted(result=command.result, cost=command.cost, materials=command.materials)
        ]
    if isinstance(command, c.RecordRevisit):
        revisit = e.RevisitRecorded(
            satisfaction=command.satisfaction,
            resolved=command.resolved,
            channel=command.channel,
            comment=command.comment,
        )
        if revisit.is_unsatisfied and ticket.kind in rules.auto_reopen_kinds:
            reason = f"unsatisfied revisit: {command.satisfaction.value}" + (
                "" if command.resolved else ", not resolved"
            )
            return [revisit, e.TicketReopened(reason=reason, automatic=True)]
        return [revisit]
    if isinstance(command, c.CloseTicket):
        _guard_close(ticket, command, rules)
        return [e.TicketClosed(note=command.note)]
    if isinstance(command, c.ReopenTicket):
        since = ticket.closed_at or ticket.completed_at
        if since is not None and now - since > rules.reopen_window:
            _refuse(
                ticket,
                command,
                f"the reopen window of {rules.reopen_window} after {since.isoformat()} has passed",
                hint="receive a new ticket that references this one",
            )
        return [e.TicketReopened(reason=command.reason)]
    if isinstance(command, c.EscalateTicket):
        if command.level.rank <= ticket.escalation_level.rank:
            _refuse(
                ticket,
                command,
                f"already escalated to {ticket.escalation_level.value!r}",
                hint=f"escalate above {ticket.escalation_level.value!r}",
            )
        return [e.TicketEscalated(level=command.level, reason=command.reason)]
    if isinstance(command, c.MergeAsDuplicate):
        return [e.TicketMerged(into_ticket_id=command.into_ticket_id, reason=command.reason)]
    if isinstance(command, c.VoidTicket):
        return [e.TicketVoided(reason=command.reason)]
    if isinstance(command, c.MarkComplaintInvalid):
        if ticket.validity is ComplaintValidity.INVALID:
            _refuse(ticket, command, "the complaint is already marked invalid")
        return [e.ComplaintMarkedInvalid(reason=command.reason)]
    if isinstance(command, c.RequestAbnormalClose):
        return [
            e.AbnormalCloseRequested(
                reason=command.reason, approvers=rules.abnormal_close_approvers
            )
        ]
    if isinstance(command, c.ApproveAbnormalClose):
        _guard_approver(ticket, command, command.party)
        approved = e.AbnormalCloseApproved(party=command.party, comment=command.comment)
        outstanding = ticket.abnormal_close_approvers - ticket.abnormal_close_approvals
        if outstanding == {command.party}:
            return [approved, e.TicketClosed(abnormal=True, note="abnormal close approved")]
        return [approved]
    if isinstance(command, c.RejectAbnormalClose):
        _guard_approver(ticket, command, command.party)
        return [e.AbnormalCloseRejected(party=command.party, reason=command.reason)]
    if isinstance(command, c.AddWorkLog):
        return [e.WorkLogAdded(note=command.note)]
    if isinstance(command, c.RecordFollowUp):
        return [e.FollowUpRecorded(note=command.note, channel=command.channel)]
    raise ValidationError.single(  # pragma: no cover - every Command is handled above
        "$", f"not a lifecycle command: {type(command).__name__}"
    )


def _guard_close(ticket: Ticket, command: c.CloseTicket, rules: LifecycleRules) -> None:
    if ticket.kind in rules.response_before_close_kinds and ticket.first_response_at is None:
        _refuse(
            ticket,
            command,
            f"{_a(ticket.kind.value)} needs a response to the customer before it closes",
            hint="record the answer with RespondToCustomer first",
        )
    if ticket.kind in rules.revisit_before_close_kinds and (
        ticket.revisited_at is None
        or (ticket.completed_at is not None and ticket.revisited_at < ticket.completed_at)
    ):
        _refuse(
            ticket,
            command,
            f"{_a(ticket.kind.value)} needs a revisit after its completion before it closes",
            hint="record the revisit with RecordRevisit first",
        )


def _guard_approver(
    ticket: Ticket, command: c.ApproveAbnormalClose | c.RejectAbnormalClose, party: str
) -> None:
    if party not in ticket.abnormal_close_approvers:
        _refuse(
            ticket,
            command,
            f"{party!r} is not an approver of this abnormal close",
            hint="approvers: " + ", ".join(sorted(ticket.abnormal_close_approvers)),
        )
    if party in ticket.abnormal_close_approvals:
        _refuse(ticket, command, f"{party!r} has already approved")


def decide(
    ticket: Ticket | None,
    command: c.Command,
    *,
    now: datetime,
    actor: Actor,
    rules: LifecycleRules,
    catalog: CategoryCatalog | None = None,
) -> list[e.Event]:
    """Decide ``command`` against ``ticket``: the events it leads to, or a typed refusal.

    Args:
        ticket: The ticket's current state, or ``None`` for a ``ReceiveTicket``.
        command: What is asked.
        now: When it is asked; timezone-aware. Must not be before the ticket's latest event.
        actor: Who asks.
        rules: The lifecycle rules.
        catalog: A taxonomy to validate category codes against; ``None`` accepts any code.

    Returns:
        The new events, numbered from ``ticket.version + 1``; apply them in order.

    Raises:
        InvalidTransitionError: The rules do not allow the command now; nothing changed.
        PermissionDeniedError: The actor's role may not issue the command, or the ticket lies
            outside the actor's org scope.
        ValidationError: ``now`` is naive.
        ValidationError: The category code is not a live code of ``catalog`` (path
            ``$.category_code``; the hint names the closest codes or the replacement).
    """
    require_aware(now, "$.now")
    name = command.name
    if not rules.may(actor.role, name):
        raise PermissionDeniedError(
            f"role {actor.role.value!r} may not issue {name!r}",
            hint="issue it as a role the rules permit, or change LifecycleRules.permissions",
        )
    target_scope = (
        command.scope
        if isinstance(command, c.ReceiveTicket)
        else (ticket.scope if ticket is not None else None)
    )
    if target_scope is not None:
        actor.require_covers(target_scope, subject="ticket")
    if ticket is None:
        if not isinstance(command, c.ReceiveTicket):
            _refuse(None, command, "the ticket does not exist", hint="receive it first")
    else:
        if isinstance(command, c.ReceiveTicket):
            _refuse(ticket, command, "the ticket already exists")
        if command.ticket_id != ticket.ticket_id:
            raise ValidationError.single(
                "$.ticket_id",
                f"command is for ticket {command.ticket_id!r}, not {ticket.ticket_id!r}",
            )
        if not rules.allows(ticket.kind, ticket.status, name):
            allowed = sorted(rules.commands_for(ticket.kind, ticket.status))
            _refuse(
                ticket,
                command,
                f"{_a(ticket.kind.value)} in status {ticket.status.value!r} "
                f"does not allow {name!r}",
                hint="allowed now: " + (", ".join(allowed) if allowed else "nothing"),
            )
        if now < ticket.updated_at:
            _refuse(
                ticket,
                command,
                f"{now.isoformat()} is before the ticket's latest event "
                f"({ticket.updated_at.isoformat()})",
                hint="histories are append-only in time; pass the current time as now",
            )
    payloads = _payloads(ticket, command, now, rules, catalog)
    ticket_id = command.ticket_id
    first = 1 if ticket is None else ticket.version + 1
    return [
        e.Event(
            event_id=f"{ticket_id}/{first + offset}",
            ticket_id=ticket_id,
            sequence=first + offset,
            occurred_at=now,
            actor=actor,
            payload=payload,
        )
        for offset, payload in enumerate(payloads)
    ]


# ---------------------------------------------------------------------------------------------
# apply and replay
#
# Replay folds events into a plain dict and builds one Ticket at the end: a history of n events
# costs n dict updates and one object, not n frozen copies.

_State = dict[str, Any]
_FIELDS = tuple(a.name for a in attrs.fields(Ticket))
_ALL_FIELDS = operator.attrgetter(*_FIELDS)


def _received(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketReceived)
    state.update(
        ticket_id=event.ticket_id,
        kind=p.kind,
        channel=p.channel,
        scope=p.scope,
        description=p.description,
        priority=p.priority,
        severity=p.severity,
        category_code=p.category_code,
        taxonomy_version=p.taxonomy_version,
        location=p.location,
        reporter=p.reporter,
        responsible_party=p.responsible_party,
        assignee=None,
        status=S.RECEIVED,
        validity=ComplaintValidity.VALID,
        closure_type=None,
        received_at=event.occurred_at,
        first_response_at=None,
        dispatched_at=None,
        accepted_at=None,
        arrived_at=None,
        completed_at=None,
        revisited_at=None,
        closed_at=None,
        revisit_satisfaction=None,
        revisit_resolved=None,
        escalation_level=EscalationLevel.NONE,
        reopen_count=0,
        idempotency_key=p.idempotency_key,
    )


def _classified(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketClassified)
    if p.category_code is not None:
        state["category_code"] = p.category_code
        state["taxonomy_version"] = p.taxonomy_version
    for name in ("kind", "priority", "severity", "responsible_party"):
        value = getattr(p, name)
        if value is not None:
            state[name] = value


def _responded(state: _State, event: e.Event) -> None:
    if state["first_response_at"] is None:
        state["first_response_at"] = event.occurred_at


def _dispatched(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketDispatched | e.TicketReassigned)
    state["status"] = S.DISPATCHED
    if p.party is not None:
        state["responsible_party"] = p.party
    state["assignee"] = p.assignee
    if state["dispatched_at"] is None:
        state["dispatched_at"] = event.occurred_at


def _accepted(state: _State, event: e.Event) -> None:
    state["status"] = S.ACCEPTED
    if state["accepted_at"] is None:
        state["accepted_at"] = event.occurred_at


def _bounced(state: _State, _event: e.Event) -> None:
    state["status"] = S.RECEIVED
    state["assignee"] = None


def _arrived(state: _State, event: e.Event) -> None:
    state["status"] = S.ARRIVED
    if state["arrived_at"] is None:
        state["arrived_at"] = event.occurred_at


def _started(state: _State, _event: e.Event) -> None:
    state["status"] = S.IN_PROGRESS


def _paused(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketPaused)
    state["paused_from"] = state["status"]
    state["status"] = S.PAUSED
    state["paused_since"] = event.occurred_at
    state["pause_reason"] = p.reason


def _resumed(state: _State, _event: e.Event) -> None:
    state["status"] = state["paused_from"]
    state["paused_from"] = state["paused_since"] = state["pause_reason"] = None


def _completed(state: _State, event: e.Event) -> None:
    state["status"] = S.COMPLETED
    state["completed_at"] = event.occurred_at


def _revisited(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.RevisitRecorded)
    if state["status"] is S.COMPLETED:
        state["status"] = S.REVISITED
    state["revisited_at"] = event.occurred_at
    state["revisit_satisfaction"] = p.satisfaction
    state["revisit_resolved"] = p.resolved


def _closed(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketClosed)
    state["status"] = S.CLOSED
    state["closed_at"] = event.occurred_at
    state["closure_type"] = ClosureType.ABNORMAL if p.abnormal else ClosureType.NORMAL
    _clear_abnormal_close(state)


def _reopened(state: _State, _event: e.Event) -> None:
    state["status"] = S.REOPENED
    state["reopen_count"] += 1
    state["completed_at"] = state["closed_at"] = state["closure_type"] = None
    state["revisit_satisfaction"] = state["revisit_resolved"] = None


def _escalated(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketEscalated)
    state["escalation_level"] = p.level


def _merged(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.TicketMerged)
    state["status"] = S.MERGED
    state["merged_into"] = p.into_ticket_id


def _voided(state: _State, _event: e.Event) -> None:
    state["status"] = S.VOIDED


def _marked_invalid(state: _State, _event: e.Event) -> None:
    state["validity"] = ComplaintValidity.INVALID


def _abnormal_requested(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.AbnormalCloseRequested)
    state["abnormal_close_from"] = state["status"]
    state["status"] = S.PENDING_ABNORMAL_CLOSE
    state["abnormal_close_approvers"] = p.approvers
    state["abnormal_close_approvals"] = frozenset()


def _abnormal_approved(state: _State, event: e.Event) -> None:
    p = event.payload
    assert isinstance(p, e.AbnormalCloseApproved)
    state["abnormal_close_approvals"] = state["abnormal_close_approvals"] | {p.party}


def _abnormal_rejected(state: _State, _event: e.Event) -> None:
    state["status"] = state["abnormal_close_from"]
    _clear_abnormal_close(state)


def _clear_abnormal_close(state: _State) -> None:
    state["abnormal_close_from"] = None
    state["abnormal_close_approvers"] = state["abnormal_close_approvals"] = frozenset()


def _followed_up(state: _State, event: e.Event) -> None:
    state["last_follow_up_at"] = event.occurred_at


def _no_change(_state: _State, _event: e.Event) -> None:
    pass


_APPLY: dict[str, Callable[[_State, e.Event], None]] = {
    e.TicketReceived.event_type: _received,
    e.TicketClassified.event_type: _classified,
    e.CustomerResponded.event_type: _responded,
    e.TicketDispatched.event_type: _dispatched,
    e.TicketAccepted.event_type: _accepted,
    e.TicketBouncedBack.event_type: _bounced,
    e.TicketReassigned.event_type: _dispatched,
    e.HandlerArrived.event_type: _arrived,
    e.WorkStarted.event_type: _started,
    e.TicketPaused.event_type: _paused,
    e.TicketResumed.event_type: _resumed,
    e.TicketCompleted.event_type: _completed,
    e.RevisitRecorded.event_type: _revisited,
    e.TicketClosed.event_type: _closed,
    e.TicketReopened.event_type: _reopened,
    e.TicketEscalated.event_type: _escalated,
    e.TicketMerged.event_type: _merged,
    e.TicketVoided.event_type: _voided,
    e.ComplaintMarkedInvalid.event_type: _marked_invalid,
    e.AbnormalCloseRequested.event_type: _abnormal_requested,
    e.AbnormalCloseApproved.event_type: _abnormal_approved,
    e.AbnormalCloseRejected.event_type: _abnormal_rejected,
    e.WorkLogAdded.event_type: _followed_up,
    e.FollowUpRecorded.event_type: _followed_up,
}
assert set(_APPLY) == set(e.EVENT_TYPES), "every event type needs an apply function"


def _initial_state() -> _State:
    return {
        "paused_since": None,
        "pause_reason": None,
        "paused_from": None,
        "abnormal_close_from": None,
        "abnormal_close_approvers": frozenset(),
        "abnormal_close_approvals": frozenset(),
        "merged_into": None,
        "last_follow_up_at": None,
        "idempotency_key": None,
    }


def _fold(state: _State | None, event: e.Event) -> _State:
    """Fold one event into ``state`` (``None`` before intake), checking the history's order."""
    if state is None:
        if event.sequence != 1 or not isinstance(event.payload, e.TicketReceived):
            raise ValidationError.single(
                "$.sequence",
                f"a history starts with ticket_received at sequence 1, not {event.type} "
                f"at {event.sequence}",
                subject="event history",
            )
        state = _initial_state()
    else:
        if event.ticket_id != state["ticket_id"]:
            raise ValidationError.single(
                "$.ticket_id",
                f"event {event.event_id!r} belongs to ticket {event.ticket_id!r}, "
                f"not {state['ticket_id']!r}",
                subject="event history",
            )
        if event.sequence != state["version"] + 1:
            raise ValidationError.single(
                "$.sequence",
                f"expected sequence {state['version'] + 1}, got {event.sequence} "
                f"(event {event.event_id!r})",
                subject="event history",
                hint="events must be applied in order without gaps or repeats",
            )
    _APPLY[event.type](state, event)
    state["version"] = event.sequence
    state["updated_at"] = event.occurred_at
    return state


def _thaw(ticket: Ticket) -> _State:
    return dict(zip(_FIELDS, _ALL_FIELDS(ticket), strict=True))


def apply(ticket: Ticket | None, event: e.Event) -> Ticket:
    """Fold one event into ``ticket`` (``None`` before intake) and return the new ticket.

    Raises:
        ValidationError: The event does not follow the ticket: another ticket's event, a gap or
            repeat in sequence, or a history that does not start with ``ticket_received``.
    """
    state = _fold(None if ticket is None else _thaw(ticket), event)
    return Ticket(**state)


def replay(events: Iterable[e.Event]) -> Ticket:
    """Rebuild a ticket from its whole history, in order.

    Raises:
        ValidationError: The history is empty or out of order (see :func:`apply`).
    """
    state: _State | None = None
    for event in events:
        state = _fold(state, event)
    if state is None:
        raise ValidationError.single("$", "an empty history has no ticket", subject="history")
    return Ticket(**state)


def replay_many(events: Iterable[e.Event]) -> Iterator[Ticket]:
    """Rebuild tickets from a stream of histories, each ticket's events contiguous and in order.

    Memory holds one ticket's state at a time, whatever the number of events.
    """
    state: _State | None = None
    for event in events:
        if state is not None and event.ticket_id != state["ticket_id"]:
            yield Ticket(**state)
            state = None
        state = _fold(state, event)
    if state is not None:
        yield Ticket(**state)


@attrs.frozen(kw_only=True)
class Lifecycle:
    """The lifecycle with its rules bound: the public entry point of :mod:`propcrm.workflow`.

    Example:
        >>> from propcrm.workflow import Lifecycle, LifecycleRules
        >>> lifecycle = Lifecycle(rules=LifecycleRules.default())

    Attributes:
        rules: The rules to decide commands by.
        catalog: A taxonomy to validate category codes against (``None`` accepts any code).
    """

    rules: LifecycleRules = attrs.field(factory=LifecycleRules.default)
    catalog: CategoryCatalog | None = None

    def handle(
        self, ticket: Ticket | None, command: c.Command, *, now: datetime, actor: Actor
    ) -> list[e.Event]:
        """Decide ``command``; see :func:`decide`. The ticket is not changed: apply the events."""
        return decide(ticket, command, now=now, actor=actor, rules=self.rules, catalog=self.catalog)

    def execute(
        self, ticket: Ticket | None, command: c.Command, *, now: datetime, actor: Actor
    ) -> tuple[Ticket, list[e.Event]]:
        """Decide ``command`` and apply its events: the new ticket and the events."""
        events = self.handle(ticket, command, now=now, actor=actor)
        for event in events:
            ticket = apply(ticket, event)
        assert ticket is not None
        return ticket, events

    @staticmethod
    def apply(ticket: Ticket | None, event: e.Event) -> Ticket:
        """Fold one event into ``ticket``; see :func:`apply`."""
        return apply(ticket, event)

    @staticmethod
    def replay(events: Iterable[e.Event]) -> Ticket:
        """Rebuild a ticket from its history; see :func:`replay`."""
        return replay(events)
