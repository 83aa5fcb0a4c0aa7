"""Where an issue is: a room of a unit, or a common area of a project or building."""

from __future__ import annotations

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.errors import ValidationError
from propcrm.model.enums import AreaType

__all__ = ["Location"]


@attrs.frozen(kw_only=True)
class Location:
    """A place inside a project.

    A location inside a unit names the unit (``unit_id``, optionally ``room_id``); a common area
    names the project and, when it is inside one, the building. ``room_type`` is a free code such
    as ``"bathroom"`` or ``"kitchen"`` that the taxonomy's location attribute understands.

    Attributes:
        project_id: The project (项目) the place belongs to.
        area: In a unit, a common area, or outside the estate's boundary.
        building_id: The building (楼栋), if the place is in or on one.
        unit_id: The unit (单元/户), required when ``area`` is ``unit``.
        room_id: The room (房号) inside the unit, if known.
        room_type: What kind of room or area, e.g. ``"bathroom"``, ``"lift_lobby"``.
        detail: Free text, e.g. ``"主卧天花板"``.
    """

    project_id: str = attrs.field(validator=non_empty_str)
    area: AreaType = attrs.field(default=AreaType.UNIT, validator=member_of(AreaType))
    building_id: str | None = None
    unit_id: str | None = None
    room_id: str | None = None
    room_type: str | None = None
    detail: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.area is AreaType.UNIT and self.unit_id is None:
            raise ValidationError.single(
                "$.unit_id",
                "a location inside a unit must name the unit",
                hint="set unit_id, or use area='common' for a common area",
            )

    @property
    def most_specific_id(self) -> str:
        """The id of the smallest org unit that contains the place."""
        return self.room_id or self.unit_id or self.building_id or self.project_id
