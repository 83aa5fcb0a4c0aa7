"""Registries of KPI definitions and SLA policies that plugins fill (private).

The KPI and SLA modules are being built; they will read these registries. Until then an entry
is any object. Lookups load plugins first (lazily, once).
"""

from __future__ import annotations

import difflib
import threading
from typing import Any

from propcrm.errors import NotFoundError, ValidationError

__all__ = [
    "NamedRegistry",
    "get_kpi",
    "get_sla_policy",
    "kpi_names",
    "register_kpi",
    "register_sla_policy",
    "sla_policy_names",
]


class NamedRegistry:
    """Objects by name, thread-safe, loading plugins before every lookup.

    Args:
        kind: What the entries are, for messages (``"KPI"``, ``"SLA policy"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._lock = threading.RLock()

    def register(self, name: str, entry: Any, *, replace: bool = False) -> None:
        """Add ``entry`` under ``name``.

        Raises:
            ValidationError: ``name`` is empty, or taken and ``replace`` is false.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValidationError.single("$.name", f"a {self.kind} name must be a non-empty string")
        if entry is None:
            raise ValidationError.single("$.entry", f"a {self.kind} cannot be None")
        with self._lock:
            if name in self._entries and not replace and self._entries[name] is not entry:
                raise ValidationError.single(
                    "$.name",
                    f"{self.kind} {name!r} is already registered",
                    hint="pass replace=True to replace it",
                )
            self._entries[name] = entry

    def get(self, name: str) -> Any:
        """The entry registered under ``name``.

        Raises:
            NotFoundError: No such name; the closest names are suggested.
        """
        _load_plugins()
        with self._lock:
            if name in self._entries:
                return self._entries[name]
            close = difflib.get_close_matches(str(name), list(self._entries), n=3, cutoff=0.4)
            raise NotFoundError(self.kind, name, suggestions=close)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        _load_plugins()
        with self._lock:
            return sorted(self._entries)

    def clear(self) -> None:
        """Forget every entry (for tests)."""
        with self._lock:
            self._entries.clear()


def _load_plugins() -> None:
    from propcrm.plugins._manager import ensure_loaded

    ensure_loaded()


KPIS = NamedRegistry("KPI")
SLA_POLICIES = NamedRegistry("SLA policy")


def register_kpi(name: str, kpi: Any, *, replace: bool = False) -> None:
    """Register a KPI definition (what ``propcrm_register_kpis`` plugins call).

    Raises:
        ValidationError: ``name`` is empty, or taken and ``replace`` is false.
    """
    KPIS.register(name, kpi, replace=replace)


def get_kpi(name: str) -> Any:
    """The KPI definition registered under ``name`` (plugins are loaded first).

    Raises:
        NotFoundError: No such KPI; the closest names are suggested.
    """
    return KPIS.get(name)


def kpi_names() -> list[str]:
    """The registered KPI names, sorted (plugins are loaded first)."""
    return KPIS.names()


def register_sla_policy(name: str, policy: Any, *, replace: bool = False) -> None:
    """Register an SLA policy (what ``propcrm_register_sla_policies`` plugins call).

    Raises:
        ValidationError: ``name`` is empty, or taken and ``replace`` is false.
    """
    SLA_POLICIES.register(name, policy, replace=replace)


def get_sla_policy(name: str) -> Any:
    """The SLA policy registered under ``name`` (plugins are loaded first).

    Raises:
        NotFoundError: No such policy; the closest names are suggested.
    """
    return SLA_POLICIES.get(name)


def sla_policy_names() -> list[str]:
    """The registered SLA policy names, sorted (plugins are loaded first)."""
    return SLA_POLICIES.names()
