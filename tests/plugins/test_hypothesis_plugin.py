"""The Hypothesis setup hook registers strategies for propcrm's values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from propcrm.model import Actor, OrgScope, Ticket
from propcrm.testing._hypothesis_plugin import _hypothesis_setup_hook
from propcrm.workflow import Event, replay
from propcrm.workflow.commands import ReceiveTicket

_hypothesis_setup_hook()


@settings(max_examples=20)
@given(st.from_type(Ticket), st.from_type(Actor), st.from_type(OrgScope))
def test_from_type_draws_valid_values(ticket: Ticket, actor: Actor, scope: OrgScope) -> None:
    assert ticket.version >= 1 and ticket.received_at.tzinfo is not None
    assert actor.id and scope.company_id


@settings(max_examples=20)
@given(st.from_type(ReceiveTicket), st.from_type(Event))
def test_commands_and_events_too(command: ReceiveTicket, event: Event) -> None:
    assert command.ticket_id
    assert event.sequence >= 1
    if event.sequence == 1:
        assert replay([event]).ticket_id == event.ticket_id


def test_the_entry_point_registers_the_strategies_when_hypothesis_starts(tmp_path: Path) -> None:
    # What `[project.entry-points.hypothesis] propcrm = "..."` installs, as a fake distribution.
    info = tmp_path / "propcrm_hypothesis_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[hypothesis]\npropcrm = propcrm.testing._hypothesis_plugin:_hypothesis_setup_hook\n"
    )
    code = (
        "import sys\n"
        "from hypothesis import strategies as st\n"
        "from propcrm.model import Actor\n"
        "hooked = 'propcrm.testing._hypothesis_plugin' in sys.modules\n"
        "print(hooked, type(st.from_type(Actor).example()).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_NO_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True Actor"
