"""Delivery commands and events round-trip through the propcrm converter."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from _delivery_fixtures import delivery_fixture, run_fixture, std_fixture  # noqa: F401 (fixtures)
from _delivery_helpers import CONTRACTOR, Run, defect

from propcrm.errors import ValidationError
from propcrm.serialization import PropcrmConverter, make_converter
from propcrm.workflow import delivery as d
from propcrm.workflow import delivery_serialization


@pytest.fixture(scope="module")
def converter() -> PropcrmConverter:
    made = make_converter()
    delivery_serialization.register(made)
    return made


def full_run(run: Run) -> list[d.DeliveryCommand]:
    commands: list[d.DeliveryCommand] = [
        d.RecordInspection(
            batch_id="B1",
            unit_id="U1",
            inspector="i",
            checklist=("Q.WP.04",),
            defects=[defect("D1", "Q.WP.04", photos=("p.jpg",))],
        ),
        d.ReportRectified(batch_id="B1", task_id="B1/R1", note="done"),
        d.RecordReinspection(batch_id="B1", task_id="B1/R1", inspector="i", failed=["D1"]),
        d.BookHandover(batch_id="B1", unit_id="U1", customer_id="C1", appointment_at=run.now),
        d.RecordOwnerInspection(batch_id="B1", unit_id="U1", signed=False),
        d.RecordOwnerInspection(batch_id="B1", unit_id="U1", signed=True),
        d.HandOverUnit(
            batch_id="B1",
            unit_id="U1",
            keys=("K1",),
            meter_readings=[
                d.MeterReading(
                    meter=d.MeterKind.ELECTRICITY, reading=Decimal("10.05"), meter_id="E1"
                )
            ],
        ),
    ]
    for command in commands:
        actor = CONTRACTOR if isinstance(command, d.ReportRectified) else run.history[0].actor
        run.do(command, actor, after=timedelta(days=1))
    return commands


def test_every_command_and_event_round_trips_through_json(
    run: Run, converter: PropcrmConverter
) -> None:
    commands = full_run(run)
    assert {type(e.payload) for e in run.history} == set(d.EVENT_TYPES.values())
    for command in commands:
        text = json.dumps(converter.unstructure(command, d.DeliveryCommand))
        assert json.loads(text)["command"] == command.name
        assert converter.structure(json.loads(text), d.DeliveryCommand) == command
    for event in run.history:
        text = json.dumps(converter.unstructure(event))
        assert converter.structure(json.loads(text), d.DeliveryEvent) == event
    assert json.loads(json.dumps(converter.unstructure(run.history[-1])))["payload"][
        "meter_readings"
    ] == [{"meter": "electricity", "reading": "10.05", "meter_id": "E1"}]


def test_malformed_events_report_every_bad_field(run: Run, converter: PropcrmConverter) -> None:
    data = converter.unstructure(run.history[0])
    data["sequence"] = 0
    data["occurred_at"] = "2026-05-04T09:00:00"
    with pytest.raises(ValidationError) as info:
        converter.structure(data, d.DeliveryEvent)
    assert set(info.value.paths) == {"$.sequence", "$.occurred_at"}
    data = converter.unstructure(run.history[0])
    data["type"] = "ticket_received"
    with pytest.raises(ValidationError, match="unknown event type"):
        converter.structure(data, d.DeliveryEvent)
    with pytest.raises(ValidationError, match="unknown command"):
        converter.structure({"command": "dispatch"}, d.DeliveryCommand)
