"""Built-in plugin: the seed-004 router (hotline desk 08:30–20:00, monitoring centre at night).

Marked ``trylast``, so any other router answers first. Block it with
``PROPCRM_BLOCK_PLUGINS=propcrm.plugins.builtin_router``.
"""

from __future__ import annotations

from datetime import datetime

from propcrm.model.ticket import Ticket
from propcrm.plugins._markers import hookimpl
from propcrm.plugins._routing import RoutingConfig, route_ticket
from propcrm.plugins._values import Route
from propcrm.taxonomy import Taxonomy

__all__ = ["propcrm_route_ticket"]

_DEFAULT = RoutingConfig()


@hookimpl(trylast=True)
def propcrm_route_ticket(ticket: Ticket, now: datetime, taxonomy: Taxonomy | None) -> Route:
    """Route by the default :class:`~propcrm.plugins.RoutingConfig`."""
    return route_ticket(ticket, now, config=_DEFAULT, taxonomy=taxonomy)
