"""Who did something: the actor recorded on every command and event."""

from __future__ import annotations

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.model.enums import Role

__all__ = ["Actor"]


@attrs.frozen(kw_only=True)
class Actor:
    """A person or system acting on a ticket.

    Attributes:
        id: Stable id of the staff member, customer or system component.
        role: The role the actor acts in; the lifecycle rules map roles to commands.
        party: The responsible party the actor works for (e.g. ``"PM"``, ``"GC"``), if any.
        name: Display name.
    """

    id: str = attrs.field(validator=non_empty_str)
    role: Role = attrs.field(validator=member_of(Role))
    party: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, component: str = "propcrm") -> Actor:
        """The actor for automatic actions (scheduler, auto reopen, imports)."""
        return cls(id=component, role=Role.SYSTEM)
