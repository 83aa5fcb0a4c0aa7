"""Hypothesis: no sequence of archive commands loses an earlier verified value from history."""

from __future__ import annotations

from datetime import date
from typing import Any

from _customer_helpers import BOSS, Archive, registration
from hypothesis import given
from hypothesis import strategies as st

from propcrm import customers as cu
from propcrm.errors import PropcrmError
from propcrm.model import TicketKind

PHONES = ["13812345678", "13900001111", "13700002222", "+86 137 0000 3333"]
IDS = ["45010219900101123X", "110101198001010011"]
ADDRESSES = ["民族大道1号", "友爱路2号", "青山路3号"]
UNITS = ["U1", "U2", "U3"]
TRACKED = ("phone", "id_number", "address")

changes = st.fixed_dictionaries(
    {},
    optional={
        "phone": st.sampled_from(PHONES),
        "id_number": st.sampled_from(IDS),
        "address": st.sampled_from(ADDRESSES),
    },
).filter(bool)
honest = st.booleans()
operations = st.lists(
    st.one_of(
        st.tuples(st.just("change"), changes, honest),
        st.tuples(st.just("acquire"), st.sampled_from(UNITS), honest),
        st.tuples(st.just("release"), st.sampled_from(UNITS), honest),
        st.tuples(st.just("link"), st.sampled_from(["T-1", "T-2"]), honest),
        st.tuples(st.just("erase"), st.just(None), honest),
    ),
    max_size=25,
)


def evidence_for(record: cu.CustomerRecord, honest: bool) -> cu.Verification:
    unit = record.held_units[0] if record.held_units else None
    if honest:
        return cu.Verification(
            form_ref="F", id_number=record.id_number, phone=record.phone, unit_id=unit
        )
    return cu.Verification(
        form_ref="F", id_number=record.id_number, phone="13000000000", unit_id=unit
    )


def command_for(record: cu.CustomerRecord, op: tuple[str, Any, bool]) -> cu.ArchiveCommand:
    name, arg, ok = op
    if name == "change":
        return cu.ChangeCustomer(customer_id="C1", evidence=evidence_for(record, ok), **arg)
    if name == "acquire":
        holding = cu.UnitHolding(unit_id=arg, since=date(2026, 1, 1))
        return cu.AcquireUnit(customer_id="C1", evidence=evidence_for(record, ok), holding=holding)
    if name == "release":
        return cu.ReleaseUnit(
            customer_id="C1",
            evidence=evidence_for(record, ok),
            unit_id=arg,
            until=date(2026, 2, 1),
            reason="sold",
        )
    if name == "link":
        return cu.LinkTicket(customer_id="C1", ticket_id=arg, kind=TicketKind.REPAIR)
    return cu.EraseCustomer(customer_id="C1", reason="asked", request_ref="Q")


@given(operations)
def test_verified_values_stay_in_history_and_refusals_change_nothing(
    ops: list[tuple[str, Any, bool]],
) -> None:
    archive = Archive()
    archive.do(registration())
    expected: dict[str, list[object]] = {f: [getattr(archive.r, f)] for f in TRACKED}
    for op in ops:
        before, length = archive.r, len(archive.history)
        command = command_for(before, op)
        try:
            archive.do(command, BOSS)
        except PropcrmError:
            assert archive.r == before and len(archive.history) == length
            continue
        if isinstance(command, cu.ChangeCustomer):
            assert op[2], "a dishonest change was applied"
            for field in TRACKED:
                value = getattr(command, field)
                if value is not None:
                    expected[field].append(value)
        if isinstance(command, cu.EraseCustomer):
            for field in TRACKED:
                expected[field].append(None)
    for field in TRACKED:
        assert [v for _, v in cu.history_of(archive.history, field)] == expected[field]
        assert getattr(archive.r, field) == expected[field][-1]
    assert cu.replay(archive.history) == archive.r
