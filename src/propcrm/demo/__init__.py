"""The propcrm demo: a synthetic developer group's year of customer service, end to end.

:func:`generate_group` makes the group (companies, projects, households, staff, contractors),
:func:`plan_year` plans a year of tickets, a delivery batch, surveys and transactions as pure
values, and :func:`run_demo` runs the plan through :class:`propcrm.service.TicketService` on an
SQLite file and prints the dashboard. ``propcrm demo`` on the command line calls it.
"""

from __future__ import annotations

from propcrm.demo._group import (
    DEFAULT_YEAR,
    SIZES,
    DemoGroup,
    Household,
    Project,
    generate_group,
    households_for,
)
from propcrm.demo._plan import CHANNEL_MIX, RATES, SURVEY, DemoPlan, Step, plan_year
from propcrm.demo._run import (
    DemoOptions,
    DemoResult,
    NotificationCollector,
    Refusal,
    footer,
    run_demo,
)

__all__ = [
    "CHANNEL_MIX",
    "DEFAULT_YEAR",
    "RATES",
    "SIZES",
    "SURVEY",
    "DemoGroup",
    "DemoOptions",
    "DemoPlan",
    "DemoResult",
    "Household",
    "NotificationCollector",
    "Project",
    "Refusal",
    "Step",
    "footer",
    "generate_group",
    "households_for",
    "plan_year",
    "run_demo",
]
