"""The Hypothesis entry point works in a fresh process, whichever module is imported first."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first_import",
    ["propcrm.testing.strategies", "hypothesis", "propcrm"],
)
def test_from_type_draws_propcrm_values_in_a_fresh_process(first_import: str) -> None:
    # Hypothesis runs the entry point while it is imported; when the strategies module is the
    # first import, that happens while it is half-initialised (a circular import pytest hides).
    script = f"""
import {first_import}
from hypothesis import HealthCheck, given, settings, strategies as st
from propcrm.model import Actor, Ticket
from propcrm.workflow import Event

@settings(max_examples=5, database=None, suppress_health_check=list(HealthCheck))
@given(st.from_type(Ticket), st.from_type(Event), st.from_type(Actor))
def check(ticket, event, actor):
    assert isinstance(ticket, Ticket) and isinstance(event, Event) and isinstance(actor, Actor)

check()
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
