"""The built-in router: a pure function of the ticket, the time and its configuration."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propcrm.errors import ValidationError
from propcrm.metrics.calendar import BusinessCalendar
from propcrm.model import Actor, Channel, OrgScope, Role, Ticket, TicketKind
from propcrm.plugins import (
    Route,
    RoutingConfig,
    hotline_desk_calendar,
    monitoring_centre_calendar,
    on_duty_desk,
    route_ticket,
)
from propcrm.taxonomy import standard
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)


def ticket(
    code: str | None = None, *, project: str = "P-CUIHU", party: str | None = None
) -> Ticket:
    command = c.ReceiveTicket(
        ticket_id="T-1",
        kind=TicketKind.REPAIR,
        channel=Channel.HOTLINE,
        scope=OrgScope(company_id="C1", project_id=project),
        description="x",
        category_code=code,
        responsible_party=party,
    )
    made, _ = Lifecycle().execute(
        None, command, now=DAY, actor=Actor(id="a", role=Role.HOTLINE_AGENT)
    )
    return made


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


@pytest.mark.parametrize(
    ("when", "desk"),
    [
        (at(0, 0), "monitoring-centre"),
        (at(8, 29, 59), "monitoring-centre"),
        (at(8, 30), "hotline-desk"),
        (at(12, 0), "hotline-desk"),
        (at(19, 59, 59), "hotline-desk"),
        (at(20, 0), "monitoring-centre"),
        (at(23, 59, 59), "monitoring-centre"),
    ],
)
def test_seed_004_desk_hours_at_the_boundaries(when: datetime, desk: str) -> None:
    route = route_ticket(ticket("S.CS.02"), when, taxonomy=standard())
    assert route.desk == desk
    assert route.assignee == desk  # PM work: the desk on duty handles it
    assert route.party == "PM"
    assert route.router == "builtin"


def test_the_time_of_day_is_read_in_the_calendars_zone() -> None:
    utc = datetime(2026, 3, 2, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai
    assert on_duty_desk("P", utc, RoutingConfig()) == "hotline-desk"
    assert on_duty_desk("P", utc - timedelta(seconds=1), RoutingConfig()) == "monitoring-centre"
    london = BusinessCalendar(timezone="Europe/London", weekly={"daily": "08:30-20:00"})
    assert on_duty_desk("P", utc, RoutingConfig(desk_hours=london)) == "monitoring-centre"


def test_the_hours_and_queues_are_configurable() -> None:
    config = RoutingConfig(
        desk_hours="09:00-17:30", hotline_desk="desk-a", monitoring_centre="night-b"
    )
    assert on_duty_desk("P", at(8, 59, 59), config) == "night-b"
    assert on_duty_desk("P", at(9, 0), config) == "desk-a"
    assert on_duty_desk("P", at(17, 30), config) == "night-b"


def test_a_desk_may_work_overnight() -> None:
    night_desk = RoutingConfig(desk_hours="20:00-08:30")
    assert on_duty_desk("P", at(20, 0), night_desk) == "hotline-desk"
    assert on_duty_desk("P", at(3, 0), night_desk) == "hotline-desk"
    assert on_duty_desk("P", at(8, 30), night_desk) == "monitoring-centre"


def test_a_holiday_on_the_desk_calendar_hands_the_day_to_the_monitoring_centre() -> None:
    spring_festival = hotline_desk_calendar().with_days(holidays=["2026-02-17"])
    config = RoutingConfig(desk_hours=spring_festival)
    noon = datetime(2026, 2, 17, 12, tzinfo=SHANGHAI)
    assert on_duty_desk("P", noon, config) == "monitoring-centre"
    assert on_duty_desk("P", noon + timedelta(days=1), config) == "hotline-desk"


def test_the_duty_calendars_cover_the_day_between_them() -> None:
    desk, centre = hotline_desk_calendar(), monitoring_centre_calendar()
    for minutes in range(0, 24 * 60, 15):
        when = DAY + timedelta(minutes=minutes)
        assert desk.is_working(when) != centre.is_working(when), when


def test_a_project_with_its_own_hotline_gets_its_desk_by_day_only() -> None:
    config = RoutingConfig(dedicated_desks={"P-CUIHU": "cuihu-desk"})
    assert route_ticket(ticket(), at(10, 0), config=config).desk == "cuihu-desk"
    assert route_ticket(ticket(), at(21, 0), config=config).desk == "monitoring-centre"
    other = ticket(project="P-LANTING")
    assert route_ticket(other, at(10, 0), config=config).desk == "hotline-desk"


def test_the_party_comes_from_the_taxonomy_default() -> None:
    route = route_ticket(ticket("Q.WP.08"), at(10, 0), taxonomy=standard())
    assert route.party == "GC"  # first default party of the item
    assert route.assignee is None  # a contractor assigns its own staff
    assert route.desk == "hotline-desk"
    assert "Q.WP.08" in route.reason and "propcrm-standard@1.0.0" in route.reason


def test_a_project_override_wins_over_the_taxonomy_longest_prefix_first() -> None:
    config = RoutingConfig(project_parties={"P-CUIHU": {"Q": "DEV-ENG", "Q.WP": "SUB-WP"}})
    route = route_ticket(ticket("Q.WP.08"), at(10, 0), config=config, taxonomy=standard())
    assert route.party == "SUB-WP"
    assert "Q.WP" in route.reason
    elsewhere = ticket("Q.WP.08", project="P-LANTING")
    assert route_ticket(elsewhere, at(10, 0), config=config, taxonomy=standard()).party == "GC"


def test_a_party_already_on_the_ticket_wins() -> None:
    route = route_ticket(ticket("Q.WP.08", party="UT"), at(10, 0), taxonomy=standard())
    assert route.party == "UT"


def test_without_category_or_taxonomy_the_fallback_party_is_used() -> None:
    assert route_ticket(ticket(), at(10, 0)).party == "PM"
    assert route_ticket(ticket("Q.WP.08"), at(10, 0)).party == "PM"  # no taxonomy given
    config = RoutingConfig(fallback_party="DEV-CS")
    assert route_ticket(ticket(), at(10, 0), config=config).party == "DEV-CS"


def test_routing_is_pure() -> None:
    made = ticket("Q.WP.08")
    tax = standard()
    assert route_ticket(made, at(10, 0), taxonomy=tax) == route_ticket(
        made, at(10, 0), taxonomy=tax
    )


@given(st.times())
def test_the_desk_is_on_duty_exactly_in_desk_hours(local: time) -> None:
    when = datetime.combine(DAY.date(), local, tzinfo=SHANGHAI)
    expected = "hotline-desk" if time(8, 30) <= local < time(20) else "monitoring-centre"
    assert on_duty_desk("P", when, RoutingConfig()) == expected


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        route_ticket(ticket(), datetime(2026, 3, 2, 10))
    assert info.value.paths == ("$.now",)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"desk_hours": 830}, "$.desk_hours"),
        ({"hotline_desk": " "}, "$.hotline_desk"),
        ({"dedicated_desks": {"P-1": ""}}, "$.dedicated_desks['P-1']"),
        ({"project_parties": {"P-1": {"Q.WP": 3}}}, "$.project_parties['P-1']['Q.WP']"),
        ({"project_parties": {"P-1": "SUB-WP"}}, "$.project_parties['P-1']"),
    ],
)
def test_a_bad_config_names_its_field(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        RoutingConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.paths == (path,)


def test_bad_desk_hours_are_refused_by_the_calendar() -> None:
    with pytest.raises(ValidationError):
        RoutingConfig(desk_hours="8.30 to 20.00")


def test_a_route_needs_a_party_or_an_assignee() -> None:
    with pytest.raises(ValidationError) as info:
        Route(reason="nobody")
    assert info.value.paths == ("$.party",)
