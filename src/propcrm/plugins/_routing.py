"""The built-in router: taxonomy default party, project and time of day (seed 004).

:func:`route_ticket` is a pure function of the ticket, the time and a :class:`RoutingConfig`;
:class:`Router` wraps it as a plugin object so that a vendor can register its own configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from propcrm._validation import non_empty_str, require_aware
from propcrm.errors import NotFoundError, ValidationError
from propcrm.model.ticket import Ticket
from propcrm.plugins._markers import hookimpl
from propcrm.plugins._values import Route
from propcrm.taxonomy import Taxonomy

__all__ = ["Router", "RoutingConfig", "on_duty_desk", "route_ticket"]


def _zone(value: ZoneInfo | str) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.single(
            "$.timezone",
            f"unknown time zone {value!r}",
            subject="routing config",
            hint="use an IANA name such as 'Asia/Shanghai'",
        ) from None


def _time(_instance: object, attribute: attrs.Attribute[time], value: object) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"expected a naive time of day (local to the config's time zone), got {value!r}",
            subject="routing config",
        )


def _freeze_str_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _freeze_nested(value: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in value.items()})


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
        timezone: The zone desk hours are written in (``Asia/Shanghai``).
        desk_opens: When the hotline desk takes over (08:30 local).
        desk_closes: When the monitoring centre takes over (20:00 local). If it is earlier
            than ``desk_opens`` the desk works overnight.
        hotline_desk: The hotline desk's queue id, on duty from ``desk_opens`` (inclusive) to
            ``desk_closes`` (exclusive).
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

    timezone: ZoneInfo = attrs.field(factory=lambda: ZoneInfo("Asia/Shanghai"), converter=_zone)
    desk_opens: time = attrs.field(default=time(8, 30), validator=_time)
    desk_closes: time = attrs.field(default=time(20, 0), validator=_time)
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

    def __attrs_post_init__(self) -> None:
        if self.desk_opens == self.desk_closes:
            raise ValidationError.single(
                "$.desk_closes",
                "the desk must close at another time than it opens",
                subject="routing config",
                hint="for one desk around the clock, route with a plugin of your own",
            )


def on_duty_desk(project_id: str, now: datetime, config: RoutingConfig) -> str:
    """The desk on duty for ``project_id`` at ``now``: hotline desk by day, monitoring centre.

    Desk hours are ``[desk_opens, desk_closes)`` in the config's time zone: with the defaults,
    08:29:59 is the monitoring centre's, 08:30 the desk's, 19:59:59 the desk's, 20:00 the
    monitoring centre's.

    Raises:
        ValidationError: ``now`` is naive.
    """
    require_aware(now, "$.now")
    local = now.astimezone(config.timezone).time().replace(tzinfo=None)
    opens, closes = config.desk_opens, config.desk_closes
    in_desk_hours = opens <= local < closes if opens < closes else local >= opens or local < closes
    if in_desk_hours:
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
    """
    config = config if config is not None else RoutingConfig()
    desk = on_duty_desk(ticket.scope.project_id, now, config)
    party, why = _party(ticket, config, taxonomy)
    local = now.astimezone(config.timezone).strftime("%H:%M:%S")
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

        plugins = make_plugin_manager(plugins=[Router(RoutingConfig(desk_opens=time(9)))])

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
