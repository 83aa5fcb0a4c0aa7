"""The 360° record, verified changes, ownership history, completeness and title checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from _customer_fixtures import archive_fixture  # noqa: F401 (fixture)
from _customer_helpers import (
    ADDRESS,
    AGENT,
    HANDLER,
    ID_NUMBER,
    PHONE,
    Archive,
    evidence,
    registration,
)

from propcrm import customers as cu
from propcrm.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from propcrm.model import Satisfaction, TicketKind


def test_registration_builds_the_360_view(archive: Archive) -> None:
    archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T-1", kind=TicketKind.REPAIR))
    archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T-2", kind=TicketKind.COMPLAINT))
    archive.do(
        cu.RecordRevisitResult(
            customer_id="C1",
            revisit_id="V-1",
            satisfaction=Satisfaction.SATISFIED,
            on=date(2026, 4, 2),
        )
    )
    archive.do(cu.UpdateProfile(customer_id="C1", segment="高帅富", club_membership_ref="CLUB-9"))
    r = archive.r
    assert (r.name, r.phone, r.id_number, r.address) == ("张三", PHONE, ID_NUMBER, ADDRESS)
    assert r.held_units == ("U1",) and r.units[0].use is cu.UnitUse.SELF_USE
    assert [t.ticket_id for t in r.tickets] == ["T-1", "T-2"]
    assert r.satisfaction is Satisfaction.SATISFIED and r.revisits[0].revisit_id == "V-1"
    assert (r.segment, r.club_membership_ref) == ("高帅富", "CLUB-9")
    assert r.preferred_contact is cu.ContactMethod.PHONE
    assert cu.replay(archive.history) == r
    assert cu.replay_archive(archive.history) == {"C1": r}


def test_a_verified_change_applies_and_is_one_event(archive: Archive) -> None:
    events = archive.do(
        cu.ChangeCustomer(
            customer_id="C1",
            evidence=evidence(phone="138-1234-5678", id_number=ID_NUMBER.lower()),
            phone="13900001111",
            preferred_contact=cu.ContactMethod.WECHAT,
            family=[cu.FamilyMember(name="李四", relation="配偶", birthday=date(1991, 2, 3))],
        )
    )
    [event] = events
    assert isinstance(event.payload, cu.CustomerChanged)
    assert event.payload.verified == ("id_number", "phone", "unit_id")
    assert event.payload.form_ref == "变更登记表-001"
    assert archive.r.phone == "13900001111" and archive.r.address == ADDRESS
    assert archive.r.preferred_contact is cu.ContactMethod.WECHAT
    assert archive.r.family[0].relation == "配偶"
    assert [v for _, v in cu.history_of(archive.history, "phone")] == [PHONE, "13900001111"]
    # The next change is verified against the new phone.
    with pytest.raises(cu.VerificationError):
        archive.do(cu.ChangeCustomer(customer_id="C1", evidence=evidence(), address="新地址"))


@pytest.mark.parametrize(
    ("given", "mismatched"),
    [
        ({"id_number": "450102199001011239"}, ("id_number",)),
        ({"phone": "13800000000"}, ("phone",)),
        ({"unit_id": "U2"}, ("unit_id",)),
        ({"id_number": None, "phone": None, "unit_id": None}, ("id_number", "phone", "unit_id")),
    ],
)
def test_a_mismatch_refuses_the_change_and_applies_nothing(
    archive: Archive, given: dict[str, object], mismatched: tuple[str, ...]
) -> None:
    before, history = archive.r, list(archive.history)
    with pytest.raises(cu.VerificationError) as info:
        archive.do(
            cu.ChangeCustomer(customer_id="C1", evidence=evidence(**given), phone="13900001111")
        )
    assert info.value.mismatched == mismatched
    assert isinstance(info.value, PermissionDeniedError)
    assert PHONE not in str(info.value) and ID_NUMBER not in str(info.value)
    assert archive.r == before and archive.history == history


def test_a_record_with_nothing_to_verify_against_refuses_changes() -> None:
    archive = Archive()
    archive.do(registration(phone=None, id_number=None, units=()))
    with pytest.raises(cu.VerificationError) as info:
        archive.do(cu.ChangeCustomer(customer_id="C1", evidence=evidence(), address="x"))
    assert info.value.mismatched == ("record",)


def test_ownership_changes_and_use_are_history(archive: Archive) -> None:
    archive.do(
        cu.AcquireUnit(
            customer_id="C1",
            evidence=evidence(),
            holding=cu.UnitHolding(unit_id="U7", since=date(2026, 3, 1), use=cu.UnitUse.INVESTMENT),
        )
    )
    archive.do(
        cu.ChangeUnitUse(
            customer_id="C1",
            evidence=evidence(),
            unit_id="U7",
            use=cu.UnitUse.RENTAL,
            since=date(2026, 4, 1),
        )
    )
    archive.do(
        cu.ReleaseUnit(
            customer_id="C1",
            evidence=evidence(unit_id="U7"),
            unit_id="U1",
            until=date(2026, 4, 1),
            reason="sold",
        )
    )
    r = archive.r
    assert r.held_units == ("U7",)
    assert r.ownership("U1") is not None and r.ownership("U1").until == date(2026, 4, 1)  # type: ignore[union-attr]
    assert r.ownership("U7").use_history == (  # type: ignore[union-attr]
        (date(2026, 3, 1), cu.UnitUse.INVESTMENT),
        (date(2026, 4, 1), cu.UnitUse.RENTAL),
    )
    # U1 is no longer the customer's: it no longer verifies a change.
    with pytest.raises(cu.VerificationError):
        archive.do(cu.ChangeCustomer(customer_id="C1", evidence=evidence(), address="x"))
    with pytest.raises(cu.ArchiveRefusedError, match="does not hold unit 'U1'"):
        archive.do(
            cu.ChangeUnitUse(
                customer_id="C1",
                evidence=evidence(unit_id="U7"),
                unit_id="U1",
                use=cu.UnitUse.RENTAL,
                since=date(2026, 5, 1),
            )
        )
    with pytest.raises(cu.ArchiveRefusedError, match="already holds"):
        archive.do(
            cu.AcquireUnit(
                customer_id="C1",
                evidence=evidence(unit_id="U7"),
                holding=cu.UnitHolding(unit_id="U7", since=date(2026, 5, 1)),
            )
        )
    with pytest.raises(ValidationError, match=r"\$\.until"):
        archive.do(
            cu.ReleaseUnit(
                customer_id="C1",
                evidence=evidence(unit_id="U7"),
                unit_id="U7",
                until=date(2020, 1, 1),
                reason="x",
            )
        )


def test_refusals_are_typed(archive: Archive) -> None:
    with pytest.raises(PermissionDeniedError, match="role 'handler'"):
        archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T", kind=TicketKind.REPAIR), HANDLER)
    with pytest.raises(PermissionDeniedError):
        archive.do(cu.EraseCustomer(customer_id="C1", reason="r", request_ref="q"), AGENT)
    with pytest.raises(InvalidTransitionError, match="already registered"):
        archive.do(registration())
    with pytest.raises(cu.ArchiveRefusedError, match="not registered"):
        cu.decide(
            None,
            cu.LinkTicket(customer_id="C9", ticket_id="T", kind=TicketKind.REPAIR),
            now=archive.now,
            actor=AGENT,
        )
    archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T", kind=TicketKind.REPAIR))
    with pytest.raises(cu.ArchiveRefusedError, match="already linked"):
        archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T", kind=TicketKind.REPAIR))
    with pytest.raises(ValidationError, match="before the record's latest event"):
        cu.decide(
            archive.r,
            cu.UpdateProfile(customer_id="C1", segment="s"),
            now=archive.now - timedelta(1),
            actor=AGENT,
        )
    with pytest.raises(ValidationError, match="at least one field"):
        cu.ChangeCustomer(customer_id="C1", evidence=evidence())
    with pytest.raises(ValidationError, match="not a phone number"):
        cu.ChangeCustomer(customer_id="C1", evidence=evidence(), phone="138****5678")
    with pytest.raises(ValidationError, match="starts with customer_registered"):
        cu.replay(archive.history[1:])


def test_completeness_check_one_month_before_handover() -> None:
    complete = Archive()
    complete.do(registration("C1"))
    no_phone = Archive()
    no_phone.do(registration("C2", phone=None, address=None))
    no_room = Archive()
    no_room.do(registration("C3", units=()))
    elsewhere = Archive()
    elsewhere.do(
        registration(
            "C4", address=None, units=[cu.UnitHolding(unit_id="U9", since=date(2026, 1, 1))]
        )
    )
    records = [complete.r, no_phone.r, no_room.r, elsewhere.r]
    report = cu.check_completeness(records, handover_on=date(2026, 6, 1), as_of=date(2026, 4, 30))
    assert report.due_on == date(2026, 5, 1) and not report.is_due
    assert report.checked == 4
    assert [(m.customer_id, m.missing) for m in report.incomplete] == [
        ("C2", ("phone", "address")),
        ("C3", ("room",)),
        ("C4", ("address",)),
    ]
    batch = cu.check_completeness(
        records, handover_on=date(2026, 6, 1), as_of=date(2026, 5, 1), unit_ids=["U1"]
    )
    assert batch.is_due and batch.checked == 2 and not batch.complete
    assert [m.customer_id for m in batch.incomplete] == ["C2"]


def test_title_certificates_are_recorded_within_14_days(archive: Archive) -> None:
    # Recorded on 2026-04-15 for a certificate issued 2026-04-01: day 14, on time.
    archive.do(
        cu.RecordTitleCertificate(
            customer_id="C1",
            unit_id="U1",
            certificate_no="桂(2026)南宁市不动产权第0001号",
            issued_on=date(2026, 4, 1),
        ),
        after=timedelta(days=14),
    )
    assert archive.r.units[0].title_recorded_on == date(2026, 4, 15)
    assert cu.late_title_certificates([archive.r], as_of=date(2026, 6, 1)) == ()
    late = Archive()
    late.do(registration("C2"))
    late.do(
        cu.RecordTitleCertificate(
            customer_id="C2", unit_id="U1", certificate_no="No.2", issued_on=date(2026, 3, 17)
        ),
        after=timedelta(days=15),
    )
    notices = [
        cu.TitleIssued(customer_id="C3", unit_id="U3", issued_on=date(2026, 5, 1)),
        cu.TitleIssued(customer_id="C1", unit_id="U1", issued_on=date(2026, 4, 1)),  # recorded
    ]
    found = cu.late_title_certificates([archive.r, late.r], as_of=date(2026, 5, 15), issued=notices)
    assert [(x.customer_id, x.recorded_on) for x in found] == [("C2", date(2026, 4, 16))]
    found = cu.late_title_certificates([archive.r, late.r], as_of=date(2026, 5, 16), issued=notices)
    assert [(x.customer_id, x.due_on, x.recorded_on) for x in found][-1] == (
        "C3",
        date(2026, 5, 15),
        None,
    )
    with pytest.raises(cu.ArchiveRefusedError, match="never held"):
        archive.do(
            cu.RecordTitleCertificate(
                customer_id="C1", unit_id="U5", certificate_no="x", issued_on=date(2026, 1, 1)
            )
        )
