"""The plugin manager: hermetic builds, ordering, loud failures, blocking, the typed facade."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from propcrm.errors import NotFoundError, PluginError, ValidationError
from propcrm.model import Actor, Channel, OrgScope, Role, Ticket, TicketKind, TicketStatus
from propcrm.plugins import (
    BLOCK_ENV_VAR,
    DEFAULT_PLUGINS,
    Notification,
    NotificationKind,
    Route,
    blocked_from_env,
    hookimpl,
    make_plugin_manager,
)
from propcrm.plugins._registries import NamedRegistry
from propcrm.taxonomy import Node, Taxonomy, standard
from propcrm.workflow import Lifecycle, LifecycleRules
from propcrm.workflow import commands as c

NOW = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
BUILTINS = [n for n in DEFAULT_PLUGINS if n != "propcrm.stores.builtin_plugin"]


def a_ticket() -> Ticket:
    made, _ = Lifecycle().execute(
        None,
        c.ReceiveTicket(
            ticket_id="T-1",
            kind=TicketKind.REPAIR,
            channel=Channel.HOTLINE,
            scope=OrgScope(company_id="C1", project_id="P1"),
            description="x",
        ),
        now=NOW,
        actor=Actor(id="a", role=Role.HOTLINE_AGENT),
    )
    return made


class Named:
    def __init__(self, name: str) -> None:
        self.__name__ = name


# -- building ----------------------------------------------------------------------------------


def test_a_hermetic_manager_holds_the_builtins_only() -> None:
    names = make_plugin_manager().names()
    assert [n for n in names if n != "propcrm.stores.builtin_plugin"] == BUILTINS
    assert make_plugin_manager(builtins=False).names() == ()


def test_plugins_are_registered_after_the_builtins_by_name_or_object() -> None:
    module = types.ModuleType("acme_plugin_for_test")
    sys.modules[module.__name__] = module
    try:
        names = make_plugin_manager(plugins=["acme_plugin_for_test", Named("acme-2")]).names()
    finally:
        del sys.modules[module.__name__]
    assert names[-2:] == ("acme_plugin_for_test", "acme-2")


def test_two_instances_of_one_class_get_distinct_names() -> None:
    class Thing:
        pass

    names = make_plugin_manager(builtins=False, plugins=[Thing(), Thing()]).names()
    assert len(set(names)) == 2 and names[1] == names[0] + "#2"


def test_a_misspelt_hook_fails_loudly_with_a_suggestion() -> None:
    class Typo(Named):
        @hookimpl
        def propcrm_event_stored(self, ticket: Ticket) -> None:
            pass

    with pytest.raises(PluginError, match=r"'typo'.*propcrm_event_stored") as info:
        make_plugin_manager(plugins=[Typo("typo")])
    assert "did you mean 'propcrm_events_stored'" in str(info.value)


def test_a_hook_with_an_unknown_argument_is_misdeclared() -> None:
    class Wrong(Named):
        @hookimpl
        def propcrm_route_ticket(self, ticket: Ticket, clock: object) -> None:
            pass

    with pytest.raises(PluginError, match=r"(?s)'wrong' is misdeclared.*clock"):
        make_plugin_manager(plugins=[Wrong("wrong")])


def test_a_plugin_module_that_fails_to_import_is_named() -> None:
    with pytest.raises(PluginError, match="'no_such_propcrm_plugin' failed to load"):
        make_plugin_manager(plugins=["no_such_propcrm_plugin"])


def test_a_later_registration_is_checked_too() -> None:
    plugins = make_plugin_manager()

    class Late(Named):
        @hookimpl
        def propcrm_taxonomyy(self) -> None:
            pass

    with pytest.raises(PluginError, match="propcrm_taxonomyy"):
        plugins.register(Late("late"))


def test_a_name_cannot_be_registered_twice() -> None:
    plugins = make_plugin_manager()
    with pytest.raises(PluginError, match=r"'propcrm\.plugins\.builtin_router' cannot be"):
        plugins.register(Named("y"), name="propcrm.plugins.builtin_router")
    plugins.register(Named("x"))
    with pytest.raises(PluginError, match="'x' cannot be registered"):
        plugins.register(Named("x2"), name="x")


# -- blocking ----------------------------------------------------------------------------------


def test_blocked_builtins_and_plugins_are_not_loaded() -> None:
    plugins = make_plugin_manager(
        plugins=[Named("acme")], blocked=["acme", "propcrm.plugins.builtin_taxonomy"]
    )
    assert "acme" not in plugins.names()
    assert "propcrm.plugins.builtin_taxonomy" not in plugins.names()
    assert plugins.taxonomy() is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", frozenset()),
        ("acme", {"acme"}),
        (" acme , propcrm.plugins.builtin_router,,", {"acme", "propcrm.plugins.builtin_router"}),
        ("a b", {"a", "b"}),
    ],
)
def test_the_block_list_is_read_from_the_environment(value: str, expected: set[str]) -> None:
    assert blocked_from_env({BLOCK_ENV_VAR: value}) == expected
    assert BLOCK_ENV_VAR == "PROPCRM_BLOCK_PLUGINS"


# -- building hooks: lowest precedence first -------------------------------------------------


class AddsNode(Named):
    def __init__(self, name: str, code: str) -> None:
        super().__init__(name)
        self.code = code
        self.seen: list[Taxonomy | None] = []

    @hookimpl
    def propcrm_taxonomy(self, taxonomy: Taxonomy | None) -> Taxonomy | None:
        self.seen.append(taxonomy)
        assert taxonomy is not None
        node = Node(code=self.code, name_zh="门禁卡", name_en="Access card", parties=("PM",))
        return taxonomy.add(node, version=taxonomy.version + "+" + self.__name__)


def test_taxonomy_plugins_are_applied_in_turn_after_the_standard_one() -> None:
    first, second = AddsNode("first", "S.CS.90"), AddsNode("second", "S.CS.91")
    taxonomy = make_plugin_manager(plugins=[first, second]).taxonomy()
    assert taxonomy is not None
    assert {"S.CS.90", "S.CS.91"} <= set(taxonomy.codes)
    assert taxonomy.version.endswith("+first+second")
    assert first.seen == [standard()]
    assert second.seen[0] is not None and "S.CS.90" in second.seen[0]


def test_a_taxonomy_hook_may_keep_what_it_gets_or_start_from_a_given_base() -> None:
    class Keeps:
        @hookimpl
        def propcrm_taxonomy(self) -> None:
            return None

    base = standard().with_version("9.9.9", name="acme")
    assert make_plugin_manager(plugins=[Keeps()]).taxonomy(base) is base


def test_a_wrong_answer_is_a_plugin_error_naming_the_plugin() -> None:
    class Wrong(Named):
        @hookimpl
        def propcrm_lifecycle_rules(self) -> str:
            return "allow everything"

    with pytest.raises(PluginError, match="'wrong' returned str from propcrm_lifecycle_rules"):
        make_plugin_manager(plugins=[Wrong("wrong")]).lifecycle_rules()


def test_lifecycle_rule_plugins_chain_from_the_base() -> None:
    class ForbidVoid:
        @hookimpl
        def propcrm_lifecycle_rules(self, rules: LifecycleRules) -> LifecycleRules:
            return rules.forbid(TicketKind.REPAIR, [TicketStatus.RECEIVED], "void")

    class AllowVoidAgain:
        @hookimpl
        def propcrm_lifecycle_rules(self, rules: LifecycleRules) -> LifecycleRules:
            assert not rules.allows(TicketKind.REPAIR, TicketStatus.RECEIVED, "void")
            return rules.allow(TicketKind.REPAIR, [TicketStatus.RECEIVED], "void")

    plugins = make_plugin_manager(plugins=[ForbidVoid()])
    rules = plugins.lifecycle_rules()
    assert not rules.allows(TicketKind.REPAIR, TicketStatus.RECEIVED, "void")
    both = make_plugin_manager(plugins=[ForbidVoid(), AllowVoidAgain()]).lifecycle_rules()
    assert both.allows(TicketKind.REPAIR, TicketStatus.RECEIVED, "void")


def test_registration_hooks_pass_the_callback_and_name_a_failing_plugin() -> None:
    kpis = NamedRegistry("KPI")

    class Kpis(Named):
        @hookimpl
        def propcrm_register_kpis(self, register: Any) -> None:
            register("acme-first-visit-rate", {"numerator": "first_visit"})

    class Broken(Named):
        @hookimpl
        def propcrm_register_sla_policies(self, register: Any) -> None:
            register("", object())

    plugins = make_plugin_manager(plugins=[Kpis("kpis"), Broken("broken")])
    plugins.register_kpis(kpis.register)
    assert kpis._entries == {"acme-first-visit-rate": {"numerator": "first_visit"}}
    with pytest.raises(PluginError, match="'broken' failed in propcrm_register_sla_policies"):
        plugins.register_sla_policies(NamedRegistry("SLA policy").register)


def test_the_builtin_calendars_register_the_duty_hours() -> None:
    got: dict[str, Any] = {}
    make_plugin_manager().register_calendars(
        lambda name, calendar, *, replace=False: got.setdefault(name, calendar)
    )
    desk = got["cn-hotline-desk"]()
    night = got["cn-monitoring-centre"]()
    shanghai = ZoneInfo("Asia/Shanghai")
    assert desk.is_working(datetime(2026, 3, 2, 8, 30, tzinfo=shanghai))
    assert not desk.is_working(datetime(2026, 3, 2, 20, 0, tzinfo=shanghai))
    assert night.is_working(datetime(2026, 3, 2, 20, 0, tzinfo=shanghai))
    assert not night.is_working(datetime(2026, 3, 2, 8, 30, tzinfo=shanghai))


def test_wrappers_are_refused_on_hooks_propcrm_calls_one_by_one() -> None:
    class Wrapper(Named):
        @hookimpl(wrapper=True)
        def propcrm_taxonomy(self) -> Iterator[None]:
            return (yield)

    with pytest.raises(PluginError, match="'wrapper' wraps propcrm_taxonomy"):
        make_plugin_manager(plugins=[Wrapper("wrapper")]).taxonomy()


# -- asking and telling hooks ----------------------------------------------------------------


class FixedRouter(Named):
    def __init__(self, name: str, answer: Any) -> None:
        super().__init__(name)
        self.answer = answer
        self.asked = 0

    @hookimpl
    def propcrm_route_ticket(self, ticket: Ticket) -> Any:
        self.asked += 1
        return self.answer


def test_the_last_registered_router_is_asked_first_and_none_passes_on() -> None:
    mine = FixedRouter("mine", Route(party="GC", reason="mine"))
    silent = FixedRouter("silent", None)
    route = make_plugin_manager(plugins=[mine, silent]).route_ticket(a_ticket(), NOW)
    assert route is not None and route.reason == "mine"
    assert silent.asked == 1 and mine.asked == 1
    fallback = make_plugin_manager(plugins=[silent]).route_ticket(a_ticket(), NOW)
    assert fallback is not None and fallback.router == "builtin"


def test_a_router_must_answer_a_route() -> None:
    with pytest.raises(PluginError, match="'odd' returned dict"):
        make_plugin_manager(plugins=[FixedRouter("odd", {"party": "PM"})]).route_ticket(
            a_ticket(), NOW
        )


def test_notifications_reach_every_delivery_plugin_and_failures_are_collected() -> None:
    delivered: list[str] = []

    class Sender(Named):
        def __init__(self, name: str, fail: bool) -> None:
            super().__init__(name)
            self.fail = fail

        @hookimpl
        def propcrm_deliver_notification(self, notification: Notification) -> None:
            if self.fail:
                raise ConnectionError("gateway timeout")
            delivered.append(f"{self.__name__}:{notification.idempotency_key}")

    note = Notification(
        kind=NotificationKind.REVISIT_REMINDER,
        recipient="agent-7",
        ticket_id="T-1",
        text_zh="请回访业主",
        text_en="Call the owner back",
        idempotency_key="T-1/revisit/1",
        due_at=NOW,
    )
    plugins = make_plugin_manager(
        plugins=[Sender("sms", True), Sender("wechat", False), Sender("mail", True)]
    )
    with pytest.raises(PluginError, match=r"2 plugin\(s\) failed.*'sms', 'mail'"):
        plugins.deliver_notification(note)
    assert delivered == ["wechat:T-1/revisit/1"]


def test_notification_values_are_validated() -> None:
    with pytest.raises(ValidationError) as info:
        Notification(
            kind=NotificationKind.SLA_WARNING,
            recipient="x",
            ticket_id="T-1",
            text_zh="超时",
            text_en="late",
            idempotency_key="k",
            due_at=datetime(2026, 3, 2),
        )
    assert info.value.paths == ("$.due_at",)


def test_unknown_kpi_names_suggest_close_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from propcrm.plugins import _registries

    monkeypatch.setattr(_registries, "_load_plugins", lambda: None)
    registry = NamedRegistry("KPI")
    registry.register("repair-timeliness", object())
    with pytest.raises(NotFoundError, match="did you mean 'repair-timeliness'"):
        registry.get("repair-timelines")
    with pytest.raises(ValidationError, match="already registered"):
        registry.register("repair-timeliness", object())
    assert registry.names() == ["repair-timeliness"]
