"""The opt-in pytest plugin: nothing without ``pytest_plugins``; fixtures when asked for."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from propcrm.testing.pytest_plugin import SAMPLE_START, FrozenClock, sample_org_units

pytest_plugins = ["pytester"]

USES_FIXTURES = """
    from propcrm.model import Actor, Channel, OrgScope, Role, TicketKind, TicketStatus
    from propcrm.workflow import commands as c

    AGENT = Actor(id="agent", role=Role.HOTLINE_AGENT)

    def test_a_ticket_dispatched_at_night(
        propcrm_service, propcrm_clock, propcrm_org, propcrm_taxonomy, propcrm_tenant
    ):
        scope = propcrm_org.scope_of("P-CUIHU")
        assert scope.company_id == propcrm_tenant
        propcrm_service.execute(
            c.ReceiveTicket(
                ticket_id="T-1", kind=TicketKind.REPAIR, channel=Channel.HOTLINE, scope=scope,
                description="楼道灯不亮", category_code="S.CS.02",
            ),
            actor=AGENT,
        )
        assert "S.CS.02" in propcrm_taxonomy
        propcrm_clock.advance(hours=12)  # 21:00
        outcome = propcrm_service.dispatch("T-1", actor=Actor(id="d", role=Role.DISPATCHER))
        assert outcome.ticket.status is TicketStatus.DISPATCHED
        assert outcome.ticket.assignee == "monitoring-centre"
        assert propcrm_service.get("T-1").version == 2
"""


def test_the_fixtures_do_not_exist_without_opting_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it="def test_it(propcrm_service):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'propcrm_service' not found*"])


def test_opting_in_gives_a_working_service_on_the_memory_store(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("propcrm.stores.builtin_plugin")
    pytester.makeconftest('pytest_plugins = ["propcrm.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_it=textwrap.dedent(USES_FIXTURES))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_fixture_is_configured_by_overriding_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import pytest
            from propcrm.plugins import Router, RoutingConfig, make_plugin_manager

            pytest_plugins = ["propcrm.testing.pytest_plugin"]

            @pytest.fixture
            def propcrm_plugins():
                late_desk = RoutingConfig(desk_hours="08:30-22:00")
                return make_plugin_manager(plugins=[Router(late_desk)])
            """
        )
    )
    pytester.makepyfile(
        test_it=textwrap.dedent(
            """
            def test_routes_with_the_overridden_plugins(propcrm_plugins, propcrm_service):
                assert propcrm_service.plugins is propcrm_plugins

            def test_clock_is_frozen(propcrm_clock):
                assert propcrm_clock() == propcrm_clock()
                assert propcrm_clock().isoformat() == "2026-03-02T09:00:00+08:00"
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_frozen_clock_only_moves_forward() -> None:
    clock = FrozenClock()
    assert clock() == SAMPLE_START
    assert clock.advance(timedelta(minutes=5)) == SAMPLE_START + timedelta(minutes=5)
    assert clock.set(SAMPLE_START + timedelta(hours=1)) == clock()
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(minutes=-1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(SAMPLE_START)


def test_the_sample_org_is_one_tenant_and_a_valid_tree() -> None:
    from propcrm.model import OrgTree

    tree = OrgTree.from_units(sample_org_units())
    assert tree.scope_of("P-CUIHU").company_id == "C-HUAYU-PM"
    assert tree.households("SC-EAST") == 1680
