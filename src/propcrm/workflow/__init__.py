"""Ticket lifecycle rules: states, guarded transitions and the append-only event history.

The public entry point is :class:`Lifecycle`::

    lifecycle = Lifecycle(rules=LifecycleRules.default())
    events = lifecycle.handle(ticket_or_none, command, now=now, actor=actor)
    ticket = replay(history + events)

Command classes live in :mod:`propcrm.workflow.commands`, event classes in
:mod:`propcrm.workflow.events`. House delivery and inspection (:mod:`propcrm.workflow.delivery`,
with its KPIs in :mod:`propcrm.workflow.delivery_kpis`) and revisit programmes
(:mod:`propcrm.workflow.revisits`) follow the same command/event style.
"""

from __future__ import annotations

from propcrm.workflow import commands, delivery, delivery_kpis, events, revisits
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
    "delivery",
    "delivery_kpis",
    "events",
    "replay",
    "replay_many",
    "revisits",
]
