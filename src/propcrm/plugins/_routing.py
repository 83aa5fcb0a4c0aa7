"""The built-in router: taxonomy default party, project and time of day (seed 004).

:func:`route_ticket` is a pure function of the ticket, the time and a :class:`RoutingConfig`;
:class:`Router` wraps it as a plugin object so that a vendor can register its own configuration.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from propcrm._validation import non_empty_str, require_aware
from propcrm.errors import NotFoundError, ValidationError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.model.ticket import Ticket
from propcrm.plugins._markers import hookimpl
from propcrm.plugins._values import Route
from propcrm.taxonomy import Taxonomy

__all__ = [
    "Router",
    "RoutingConfig",
    "hotline_desk_calendar",
    "monitoring_centre_calendar",
    "on_duty_desk",
    "route_ticket",
]


@functools.cache
def hotline_desk_calendar() -> BusinessCalendar:
    """The hotline desk's hours (seed 004): 08:30–20:00 every day, Asia/Shanghai."""
    return BusinessCalendar(
        name="cn-hotline-desk", timezone="Asia/Shanghai", weekly={"daily": "08:30-20:00"}
    )


@functools.cache
def monitoring_centre_calendar() -> BusinessCalendar:
    """The monitoring centre's hours (seed 004): 20:00–08:30 overnight, Asia/Shanghai."""
    return BusinessCalendar(
        name="cn-monitoring-centre", timezone="Asia/Shanghai", weekly={"daily": "20:00-08:30"}
    )


def _desk_hours(value: BusinessCalendar | str) -> BusinessCalendar:
    if isinstance(value, str):
        return BusinessCalendar(
            name="hotline-desk", timezone="Asia/Shanghai", weekly={"daily": value}
        )
    if not isinstance(value, BusinessCalendar):
        raise ValidationError.single(
            "$.desk_hours",
            f"expected a BusinessCalendar or 'HH:MM-HH:MM', got {type(value).__name__}",
            subject="routing config",
        )
    return value


def _freeze_str_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _freeze_nested(value: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    frozen: dict[str, Mapping[str, str]] = {}
    for key, inner in value.items():
        if not isinstance(inner, Mapping):
            raise ValidationError.single(
                f"$.project_parties[{key!r}]",
                f"expected a mapping of category prefix to party, got {inner!r}",
                subject="routing config",
            )
        frozen[key] = MappingProxyType(dict(inner))
    return MappingProxyType(frozen)


def _check_str_map(
    _instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, Any]
) -> None:
    for key, item in value.items():
        where = f"$.{attribute.name}[{key!r}]"
        if not isinstance(key, str) or not key.strip():
            raise ValidationError.single(where, "keys must be non-empty strings")
        inner = item.items() if isinstance(item, Mapping) else [(None, item)]
        for sub, text in inner:
            path = where if sub is None else f"{where}[{sub!r}]"
            if not isinstance(text, str) or not text.strip():
                raise ValidationError.single(path, f"expected a non-empty string, got {text!r}")


@attrs.frozen(kw_only=True)
class RoutingConfig:
    """How the built-in router decides; every field has the seed-004 default.

    Attributes:
        desk_hours: When the hotline desk is on duty: a business calendar (by default the
            duty calendar ``cn-hotline-desk``, 08:30–20:00 daily in Asia/Shanghai), so that
            holidays and special days can change the hours; or ``"HH:MM-HH:MM"``, daily in
            Asia/Shanghai. The monitoring centre is on duty whenever the desk is not.
        hotline_desk: The hotline desk's queue id, on duty in ``desk_hours``.
        monitoring_centre: The monitoring centre's queue id, on duty the rest of the day.
        dedicated_desks: Projects with their own hotline desk (1,000+ households or 60+
            tickets a day, seed 004): project id → desk id, used instead of ``hotline_desk``
            in desk hours.
        project_parties: Per-project overrides: project id → {category prefix → party}. The
            longest matching prefix wins, e.g. ``{"P-CUIHU": {"Q.WP": "SUB-WP-2"}}``.
        in_house_parties: Parties whose work the desk on duty assigns to itself (the property
            company); other parties get the ticket without an assignee and assign their own
            staff.
        fallback_party: The party when nothing else names one.
    """

    desk_hours: BusinessCalendar = attrs.field(factory=hotline_desk_calendar, converter=_desk_hours)
    hotline_desk: str = attrs.field(default="hotline-desk", validator=non_empty_str)
    monitoring_centre: str = attrs.field(default="monitoring-centre", validator=non_empty_str)
    dedicated_desks: Mapping[str, str] = attrs.field(
        factory=dict, converter=_freeze_str_map, validator=_check_str_map
    )
    project_parties: Mapping[str, Mapping[str, str]] = attrs.field(
        factory=dict, converter=_freeze_nested, validator=_check_str_map
    )
    in_house_parties: frozenset[str] = attrs.field(default=frozenset({"PM"}), converter=frozenset)
    fallback_party: str = attrs.field(default="PM", validator=non_empty_str)


def on_duty_desk(project_id: str, now: datetime, config: RoutingConfig) -> str:
    """The desk on duty for ``project_id`` at ``now``: the hotline desk, or the monitoring centre.

    The desk is on duty while ``config.desk_hours`` is working (a start inclusive, an end
    exclusive): with the defaults, 08:29:59 is the monitoring centre's, 08:30 the desk's,
    19:59:59 the desk's, 20:00 the monitoring centre's.

    Raises:
        ValidationError: ``now`` is naive.
        CalendarRangeError: ``now`` lies outside the desk calendar's data (policy ``raise``).
    """
    require_aware(now, "$.now")
    if config.desk_hours.is_working(now):
        return config.dedicated_desks.get(project_id, config.hotline_desk)
    return config.monitoring_centre


def _taxonomy_party(code: str, taxonomy: Taxonomy) -> tuple[str, str] | None:
    try:
        live = taxonomy.resolve(code)
        nodes = (taxonomy.get(live), *taxonomy.ancestors(live))
    except NotFoundError:
        return None
    for node in nodes:
        if node.parties:
            return node.parties[0], node.code
    return None


def _party(ticket: Ticket, config: RoutingConfig, taxonomy: Taxonomy | None) -> tuple[str, str]:
    if ticket.responsible_party is not None:
        return ticket.responsible_party, "the party named on the ticket"
    code = ticket.category_code
    project = ticket.scope.project_id
    overrides = config.project_parties.get(project, {})
    if code is not None:
        matches = [p for p in overrides if code == p or code.startswith(p + ".")]
        if matches:
            prefix = max(matches, key=len)
            return overrides[prefix], f"project {project} routes {prefix} to it"
        if taxonomy is not None:
            found = _taxonomy_party(code, taxonomy)
            if found is not None:
                party, node = found
                return party, f"default party of {node} in {taxonomy.tag}"
    return config.fallback_party, "the fallback party"


def route_ticket(
    ticket: Ticket,
    now: datetime,
    *,
    config: RoutingConfig | None = None,
    taxonomy: Taxonomy | None = None,
) -> Route:
    """Route ``ticket`` at ``now``: a pure function of the ticket, the time and the config.

    The party is, in order: the one already named on the ticket; the project's override for
    the longest matching category prefix; the taxonomy's default party for the category (the
    item's first party, else its discipline's); ``config.fallback_party``. The desk on duty
    (:func:`on_duty_desk`) coordinates the ticket and, for an in-house party, is its assignee.

    Args:
        ticket: The ticket to dispatch.
        now: The dispatch time (aware).
        config: The routing configuration; the seed-004 defaults when ``None``.
        taxonomy: The taxonomy to look up default parties in; without one, categories are not
            used.

    Returns:
        The route, with the desk, the reason and ``router="builtin"``.

    Raises:
        ValidationError: ``now`` is naive.
        CalendarRangeError: ``now`` lies outside the desk calendar's data (policy ``raise``).
    """
    config = config if config is not None else RoutingConfig()
    desk = on_duty_desk(ticket.scope.project_id, now, config)
    party, why = _party(ticket, config, taxonomy)
    local = now.astimezone(config.desk_hours.timezone).strftime("%H:%M:%S")
    in_house = party in config.in_house_parties
    reason = f"{party}: {why}; {desk} on duty at {local} " + (
        "handles it" if in_house else "follows it up"
    )
    return Route(
        party=party,
        assignee=desk if in_house else None,
        desk=desk,
        reason=reason,
        router="builtin",
    )


@attrs.frozen
class Router:
    """The built-in router as a plugin object with its own configuration.

    Register one to change desk hours or queues; it answers before the default built-in
    router (which is marked ``trylast``)::

        plugins = make_plugin_manager(plugins=[Router(RoutingConfig(desk_hours="09:00-18:00"))])

    Attributes:
        config: How to route.
    """

    config: RoutingConfig = attrs.field(factory=RoutingConfig)

    @hookimpl
    def propcrm_route_ticket(
        self, ticket: Ticket, now: datetime, taxonomy: Taxonomy | None
    ) -> Route | None:
        """Route with :func:`route_ticket` and this router's configuration."""
        return route_ticket(ticket, now, config=self.config, taxonomy=taxonomy)
