"""Import optional dependencies on first use (private)."""

from __future__ import annotations

import importlib
from types import ModuleType

from propcrm.errors import OptionalDependencyError

__all__ = ["require_module"]


def require_module(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import an optional module or raise :class:`OptionalDependencyError` with an install hint."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionalDependencyError(module, extra=extra, feature=feature) from None
