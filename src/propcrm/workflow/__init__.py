"""Ticket lifecycle rules: states, guarded transitions and the append-only event history.

The public entry point is :class:`Lifecycle`::

    lifecycle = Lifecycle(rules=LifecycleRules.default())
    events = lifecycle.handle(ticket_or_none, command, now=now, actor=actor)
    ticket = replay(history + events)

Command classes live in :mod:`propcrm.workflow.commands`, event classes in
:mod:`propcrm.workflow.events`.
"""

from __future__ import annotations

from propcrm.workflow import commands, events
from propcrm.workflow.events import EVENT_SCHEMA_VERSION, EVENT_TYPES, Event, EventPayload
from propcrm.workflow.lifecycle import (
    CategoryCatalog,
    Lifecycle,
    apply,
    decide,
    replay,
    replay_many,
)
from propcrm.workflow.rules import (
    DEFAULT_ABNORMAL_CLOSE_APPROVERS,
    LifecycleRules,
    StatusChange,
    Transition,
    command_target,
)

__all__ = [
    "DEFAULT_ABNORMAL_CLOSE_APPROVERS",
    "EVENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "CategoryCatalog",
    "Event",
    "EventPayload",
    "Lifecycle",
    "LifecycleRules",
    "StatusChange",
    "Transition",
    "apply",
    "command_target",
    "commands",
    "decide",
    "events",
    "replay",
    "replay_many",
]
