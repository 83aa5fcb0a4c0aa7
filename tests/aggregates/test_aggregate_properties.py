"""Hypothesis: any sequence of delivery commands, accepted or refused, gives the same batch
through DeliveryService on a store as through the pure core in memory."""

from __future__ import annotations

from _aggregate_helpers import STAFF, T0, Clock, defect, open_batch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propcrm import taxonomy as tx
from propcrm.aggregates import DeliveryService
from propcrm.errors import PropcrmError
from propcrm.stores import open_store
from propcrm.workflow import delivery as d

STD = tx.standard()
UNITS = ("U1", "U2")
CHECKLIST = d.checklist(STD)


def _command(kind: str, unit: str, task: int, faulty: bool) -> d.DeliveryCommand:
    if kind == "inspect":
        return d.RecordInspection(
            batch_id="B1",
            unit_id=unit,
            inspector="i",
            checklist=CHECKLIST,
            defects=[defect(f"{unit}-{task}", "Q.WP.04", unit)] if faulty else [],
        )
    if kind == "report":
        return d.ReportRectified(batch_id="B1", task_id=f"B1/R{task}")
    if kind == "reinspect":
        return d.RecordReinspection(batch_id="B1", task_id=f"B1/R{task}", inspector="i")
    if kind == "book":
        return d.BookHandover(
            batch_id="B1", unit_id=unit, customer_id=f"o-{unit}", appointment_at=T0
        )
    if kind == "owner":
        return d.RecordOwnerInspection(batch_id="B1", unit_id=unit, signed=not faulty)
    return d.HandOverUnit(batch_id="B1", unit_id=unit, keys=["K"])


noise = st.builds(
    _command,
    st.sampled_from(["inspect", "report", "reinspect", "book", "owner", "hand_over"]),
    st.sampled_from(UNITS),
    st.integers(min_value=1, max_value=3),
    st.booleans(),
)


@st.composite
def commands(draw: st.DrawFn) -> list[d.DeliveryCommand]:
    """Each unit's way to its keys, interleaved, with rectification and random commands
    (mostly refused) mixed in."""
    tags = draw(st.permutations([u for u in UNITS for _ in range(4)]))
    step = dict.fromkeys(UNITS, 0)
    script: list[d.DeliveryCommand] = []
    for unit in tags:
        kind = ("inspect", "book", "owner", "hand_over")[step[unit]]
        step[unit] += 1
        script.append(_command(kind, unit, 1, draw(st.booleans())))
        script += draw(st.lists(noise, max_size=2))
    return script


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=commands(), url=st.sampled_from(["memory://", "sqlite://"]))
def test_service_on_a_store_agrees_with_the_core(script: list[d.DeliveryCommand], url: str) -> None:
    delivery = d.Delivery(taxonomy=STD)
    store = open_store(url, tenant="c1")
    try:
        clock = Clock()
        service = DeliveryService(store, delivery, clock=clock)
        batch, history = delivery.execute(
            None, open_batch(units=UNITS), now=clock.tick(), actor=STAFF
        )
        service.run(open_batch(units=UNITS), actor=STAFF)
        for command in script:
            clock.tick()
            try:
                batch, expected = delivery.execute(batch, command, now=clock.now, actor=STAFF)
                expected_error = None
            except PropcrmError as error:
                expected, expected_error = [], type(error)
            try:
                got = service.execute(command, actor=STAFF)
                got_error = None
            except PropcrmError as error:
                got, got_error = [], type(error)
            assert (got, got_error) == (expected, expected_error)
            history += expected
        assert service.history("B1") == history
        assert service.get("B1") == batch
    finally:
        store.close()
