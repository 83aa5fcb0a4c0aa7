from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given

from propcrm import serialization
from propcrm.errors import ValidationError
from propcrm.model import CustomerRef, OrgScope, Ticket
from propcrm.testing.strategies import (
    st_command_for,
    st_customer_refs,
    st_histories,
    st_receive_commands,
    st_tickets,
)
from propcrm.workflow import Event, LifecycleRules
from propcrm.workflow.commands import Command


@given(st_histories())
def test_every_event_round_trips(history: list[Event]) -> None:
    text = json.dumps([serialization.unstructure(e, reveal_pii=True) for e in history])
    assert serialization.structure(json.loads(text), list[Event]) == history


@given(st_tickets())
def test_tickets_round_trip(ticket: Ticket) -> None:
    assert serialization.loads(serialization.dumps(ticket, reveal_pii=True), Ticket) == ticket


@given(st_receive_commands())
def test_intake_commands_round_trip_as_commands(command: Command) -> None:
    assert serialization.loads(serialization.dumps(command, reveal_pii=True), Command) == command


@given(st_command_for("T-9"))
def test_every_command_round_trips(command: Command) -> None:
    data = serialization.unstructure(command)
    assert data["command"] == command.name
    assert serialization.structure(data, Command) == command


def test_rules_round_trip() -> None:
    rules = LifecycleRules.default()
    data = serialization.unstructure(rules)
    assert data["reopen_window"] == timedelta(days=30).total_seconds()
    assert serialization.structure(json.loads(json.dumps(data)), LifecycleRules) == rules


@given(st_histories())
def test_malformed_events_name_every_bad_field(history: list[Event]) -> None:
    data = [serialization.unstructure(e, reveal_pii=True) for e in history]
    index = len(data) - 1
    data[index]["occurred_at"] = "2026-03-02T09:00:00"  # naive
    data[index]["sequence"] = -1
    del data[index]["actor"]
    with pytest.raises(ValidationError) as info:
        serialization.structure(data, list[Event])
    assert set(info.value.paths) == {
        f"$[{index}].occurred_at",
        f"$[{index}].actor",
        f"$[{index}].sequence",
    }


def test_unknown_event_type_and_extra_keys_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        serialization.structure(
            {
                "type": "ticket_teleported",
                "event_id": "x",
                "ticket_id": "x",
                "sequence": 1,
                "occurred_at": "2026-01-01T00:00:00Z",
                "actor": {"id": "a", "role": "system"},
                "payload": {},
            },
            Event,
        )
    assert info.value.paths == ("$.type",)
    with pytest.raises(ValidationError) as info:
        serialization.structure({"company_id": "c", "project_id": "p", "tenant": "x"}, OrgScope)
    assert "tenant" in str(info.value)


def test_money_must_not_be_a_float_and_keeps_its_digits() -> None:
    command = {"command": "complete", "ticket_id": "T", "result": "ok", "cost": 10.05}
    with pytest.raises(ValidationError) as info:
        serialization.structure(command, Command)
    assert info.value.paths == ("$.cost",)
    command["cost"] = "10.05"
    assert str(serialization.structure(command, Command).cost) == "10.05"  # type: ignore[union-attr]


def test_unknown_command_names_the_choices() -> None:
    with pytest.raises(ValidationError) as info:
        serialization.structure({"command": "teleport", "ticket_id": "T"}, Command)
    assert info.value.paths == ("$.command",)
    assert "dispatch" in str(info.value)


def test_invalid_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        serialization.loads("{not json", OrgScope)


@given(st_customer_refs())
def test_pii_is_masked_unless_revealed(customer: CustomerRef) -> None:
    masked = serialization.unstructure(customer)
    revealed = serialization.unstructure(customer, reveal_pii=True)
    assert revealed["phone"] == customer.phone
    if customer.phone:
        assert masked["phone"] != customer.phone and "*" in masked["phone"]
        assert customer.phone not in serialization.dumps(customer)
        assert customer.phone not in repr(customer)
    if customer.id_number:
        assert customer.id_number not in serialization.dumps(customer)
        assert customer.id_number not in repr(customer)
        assert customer.id_number in serialization.dumps(customer, reveal_pii=True)


def test_a_masked_export_cannot_be_read_back_as_real_data() -> None:
    customer = CustomerRef(customer_id="k", phone="13812345678")
    with pytest.raises(ValidationError) as info:
        serialization.loads(serialization.dumps(customer), CustomerRef)
    assert info.value.paths == ("$.phone",)
    assert "masked" in str(info.value)
