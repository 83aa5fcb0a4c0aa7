"""The demo's generation: deterministic per seed, every command accepted, realistic rates."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from propcrm.demo import (
    CHANNEL_MIX,
    RATES,
    DemoPlan,
    generate_group,
    households_for,
    plan_year,
)
from propcrm.errors import PropcrmError, ValidationError
from propcrm.model import Channel, OrgLevel, Ticket, TicketKind, TicketStatus
from propcrm.taxonomy import standard
from propcrm.workflow import Lifecycle
from propcrm.workflow import commands as c

HOUSEHOLDS = 1500


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return plan_year(generate_group(11, HOUSEHOLDS))


def test_group_shape_and_households() -> None:
    group = generate_group(3, 1234)
    assert len(group.households) == 1234
    assert len(group.projects) == 6
    assert len(group.company_ids) == 2
    assert sum(p.households for p in group.projects) == 1234
    levels = Counter(unit.level for unit in group.org)
    assert levels[OrgLevel.GROUP] == 1
    assert levels[OrgLevel.COMPANY] == 2
    assert levels[OrgLevel.PROJECT] == 6
    assert levels[OrgLevel.UNIT] == 1234
    assert sum(1 for p in group.projects if p.new) == 1
    # Every household is a unit of the org tree, under its building and project.
    home = group.households[0]
    chain = [a.id for a in group.org.ancestors(home.unit_id)]
    assert chain[0] == group.group_id
    assert chain[-3:] == [home.project_id, home.building_id, home.unit_id]


def test_owner_pii_is_masked_in_reprs() -> None:
    home = generate_group(3, 100).households[0]
    assert home.owner.phone is not None
    assert home.owner.phone not in repr(home)
    assert home.owner.name is not None
    assert home.owner.name not in repr(home)


def test_same_seed_same_group_and_plan_other_seed_different() -> None:
    one = generate_group(5, 300)
    assert one == generate_group(5, 300)
    other = generate_group(6, 300)
    assert [h.owner for h in one.households] != [h.owner for h in other.households]
    plan_one = plan_year(one)
    again = plan_year(generate_group(5, 300))
    assert plan_one.steps == again.steps
    assert plan_one.delivery_events == again.delivery_events
    assert plan_one.surveys == again.surveys
    assert plan_one.transactions == again.transactions
    assert plan_year(other).steps != plan_one.steps
    assert plan_year(one, seed=99).steps != plan_one.steps


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_are_accepted_too(seed: int) -> None:
    other = plan_year(generate_group(seed, 800))
    lifecycle = Lifecycle(catalog=standard())
    tickets: dict[str, Ticket] = {}
    for step in other.steps:
        tickets[step.ticket_id], _ = lifecycle.execute(
            tickets.get(step.ticket_id), step.command, now=step.at, actor=step.actor
        )
    assert len(tickets) == len(other.ticket_ids)


def test_every_command_is_accepted_by_the_lifecycle(plan: DemoPlan) -> None:
    lifecycle = Lifecycle(catalog=standard())
    tickets: dict[str, Ticket] = {}
    refused: list[tuple[str, str, str]] = []
    for step in plan.steps:
        try:
            tickets[step.ticket_id], _ = lifecycle.execute(
                tickets.get(step.ticket_id), step.command, now=step.at, actor=step.actor
            )
        except PropcrmError as error:
            refused.append((step.ticket_id, step.command.name, error.message))
    assert refused == []
    statuses = Counter(t.status for t in tickets.values())
    assert statuses[TicketStatus.CLOSED] > 0.9 * len(tickets)
    assert statuses[TicketStatus.MERGED] > 0  # duplicates merged
    assert statuses[TicketStatus.VOIDED] + statuses[TicketStatus.MERGED] < 0.05 * len(tickets)


def test_steps_are_in_time_order_inside_the_year(plan: DemoPlan) -> None:
    assert list(plan.steps) == sorted(plan.steps)
    assert all(s.at < plan.as_of for s in plan.steps)
    assert plan.period == (date(2025, 1, 1), date(2026, 1, 1))
    for steps in plan.scripts().values():
        assert isinstance(steps[0].command, c.ReceiveTicket)
        assert [s.index for s in steps] == list(range(len(steps)))


def test_rates_are_within_practice_bands(plan: DemoPlan) -> None:
    receipts = [s.command for s in plan.steps if isinstance(s.command, c.ReceiveTicket)]
    per_100 = Counter(r.kind for r in receipts)
    for kind, rate in RATES.items():
        observed = per_100[kind] / HOUSEHOLDS * 100
        # New-home surge and project age move repairs up; the year is ±8 % noisy.
        low, high = (0.7 * rate, 1.6 * rate) if kind is TicketKind.REPAIR else (0.6, 1.6)
        if kind is not TicketKind.REPAIR:
            low, high = low * rate, high * rate
        assert low <= observed <= high, (kind, observed)
    channels = Counter(r.channel for r in receipts if r.channel is not Channel.INSPECTION)
    hotline = channels[Channel.HOTLINE] / sum(channels.values())
    assert CHANNEL_MIX[Channel.HOTLINE] - 0.1 < hotline < CHANNEL_MIX[Channel.HOTLINE] + 0.05


def test_leaks_follow_the_rainy_season(plan: DemoPlan) -> None:
    leaks = Counter(
        s.at.month
        for s in plan.steps
        if isinstance(s.command, c.ReceiveTicket)
        and (s.command.category_code or "").startswith("Q.WP")
        and s.command.channel is not Channel.INSPECTION
    )
    wet = leaks[5] + leaks[6] + leaks[7]
    dry = leaks[12] + leaks[1] + leaks[2]
    assert wet > 2.5 * dry


def test_detours_happen(plan: DemoPlan) -> None:
    names = Counter(s.command.name for s in plan.steps)
    for name in (
        "escalate",
        "pause",
        "resume",
        "record_revisit",
        "reopen",
        "merge",
        "void",
        "mark_invalid",
        "request_abnormal_close",
        "approve_abnormal_close",
    ):
        assert names[name] > 0, name
    unsatisfied = [
        s
        for s in plan.steps
        if isinstance(s.command, c.RecordRevisit) and not s.command.satisfaction.is_satisfied
    ]
    assert unsatisfied


def test_delivery_batch_makes_warranty_tickets(plan: DemoPlan) -> None:
    assert plan.delivery_events
    warranty = [
        s.command
        for s in plan.steps
        if isinstance(s.command, c.ReceiveTicket) and s.command.channel is Channel.INSPECTION
    ]
    assert warranty
    assert all(w.responsible_party for w in warranty)
    new = next(p for p in plan.group.projects if p.new)
    assert {w.scope.project_id for w in warranty} == {new.project_id}


def test_surveys_and_transactions(plan: DemoPlan) -> None:
    assert 0.05 * HOUSEHOLDS < len(plan.surveys) < 0.15 * HOUSEHOLDS
    for response in plan.surveys[:50]:
        plan.survey.check(response)
    buyers = {t.customer_id for t in plan.transactions if t.type.value == "purchase"}
    assert {h.owner.customer_id for h in plan.group.households} <= buyers
    assert any(t.type.value == "property_fee" for t in plan.transactions)
    assert any(t.type.value == "service" for t in plan.transactions)


@pytest.mark.parametrize(
    ("size", "households", "path"),
    [("huge", None, "$.size"), (None, 5, "$.households"), (None, 10**7, "$.households")],
)
def test_bad_sizes_name_the_field(size: str | None, households: int | None, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        households_for(size, households)
    assert caught.value.errors[0].path == path


def test_named_sizes() -> None:
    assert households_for() == 8000
    assert households_for("small") < households_for("standard") < households_for("large")
    assert households_for("large", 700) == 700
