"""The organisation tree: group → company → service centre → project → building → unit → room.

Data and permissions are scoped by this tree (seed 003). A ticket carries an :class:`OrgScope`,
the ids of its tenant chain down to the project, so that a store can filter by prefix without
looking the tree up again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from types import MappingProxyType

import attrs

from propcrm._validation import non_empty_str
from propcrm.errors import FieldError, NotFoundError, ValidationError

__all__ = ["OrgLevel", "OrgScope", "OrgTree", "OrgUnit"]


class OrgLevel(str, Enum):
    """A level of the organisation tree, from the top down."""

    GROUP = "group"
    COMPANY = "company"
    SERVICE_CENTRE = "service_centre"
    PROJECT = "project"
    BUILDING = "building"
    UNIT = "unit"
    ROOM = "room"

    @property
    def depth(self) -> int:
        """Zero for a group, six for a room."""
        return _LEVEL_ORDER.index(self)

    def __str__(self) -> str:
        return str(self.value)


_LEVEL_ORDER = tuple(OrgLevel)


def _non_negative_or_none(
    _instance: object, attribute: attrs.Attribute[int], value: object
) -> None:
    if value is not None and (not isinstance(value, int) or value < 0):
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a non-negative integer, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class OrgUnit:
    """One node of the organisation tree.

    Attributes:
        id: Stable id, unique across the whole tree.
        name: Display name, e.g. ``"翠湖花园"``.
        level: Where in the tree the node sits.
        parent_id: The parent node's id; ``None`` only for the root group.
        households: Households in this unit's scope (项目/楼栋 总户数), for per-household KPIs.
            ``None`` means "sum the children".
        occupied_households: Households moved in (入住户数), when the KPIs use that denominator.
    """

    id: str = attrs.field(validator=non_empty_str)
    name: str = attrs.field(validator=non_empty_str)
    level: OrgLevel = attrs.field(converter=OrgLevel)
    parent_id: str | None = None
    households: int | None = attrs.field(default=None, validator=_non_negative_or_none)
    occupied_households: int | None = attrs.field(default=None, validator=_non_negative_or_none)


@attrs.frozen(kw_only=True)
class OrgScope:
    """The tenant chain of a ticket or customer, from the group down to the project.

    ``company_id`` is the tenant boundary: a store opened for one company never returns another
    company's data.

    Attributes:
        company_id: The property or developer company (the tenant).
        project_id: The project (项目/楼盘).
        group_id: The group (集团), if the deployment has one.
        service_centre_id: The service centre (服务中心/管理处), if known.
    """

    company_id: str = attrs.field(validator=non_empty_str)
    project_id: str = attrs.field(validator=non_empty_str)
    group_id: str | None = None
    service_centre_id: str | None = None

    def path(self) -> tuple[str, ...]:
        """The ids from the top down, skipping levels that are not set."""
        ids = (self.group_id, self.company_id, self.service_centre_id, self.project_id)
        return tuple(i for i in ids if i is not None)

    def within(self, unit_id: str) -> bool:
        """Whether this scope lies at or below the org unit ``unit_id``."""
        return unit_id in self.path()


@attrs.frozen(kw_only=True)
class OrgTree:
    """An immutable organisation tree, validated on construction.

    Build it with :meth:`from_units`; every parent must exist, levels must go downwards, and
    there must be no cycle.
    """

    _units: Mapping[str, OrgUnit] = attrs.field(alias="units")
    _children: Mapping[str, tuple[str, ...]] = attrs.field(alias="children")

    @classmethod
    def from_units(cls, units: Iterable[OrgUnit]) -> OrgTree:
        """Build a tree from its nodes, in any order.

        Raises:
            ValidationError: On duplicate ids, missing parents or levels that do not go down,
                with the path ``$[i].parent_id`` of each offending node.
        """
        by_id: dict[str, OrgUnit] = {}
        errors: list[tuple[str, str]] = []
        unit_list = list(units)
        for index, unit in enumerate(unit_list):
            if unit.id in by_id:
                errors.append((f"$[{index}].id", f"duplicate org unit id {unit.id!r}"))
            by_id[unit.id] = unit
        children: dict[str, list[str]] = {}
        for index, unit in enumerate(unit_list):
            if unit.parent_id is None:
                if unit.level is not OrgLevel.GROUP and unit.level is not OrgLevel.COMPANY:
                    errors.append((f"$[{index}].parent_id", f"a {unit.level.value} needs a parent"))
                continue
            parent = by_id.get(unit.parent_id)
            if parent is None:
                errors.append((f"$[{index}].parent_id", f"no org unit {unit.parent_id!r}"))
                continue
            if parent.level.depth >= unit.level.depth:
                errors.append(
                    (
                        f"$[{index}].level",
                        f"a {unit.level.value} cannot sit under a {parent.level.value}",
                    )
                )
            children.setdefault(unit.parent_id, []).append(unit.id)
        if errors:
            raise ValidationError(
                [FieldError(path=p, message=m) for p, m in errors], subject="organisation tree"
            )
        return cls(
            units=MappingProxyType(by_id),
            children=MappingProxyType({k: tuple(sorted(v)) for k, v in children.items()}),
        )

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[OrgUnit]:
        return iter(self._units.values())

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def get(self, unit_id: str) -> OrgUnit:
        """The node ``unit_id``.

        Raises:
            NotFoundError: If there is no such node; the hint names the closest ids.
        """
        try:
            return self._units[unit_id]
        except KeyError:
            close = difflib.get_close_matches(unit_id, list(self._units), n=3, cutoff=0.4)
            raise NotFoundError("org unit", unit_id, suggestions=close) from None

    def children(self, unit_id: str) -> tuple[OrgUnit, ...]:
        """The direct children of ``unit_id``, sorted by id."""
        self.get(unit_id)
        return tuple(self._units[c] for c in self._children.get(unit_id, ()))

    def ancestors(self, unit_id: str) -> tuple[OrgUnit, ...]:
        """The chain from the root down to ``unit_id`` itself."""
        chain = [self.get(unit_id)]
        while chain[-1].parent_id is not None:
            chain.append(self._units[chain[-1].parent_id])
        return tuple(reversed(chain))

    def descendants(self, unit_id: str) -> Iterator[OrgUnit]:
        """Every node below ``unit_id``, depth first, children sorted by id."""
        for child in self.children(unit_id):
            yield child
            yield from self.descendants(child.id)

    def ancestor_at(self, unit_id: str, level: OrgLevel) -> OrgUnit | None:
        """The ancestor of ``unit_id`` (or itself) at ``level``, if the chain has one."""
        for unit in self.ancestors(unit_id):
            if unit.level is level:
                return unit
        return None

    def scope_of(self, unit_id: str) -> OrgScope:
        """The :class:`OrgScope` of a project or anything below it.

        Raises:
            ValidationError: If ``unit_id`` has no project or company above it.
        """
        project = self.ancestor_at(unit_id, OrgLevel.PROJECT)
        company = self.ancestor_at(unit_id, OrgLevel.COMPANY)
        if project is None or company is None:
            raise ValidationError.single(
                "$.unit_id",
                f"org unit {unit_id!r} is not inside a project of a company",
                subject="org scope",
            )
        group = self.ancestor_at(unit_id, OrgLevel.GROUP)
        centre = self.ancestor_at(unit_id, OrgLevel.SERVICE_CENTRE)
        return OrgScope(
            company_id=company.id,
            project_id=project.id,
            group_id=group.id if group else None,
            service_centre_id=centre.id if centre else None,
        )

    def households(self, unit_id: str, *, occupied: bool = False) -> int:
        """Households in the scope of ``unit_id``: its own figure, else the sum of its children."""
        unit = self.get(unit_id)
        own = unit.occupied_households if occupied else unit.households
        if own is not None:
            return own
        return sum(self.households(child.id, occupied=occupied) for child in self.children(unit_id))
