"""Plugins: pluggy hooks named ``propcrm_*``, the plugin manager and the built-in router.

A plugin is a module or object with functions marked ``@hookimpl``, installed under the
``propcrm`` entry-point group (``docs/plugins.md``). Hooks are specified in
:mod:`propcrm.plugins.hookspecs` and documented in ``docs/plugin_hooks.md``.

Nothing is loaded at import time: :func:`ensure_loaded` loads the built-in and installed plugins
once and runs their registration hooks; stores, calendars, KPIs and SLA policies call it on first
use. :func:`make_plugin_manager` builds a hermetic manager for tests.
"""

from __future__ import annotations

from propcrm.plugins import hookspecs
from propcrm.plugins._manager import (
    BLOCK_ENV_VAR,
    DEFAULT_PLUGINS,
    Plugins,
    blocked_from_env,
    ensure_loaded,
    get_plugins,
    make_plugin_manager,
)
from propcrm.plugins._markers import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec
from propcrm.plugins._registries import (
    get_kpi,
    get_sla_policy,
    kpi_names,
    register_kpi,
    register_sla_policy,
    sla_policy_names,
)
from propcrm.plugins._routing import (
    Router,
    RoutingConfig,
    hotline_desk_calendar,
    monitoring_centre_calendar,
    on_duty_desk,
    route_ticket,
)
from propcrm.plugins._values import Notification, NotificationKind, PiiAccess, Route

__all__ = [
    "BLOCK_ENV_VAR",
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Notification",
    "NotificationKind",
    "PiiAccess",
    "Plugins",
    "Route",
    "Router",
    "RoutingConfig",
    "blocked_from_env",
    "ensure_loaded",
    "get_kpi",
    "get_plugins",
    "get_sla_policy",
    "hookimpl",
    "hookspec",
    "hookspecs",
    "hotline_desk_calendar",
    "kpi_names",
    "make_plugin_manager",
    "monitoring_centre_calendar",
    "on_duty_desk",
    "register_kpi",
    "register_sla_policy",
    "route_ticket",
    "sla_policy_names",
]
