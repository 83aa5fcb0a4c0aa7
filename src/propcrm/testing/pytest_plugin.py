"""An opt-in pytest plugin with ``propcrm_*`` fixtures for apps built on propcrm.

Activate it in your root ``conftest.py``; it is never loaded otherwise (propcrm declares no
``pytest11`` entry point, so installing propcrm never changes a test run)::

    pytest_plugins = ["propcrm.testing.pytest_plugin"]

Fixtures (function-scoped, deterministic: no wall clock, no entry points, no randomness):

- ``propcrm_clock``: a :class:`FrozenClock` at 2026-03-02 09:00 Asia/Shanghai; ``advance`` it.
- ``propcrm_org``: a sample organisation tree (company → service centre → projects → buildings).
- ``propcrm_tenant``: the sample company's id, the tenant the store is opened for.
- ``propcrm_taxonomy``: the standard taxonomy.
- ``propcrm_plugins``: a hermetic plugin manager: the built-ins only.
- ``propcrm_store``: a memory store for the tenant, holding ``propcrm_org``.
- ``propcrm_service``: a :class:`~propcrm.service.TicketService` over the three above.

Configure by overriding a fixture of the same name, e.g. your own store::

    @pytest.fixture
    def propcrm_store(propcrm_tenant):
        return open_store("sqlite:///:memory:", tenant=propcrm_tenant)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from propcrm._validation import require_aware
from propcrm.errors import NotFoundError
from propcrm.model import OrgLevel, OrgTree, OrgUnit
from propcrm.plugins import Plugins, make_plugin_manager
from propcrm.service import TicketService
from propcrm.stores import Store, StoreFactory
from propcrm.taxonomy import Taxonomy, standard

__all__ = [
    "SAMPLE_COMPANY",
    "SAMPLE_START",
    "FrozenClock",
    "propcrm_clock",
    "propcrm_org",
    "propcrm_plugins",
    "propcrm_service",
    "propcrm_store",
    "propcrm_taxonomy",
    "propcrm_tenant",
    "sample_org_units",
]

#: When ``propcrm_clock`` starts: a Monday morning in Shanghai, inside hotline desk hours.
SAMPLE_START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

#: The sample organisation's company id: the tenant of ``propcrm_store``.
SAMPLE_COMPANY = "C-HUAYU-PM"


class FrozenClock:
    """A clock that stands still until told to move: pass it as a service's ``clock``.

    Args:
        start: The time it shows first (aware).

    Example:
        >>> clock = FrozenClock(SAMPLE_START)
        >>> clock.advance(minutes=90).isoformat()
        '2026-03-02T10:30:00+08:00'
        >>> clock() == clock()
        True
    """

    def __init__(self, start: datetime = SAMPLE_START) -> None:
        self._now = require_aware(start, "$.start")

    def __call__(self) -> datetime:
        """The time the clock shows."""
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; return the new time.

        Raises:
            ValueError: The step is negative (time never runs backwards here).
        """
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta(0):
            raise ValueError(f"a clock only moves forward, not by {step}")
        self._now += step
        return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (aware, not before the current time); return it."""
        require_aware(when, "$.when")
        if when < self._now:
            raise ValueError(f"a clock only moves forward: {when} is before {self._now}")
        self._now = when
        return when

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"


def sample_org_units() -> tuple[OrgUnit, ...]:
    """A small organisation: a property company, a service centre, two projects.

    The company is the root: a store opened for a tenant writes only its company's units, and
    a group above it is an administrator's to write.

    翠湖花园 (``P-CUIHU``, 1,200 households: big enough for its own hotline under seed 004)
    and 兰亭苑 (``P-LANTING``, 480 households), with two buildings each.
    """
    units = [
        OrgUnit(id=SAMPLE_COMPANY, name="华宇物业", level=OrgLevel.COMPANY),
        OrgUnit(
            id="SC-EAST",
            name="东区服务中心",
            level=OrgLevel.SERVICE_CENTRE,
            parent_id=SAMPLE_COMPANY,
        ),
        OrgUnit(
            id="P-CUIHU",
            name="翠湖花园",
            level=OrgLevel.PROJECT,
            parent_id="SC-EAST",
            households=1200,
            occupied_households=1020,
        ),
        OrgUnit(
            id="P-LANTING",
            name="兰亭苑",
            level=OrgLevel.PROJECT,
            parent_id="SC-EAST",
            households=480,
            occupied_households=455,
        ),
    ]
    for project in ("P-CUIHU", "P-LANTING"):
        units.extend(
            OrgUnit(
                id=f"{project}-B{n}", name=f"{n}号楼", level=OrgLevel.BUILDING, parent_id=project
            )
            for n in (1, 2)
        )
    return tuple(units)


@pytest.fixture
def propcrm_clock() -> FrozenClock:
    """A frozen clock at :data:`SAMPLE_START`; call ``advance`` to move it."""
    return FrozenClock(SAMPLE_START)


@pytest.fixture
def propcrm_org() -> OrgTree:
    """The sample organisation tree (:func:`sample_org_units`)."""
    return OrgTree.from_units(sample_org_units())


@pytest.fixture
def propcrm_tenant() -> str:
    """The tenant (company id) ``propcrm_store`` is opened for."""
    return SAMPLE_COMPANY


@pytest.fixture
def propcrm_taxonomy() -> Taxonomy:
    """The standard taxonomy shipped with propcrm."""
    return standard()


@pytest.fixture
def propcrm_plugins() -> Plugins:
    """A hermetic plugin manager: built-ins only, no entry points, no environment block list.

    Override it to test your own plugins::

        @pytest.fixture
        def propcrm_plugins():
            return make_plugin_manager(plugins=[my_plugin])
    """
    return make_plugin_manager()


@pytest.fixture
def propcrm_store(
    propcrm_plugins: Plugins, propcrm_tenant: str, propcrm_org: OrgTree
) -> Iterator[Store]:
    """A memory store for ``propcrm_tenant`` holding the sample org; closed afterwards.

    The store comes from the built-in store plugin of ``propcrm_plugins``, so the process-wide
    registry (and any installed plugin) is not consulted.
    """
    factories: dict[str, StoreFactory] = {}

    def register(scheme: str, factory: StoreFactory, *, replace: bool = False) -> None:
        factories[scheme.lower()] = factory

    propcrm_plugins.register_stores(register)
    factory = factories.get("memory")
    if factory is None:
        raise NotFoundError(
            "store scheme",
            "memory",
            hint="the built-in store plugin is blocked or missing; override propcrm_store",
        )
    store = factory("memory://", tenant=propcrm_tenant)
    store.save_org_units(propcrm_org)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def propcrm_service(
    propcrm_store: Store, propcrm_plugins: Plugins, propcrm_clock: FrozenClock
) -> TicketService:
    """A ticket service over ``propcrm_store``, ``propcrm_plugins`` and ``propcrm_clock``."""
    return TicketService(propcrm_store, plugins=propcrm_plugins, clock=propcrm_clock)
