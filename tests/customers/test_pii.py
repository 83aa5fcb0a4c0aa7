"""Masking in reprs, logs and exports; the access log; erasure without losing KPI history."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime

import pytest
from _customer_fixtures import archive_fixture  # noqa: F401 (fixture)
from _customer_helpers import (
    ADDRESS,
    AGENT,
    BOSS,
    HANDLER,
    ID_NUMBER,
    PHONE,
    SCOPE,
    Archive,
    evidence,
)

from propcrm import customers as cu
from propcrm.errors import NotFoundError, PermissionDeniedError, PluginError, ValidationError
from propcrm.model import Actor, OrgScope, Role, Satisfaction, TicketKind
from propcrm.plugins import PiiAccess, hookimpl, make_plugin_manager
from propcrm.serialization import make_converter

SECRETS = (PHONE, ID_NUMBER, ADDRESS, "张三", "李四", "13700001234", "1991-02-03")


def full(archive: Archive) -> cu.CustomerRecord:
    archive.do(
        cu.ChangeCustomer(
            customer_id="C1",
            evidence=evidence(),
            email="zhang.san@example.com",
            birthday=date(1990, 1, 1),
            family=[
                cu.FamilyMember(
                    name="李四", relation="配偶", birthday=date(1991, 2, 3), phone="13700001234"
                )
            ],
        )
    )
    return archive.r


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_reprs_and_logs_mask_personal_data(
    archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    record = full(archive)
    assert_no_secret(repr(record))
    assert "138****5678" in repr(record) and "张*" in repr(record)
    assert_no_secret(repr(archive.history))
    assert_no_secret(repr(evidence()))
    assert_no_secret(repr(cu.ChangeCustomer(customer_id="C1", evidence=evidence(), phone=PHONE)))
    with caplog.at_level(logging.INFO):
        logging.getLogger("propcrm.test").info("record %s; history %r", record, archive.history)
    assert "138****5678" in caplog.text
    assert_no_secret(caplog.text)
    assert_no_secret(repr(record.masked()))
    assert record.masked().customer_id == "C1" and record.masked().units == tuple(
        o for o in record.units
    )


def test_exports_are_masked_unless_revealed_by_a_permitted_actor(archive: Archive) -> None:
    record = full(archive)
    log: list[PiiAccess] = []
    at = datetime(2026, 4, 2, 10, 0, tzinfo=archive.now.tzinfo)
    masked = cu.export_personal_data(
        record, actor=AGENT, at=at, reason="PIPL request Q-1", audit=log.append
    )
    assert_no_secret(json.dumps(masked, ensure_ascii=False))
    assert masked["phone"] == "138****5678" and masked["units"][0]["unit_id"] == "U1"
    assert log == []  # nothing personal left the archive
    with pytest.raises(PermissionDeniedError):
        cu.export_personal_data(
            record, actor=HANDLER, at=at, reason="r", audit=log.append, reveal=True
        )
    assert log == []
    revealed = cu.export_personal_data(
        record, actor=BOSS, at=at, reason="PIPL request Q-1", audit=log.append, reveal=True
    )
    assert revealed["phone"] == PHONE and revealed["family"][0]["name"] == "李四"
    assert [(a.actor, a.purpose, a.customer_id) for a in log] == [(BOSS, "PIPL request Q-1", "C1")]


def test_the_default_converter_masks_archive_events_and_commands(archive: Archive) -> None:
    full(archive)
    converter = make_converter()
    cu.register(converter)
    text = json.dumps([converter.unstructure(e) for e in archive.history], ensure_ascii=False)
    assert_no_secret(text)
    command = cu.ChangeCustomer(customer_id="C1", evidence=evidence(), phone="13900001111")
    data = converter.unstructure(command, cu.ArchiveCommand)
    assert data["command"] == "change" and data["phone"] == "139****1111"
    # A masked export is never read back as data.
    with pytest.raises(ValidationError, match="looks masked"):
        converter.structure(data, cu.ArchiveCommand)


def test_every_command_and_event_round_trips_with_a_revealing_converter(archive: Archive) -> None:
    full(archive)
    archive.do(
        cu.RecordTitleCertificate(
            customer_id="C1", unit_id="U1", certificate_no="No.1", issued_on=date(2026, 4, 1)
        )
    )
    archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T-1", kind=TicketKind.REPAIR))
    archive.do(
        cu.RecordRevisitResult(
            customer_id="C1",
            revisit_id="V",
            satisfaction=Satisfaction.SATISFIED,
            on=date(2026, 4, 2),
        )
    )
    archive.do(cu.UpdateProfile(customer_id="C1", segment="s"))
    archive.do(
        cu.AcquireUnit(
            customer_id="C1",
            evidence=evidence(),
            holding=cu.UnitHolding(unit_id="U2", since=date(2026, 4, 1)),
        )
    )
    archive.do(
        cu.ChangeUnitUse(
            customer_id="C1",
            evidence=evidence(),
            unit_id="U2",
            use=cu.UnitUse.RENTAL,
            since=date(2026, 4, 2),
        )
    )
    archive.do(
        cu.ReleaseUnit(
            customer_id="C1",
            evidence=evidence(),
            unit_id="U2",
            until=date(2026, 4, 3),
            reason="sold",
        )
    )
    archive.do(cu.EraseCustomer(customer_id="C1", reason="r", request_ref="q"), BOSS)
    assert {type(e.payload) for e in archive.history} == set(cu.EVENT_TYPES.values())
    converter = make_converter(reveal_pii=True)
    cu.register(converter)
    for event in archive.history:
        assert (
            converter.structure(
                json.loads(json.dumps(converter.unstructure(event))), cu.ArchiveEvent
            )
            == event
        )
    command = cu.ChangeCustomer(
        customer_id="C1",
        evidence=evidence(),
        phone="13900001111",
        family=[cu.FamilyMember(name="李四", relation="配偶")],
    )
    assert (
        converter.structure(converter.unstructure(command, cu.ArchiveCommand), cu.ArchiveCommand)
        == command
    )


def test_every_full_read_is_logged_before_it_returns(archive: Archive) -> None:
    records = {"C1": full(archive)}
    log: list[PiiAccess] = []
    at = datetime(2026, 4, 2, 10, 0, tzinfo=archive.now.tzinfo)
    got = cu.read_full(
        records,
        "C1",
        actor=AGENT,
        reason="revisit call for T-1",
        audit=log.append,
        at=at,
        ticket_id="T-1",
    )
    assert got.phone == PHONE
    [access] = log
    assert (access.actor, access.at, access.customer_id, access.purpose, access.ticket_id) == (
        AGENT,
        at,
        "C1",
        "revisit call for T-1",
        "T-1",
    )
    assert {"phone", "id_number", "name"} <= access.fields
    # Refused or failed reads hand out nothing, and a refused one is not an access.
    with pytest.raises(PermissionDeniedError):
        cu.read_full(records, "C1", actor=HANDLER, reason="curious", audit=log.append, at=at)
    with pytest.raises(NotFoundError):
        cu.read_full(records, "C9", actor=AGENT, reason="r", audit=log.append, at=at)
    with pytest.raises(ValidationError, match="say why"):
        cu.read_full(records, "C1", actor=AGENT, reason=" ", audit=log.append, at=at)
    assert len(log) == 1

    def broken(_access: PiiAccess) -> None:
        raise RuntimeError("audit log down")

    with pytest.raises(RuntimeError, match="audit log down"):
        cu.read_full(records, "C1", actor=AGENT, reason="r", audit=broken, at=at)


def test_reads_reach_the_audit_plugins() -> None:
    heard: list[PiiAccess] = []

    class AuditPlugin:
        @hookimpl
        def propcrm_audit_pii_access(self, access: PiiAccess) -> None:
            heard.append(access)

    class RefusingPlugin:
        @hookimpl
        def propcrm_audit_pii_access(self, access: PiiAccess) -> None:
            raise RuntimeError("no")

    archive = Archive()
    archive.do(cu.RegisterCustomer(customer_id="C1", scope=SCOPE, full_name="王五", phone=PHONE))
    at = archive.now
    plugins = make_plugin_manager(plugins=[AuditPlugin()])
    cu.read_full(
        {"C1": archive.r}, "C1", actor=AGENT, reason="r", audit=plugins.audit_pii_access, at=at
    )
    assert [a.customer_id for a in heard] == ["C1"]
    blocked = make_plugin_manager(plugins=[AuditPlugin(), RefusingPlugin()])
    with pytest.raises(PluginError):
        cu.read_full(
            {"C1": archive.r}, "C1", actor=AGENT, reason="r", audit=blocked.audit_pii_access, at=at
        )


def test_a_scope_rule_can_narrow_the_policy(archive: Archive) -> None:
    policy = cu.PiiPolicy(scope_check=lambda actor, scope: actor.id == scope.project_id)
    at = archive.now
    with pytest.raises(PermissionDeniedError):
        cu.read_full(
            {"C1": archive.r},
            "C1",
            actor=AGENT,
            reason="r",
            audit=lambda a: None,
            at=at,
            policy=policy,
        )
    p1 = Actor(id="p1", role=Role.HOTLINE_AGENT)
    assert cu.read_full(
        {"C1": archive.r}, "C1", actor=p1, reason="r", audit=lambda a: None, at=at, policy=policy
    )


def test_erasure_keeps_ids_and_service_history(archive: Archive) -> None:
    full(archive)
    archive.do(
        cu.RecordTitleCertificate(
            customer_id="C1", unit_id="U1", certificate_no="No.1", issued_on=date(2026, 4, 1)
        )
    )
    archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T-1", kind=TicketKind.COMPLAINT))
    archive.do(
        cu.RecordRevisitResult(
            customer_id="C1",
            revisit_id="V",
            satisfaction=Satisfaction.DISSATISFIED,
            on=date(2026, 4, 2),
        )
    )
    before = archive.r
    archive.do(cu.EraseCustomer(customer_id="C1", reason="owner asked", request_ref="PIPL-7"), BOSS)
    after = archive.r
    assert after.erased and after.customer_id == "C1" and after.scope == before.scope
    assert all(getattr(after, f) in (None, ()) for f in cu.PERSONAL_FIELDS)
    assert after.units[0].title_certificate_no is None
    assert after.units[0].unit_id == "U1" and after.units[0].title_issued_on == date(2026, 4, 1)
    assert (after.tickets, after.revisits, after.satisfaction) == (
        before.tickets,
        before.revisits,
        before.satisfaction,
    )
    with pytest.raises(cu.ArchiveRefusedError, match="erased"):
        archive.do(cu.LinkTicket(customer_id="C1", ticket_id="T-2", kind=TicketKind.REPAIR))
    # The store rewrites the history redacted: no personal value left, the same facts replayed.
    redacted = list(cu.redact(archive.history))
    assert [(e.event_id, e.type, e.occurred_at, e.actor) for e in redacted] == [
        (e.event_id, e.type, e.occurred_at, e.actor) for e in archive.history
    ]
    converter = make_converter(reveal_pii=True)
    cu.register(converter)
    assert_no_secret(json.dumps([converter.unstructure(e) for e in redacted], ensure_ascii=False))
    assert "No.1" not in json.dumps([converter.unstructure(e) for e in redacted])
    assert cu.replay(redacted) == after
    assert [v for _, v in cu.history_of(redacted, "phone")] == [None]


def test_a_stranger_customer_scope_is_kept_on_the_record() -> None:
    archive = Archive()
    other = OrgScope(company_id="c2", project_id="p9")
    archive.do(cu.RegisterCustomer(customer_id="X", scope=other, full_name="赵六"))
    assert archive.r.scope == other


def test_out_of_scope_actors_neither_change_nor_read(archive: Archive) -> None:
    elsewhere = Actor(id="c2-agent", role=Role.HOTLINE_AGENT, scope={"c2"})
    with pytest.raises(PermissionDeniedError, match="does not cover"):
        archive.do(cu.UpdateProfile(customer_id="C1", segment="s"), elsewhere)
    log: list[PiiAccess] = []
    with pytest.raises(PermissionDeniedError):
        cu.read_full(
            {"C1": archive.r}, "C1", actor=elsewhere, reason="r", audit=log.append, at=archive.now
        )
    assert log == []
    inside = Actor(id="p1-agent", role=Role.HOTLINE_AGENT, scope={"p1"})
    cu.read_full(
        {"C1": archive.r}, "C1", actor=inside, reason="r", audit=log.append, at=archive.now
    )
    assert len(log) == 1


def test_a_record_round_trips_through_a_revealing_converter(archive: Archive) -> None:
    record = full(archive)
    converter = make_converter(reveal_pii=True)
    cu.register(converter)
    data = json.loads(json.dumps(converter.unstructure(record), ensure_ascii=False))
    assert converter.structure(data, cu.CustomerRecord) == record
