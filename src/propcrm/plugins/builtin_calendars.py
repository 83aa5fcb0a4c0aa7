"""Built-in plugin: the duty calendars of seed 004.

``"cn-hotline-desk"`` is the hotline desk's hours, 08:30–20:00 every day, and
``"cn-monitoring-centre"`` the monitoring centre's, 20:00–08:30 overnight, both in
Asia/Shanghai. (``"24x7"`` and the statutory office calendars are built into the calendar
registry itself.) The calendars are built on first use.
"""

from __future__ import annotations

from propcrm.plugins._markers import hookimpl
from propcrm.plugins._routing import hotline_desk_calendar, monitoring_centre_calendar
from propcrm.plugins.hookspecs import CalendarRegistrar

__all__ = ["propcrm_register_calendars"]


@hookimpl(trylast=True)
def propcrm_register_calendars(register: CalendarRegistrar) -> None:
    """Register the two duty calendars (as factories: nothing is built until used)."""
    register("cn-hotline-desk", hotline_desk_calendar)
    register("cn-monitoring-centre", monitoring_centre_calendar)
