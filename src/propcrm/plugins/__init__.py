"""Plugins: pluggy hooks named ``propcrm_*`` (being built: issue 5).

:func:`ensure_loaded` loads the built-in and installed plugins once; stores, calendars and the
taxonomy call it lazily on first use.
"""

from __future__ import annotations

__all__ = ["ensure_loaded"]


def ensure_loaded() -> None:
    """Load plugins once (idempotent). Until the plugin manager lands, there is nothing to load."""
