"""Who did something: the actor recorded on every command and event."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.errors import PermissionDeniedError
from propcrm.model.enums import Role
from propcrm.model.org import OrgScope

__all__ = ["Actor"]


def _optional_units(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(kw_only=True)
class Actor:
    """A person or system acting on a ticket.

    Attributes:
        id: Stable id of the staff member, customer or system component.
        role: The role the actor acts in; the lifecycle rules map roles to commands.
        party: The responsible party the actor works for (e.g. ``"PM"``, ``"GC"``), if any.
        name: Display name.
        scope: The org units (group, company, service centre or project ids) the actor's role
            is scoped to (seed 003); ``None`` means unrestricted, for system components and
            group-wide administrators only.
    """

    id: str = attrs.field(validator=non_empty_str)
    role: Role = attrs.field(validator=member_of(Role))
    party: str | None = None
    name: str | None = None
    scope: frozenset[str] | None = attrs.field(default=None, converter=_optional_units)

    def covers(self, scope: OrgScope) -> bool:
        """Whether the actor may act on something in ``scope`` (a ticket's or a customer's)."""
        return self.scope is None or not self.scope.isdisjoint(scope.path())

    def require_covers(self, scope: OrgScope, *, subject: str) -> None:
        """Raise ``PermissionDeniedError`` unless :meth:`covers` ``scope``.

        Args:
            scope: The org scope of what the actor wants to act on or read.
            subject: What that is, for the message: ``"ticket"``, ``"batch"``, ``"customer"``.
        """
        if not self.covers(scope):
            raise PermissionDeniedError(
                f"actor {self.id!r} is scoped to {sorted(self.scope or ())}, which does not "
                f"cover the {subject}'s project {scope.project_id!r} of company "
                f"{scope.company_id!r}",
                hint=f"act as someone whose scope includes the {subject}'s org units",
            )

    @classmethod
    def system(cls, component: str = "propcrm") -> Actor:
        """The actor for automatic actions (scheduler, auto reopen, imports)."""
        return cls(id=component, role=Role.SYSTEM)
