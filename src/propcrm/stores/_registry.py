"""Store factories by URL scheme, and ``open_store``."""

from __future__ import annotations

import difflib
from urllib.parse import urlsplit

from propcrm.errors import NotFoundError, ValidationError
from propcrm.stores._contract import Store, StoreFactory

__all__ = ["open_store", "register_store", "registered_schemes"]

_FACTORIES: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory, *, replace: bool = False) -> None:
    """Make ``open_store`` open URLs of ``scheme`` (e.g. ``"memory"``) with ``factory``.

    Raises:
        ValidationError: ``scheme`` is already registered and ``replace`` is false.
    """
    key = scheme.lower()
    if key in _FACTORIES and not replace and _FACTORIES[key] is not factory:
        raise ValidationError.single(
            "$.scheme",
            f"a store is already registered for {scheme!r}",
            hint="pass replace=True to override it",
        )
    _FACTORIES[key] = factory


def registered_schemes() -> tuple[str, ...]:
    """The URL schemes ``open_store`` knows, sorted (after plugins are loaded)."""
    _load_plugins()
    _register_builtins()
    return tuple(sorted(_FACTORIES))


def _register_builtins() -> None:
    # The plugin manager registers the built-in stores through ``builtin_plugin``; this fallback
    # makes them available when no manager has run (or it was built without them). It never
    # replaces a scheme already registered, so calling it again changes nothing.
    from propcrm.stores.builtin_plugin import propcrm_register_stores

    def register_default(scheme: str, factory: StoreFactory) -> None:
        _FACTORIES.setdefault(scheme.lower(), factory)

    propcrm_register_stores(register=register_default)


def _load_plugins() -> None:
    # Stores come from plugins (built-in ones included); load them on first use, never at import.
    from propcrm.plugins import ensure_loaded

    ensure_loaded()


def open_store(url: str, *, tenant: str | None = None) -> Store:
    """Open the store at ``url``, scoped to ``tenant`` (a company id; ``None`` for all tenants).

    URLs: ``memory://``, ``sqlite:///path.db`` (the embedded default), ``postgresql+psycopg://…``,
    ``mysql+pymysql://…``, or any scheme a plugin registers.

    Raises:
        NotFoundError: No store is registered for the URL's scheme; the hint names close ones.
    """
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        raise ValidationError.single(
            "$.url", f"{url!r} has no scheme", hint="use e.g. 'memory://' or 'sqlite:///propcrm.db'"
        )
    if scheme not in _FACTORIES:
        _load_plugins()
    if scheme not in _FACTORIES:
        _register_builtins()
    factory = _FACTORIES.get(scheme)
    if factory is None:
        close = difflib.get_close_matches(scheme, list(_FACTORIES), n=3, cutoff=0.4)
        raise NotFoundError("store scheme", scheme, suggestions=close)
    return factory(url, tenant=tenant)
