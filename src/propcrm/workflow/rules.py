"""Lifecycle rules as data: which command each kind allows in each status, and who may issue it.

The rules decide whether a command is *allowed*; where an allowed command leads is fixed by the
command itself (:func:`command_target`), so that a stored history means the same thing under any
rules. Change the rules with :meth:`LifecycleRules.allow`, :meth:`LifecycleRules.forbid` and
``attrs.evolve``; :func:`propcrm.workflow.diagram.mermaid` draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from enum import Enum
from types import MappingProxyType

import attrs

from propcrm.errors import FieldError, ValidationError
from propcrm.model.enums import Role, TicketKind, TicketStatus
from propcrm.workflow.commands import COMMAND_TYPES

__all__ = [
    "DEFAULT_ABNORMAL_CLOSE_APPROVERS",
    "LifecycleRules",
    "StatusChange",
    "Transition",
    "command_target",
]

S = TicketStatus


class StatusChange(str, Enum):
    """A target that depends on the ticket: stay where it is, or go back to where it was."""

    SAME = "same"
    PREVIOUS = "previous"

    def __str__(self) -> str:
        return str(self.value)


_FIXED_TARGETS: Mapping[str, TicketStatus | StatusChange] = MappingProxyType(
    {
        "receive": S.RECEIVED,
        "classify": StatusChange.SAME,
        "respond": StatusChange.SAME,
        "dispatch": S.DISPATCHED,
        "accept": S.ACCEPTED,
        "bounce_back": S.RECEIVED,
        "reassign": S.DISPATCHED,
        "arrive": S.ARRIVED,
        "start": S.IN_PROGRESS,
        "pause": S.PAUSED,
        "resume": StatusChange.PREVIOUS,
        "complete": S.COMPLETED,
        "close": S.CLOSED,
        "reopen": S.REOPENED,
        "escalate": StatusChange.SAME,
        "merge": S.MERGED,
        "void": S.VOIDED,
        "mark_invalid": StatusChange.SAME,
        "request_abnormal_close": S.PENDING_ABNORMAL_CLOSE,
        "approve_abnormal_close": StatusChange.SAME,
        "reject_abnormal_close": StatusChange.PREVIOUS,
        "add_work_log": StatusChange.SAME,
        "record_follow_up": StatusChange.SAME,
    }
)


def command_target(command: str, source: TicketStatus) -> TicketStatus | StatusChange:
    """Where ``command`` takes a ticket in ``source``, as a status or a :class:`StatusChange`.

    A revisit moves a completed ticket to ``revisited`` and leaves a closed one closed. The last
    approval of an abnormal close also closes the ticket, and an unsatisfied revisit may reopen
    it; those follow-on events are listed in ``docs/lifecycle.md``.
    """
    if command == "record_revisit":
        return S.REVISITED if source is S.COMPLETED else StatusChange.SAME
    return _FIXED_TARGETS[command]


@attrs.frozen(kw_only=True)
class Transition:
    """One allowed move: ``command`` in ``source`` leads to ``target``."""

    kind: TicketKind
    source: TicketStatus
    command: str
    target: TicketStatus | StatusChange


#: Parties that sign off an abnormal close by default (seed 000: property, developer
#: engineering, contractor).
DEFAULT_ABNORMAL_CLOSE_APPROVERS = frozenset({"property", "developer_engineering", "contractor"})

_OPEN_BEFORE_DONE = (
    S.RECEIVED,
    S.REOPENED,
    S.DISPATCHED,
    S.ACCEPTED,
    S.ARRIVED,
    S.IN_PROGRESS,
    S.PAUSED,
)
_ALL_OPEN = (*_OPEN_BEFORE_DONE, S.COMPLETED, S.REVISITED, S.PENDING_ABNORMAL_CLOSE)


def _table(spec: Mapping[str, Iterable[TicketStatus]]) -> dict[TicketStatus, frozenset[str]]:
    by_status: dict[TicketStatus, set[str]] = {}
    for command, statuses in spec.items():
        for status in statuses:
            by_status.setdefault(status, set()).add(command)
    return {status: frozenset(commands) for status, commands in by_status.items()}


# Commands every kind shares, by the statuses they are allowed in.
_COMMON: dict[str, tuple[TicketStatus, ...]] = {
    "classify": _OPEN_BEFORE_DONE,
    "respond": _ALL_OPEN,
    "dispatch": (S.RECEIVED, S.REOPENED),
    "accept": (S.DISPATCHED,),
    "bounce_back": (S.DISPATCHED, S.ACCEPTED),
    "reassign": (S.DISPATCHED, S.ACCEPTED),
    "record_revisit": (S.COMPLETED, S.CLOSED),
    "close": (S.COMPLETED, S.REVISITED),
    "reopen": (S.COMPLETED, S.REVISITED, S.CLOSED),
    "escalate": (*_OPEN_BEFORE_DONE, S.COMPLETED, S.PENDING_ABNORMAL_CLOSE),
    "merge": (S.RECEIVED, S.DISPATCHED),
    "void": (S.RECEIVED, S.DISPATCHED, S.ACCEPTED),
    "request_abnormal_close": (*_OPEN_BEFORE_DONE, S.COMPLETED),
    "approve_abnormal_close": (S.PENDING_ABNORMAL_CLOSE,),
    "reject_abnormal_close": (S.PENDING_ABNORMAL_CLOSE,),
    "add_work_log": (*_ALL_OPEN, S.CLOSED),
    "record_follow_up": _ALL_OPEN,
}

# Field work: repairs go on site; complaints may be settled without a site visit.
_FIELD_WORK: dict[str, tuple[TicketStatus, ...]] = {
    "reassign": (S.DISPATCHED, S.ACCEPTED, S.ARRIVED, S.IN_PROGRESS, S.PAUSED),
    "arrive": (S.ACCEPTED,),
    "start": (S.ACCEPTED, S.ARRIVED),
    "pause": (S.ACCEPTED, S.ARRIVED, S.IN_PROGRESS),
    "resume": (S.PAUSED,),
    "void": (S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.PAUSED),
}


def _default_allowed() -> dict[TicketKind, dict[TicketStatus, frozenset[str]]]:
    repair = {**_COMMON, **_FIELD_WORK, "complete": (S.ARRIVED, S.IN_PROGRESS)}
    complaint = {
        **_COMMON,
        **_FIELD_WORK,
        "complete": (S.ACCEPTED, S.ARRIVED, S.IN_PROGRESS),
        "mark_invalid": (*_ALL_OPEN, S.CLOSED),
    }
    # An inquiry or suggestion can be answered and closed without dispatch, or sent to an
    # expert who answers it.
    answered = {
        **_COMMON,
        "complete": (S.ACCEPTED,),
        "close": (S.RECEIVED, S.REOPENED, S.COMPLETED, S.REVISITED),
    }
    praise = {
        "classify": (S.RECEIVED,),
        "respond": (S.RECEIVED,),
        "close": (S.RECEIVED,),
        "merge": (S.RECEIVED,),
        "void": (S.RECEIVED,),
        "add_work_log": (S.RECEIVED, S.CLOSED),
    }
    return {
        TicketKind.REPAIR: _table(repair),
        TicketKind.COMPLAINT: _table(complaint),
        TicketKind.INQUIRY: _table(answered),
        TicketKind.SUGGESTION: _table(answered),
        TicketKind.PRAISE: _table(praise),
    }


def _default_permissions() -> dict[Role, frozenset[str]]:
    everything = frozenset(COMMAND_TYPES)
    return {
        Role.HOTLINE_AGENT: frozenset(
            {
                "receive",
                "classify",
                "respond",
                "dispatch",
                "record_revisit",
                "close",
                "reopen",
                "escalate",
                "merge",
                "void",
                "mark_invalid",
                "request_abnormal_close",
                "add_work_log",
                "record_follow_up",
            }
        ),
        Role.DISPATCHER: frozenset(
            {
                "classify",
                "respond",
                "dispatch",
                "reassign",
                "bounce_back",
                "escalate",
                "merge",
                "void",
                "add_work_log",
                "record_follow_up",
            }
        ),
        Role.HANDLER: frozenset(
            {
                "accept",
                "bounce_back",
                "arrive",
                "start",
                "pause",
                "resume",
                "complete",
                "respond",
                "escalate",
                "request_abnormal_close",
                "add_work_log",
                "record_follow_up",
            }
        ),
        Role.SUPERVISOR: everything,
        Role.CUSTOMER: frozenset({"receive", "reopen"}),
        Role.SYSTEM: everything,
    }


def _freeze_allowed(
    value: Mapping[TicketKind, Mapping[TicketStatus, Iterable[str]]],
) -> Mapping[TicketKind, Mapping[TicketStatus, frozenset[str]]]:
    errors: list[FieldError] = []
    frozen: dict[TicketKind, Mapping[TicketStatus, frozenset[str]]] = {}
    for kind, by_status in value.items():
        inner: dict[TicketStatus, frozenset[str]] = {}
        for status, commands in by_status.items():
            names = frozenset(commands)
            for name in sorted(names - COMMAND_TYPES.keys()):
                errors.append(
                    FieldError(
                        path=f"$.allowed.{TicketKind(kind).value}.{TicketStatus(status).value}",
                        message=f"unknown command {name!r}",
                    )
                )
            if "receive" in names:
                errors.append(
                    FieldError(
                        path=f"$.allowed.{TicketKind(kind).value}.{TicketStatus(status).value}",
                        message="'receive' creates tickets; it is not allowed on an existing one",
                    )
                )
            inner[TicketStatus(status)] = names
        frozen[TicketKind(kind)] = MappingProxyType(inner)
    if errors:
        raise ValidationError(errors, subject="lifecycle rules")
    return MappingProxyType(frozen)


def _freeze_permissions(
    value: Mapping[Role, Iterable[str]],
) -> Mapping[Role, frozenset[str]]:
    errors = [
        FieldError(path=f"$.permissions.{Role(role).value}", message=f"unknown command {name!r}")
        for role, names in value.items()
        for name in sorted(set(names) - COMMAND_TYPES.keys())
    ]
    if errors:
        raise ValidationError(errors, subject="lifecycle rules")
    return MappingProxyType({Role(role): frozenset(names) for role, names in value.items()})


def _non_negative_window(
    _instance: object, _attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError.single("$.reopen_window", f"must be a timedelta ≥ 0, got {value!r}")


@attrs.frozen(kw_only=True)
class LifecycleRules:
    """The lifecycle's rules, as plain data.

    Attributes:
        allowed: For each kind, the commands allowed in each status (``receive`` is always
            allowed when no ticket exists yet, subject to ``permissions``).
        permissions: The commands each role may issue.
        reopen_window: How long after closing (or completing, if not closed) a ticket may be
            reopened on request.
        auto_reopen_kinds: Kinds that reopen automatically after an unsatisfied revisit
            (not resolved, or below 基本满意). Automatic reopening ignores the window.
        revisit_before_close_kinds: Kinds that need a revisit after their latest completion
            before they can close.
        response_before_close_kinds: Kinds that need a response to the customer before they
            can close.
        abnormal_close_approvers: Parties whose approval an abnormal close needs.
    """

    allowed: Mapping[TicketKind, Mapping[TicketStatus, frozenset[str]]] = attrs.field(
        factory=_default_allowed, converter=_freeze_allowed
    )
    permissions: Mapping[Role, frozenset[str]] = attrs.field(
        factory=_default_permissions, converter=_freeze_permissions
    )
    reopen_window: timedelta = attrs.field(
        default=timedelta(days=30), validator=_non_negative_window
    )
    auto_reopen_kinds: frozenset[TicketKind] = attrs.field(
        default=frozenset({TicketKind.COMPLAINT, TicketKind.REPAIR}), converter=frozenset
    )
    revisit_before_close_kinds: frozenset[TicketKind] = attrs.field(
        default=frozenset({TicketKind.COMPLAINT}), converter=frozenset
    )
    response_before_close_kinds: frozenset[TicketKind] = attrs.field(
        default=frozenset({TicketKind.COMPLAINT, TicketKind.INQUIRY, TicketKind.SUGGESTION}),
        converter=frozenset,
    )
    abnormal_close_approvers: frozenset[str] = attrs.field(
        default=DEFAULT_ABNORMAL_CLOSE_APPROVERS, converter=frozenset
    )

    def __attrs_post_init__(self) -> None:
        if not self.abnormal_close_approvers:
            raise ValidationError.single(
                "$.abnormal_close_approvers", "an abnormal close needs at least one approver"
            )

    @classmethod
    def default(cls) -> LifecycleRules:
        """The rules propcrm ships: the table in ``docs/lifecycle.md``."""
        return cls()

    def commands_for(self, kind: TicketKind, status: TicketStatus) -> frozenset[str]:
        """The commands a ticket of ``kind`` in ``status`` allows (before role checks)."""
        return self.allowed.get(kind, {}).get(status, frozenset())

    def allows(self, kind: TicketKind, status: TicketStatus, command: str) -> bool:
        """Whether ``command`` is allowed on a ticket of ``kind`` in ``status``."""
        return command in self.commands_for(kind, status)

    def may(self, role: Role, command: str) -> bool:
        """Whether ``role`` may issue ``command``."""
        return command in self.permissions.get(role, frozenset())

    def allow(
        self, kind: TicketKind, statuses: Iterable[TicketStatus], *commands: str
    ) -> LifecycleRules:
        """A copy that also allows ``commands`` for ``kind`` in each of ``statuses``."""
        return self._edit(kind, statuses, commands, add=True)

    def forbid(
        self, kind: TicketKind, statuses: Iterable[TicketStatus], *commands: str
    ) -> LifecycleRules:
        """A copy that no longer allows ``commands`` for ``kind`` in any of ``statuses``."""
        return self._edit(kind, statuses, commands, add=False)

    def _edit(
        self,
        kind: TicketKind,
        statuses: Iterable[TicketStatus],
        commands: Iterable[str],
        *,
        add: bool,
    ) -> LifecycleRules:
        table = {k: dict(v) for k, v in self.allowed.items()}
        by_status = table.setdefault(kind, {})
        for status in statuses:
            current = set(by_status.get(status, frozenset()))
            current = current | set(commands) if add else current - set(commands)
            by_status[status] = frozenset(current)
        return attrs.evolve(self, allowed=table)

    def transitions(self, kind: TicketKind) -> Iterator[Transition]:
        """Every allowed move for ``kind``, in status order then command name."""
        by_status = self.allowed.get(kind, {})
        for status in TicketStatus:
            for command in sorted(by_status.get(status, ())):
                yield Transition(
                    kind=kind,
                    source=status,
                    command=command,
                    target=command_target(command, status),
                )
