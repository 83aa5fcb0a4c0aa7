"""No path returns another tenant's tickets or customers, nor another unit's to a scoped actor."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from propcrm import open_store
from propcrm.errors import NotFoundError, PermissionDeniedError
from propcrm.model import (
    Actor,
    Channel,
    CustomerRef,
    OrgLevel,
    OrgScope,
    OrgUnit,
    Role,
    TicketKind,
)
from propcrm.plugins import make_plugin_manager
from propcrm.service import TicketService
from propcrm.stores import TicketQuery
from propcrm.workflow import commands as c

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
_names = itertools.count()

# c1 has two service centres: sc1 (projects p1, p2) and sc2 (project p3); c2 has p4.
UNITS = [
    OrgUnit(id="c1", name="一公司", level=OrgLevel.COMPANY),
    OrgUnit(id="sc1", name="一中心", level=OrgLevel.SERVICE_CENTRE, parent_id="c1"),
    OrgUnit(id="sc2", name="二中心", level=OrgLevel.SERVICE_CENTRE, parent_id="c1"),
    OrgUnit(id="p1", name="翠湖", level=OrgLevel.PROJECT, parent_id="sc1"),
    OrgUnit(id="p2", name="江景", level=OrgLevel.PROJECT, parent_id="sc1"),
    OrgUnit(id="p3", name="山语", level=OrgLevel.PROJECT, parent_id="sc2"),
    OrgUnit(id="c2", name="二公司", level=OrgLevel.COMPANY),
    OrgUnit(id="p4", name="别家", level=OrgLevel.PROJECT, parent_id="c2"),
]
SCOPES = {
    "p1": OrgScope(company_id="c1", service_centre_id="sc1", project_id="p1"),
    "p2": OrgScope(company_id="c1", service_centre_id="sc1", project_id="p2"),
    "p3": OrgScope(company_id="c1", service_centre_id="sc2", project_id="p3"),
    "p4": OrgScope(company_id="c2", project_id="p4"),
}


def world() -> tuple[TicketService, TicketService]:
    """Two tenant-scoped services over one shared memory data set, one ticket per project."""
    url = f"memory://scope-test-{next(_names)}"
    admin = open_store(url)
    admin.save_org_units(UNITS)
    services = []
    for tenant in ("c1", "c2"):
        store = open_store(url, tenant=tenant)
        services.append(TicketService(store, plugins=make_plugin_manager(), clock=lambda: T0))
    c1, c2 = services
    boss = Actor(id="sys", role=Role.SYSTEM)
    for project, scope in SCOPES.items():
        service = c1 if scope.company_id == "c1" else c2
        customer = CustomerRef(customer_id=f"k-{project}", name="王芳", phone="13812345678")
        service.store.save_customer(customer)
        service.execute(
            c.ReceiveTicket(
                ticket_id=f"T-{project}",
                kind=TicketKind.REPAIR,
                channel=Channel.HOTLINE,
                scope=scope,
                description="漏水",
                reporter=customer,
            ),
            actor=boss,
        )
    return c1, c2


def ids(page: object) -> list[str]:
    return [t.ticket_id for t in page.items]  # type: ignore[attr-defined]


def test_no_path_crosses_tenants() -> None:
    c1, c2 = world()
    assert ids(c1.query(TicketQuery())) == ["T-p1", "T-p2", "T-p3"]
    assert ids(c2.query(TicketQuery())) == ["T-p4"]
    for path in (
        lambda: c1.get("T-p4"),
        lambda: c1.events("T-p4"),
        lambda: c1.store.get_customer("k-p4"),
        lambda: c2.get("T-p1"),
    ):
        with pytest.raises(NotFoundError):
            path()
    assert ids(c1.query(TicketQuery(org_unit="p4"))) == []
    assert all(s.event.ticket_id != "T-p4" for batch in c1.store.iter_events() for s in batch)
    # a command on another tenant's ticket finds nothing to act on
    with pytest.raises(NotFoundError):
        c1.execute(c.AddWorkLog(ticket_id="T-p4", note="x"), actor=Actor(id="a", role=Role.SYSTEM))


def test_a_centre_scoped_actor_sees_only_its_centre() -> None:
    c1, _ = world()
    agent = Actor(id="agent", role=Role.HOTLINE_AGENT, scope={"sc1"})
    assert ids(c1.query(TicketQuery(), actor=agent)) == ["T-p1", "T-p2"]
    assert ids(c1.query(TicketQuery(org_unit="p2"), actor=agent)) == ["T-p2"]
    with pytest.raises(PermissionDeniedError):
        c1.query(TicketQuery(org_unit="p3"), actor=agent)
    with pytest.raises(PermissionDeniedError):
        c1.query(TicketQuery(org_unit="c1"), actor=agent)  # wider than its scope
    assert c1.get("T-p1", actor=agent).ticket_id == "T-p1"
    for path in (lambda: c1.get("T-p3", actor=agent), lambda: c1.events("T-p3", actor=agent)):
        with pytest.raises(PermissionDeniedError):
            path()
    with pytest.raises(PermissionDeniedError):
        c1.execute(c.AddWorkLog(ticket_id="T-p3", note="x"), actor=agent)


def test_an_actor_with_several_units_names_one() -> None:
    c1, _ = world()
    agent = Actor(id="agent", role=Role.HOTLINE_AGENT, scope={"p1", "p3"})
    with pytest.raises(PermissionDeniedError):
        c1.query(TicketQuery(), actor=agent)
    assert ids(c1.query(TicketQuery(org_unit="p3"), actor=agent)) == ["T-p3"]


def test_scoped_customer_reads_go_through_a_ticket_in_scope() -> None:
    c1, _ = world()
    agent = Actor(id="agent", role=Role.HOTLINE_AGENT, scope={"p1"})
    with pytest.raises(PermissionDeniedError):
        c1.read_customer("k-p1", actor=agent, purpose="回访")
    with pytest.raises(PermissionDeniedError):
        c1.read_customer("k-p3", actor=agent, purpose="回访", ticket_id="T-p3")
    with pytest.raises(PermissionDeniedError):
        c1.read_customer("k-p2", actor=agent, purpose="回访", ticket_id="T-p1")
    customer = c1.read_customer("k-p1", actor=agent, purpose="回访", ticket_id="T-p1")
    assert customer.phone == "13812345678"


def test_unscoped_actor_is_limited_only_by_the_tenant() -> None:
    c1, _ = world()
    director = Actor(id="dir", role=Role.SUPERVISOR)
    assert ids(c1.query(TicketQuery(), actor=director)) == ["T-p1", "T-p2", "T-p3"]
    assert c1.get("T-p3", actor=director).scope.project_id == "p3"


def test_received_range_and_time_are_unchanged_by_scoping() -> None:
    c1, _ = world()
    agent = Actor(id="agent", role=Role.HOTLINE_AGENT, scope={"sc2"})
    later = TicketQuery(received_from=T0 + timedelta(hours=1))
    assert ids(c1.query(later, actor=agent)) == []
