"""SLA policies and their derived state: deadlines, breaches and the warnings ladder.

SLA state is never stored: :func:`evaluate` replays a ticket's events against a
:class:`PolicySet` and the business calendars, so changing a policy or a calendar and evaluating
again gives the right answer. See ``docs/sla.md``.
"""

from __future__ import annotations

from propcrm.metrics.sla._defaults import WARRANTY_TRADE_DAYS, default_policies
from propcrm.metrics.sla._evaluate import (
    CalendarLookup,
    SlaReport,
    SlaStatus,
    TargetState,
    evaluate,
)
from propcrm.metrics.sla._policy import (
    MATCH_FIELDS,
    MEMO_SIZE,
    ClockKind,
    HoldAccounting,
    PolicyApplication,
    PolicyMatch,
    PolicySet,
    ReopenMode,
    ReopenRule,
    SlaPolicy,
    SlaTarget,
    TargetRule,
)
from propcrm.metrics.sla._warnings import (
    DEFAULT_LADDER,
    SlaWarning,
    WarningRung,
    due_warnings,
    warnings_for,
)

__all__ = [
    "DEFAULT_LADDER",
    "MATCH_FIELDS",
    "MEMO_SIZE",
    "WARRANTY_TRADE_DAYS",
    "CalendarLookup",
    "ClockKind",
    "HoldAccounting",
    "PolicyApplication",
    "PolicyMatch",
    "PolicySet",
    "ReopenMode",
    "ReopenRule",
    "SlaPolicy",
    "SlaReport",
    "SlaStatus",
    "SlaTarget",
    "SlaWarning",
    "TargetRule",
    "TargetState",
    "WarningRung",
    "default_policies",
    "due_warnings",
    "evaluate",
    "warnings_for",
]
