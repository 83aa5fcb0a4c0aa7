"""The hook specifications of propcrm: every hook a plugin may implement, in one module.

Every hook is named ``propcrm_*``. A plugin implements a hook by defining a function (or method)
of the same name marked with :data:`propcrm.plugins.hookimpl`; it may accept any subset of the
hook's parameters, by name. ``docs/plugin_hooks.md`` documents each hook under its exact
signature, and a test fails when the two drift apart.

Three kinds of hooks, and the order their implementations run in:

- **Building hooks** (``propcrm_register_*``, ``propcrm_taxonomy``, ``propcrm_lifecycle_rules``)
  run from the lowest precedence to the highest: built-ins first, then installed plugins in
  entry-point order, then plugins registered explicitly. A later plugin sees, and may replace,
  what the earlier ones made. ``trylast`` makes an implementation run earlier, ``tryfirst``
  later (it has the last word).
- **Asking hooks** (``propcrm_route_ticket``) stop at the first implementation that answers
  something other than ``None``, asking the highest precedence first: the plugin registered
  last, or marked ``tryfirst``. The built-in router is marked ``trylast``, so it only answers
  when no other router does.
- **Telling hooks** (``propcrm_events_stored``, ``propcrm_delivery_events_stored``,
  ``propcrm_archive_events_stored``, ``propcrm_deliver_notification``,
  ``propcrm_audit_pii_access``) run every implementation, in the building order. An exception
  in one does not stop the others; propcrm raises a ``PluginError`` naming every plugin that
  failed once all have run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from propcrm.plugins._markers import hookspec

if TYPE_CHECKING:
    from propcrm.customers import ArchiveEvent, CustomerRecord
    from propcrm.metrics.calendar import BusinessCalendar, CalendarFactory
    from propcrm.model.ticket import Ticket
    from propcrm.plugins._values import Notification, PiiAccess, Route
    from propcrm.stores import StoreFactory
    from propcrm.taxonomy import Taxonomy
    from propcrm.workflow import Event, LifecycleRules
    from propcrm.workflow.delivery import DeliveryBatch, DeliveryEvent

__all__ = [
    "CalendarRegistrar",
    "KpiRegistrar",
    "SlaPolicyRegistrar",
    "StoreRegistrar",
    "propcrm_archive_events_stored",
    "propcrm_audit_pii_access",
    "propcrm_deliver_notification",
    "propcrm_delivery_events_stored",
    "propcrm_events_stored",
    "propcrm_lifecycle_rules",
    "propcrm_register_calendars",
    "propcrm_register_kpis",
    "propcrm_register_sla_policies",
    "propcrm_register_stores",
    "propcrm_route_ticket",
    "propcrm_taxonomy",
]


class StoreRegistrar(Protocol):
    """The ``register`` callback of :func:`propcrm_register_stores`."""

    def __call__(self, scheme: str, factory: StoreFactory, *, replace: bool = False) -> None:
        """Make ``open_store`` open URLs of ``scheme`` with ``factory``."""
        ...


class CalendarRegistrar(Protocol):
    """The ``register`` callback of :func:`propcrm_register_calendars`."""

    def __call__(
        self, name: str, calendar: BusinessCalendar | CalendarFactory, *, replace: bool = False
    ) -> None:
        """Make ``get_calendar(name)`` return ``calendar`` (or what the factory builds)."""
        ...


class KpiRegistrar(Protocol):
    """The ``register`` callback of :func:`propcrm_register_kpis`."""

    def __call__(self, name: str, kpi: Any, *, replace: bool = False) -> None:
        """Register a KPI definition under ``name``."""
        ...


class SlaPolicyRegistrar(Protocol):
    """The ``register`` callback of :func:`propcrm_register_sla_policies`."""

    def __call__(self, name: str, policy: Any, *, replace: bool = False) -> None:
        """Register an SLA policy under ``name``."""
        ...


# ---------------------------------------------------------------------------------------------
# Building hooks: run once when plugins load, lowest precedence first.


@hookspec
def propcrm_register_stores(register: StoreRegistrar) -> None:
    """Register store factories by URL scheme, for :func:`propcrm.open_store`.

    Called once, when plugins load (on the first ``open_store``). Not firstresult: every
    implementation runs, built-ins first.

    Args:
        register: Call ``register(scheme, factory, replace=False)`` for each scheme, e.g.
            ``register("acme", AcmeStore.open)``; ``factory(url, *, tenant)`` returns a
            ``Store``. Registering a taken scheme raises ``ValidationError`` unless
            ``replace=True``.
    """


@hookspec
def propcrm_register_calendars(register: CalendarRegistrar) -> None:
    """Register business calendars by name, for ``propcrm.metrics.calendar.get_calendar``.

    Called once, when plugins load. Not firstresult: every implementation runs, built-ins first.

    Args:
        register: Call ``register(name, calendar_or_factory, replace=False)``; a factory is a
            zero-argument function building the calendar on its first use.
    """


@hookspec
def propcrm_taxonomy(taxonomy: Taxonomy | None) -> Taxonomy | None:
    """Extend or replace the issue taxonomy; implementations are applied in turn.

    Not firstresult: each implementation receives the taxonomy the previous ones made (the
    built-in plugin supplies the standard taxonomy) and returns a new one, or ``None`` to keep
    it. ``Taxonomy`` is immutable: use ``add``, ``merge``, ``rename``, ``deprecate`` …

    Args:
        taxonomy: The taxonomy so far; ``None`` when no plugin has supplied one yet (the
            built-in taxonomy plugin is blocked).

    Returns:
        The new taxonomy, or ``None`` to leave it unchanged.
    """


@hookspec
def propcrm_lifecycle_rules(rules: LifecycleRules) -> LifecycleRules | None:
    """Extend or change the lifecycle rules; implementations are applied in turn.

    Not firstresult: each implementation receives the rules the previous ones made (starting
    from the rules the service was given, ``LifecycleRules.default()`` unless told otherwise)
    and returns new rules (``rules.allow``, ``rules.forbid``, ``attrs.evolve``), or ``None``.

    Args:
        rules: The rules so far.

    Returns:
        The new rules, or ``None`` to leave them unchanged.
    """


@hookspec
def propcrm_register_kpis(register: KpiRegistrar) -> None:
    """Register KPI definitions by name, for the KPI module (being built).

    Called once, when plugins load. Not firstresult: every implementation runs, built-ins first.
    Until the KPI module defines its KPI type, a definition is any object; the registry
    ``propcrm.plugins.get_kpi`` holds what plugins register.

    Args:
        register: Call ``register(name, kpi, replace=False)`` for each KPI, e.g.
            ``register("acme-first-visit-rate", FIRST_VISIT_RATE)``.
    """


@hookspec
def propcrm_register_sla_policies(register: SlaPolicyRegistrar) -> None:
    """Register SLA policies by name, for the SLA module (being built).

    Called once, when plugins load. Not firstresult: every implementation runs, built-ins first.
    Until the SLA module defines its policy type, a policy is any object; the registry
    ``propcrm.plugins.get_sla_policy`` holds what plugins register.

    Args:
        register: Call ``register(name, policy, replace=False)`` for each policy.
    """


# ---------------------------------------------------------------------------------------------
# Asking hooks: the first answer wins, highest precedence first.


@hookspec(firstresult=True)
def propcrm_route_ticket(ticket: Ticket, now: datetime, taxonomy: Taxonomy | None) -> Route | None:
    """Route a ticket to be dispatched: to a responsible party, an assignee, or both.

    firstresult: the first implementation returning a route decides; the built-in router
    (``propcrm.plugins.builtin_router``, marked ``trylast``) answers when no other does. It
    routes by the taxonomy's default party, the project and the time of day (seed 004: the
    hotline desk 08:30–20:00, the monitoring centre 20:00–08:30).

    Args:
        ticket: The ticket to dispatch.
        now: The dispatch time (aware).
        taxonomy: The taxonomy after ``propcrm_taxonomy``, to look up default parties; ``None``
            when no taxonomy is loaded.

    Returns:
        A :class:`~propcrm.plugins.Route`, or ``None`` to let the next router decide.
    """


# ---------------------------------------------------------------------------------------------
# Telling hooks: every implementation runs; failures are collected and raised at the end.


@hookspec
def propcrm_events_stored(ticket: Ticket, events: Sequence[Event]) -> None:
    """Hear about events after the store saved them (never before).

    Not firstresult: every listener runs, in the building order. The events are already
    stored, so a listener that raises cannot undo them; the service raises a ``PluginError``
    naming it after every listener has run.

    Args:
        ticket: The ticket after the events.
        events: The new events, in order.
    """


@hookspec
def propcrm_delivery_events_stored(batch: DeliveryBatch, events: Sequence[DeliveryEvent]) -> None:
    """Hear about a delivery batch's events after the store appended them (never before).

    Not firstresult: every listener runs, in the building order. Told by
    ``propcrm.aggregates.DeliveryService`` after each append (``run`` and ``import_history``),
    never for a refused command. The events are stored whatever a listener does; the service
    raises a ``PluginError`` naming the listeners that failed after every one has run.

    Args:
        batch: The batch after the events (its company is ``batch.scope.company_id``).
        events: The new events, in order (``delivery_batch_opened``, ``handover_booked`` …).
    """


@hookspec
def propcrm_archive_events_stored(record: CustomerRecord, events: Sequence[ArchiveEvent]) -> None:
    """Hear about a customer record's events after the store appended them, masked.

    Not firstresult: every listener runs, in the building order. Told by
    ``propcrm.aggregates.ArchiveService`` after each append (``run`` and ``import_history``;
    after an erasure, once its redaction was tried), never for a refused command. Personal
    values are masked in both arguments, as ``CustomerRecord.masked`` shows them: a plugin that
    needs them reads them through ``ArchiveService.read_full``, which is audited. A failing
    listener cannot undo the append; the service raises a ``PluginError`` naming it after every
    listener has run.

    Args:
        record: The record after the events, masked (its company is
            ``record.scope.company_id``).
        events: The new events, in order, masked.
    """


@hookspec
def propcrm_deliver_notification(notification: Notification) -> None:
    """Deliver a notification: an SLA warning, a revisit reminder, a milestone notice to an owner.

    Not firstresult: every delivery plugin runs (SMS, WeChat, e-mail …); each decides from
    ``notification.kind`` and ``recipient`` whether the message is for its channel. Deliver at
    most once per ``notification.idempotency_key``.

    Args:
        notification: What to send, to whom, in Chinese and English, and when.
    """


@hookspec
def propcrm_audit_pii_access(access: PiiAccess) -> None:
    """Record a read of personal data in the customer archive (seed 001: the access log).

    Not firstresult: every audit plugin runs. Called before the data is handed out; an audit
    plugin that raises stops the read (a ``PluginError`` names it).

    Args:
        access: Who read which customer's record, when, why, and which fields.
    """
