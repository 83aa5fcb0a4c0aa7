"""The synthetic developer group: companies, projects, buildings, households, staff, contractors.

Everything here is a pure function of the seed and the number of households: the same seed
always gives the same group, down to the owners' (synthetic) names and phone numbers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

import attrs

from propcrm.errors import ValidationError
from propcrm.model import Actor, CustomerRef, OrgLevel, OrgScope, OrgTree, OrgUnit, Role
from propcrm.taxonomy import Contractor, ContractorRegister, Engagement

__all__ = [
    "DEFAULT_YEAR",
    "SIZES",
    "DemoGroup",
    "Household",
    "Project",
    "generate_group",
    "households_for",
]

#: The simulated year. ``chinesecalendar`` covers it with the State Council's holidays and
#: make-up days, so the ``cn-statutory`` calendar knows every 调休 day of it.
DEFAULT_YEAR = 2025

#: Named sizes: households of the whole group.
SIZES: Mapping[str, int] = MappingProxyType({"small": 400, "standard": 8000, "large": 16000})

_MIN_HOUSEHOLDS = 60
_MAX_HOUSEHOLDS = 100_000

GROUP_ID = "lvyin"
GROUP_NAME = "绿茵置业集团"

# (company id, name, service centres: (id, name, projects))
# Project: (id, zh name, en name, share of households, completion year, new this year).
_COMPANIES: tuple[
    tuple[
        str, str, tuple[tuple[str, str, tuple[tuple[str, str, str, float, int, bool], ...]], ...]
    ],
    ...,
] = (
    (
        "lvyin-nn",
        "绿茵物业(南宁)",
        (
            (
                "nn-east",
                "南宁东区服务中心",
                (
                    ("cuihu", "翠湖花园", "Cuihu Garden", 0.26, 2017, False),
                    ("jinlan", "锦澜府", "Jinlan Mansion", 0.18, 2020, False),
                ),
            ),
            (
                "nn-west",
                "南宁西区服务中心",
                (
                    ("yunshan", "云山里", "Yunshan Li", 0.15, 2022, False),
                    ("binjiang", "滨江壹号", "Binjiang One", 0.09, 2025, True),
                ),
            ),
        ),
    ),
    (
        "lvyin-lz",
        "绿茵物业(柳州)",
        (
            (
                "lz-centre",
                "柳州服务中心",
                (
                    ("liuyuan", "柳苑", "Liuyuan", 0.20, 2016, False),
                    ("hexi", "河西新城", "Hexi New Town", 0.12, 2023, False),
                ),
            ),
        ),
    ),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩凯鹏飞婷雪琳"

# Contractors of the group's projects (承建商台账): the party each plays and its disciplines.
_CONTRACTORS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("ZJ-1", "广西建工一公司", "Guangxi Construction No. 1", "GC", ("Q",)),
    ("ZJ-2", "中建八局南宁公司", "CSCEC 8th Bureau Nanning", "GC", ("Q",)),
    ("ZJ-3", "柳州城建集团", "Liuzhou Urban Construction", "GC", ("Q",)),
    ("FS-1", "东方雨虹防水工程", "Oriental Yuhong Waterproofing", "SUB-WP", ("Q.WP",)),
    ("FS-2", "科顺防水工程", "Keshun Waterproofing", "SUB-WP", ("Q.WP",)),
    ("MC-1", "坚朗门窗工程", "Kinlong Doors and Windows", "SUB-DW", ("Q.DW",)),
    ("JD-1", "桂安机电安装", "Gui'an M&E Installation", "SUB-MEP", ("Q.PL", "Q.EL", "Q.HV")),
    ("ZS-1", "金螳螂精装", "Gold Mantis Fit-out", "SUB-FO", ("Q.FO",)),
    ("DT-1", "日立电梯(广西)", "Hitachi Elevator Guangxi", "SUB-ELV", ("Q.LF",)),
    ("ZN-1", "海康智能化工程", "Hikvision Smart Systems", "SUB-IT", ("Q.IN",)),
    ("YL-1", "南宁园林绿化", "Nanning Landscaping", "SUB-LS", ("Q.LS",)),
    ("XF-1", "广西消防工程", "Guangxi Fire Engineering", "SUB-FP", ("Q.FP",)),
)


@attrs.frozen(kw_only=True)
class Project:
    """One project (楼盘) of the group.

    Attributes:
        project_id: The org unit id.
        name_zh: Chinese name.
        name_en: English name.
        scope: The tenant chain down to the project.
        households: Households (户) in it.
        buildings: The building ids, in order.
        accepted_on: Completion acceptance (竣工验收), where the contractors' warranty starts.
        handover_on: Handover to the owners (交付); for the new project, the planned date.
        new: Whether the project is delivered during the simulated year (the delivery batch).
    """

    project_id: str
    name_zh: str
    name_en: str
    scope: OrgScope
    households: int
    buildings: tuple[str, ...]
    accepted_on: date
    handover_on: date
    new: bool


@attrs.frozen(kw_only=True)
class Household:
    """One household (户): a unit and its owner.

    ``repr`` masks the owner's name and phone (see :class:`propcrm.model.CustomerRef`).

    Attributes:
        unit_id: The org unit id of the household, e.g. ``"cuihu-b03-1201"``.
        project_id: Its project.
        building_id: Its building.
        floor: The floor.
        owner: The owner, with a synthetic name and phone.
        area_m2: Floor area, for the property fee.
        investor: Whether the owner bought it as an investment (a second unit, or rented out).
    """

    unit_id: str
    project_id: str
    building_id: str
    floor: int
    owner: CustomerRef
    area_m2: int
    investor: bool


@attrs.frozen(kw_only=True)
class DemoGroup:
    """The synthetic group: its org tree, projects, households, staff and contractors.

    Attributes:
        seed: The seed it was generated from.
        year: The simulated year.
        group_id: The group's org unit id.
        name: The group's name.
        org: The organisation tree: group → company → service centre → project → building →
            unit (one org unit per household).
        projects: The six projects.
        households: Every household, project by project.
        register: The contractor register with each project's engagements.
        staff: The staff actors, each scoped to its company, service centre or project.
        calendar: The business calendar of the working-day SLA targets and office hours.
    """

    seed: int
    year: int
    group_id: str
    name: str
    org: OrgTree
    projects: tuple[Project, ...]
    households: tuple[Household, ...]
    register: ContractorRegister
    staff: tuple[Actor, ...]
    calendar: str = "cn-statutory"

    def project(self, project_id: str) -> Project:
        """The project with id ``project_id``.

        Raises:
            ValidationError: No such project (path ``$.project_id``).
        """
        for project in self.projects:
            if project.project_id == project_id:
                return project
        raise ValidationError.single("$.project_id", f"no project {project_id!r} in the group")

    def staff_of(self, role: Role, unit_id: str, *, party: str | None = None) -> tuple[Actor, ...]:
        """Staff with ``role`` (and ``party``) whose scope includes the org unit ``unit_id``."""
        return tuple(
            actor
            for actor in self.staff
            if actor.role is role
            and (party is None or actor.party == party)
            and actor.scope is not None
            and unit_id in actor.scope
        )

    @property
    def company_ids(self) -> tuple[str, ...]:
        """The companies' ids."""
        return tuple(sorted({p.scope.company_id for p in self.projects}))


def households_for(size: str | None = None, households: int | None = None) -> int:
    """The number of households for a named size or an explicit count (which wins).

    Raises:
        ValidationError: An unknown size (``$.size``) or a count out of range (``$.households``).
    """
    if households is not None:
        if (
            not isinstance(households, int)
            or isinstance(households, bool)
            or not _MIN_HOUSEHOLDS <= households <= _MAX_HOUSEHOLDS
        ):
            raise ValidationError.single(
                "$.households",
                f"must be an integer from {_MIN_HOUSEHOLDS} to {_MAX_HOUSEHOLDS}, "
                f"got {households!r}",
            )
        return households
    name = "standard" if size is None else size
    if name not in SIZES:
        raise ValidationError.single(
            "$.size", f"unknown size {name!r}", hint="choose from " + ", ".join(SIZES)
        )
    return SIZES[name]


def _name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(_SURNAMES) + given


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def _split(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` by ``shares`` (largest remainders), each part at least 10."""
    raw = [total * s / sum(shares) for s in shares]
    parts = [max(10, int(x)) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(parts) < total:
        parts[order[i % len(order)]] += 1
        i += 1
    while sum(parts) > total:
        j = max(range(len(parts)), key=lambda k: parts[k])
        parts[j] -= 1
    return parts


def generate_group(
    seed: int, households: int = SIZES["standard"], *, year: int = DEFAULT_YEAR
) -> DemoGroup:
    """Generate the group: 2 companies, 3 service centres, 6 projects, ``households`` households.

    Args:
        seed: Any integer; the same seed gives the same group.
        households: Households of the whole group (60 to 100,000).
        year: The simulated year (one that ``chinesecalendar`` covers).

    Raises:
        ValidationError: ``households`` out of range (path ``$.households``).
    """
    total = households_for(households=households)
    rng = random.Random(f"propcrm-demo/group/{seed}")
    projects_spec = [
        (company_id, company_name, centre_id, centre_name, spec)
        for company_id, company_name, centres in _COMPANIES
        for centre_id, centre_name, specs in centres
        for spec in specs
    ]
    sizes = _split(total, [spec[3] for *_, spec in projects_spec])
    units: list[OrgUnit] = [OrgUnit(id=GROUP_ID, name=GROUP_NAME, level=OrgLevel.GROUP)]
    for company_id, company_name, centres in _COMPANIES:
        units.append(
            OrgUnit(id=company_id, name=company_name, level=OrgLevel.COMPANY, parent_id=GROUP_ID)
        )
        for centre_id, centre_name, _ in centres:
            units.append(
                OrgUnit(
                    id=centre_id,
                    name=centre_name,
                    level=OrgLevel.SERVICE_CENTRE,
                    parent_id=company_id,
                )
            )
    projects: list[Project] = []
    homes: list[Household] = []
    for (company_id, _, centre_id, _, spec), size in zip(projects_spec, sizes, strict=True):
        project_id, name_zh, name_en, _, completed, new = spec
        scope = OrgScope(
            group_id=GROUP_ID,
            company_id=company_id,
            service_centre_id=centre_id,
            project_id=project_id,
        )
        accepted = date(completed, 3, 1) if not new else date(year, 3, 20)
        handover = date(completed, 6, 28) if not new else date(year, 6, 28)
        floors = 18 if size > 600 else 11
        per_building = floors * 4
        count = -(-size // per_building)
        buildings = tuple(f"{project_id}-b{n:02d}" for n in range(1, count + 1))
        units.append(
            OrgUnit(
                id=project_id,
                name=name_zh,
                level=OrgLevel.PROJECT,
                parent_id=centre_id,
                households=size,
            )
        )
        left = size
        for building in buildings:
            in_building = min(per_building, left)
            left -= in_building
            units.append(
                OrgUnit(
                    id=building,
                    name=f"{name_zh} {building[-2:]}栋",
                    level=OrgLevel.BUILDING,
                    parent_id=project_id,
                    households=in_building,
                )
            )
            for index in range(in_building):
                floor, door = divmod(index, 4)
                unit_id = f"{building}-{floor + 1:02d}{door + 1:02d}"
                units.append(
                    OrgUnit(
                        id=unit_id,
                        name=unit_id,
                        level=OrgLevel.UNIT,
                        parent_id=building,
                        households=1,
                    )
                )
                homes.append(
                    Household(
                        unit_id=unit_id,
                        project_id=project_id,
                        building_id=building,
                        floor=floor + 1,
                        owner=CustomerRef(
                            customer_id=f"cust-{unit_id}", name=_name(rng), phone=_phone(rng)
                        ),
                        area_m2=rng.choice((76, 89, 98, 105, 118, 126, 143)),
                        investor=rng.random() < 0.12,
                    )
                )
        projects.append(
            Project(
                project_id=project_id,
                name_zh=name_zh,
                name_en=name_en,
                scope=scope,
                households=size,
                buildings=buildings,
                accepted_on=accepted,
                handover_on=handover,
                new=new,
            )
        )
    return DemoGroup(
        seed=seed,
        year=year,
        group_id=GROUP_ID,
        name=GROUP_NAME,
        org=OrgTree.from_units(units),
        projects=tuple(projects),
        households=tuple(homes),
        register=_register(projects, rng),
        staff=_staff(projects),
    )


def _register(projects: list[Project], rng: random.Random) -> ContractorRegister:
    contractors = [
        Contractor(code=code, name_zh=zh, name_en=en, party=party)
        for code, zh, en, party, _ in _CONTRACTORS
    ]
    engagements: list[Engagement] = []
    general = [c for c in _CONTRACTORS if c[3] == "GC"]
    for index, project in enumerate(projects):
        gc = general[index % len(general)]
        engagements.append(
            Engagement(
                contractor=gc[0],
                project_id=project.project_id,
                scope=gc[4],
                accepted_on=project.accepted_on,
            )
        )
        waterproofing = rng.choice([c for c in _CONTRACTORS if c[3] == "SUB-WP"])
        for code, _, _, party, scope in _CONTRACTORS:
            if party == "GC" or (party == "SUB-WP" and code != waterproofing[0]):
                continue
            engagements.append(
                Engagement(
                    contractor=code,
                    project_id=project.project_id,
                    scope=scope,
                    accepted_on=project.accepted_on,
                )
            )
    # ContractorRegister's fields use converter=tuple, which mypy types as Iterable[_T_co].
    return ContractorRegister(
        contractors=contractors,
        engagements=engagements,
    )


def _staff(projects: list[Project]) -> tuple[Actor, ...]:
    staff: list[Actor] = []
    centres: dict[str, list[Project]] = {}
    companies: dict[str, list[Project]] = {}
    for project in projects:
        assert project.scope.service_centre_id is not None
        centres.setdefault(project.scope.service_centre_id, []).append(project)
        companies.setdefault(project.scope.company_id, []).append(project)
    for company_id in companies:
        # One hotline per company (seed 004): the agents answer for every project of it.
        for n in range(1, 5):
            staff.append(
                Actor(
                    id=f"{company_id}-agent-{n:02d}",
                    role=Role.HOTLINE_AGENT,
                    name=f"客服{n:02d}",
                    scope={company_id},
                )
            )
        for n in range(1, 3):
            staff.append(
                Actor(
                    id=f"{company_id}-sup-{n:02d}",
                    role=Role.SUPERVISOR,
                    name=f"主管{n:02d}",
                    scope={company_id},
                )
            )
    for centre_id in centres:
        for n in range(1, 3):
            staff.append(
                Actor(
                    id=f"{centre_id}-disp-{n:02d}",
                    role=Role.DISPATCHER,
                    name=f"调度{n:02d}",
                    scope={centre_id},
                )
            )
    for project in projects:
        pid = project.project_id
        for n in range(1, 4):
            staff.append(
                Actor(
                    id=f"{pid}-pm-{n:02d}",
                    role=Role.HANDLER,
                    party="PM",
                    name=f"维修{n:02d}",
                    scope={pid},
                )
            )
        for party in ("DEV-ENG", "DEV-SAL", "DEV-CS", "UT"):
            staff.append(
                Actor(
                    id=f"{pid}-{party.lower()}",
                    role=Role.HANDLER,
                    party=party,
                    name=party,
                    scope={pid},
                )
            )
    # Each contractor's site office handles the defects of the projects it built.
    for code, _, _, party, _ in _CONTRACTORS:
        staff.append(
            Actor(
                id=f"ctr-{code.lower()}",
                role=Role.HANDLER,
                party=party,
                name=code,
                scope={p.project_id for p in projects},
            )
        )
    return tuple(staff)
