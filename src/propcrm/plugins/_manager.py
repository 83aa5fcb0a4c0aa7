"""The plugin manager: loading, blocking, the typed facade and the process-wide default.

Nothing is loaded at import time. :func:`get_plugins` builds the process-wide manager on first
use (built-ins, then installed entry points, minus the blocked ones); :func:`ensure_loaded`
also runs the registration hooks into the store, calendar, KPI and SLA registries, once.
:func:`make_plugin_manager` builds an independent manager, by default with no entry points, for
hermetic tests.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from propcrm.errors import PluginError, PropcrmError
from propcrm.plugins import hookspecs
from propcrm.plugins._markers import ENTRY_POINT_GROUP, PROJECT_NAME
from propcrm.plugins._values import Notification, PiiAccess, Route

if TYPE_CHECKING:
    from propcrm.customers import ArchiveEvent, CustomerRecord
    from propcrm.model.ticket import Ticket
    from propcrm.taxonomy import Taxonomy
    from propcrm.workflow import Event, LifecycleRules
    from propcrm.workflow.delivery import DeliveryBatch, DeliveryEvent

__all__ = [
    "BLOCK_ENV_VAR",
    "DEFAULT_PLUGINS",
    "Plugins",
    "blocked_from_env",
    "ensure_loaded",
    "get_plugins",
    "make_plugin_manager",
]

#: The environment variable naming plugins not to load: comma-separated entry-point names or
#: built-in module names, e.g. ``PROPCRM_BLOCK_PLUGINS=acme-router,propcrm.plugins.builtin_router``.
BLOCK_ENV_VAR = "PROPCRM_BLOCK_PLUGINS"

#: Built-in plugins, loaded first and through the same path as installed ones. A built-in whose
#: module is not there (a part not installed yet) is skipped.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "propcrm.stores.builtin_plugin",
    "propcrm.plugins.builtin_calendars",
    "propcrm.plugins.builtin_taxonomy",
    "propcrm.plugins.builtin_router",
)


def blocked_from_env(environ: dict[str, str] | None = None) -> frozenset[str]:
    """The plugin names in ``PROPCRM_BLOCK_PLUGINS`` (commas or spaces between names)."""
    text = (os.environ if environ is None else environ).get(BLOCK_ENV_VAR, "")
    return frozenset(name for name in text.replace(",", " ").split() if name)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


class Plugins:
    """A typed facade over a pluggy manager: one method per hook, so mypy checks every call.

    Build one with :func:`make_plugin_manager` (hermetic) or get the process-wide one with
    :func:`get_plugins`. The pluggy manager stays reachable as :attr:`manager`, for
    ``register``/``unregister``; call :meth:`check` after registering more plugins.

    Args:
        manager: A pluggy manager with propcrm's hook specifications added.
    """

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    # -- introspection -------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The names of the registered plugins, in registration order."""
        return tuple(name for name, plugin in self.manager.list_name_plugin() if plugin)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register one more plugin and check its hooks (see :func:`make_plugin_manager`).

        Returns:
            The name it was registered under, or ``None`` if that name is blocked.

        Raises:
            PluginError: It implements a hook that does not exist, with a wrong signature, or
                its name is taken.
        """
        registered = _register(self.manager, plugin, name)
        self.check()
        return registered

    def check(self) -> None:
        """Fail loudly on a misspelt hook: every ``propcrm_*`` implementation needs a spec.

        Raises:
            PluginError: Naming each plugin and hook that has no specification.
        """
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            name = self.manager.get_name(error.plugin) or repr(error.plugin)
            raise PluginError(f"plugin {name!r}: {error}", hint=self._hint(str(error))) from error

    def _hint(self, message: str) -> str:
        known = [n for n in dir(hookspecs) if n.startswith("propcrm_")]
        words = [w.strip("'\"") for w in message.split() if "propcrm_" in w]
        close = [m for w in words for m in difflib.get_close_matches(w, known, n=1, cutoff=0.6)]
        if close:
            return f"did you mean {close[0]!r}? Hooks are listed in docs/plugin_hooks.md"
        return "hook names start with 'propcrm_'; see docs/plugin_hooks.md for the list"

    def _impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        """Implementations from the lowest precedence to the highest (the building order)."""
        caller: pluggy.HookCaller = getattr(self.manager.hook, hook_name)
        impls = caller.get_hookimpls()
        for impl in impls:
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} wraps {hook_name}, which takes no wrappers",
                    hint="implement the hook without wrapper=True",
                )
        return impls

    def _call(self, impl: pluggy.HookImpl, hook_name: str, **kwargs: object) -> Any:
        args = [kwargs[name] for name in impl.argnames]
        try:
            return impl.function(*args)
        except PropcrmError as error:
            if isinstance(error, PluginError):
                raise
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed in {hook_name}: {_describe(error)}",
                hint=error.hint,
            ) from error
        except Exception as error:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed in {hook_name}: {_describe(error)}",
                hint=f"fix or block it ({BLOCK_ENV_VAR}={impl.plugin_name})",
            ) from error

    def _tell(self, hook_name: str, **kwargs: object) -> None:
        failures: list[tuple[str, BaseException]] = []
        for impl in self._impls(hook_name):
            try:
                self._call(impl, hook_name, **kwargs)
            except PluginError as error:
                failures.append((impl.plugin_name, error.__cause__ or error))
        if failures:
            names = ", ".join(repr(name) for name, _ in failures)
            first = failures[0][1]
            raise PluginError(
                f"{len(failures)} plugin(s) failed in {hook_name}: {names} "
                f"(first: {_describe(first)})",
                hint="every other implementation ran; fix or block the failing plugins",
            ) from first

    def _build(self, hook_name: str, **kwargs: object) -> None:
        for impl in self._impls(hook_name):
            self._call(impl, hook_name, **kwargs)

    def _chain(self, hook_name: str, key: str, value: Any, kind: type) -> Any:
        for impl in self._impls(hook_name):
            result = self._call(impl, hook_name, **{key: value})
            if result is None:
                continue
            if not isinstance(result, kind):
                raise PluginError(
                    f"plugin {impl.plugin_name!r} returned {type(result).__name__} from "
                    f"{hook_name}, not {kind.__name__} or None"
                )
            value = result
        return value

    # -- building hooks ------------------------------------------------------------------------

    def register_stores(self, register: hookspecs.StoreRegistrar) -> None:
        """Run ``propcrm_register_stores`` with ``register`` (built-ins first).

        Raises:
            PluginError: A plugin raised; the message names it.
        """
        self._build("propcrm_register_stores", register=register)

    def register_calendars(self, register: hookspecs.CalendarRegistrar) -> None:
        """Run ``propcrm_register_calendars`` with ``register`` (built-ins first).

        Raises:
            PluginError: A plugin raised; the message names it.
        """
        self._build("propcrm_register_calendars", register=register)

    def register_kpis(self, register: hookspecs.KpiRegistrar) -> None:
        """Run ``propcrm_register_kpis`` with ``register`` (built-ins first).

        Raises:
            PluginError: A plugin raised; the message names it.
        """
        self._build("propcrm_register_kpis", register=register)

    def register_sla_policies(self, register: hookspecs.SlaPolicyRegistrar) -> None:
        """Run ``propcrm_register_sla_policies`` with ``register`` (built-ins first).

        Raises:
            PluginError: A plugin raised; the message names it.
        """
        self._build("propcrm_register_sla_policies", register=register)

    def taxonomy(self, base: Taxonomy | None = None) -> Taxonomy | None:
        """The taxonomy after every ``propcrm_taxonomy`` implementation, applied in turn.

        Args:
            base: Where to start; ``None`` lets the built-in plugin supply the standard one.

        Returns:
            The taxonomy, or ``None`` if no plugin supplied one.

        Raises:
            PluginError: A plugin raised or returned something other than a ``Taxonomy``.
        """
        from propcrm.taxonomy import Taxonomy

        result: Taxonomy | None = self._chain("propcrm_taxonomy", "taxonomy", base, Taxonomy)
        return result

    def lifecycle_rules(self, base: LifecycleRules | None = None) -> LifecycleRules:
        """The rules after every ``propcrm_lifecycle_rules`` implementation, applied in turn.

        Args:
            base: Where to start; ``LifecycleRules.default()`` when ``None``.

        Raises:
            PluginError: A plugin raised or returned something other than ``LifecycleRules``.
        """
        from propcrm.workflow import LifecycleRules

        start = base if base is not None else LifecycleRules.default()
        rules: LifecycleRules = self._chain(
            "propcrm_lifecycle_rules", "rules", start, LifecycleRules
        )
        return rules

    # -- asking hooks --------------------------------------------------------------------------

    def route_ticket(
        self, ticket: Ticket, now: datetime, taxonomy: Taxonomy | None = None
    ) -> Route | None:
        """Ask ``propcrm_route_ticket``: the first router's answer, highest precedence first.

        Returns:
            The route, or ``None`` when no router answers (the built-in one is blocked).

        Raises:
            PluginError: A router raised or returned something other than a ``Route``.
        """
        for impl in reversed(self._impls("propcrm_route_ticket")):
            result = self._call(
                impl, "propcrm_route_ticket", ticket=ticket, now=now, taxonomy=taxonomy
            )
            if result is None:
                continue
            if not isinstance(result, Route):
                raise PluginError(
                    f"plugin {impl.plugin_name!r} returned {type(result).__name__} from "
                    "propcrm_route_ticket, not Route or None"
                )
            return result
        return None

    # -- telling hooks -------------------------------------------------------------------------

    def events_stored(self, ticket: Ticket, events: Sequence[Event]) -> None:
        """Tell every ``propcrm_events_stored`` listener, in the building order.

        Raises:
            PluginError: After every listener ran, naming those that raised.
        """
        self._tell("propcrm_events_stored", ticket=ticket, events=tuple(events))

    def delivery_events_stored(self, batch: DeliveryBatch, events: Sequence[DeliveryEvent]) -> None:
        """Tell every ``propcrm_delivery_events_stored`` listener, in the building order.

        Raises:
            PluginError: After every listener ran, naming those that raised.
        """
        self._tell("propcrm_delivery_events_stored", batch=batch, events=tuple(events))

    def archive_events_stored(self, record: CustomerRecord, events: Sequence[ArchiveEvent]) -> None:
        """Tell every ``propcrm_archive_events_stored`` listener, in the building order.

        The caller masks ``record`` and ``events``; this method passes on what it is given.

        Raises:
            PluginError: After every listener ran, naming those that raised.
        """
        self._tell("propcrm_archive_events_stored", record=record, events=tuple(events))

    def deliver_notification(self, notification: Notification) -> None:
        """Hand ``notification`` to every ``propcrm_deliver_notification`` plugin.

        Raises:
            PluginError: After every plugin ran, naming those that raised.
        """
        self._tell("propcrm_deliver_notification", notification=notification)

    def audit_pii_access(self, access: PiiAccess) -> None:
        """Record ``access`` with every ``propcrm_audit_pii_access`` plugin.

        Raises:
            PluginError: After every plugin ran, naming those that raised.
        """
        self._tell("propcrm_audit_pii_access", access=access)

    # -- registries ----------------------------------------------------------------------------

    def install(self) -> None:
        """Run the registration hooks into propcrm's registries (stores, calendars, KPIs, SLA).

        :func:`ensure_loaded` does this once for the process-wide manager.

        Raises:
            PluginError: A plugin raised or registered something the registry refused.
        """
        from propcrm.metrics.calendar import register_calendar
        from propcrm.plugins._registries import register_kpi, register_sla_policy
        from propcrm.stores import register_store

        self.register_stores(register_store)
        self.register_calendars(register_calendar)
        self.register_kpis(register_kpi)
        self.register_sla_policies(register_sla_policy)


# ---------------------------------------------------------------------------------------------
# building a manager


def _default_name(manager: pluggy.PluginManager, plugin: object) -> str:
    base = getattr(plugin, "__name__", None)
    if not isinstance(base, str):
        cls = type(plugin)
        base = f"{cls.__module__}.{cls.__qualname__}"
    name, count = base, 1
    while manager.has_plugin(name) or (name != base and manager.is_blocked(name)):
        count += 1
        name = f"{base}#{count}"
    return name


def _register(manager: pluggy.PluginManager, plugin: object, name: str | None) -> str | None:
    label = name or _default_name(manager, plugin)
    try:
        return manager.register(plugin, name=label)
    except pluggy.PluginValidationError as error:
        raise PluginError(
            f"plugin {label!r} is misdeclared: {error}",
            hint="compare its hook signatures with docs/plugin_hooks.md",
        ) from error
    except ValueError as error:
        raise PluginError(
            f"plugin {label!r} cannot be registered: {str(error).splitlines()[0]}",
            hint="give each plugin a distinct name",
        ) from error


def _import(module_name: str, *, optional: bool) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if optional and error.name is not None and module_name.startswith(error.name):
            return None  # the built-in is not installed (yet); nothing to load
        raise PluginError(
            f"plugin {module_name!r} failed to load: {_describe(error)}",
            hint=f"install what it needs, or block it ({BLOCK_ENV_VAR}={module_name})",
        ) from error
    except Exception as error:
        raise PluginError(
            f"plugin {module_name!r} failed to load: {_describe(error)}",
            hint=f"fix or block it ({BLOCK_ENV_VAR}={module_name})",
        ) from error


def _entry_points() -> Iterator[importlib.metadata.EntryPoint]:
    seen: set[str] = set()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in seen:  # one distribution installed twice on the path
            seen.add(entry_point.name)
            yield entry_point


def make_plugin_manager(
    *,
    entry_points: bool = False,
    plugins: Iterable[object] = (),
    blocked: Iterable[str] = (),
    builtins: bool = True,
) -> Plugins:
    """Build a plugin manager: built-ins, optionally installed plugins, then ``plugins``.

    With the defaults the manager is hermetic: no entry point is read and the environment is
    not consulted, so tests see exactly the plugins they pass.

    Args:
        entry_points: Load the plugins installed under the ``propcrm`` entry-point group.
        plugins: More plugins, registered last (highest precedence): module names (imported)
            or objects (modules, class instances) with ``@hookimpl`` functions.
        blocked: Names not to load: entry-point names, built-in module names, or the names of
            objects in ``plugins`` (their ``__name__``).
        builtins: Load :data:`DEFAULT_PLUGINS`.

    Returns:
        The facade over the new manager.

    Raises:
        PluginError: A plugin failed to import or load (the message names it), implements a
            hook that does not exist (a misspelt ``propcrm_*`` name), or has a wrong signature.
    """
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in blocked:
        manager.set_blocked(name)
    if builtins:
        for module_name in DEFAULT_PLUGINS:
            if manager.is_blocked(module_name):
                continue
            module = _import(module_name, optional=True)
            if module is not None:
                _register(manager, module, module_name)
    if entry_points:
        for entry_point in _entry_points():
            if manager.is_blocked(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                raise PluginError(
                    f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                    f"{_describe(error)}",
                    hint=f"fix or block it ({BLOCK_ENV_VAR}={entry_point.name})",
                ) from error
            _register(manager, plugin, entry_point.name)
    for plugin in plugins:
        if isinstance(plugin, str):
            if manager.is_blocked(plugin):
                continue
            module = _import(plugin, optional=False)
            _register(manager, module, plugin)
        else:
            _register(manager, plugin, None)
    facade = Plugins(manager)
    facade.check()
    return facade


# ---------------------------------------------------------------------------------------------
# the process-wide default

_lock = threading.RLock()
_default: Plugins | None = None
_installed = False
_install_error: PluginError | None = None


def get_plugins() -> Plugins:
    """The process-wide plugins: built-ins and installed entry points, minus the blocked ones.

    Built on the first call (never at import time) and kept; the block list is read from
    ``PROPCRM_BLOCK_PLUGINS`` then.

    Raises:
        PluginError: A plugin failed to load; the message names it.
    """
    global _default
    with _lock:
        if _default is None:
            _default = make_plugin_manager(entry_points=True, blocked=blocked_from_env())
        return _default


def ensure_loaded() -> None:
    """Load the process-wide plugins and run their registration hooks, once (idempotent).

    Stores, calendars, KPIs and SLA policies call this lazily on first use. A failure is kept
    and raised again on every later call, so a half-loaded process never passes silently.

    Raises:
        PluginError: A plugin failed to load or to register; the message names it.
    """
    global _installed, _install_error
    with _lock:
        if _install_error is not None:
            raise _install_error
        if _installed:
            return
        _installed = True  # set first: registering may call back into the registries
        try:
            get_plugins().install()
        except PluginError as error:
            _install_error = error
            raise


def _reset_for_tests(plugins: Plugins | None = None) -> Callable[[], None]:
    """Replace the process-wide plugins (``None``: build again on next use); returns an undo."""
    global _default, _installed, _install_error
    with _lock:
        saved = (_default, _installed, _install_error)
        _default, _installed, _install_error = plugins, False, None

    def undo() -> None:
        global _default, _installed, _install_error
        with _lock:
            _default, _installed, _install_error = saved

    return undo
