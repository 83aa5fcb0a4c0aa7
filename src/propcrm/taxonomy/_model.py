"""Taxonomy values: levels, room types, responsible parties and nodes (private module)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

import attrs

from propcrm.errors import ValidationError
from propcrm.model.enums import AreaType, LabelledEnum, Priority, Severity, TicketKind

__all__ = [
    "CODE_PATTERN",
    "Level",
    "Node",
    "Party",
    "PartyKind",
    "RoomType",
    "closest",
    "level_of",
    "parent_code",
]

#: A taxonomy code: a top class (``Q``), a discipline (``Q.WP``) or an item (``Q.WP.08``).
#: Vendors extend with their own item numbers (``Q.WP.90``, ``Q.WP.X1``) or disciplines.
CODE_PATTERN = re.compile(r"[A-Z](?:\.[A-Z][A-Z0-9]{1,3}(?:\.[A-Z0-9]{2,4})?)?")
_PARTY_PATTERN = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")

_E = TypeVar("_E", bound=Enum)


class Level(LabelledEnum):
    """The three levels of the tree; a code's level is the number of its dot-separated parts."""

    CLASS = ("class", "大类", "Top class")
    DISCIPLINE = ("discipline", "专业", "Discipline")
    ITEM = ("item", "问题项", "Item")

    @property
    def depth(self) -> int:
        """1 for a top class, 2 for a discipline, 3 for an item."""
        return _LEVELS.index(self) + 1


_LEVELS = (Level.CLASS, Level.DISCIPLINE, Level.ITEM)


class RoomType(LabelledEnum):
    """The second axis of the location attribute: what kind of room or area.

    The wire values are the ``room_type`` codes :class:`propcrm.model.location.Location` carries.
    """

    LIVING_ROOM = ("living_room", "客厅", "Living room")
    BEDROOM = ("bedroom", "卧室", "Bedroom")
    KITCHEN = ("kitchen", "厨房", "Kitchen")
    BATHROOM = ("bathroom", "卫生间", "Bathroom")
    BALCONY = ("balcony", "阳台/露台", "Balcony / terrace")
    ENTRANCE = ("entrance", "玄关/入户", "Entrance")
    LOBBY = ("lobby", "大堂", "Lobby")
    CORRIDOR = ("corridor", "走廊", "Corridor")
    STAIRWELL = ("stairwell", "楼梯间", "Stairwell")
    LIFT_LOBBY = ("lift_lobby", "电梯厅", "Lift lobby")
    LIFT_CAR = ("lift_car", "电梯轿厢", "Lift car")
    ROOF = ("roof", "屋面", "Roof")
    BASEMENT = ("basement", "地下室/车库", "Basement / garage")
    PLANT_ROOM = ("plant_room", "设备房", "Plant room")
    FACADE = ("facade", "外立面", "Façade")
    GROUNDS = ("grounds", "园林/道路", "Grounds and roads")
    GATE = ("gate", "出入口", "Gate / entrance of the estate")


class PartyKind(LabelledEnum):
    """What kind of organisation a responsible party is."""

    CONTRACTOR = ("contractor", "施工单位", "Contractor")
    VENDOR = ("vendor", "供应商", "Vendor")
    DESIGNER = ("designer", "设计单位", "Design institute")
    DEVELOPER = ("developer", "开发商", "Developer")
    PROPERTY = ("property", "物业公司", "Property company")
    UTILITY = ("utility", "专业单位", "Utility")
    OWNER = ("owner", "业主", "Owner")
    THIRD_PARTY = ("third_party", "第三方", "Third party")


def closest(key: object, candidates: Iterable[str], *, n: int = 3) -> tuple[str, ...]:
    """Return up to ``n`` candidates closest to ``key`` (difflib ratio ≥ 0.5, best first)."""
    if not isinstance(key, str):
        return ()
    return tuple(difflib.get_close_matches(key, list(candidates), n=n, cutoff=0.5))


def level_of(code: str) -> Level:
    """Return the level of a well-formed code: one part is a class, two a discipline, three an item.

    Args:
        code: A code matching :data:`CODE_PATTERN`.

    Returns:
        The level the code's shape implies.
    """
    return _LEVELS[code.count(".")]


def parent_code(code: str) -> str | None:
    """Return the parent's code (``Q.WP.08`` → ``Q.WP`` → ``Q``), ``None`` for a top class.

    Args:
        code: A code matching :data:`CODE_PATTERN`.

    Returns:
        The code with its last part removed, or ``None`` when there is no dot.
    """
    head, dot, _ = code.rpartition(".")
    return head if dot else None


def _path(attribute: attrs.Attribute[Any]) -> str:
    return f"$.{attribute.name}"


def _check_code(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise ValidationError.single(
            _path(attribute),
            f"{value!r} is not a taxonomy code",
            hint="codes look like 'Q', 'Q.WP' or 'Q.WP.08' (upper-case letters and digits)",
        )


def _check_optional_code(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_code(inst, attribute, value)


def _check_text(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.single(_path(attribute), "must be a non-empty string")


def _check_terms(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for index, term in enumerate(value):
        if not isinstance(term, str) or not term.strip() or "|" in term:
            raise ValidationError.single(
                f"{_path(attribute)}[{index}]",
                f"{term!r} must be a non-empty string without '|'",
            )


def _check_parties(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for index, code in enumerate(value):
        if not isinstance(code, str) or not _PARTY_PATTERN.fullmatch(code):
            raise ValidationError.single(
                f"{_path(attribute)}[{index}]",
                f"{code!r} is not a party code",
                hint="party codes look like 'GC', 'SUB-WP' or 'DEV-ENG'",
            )
    if len(set(value)) != len(value):
        raise ValidationError.single(_path(attribute), "a party is listed twice")


def _members(enum: type[_E], values: Iterable[object] | str) -> tuple[_E, ...]:
    """Convert enum members or wire values to a tuple of members, in order, without repeats."""
    if isinstance(values, str):
        values = [values]
    out: list[_E] = []
    for value in values:
        member = value if isinstance(value, enum) else _member(enum, value)
        if member not in out:
            out.append(member)
    return tuple(out)


def _member(enum: type[_E], value: object) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise ValidationError.single(
            "$", f"{value!r} is not a {enum.__name__}", hint=f"use one of: {allowed}"
        ) from None


def _kinds(values: Iterable[object] | str) -> tuple[TicketKind, ...]:
    return _members(TicketKind, values)


def _areas(values: Iterable[object] | str) -> tuple[AreaType, ...]:
    return _members(AreaType, values)


def _rooms(values: Iterable[object] | str) -> tuple[RoomType, ...]:
    return _members(RoomType, values)


def _priority(value: object) -> Priority | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Priority) else _member(Priority, value)


def _severity(value: object) -> Severity | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Severity) else _member(Severity, value)


def _party_kind(value: object) -> PartyKind:
    return value if isinstance(value, PartyKind) else _member(PartyKind, value)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(values)


@attrs.frozen(kw_only=True)
class Party:
    """A responsible party in the coded, bilingual register (domain reference §5).

    Attributes:
        code: Stable code, e.g. ``"GC"``, ``"SUB-WP"``, ``"DEV-ENG"``.
        name_zh: Chinese name, e.g. ``"总包单位"``.
        name_en: English name, e.g. ``"General contractor"``.
        kind: What kind of organisation it is.
    """

    code: str = attrs.field()
    name_zh: str = attrs.field(validator=_check_text)
    name_en: str = attrs.field(validator=_check_text)
    kind: PartyKind = attrs.field(converter=_party_kind)

    @code.validator
    def _check_party_code(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or not _PARTY_PATTERN.fullmatch(value):
            raise ValidationError.single("$.code", f"{value!r} is not a party code")


@attrs.frozen(kw_only=True)
class Node:
    """One node of the taxonomy: a top class, a discipline or an item.

    The code alone places the node in the tree: ``Q.WP.08`` is an item of discipline ``Q.WP``
    in top class ``Q``. Location (unit / common area / external × room type) is an attribute,
    not a level: ``areas`` and ``rooms`` say where the issue typically occurs, empty meaning
    anywhere.

    Attributes:
        code: Stable code; never reused for something else.
        name_zh: Chinese name.
        name_en: English name.
        aliases: Other names people use for it (searched like the names).
        keywords: Words in Chinese or English that point to it in a free-text report.
        kinds: The ticket kinds the node applies to.
        parties: Default responsible party codes, most responsible first.
        priority: Priority hint for a ticket classified here, if any.
        severity: Severity hint, if any.
        warranty: Warranty rule codes (§4): at most one contractor rule (``W…``) and one buyer
            rule (``b-…``).
        areas: Where it typically occurs: in a unit, a common area, outside the estate.
        rooms: The room types it typically occurs in.
        note: Free text for the classifier, e.g. which root cause to check.
        replaced_by: For a deprecated node, the live code that replaces it; ``None`` when live.
    """

    code: str = attrs.field(validator=_check_code)
    name_zh: str = attrs.field(validator=_check_text)
    name_en: str = attrs.field(validator=_check_text)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, validator=_check_terms)
    keywords: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, validator=_check_terms
    )
    kinds: tuple[TicketKind, ...] = attrs.field(default=(), converter=_kinds)
    parties: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, validator=_check_parties
    )
    priority: Priority | None = attrs.field(default=None, converter=_priority)
    severity: Severity | None = attrs.field(default=None, converter=_severity)
    warranty: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    areas: tuple[AreaType, ...] = attrs.field(default=(), converter=_areas)
    rooms: tuple[RoomType, ...] = attrs.field(default=(), converter=_rooms)
    note: str = ""
    replaced_by: str | None = attrs.field(default=None, validator=_check_optional_code)

    @warranty.validator
    def _check_warranty(self, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        from propcrm.taxonomy._warranty import rule_codes

        known = rule_codes()
        for index, code in enumerate(value):
            if code not in known:
                raise ValidationError.single(
                    f"$.warranty[{index}]",
                    f"{code!r} is not a warranty rule code",
                    hint="use the codes of docs/warranty.md: " + ", ".join(sorted(known)),
                )
        contractor = [c for c in value if not c.startswith("b-")]
        buyer = [c for c in value if c.startswith("b-")]
        if len(contractor) > 1 or len(buyer) > 1:
            raise ValidationError.single(
                "$.warranty", "at most one contractor rule and one buyer rule per node"
            )

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Node:
        """Build a node from a mapping of field names to values (lists may be ``|``-joined text).

        Every field is checked on its own, so the error lists every bad field at once.

        Args:
            row: Field name → value, e.g. a CSV row or a JSON object.

        Raises:
            ValidationError: Every bad, missing or unknown field, at ``$.<field>``.
        """
        from propcrm.taxonomy._io import node_from_row

        node, problems = node_from_row(row, where=lambda field: f"$.{field}", csv_cells=True)
        if node is None:
            raise ValidationError(problems, subject="taxonomy node")
        return node

    def __attrs_post_init__(self) -> None:
        if self.replaced_by == self.code:
            raise ValidationError.single("$.replaced_by", "a node cannot replace itself")

    @property
    def level(self) -> Level:
        """The node's level, from the shape of its code."""
        return level_of(self.code)

    @property
    def parent(self) -> str | None:
        """The parent's code, ``None`` for a top class."""
        return parent_code(self.code)

    @property
    def deprecated(self) -> bool:
        """Whether the node is deprecated (it then names its replacement in ``replaced_by``)."""
        return self.replaced_by is not None

    @property
    def contractor_rule(self) -> str | None:
        """The contractor → developer warranty rule code (``W…``), if any."""
        return next((c for c in self.warranty if not c.startswith("b-")), None)

    @property
    def buyer_rule(self) -> str | None:
        """The developer → buyer warranty rule code (``b-…``), if any."""
        return next((c for c in self.warranty if c.startswith("b-")), None)

    def applies_to(self, area: AreaType | None = None, room: RoomType | None = None) -> bool:
        """Whether the node fits a location; an empty ``areas`` or ``rooms`` fits any.

        Args:
            area: The location's area, or ``None`` when unknown.
            room: The location's room type, or ``None`` when unknown.

        Returns:
            ``False`` only when a known area or room is outside the node's lists.
        """
        if area is not None and self.areas and area not in self.areas:
            return False
        return room is None or not self.rooms or room in self.rooms
