"""Hypothesis entry point: registers propcrm's strategies for ``st.from_type`` (private).

Declared in ``pyproject.toml`` under ``[project.entry-points.hypothesis]``, so that with
propcrm and Hypothesis installed, ``st.from_type(Ticket)`` (and ``builds`` of classes with
propcrm fields) draws valid values from :mod:`propcrm.testing.strategies`.
"""

from __future__ import annotations

__all__ = ["_hypothesis_setup_hook"]


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each propcrm value that has one (called by Hypothesis)."""
    from hypothesis import strategies as st

    from propcrm.model import Actor, CustomerRef, Location, OrgScope, Ticket
    from propcrm.testing import strategies as ps
    from propcrm.workflow import Event
    from propcrm.workflow.commands import ReceiveTicket

    st.register_type_strategy(Actor, ps.st_actors())
    st.register_type_strategy(CustomerRef, ps.st_customer_refs())
    st.register_type_strategy(Location, ps.st_locations())
    st.register_type_strategy(OrgScope, ps.st_org_scopes())
    st.register_type_strategy(ReceiveTicket, ps.st_receive_commands())
    st.register_type_strategy(Ticket, ps.st_tickets())
    st.register_type_strategy(Event, ps.st_histories().flatmap(st.sampled_from))
