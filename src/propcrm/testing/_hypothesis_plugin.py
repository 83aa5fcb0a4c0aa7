"""Hypothesis entry point: registers propcrm's strategies for ``st.from_type`` (private).

Declared in ``pyproject.toml`` under ``[project.entry-points.hypothesis]``, so that with
propcrm and Hypothesis installed, ``st.from_type(Ticket)`` (and ``builds`` of classes with
propcrm fields) draws valid values from :mod:`propcrm.testing.strategies`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["_hypothesis_setup_hook"]


def _lazy(name: str) -> Any:
    """The strategy ``propcrm.testing.strategies.<name>()``, looked up when first drawn.

    Hypothesis runs this hook while it is imported, which may be in the middle of importing
    ``propcrm.testing.strategies`` itself (that module imports Hypothesis): reading the module's
    functions here would find it half-initialised, so the lookup waits for the first draw.
    """
    from hypothesis import strategies as st

    return st.deferred(
        lambda: getattr(importlib.import_module("propcrm.testing.strategies"), name)()
    )


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each propcrm value that has one (called by Hypothesis)."""
    from hypothesis import strategies as st

    from propcrm.model import Actor, CustomerRef, Location, OrgScope, Ticket
    from propcrm.workflow import Event
    from propcrm.workflow.commands import ReceiveTicket

    st.register_type_strategy(Actor, _lazy("st_actors"))
    st.register_type_strategy(CustomerRef, _lazy("st_customer_refs"))
    st.register_type_strategy(Location, _lazy("st_locations"))
    st.register_type_strategy(OrgScope, _lazy("st_org_scopes"))
    st.register_type_strategy(ReceiveTicket, _lazy("st_receive_commands"))
    st.register_type_strategy(Ticket, _lazy("st_tickets"))
    st.register_type_strategy(Event, _lazy("st_histories").flatmap(st.sampled_from))
