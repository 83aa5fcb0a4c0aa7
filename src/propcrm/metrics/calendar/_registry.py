"""The registry of calendars by name (private; the functions are re-exported).

Entries are calendars or zero-argument factories. A factory runs on the first
:func:`get_calendar` of its name and the calendar it returns is kept, so its compiled index is
shared by every caller. Nothing is built at import time. Registering the very same object again
under the same name is a no-op, so a plugin hook may run more than once.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable

from propcrm.errors import NotFoundError, ValidationError
from propcrm.metrics.calendar._calendar import BusinessCalendar, twenty_four_seven
from propcrm.metrics.calendar._sources import chinese_statutory

__all__ = ["CalendarFactory", "calendar_names", "get_calendar", "register_calendar"]

#: A no-argument callable that builds a calendar when its name is first asked for.
CalendarFactory = Callable[[], BusinessCalendar]

_BUILTINS: dict[str, CalendarFactory] = {
    "24x7": twenty_four_seven,
    "cn-statutory": chinese_statutory,
    "cn-statutory-holidays": lambda: chinese_statutory(
        source="holidays", name="cn-statutory-holidays"
    ),
}

_lock = threading.RLock()
#: What was registered under each name: a calendar or a factory.
_entries: dict[str, BusinessCalendar | CalendarFactory] = dict(_BUILTINS)
#: The calendars built from factories so far.
_built: dict[str, BusinessCalendar] = {}


def register_calendar(
    name: str, calendar: BusinessCalendar | CalendarFactory, *, replace: bool = False
) -> None:
    """Add a calendar, or a zero-argument function building one on first use, under ``name``.

    Registering the same object again under the same name does nothing.

    Args:
        name: The registry key, e.g. ``"acme-office"``.
        calendar: A :class:`BusinessCalendar`, or a factory returning one.
        replace: Allow replacing an existing name (including the built-ins).

    Raises:
        ValidationError: ``name`` is empty or taken by something else (without ``replace``),
            or ``calendar`` is neither a calendar nor callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValidationError.single("$.name", "a calendar name must be a non-empty string")
    if not isinstance(calendar, BusinessCalendar) and not callable(calendar):
        raise ValidationError.single(
            "$.calendar",
            f"expected a BusinessCalendar or a factory, got {type(calendar).__name__}",
        )
    with _lock:
        existing = _entries.get(name)
        if existing is calendar:
            return
        if existing is not None and not replace:
            raise ValidationError.single(
                "$.name",
                f"calendar {name!r} is already registered",
                hint="pass replace=True to replace it",
            )
        _entries[name] = calendar
        _built.pop(name, None)


def get_calendar(name: str) -> BusinessCalendar:
    """The calendar registered under ``name`` (built and kept on first use).

    Built-in names: ``"cn-statutory"`` (China's statutory holidays and make-up days from
    ``chinesecalendar``, Monday to Friday 09:00–12:00 and 13:30–18:00, Asia/Shanghai),
    ``"cn-statutory-holidays"`` (the same from the ``holidays`` package) and ``"24x7"`` (UTC).

    Args:
        name: The registry key.

    Returns:
        The calendar.

    Raises:
        NotFoundError: No such name; the closest names are suggested.
        OptionalDependencyError: A built-in's holiday source is not installed.
    """
    with _lock:
        built = _built.get(name)
        if built is not None:
            return built
        entry = _entries.get(name)
        if entry is None:
            _load_plugins()  # plugin calendars register on first use, never at import
            entry = _entries.get(name)
        if entry is None:
            close = difflib.get_close_matches(str(name), list(_entries), n=3, cutoff=0.4)
            raise NotFoundError(
                "calendar",
                name,
                suggestions=close,
                hint=None if close else f"registered: {', '.join(sorted(_entries))}",
            )
        if isinstance(entry, BusinessCalendar):
            return entry
        calendar = entry()
        if not isinstance(calendar, BusinessCalendar):
            raise ValidationError.single(
                "$.calendar",
                f"the factory for {name!r} returned {type(calendar).__name__}, "
                "not a BusinessCalendar",
            )
        _built[name] = calendar
        return calendar


def calendar_names() -> list[str]:
    """The registered names (plugins' included), sorted."""
    _load_plugins()
    with _lock:
        return sorted(_entries)


def _load_plugins() -> None:
    from propcrm.plugins import ensure_loaded

    ensure_loaded()


def _reset_registry() -> None:
    """Forget every registration but the built-ins (for tests)."""
    with _lock:
        _entries.clear()
        _entries.update(_BUILTINS)
        _built.clear()
