"""Reading, exporting and erasing personal data: masked by default, logged when revealed (private).

Seed 001 asks for an archive access log (档案查阅登记); PIPL gives each person the right to a copy
of their data and to its deletion. Every full read goes through :func:`read_full`, which hands a
:class:`propcrm.plugins.PiiAccess` to an audit callback *before* returning the data (pass
``get_plugins().audit_pii_access`` to reach the ``propcrm_audit_pii_access`` plugins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from propcrm._validation import require_aware
from propcrm.customers._values import PERSONAL_FIELDS, CustomerRecord
from propcrm.errors import NotFoundError, PermissionDeniedError, ValidationError
from propcrm.model.actor import Actor
from propcrm.model.enums import Role
from propcrm.model.org import OrgScope
from propcrm.plugins import PiiAccess

__all__ = [
    "DEFAULT_PII_POLICY",
    "AuditSink",
    "PiiPolicy",
    "export_personal_data",
    "read_full",
]

#: Receives one :class:`PiiAccess` per full read; raising stops the read.
AuditSink = Callable[[PiiAccess], None]


def _roles(values: frozenset[Role] | set[Role] | tuple[Role, ...]) -> frozenset[Role]:
    return frozenset(values)


@attrs.frozen(kw_only=True)
class PiiPolicy:
    """Who may see personal data in full.

    Attributes:
        roles: Roles allowed to read full records and reveal exports.
        scope_check: Optional ``(actor, scope) -> bool`` that must also hold, on top of the
            actor's org scope covering the customer's (:meth:`Actor.covers`).
    """

    roles: frozenset[Role] = attrs.field(
        default=frozenset({Role.SUPERVISOR, Role.HOTLINE_AGENT, Role.SYSTEM}), converter=_roles
    )
    scope_check: Callable[[Actor, OrgScope], bool] | None = None

    def permits(self, actor: Actor, record: CustomerRecord) -> bool:
        """Whether ``actor`` may see ``record``'s personal data in full."""
        if actor.role not in self.roles or not actor.covers(record.scope):
            return False
        return self.scope_check is None or self.scope_check(actor, record.scope)

    def require(self, actor: Actor, record: CustomerRecord) -> None:
        """Raise ``PermissionDeniedError`` unless :meth:`permits`."""
        if not self.permits(actor, record):
            raise PermissionDeniedError(
                f"actor {actor.id!r} ({actor.role.value}) may not read customer "
                f"{record.customer_id!r} in full",
                hint="use the masked view, or ask a role the PII policy permits",
            )


#: Customer-service staff and the system may read in full; handlers and customers may not.
DEFAULT_PII_POLICY = PiiPolicy()


def _access(
    record: CustomerRecord,
    *,
    actor: Actor,
    at: datetime,
    reason: str,
    ticket_id: str | None,
) -> PiiAccess:
    require_aware(at, "$.at")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError.single("$.reason", "say why the personal data is read")
    return PiiAccess(
        actor=actor,
        at=at,
        customer_id=record.customer_id,
        purpose=reason,
        fields=frozenset(PERSONAL_FIELDS),
        ticket_id=ticket_id,
    )


def read_full(
    archive: Mapping[str, CustomerRecord],
    customer_id: str,
    *,
    actor: Actor,
    reason: str,
    audit: AuditSink,
    at: datetime,
    ticket_id: str | None = None,
    policy: PiiPolicy = DEFAULT_PII_POLICY,
) -> CustomerRecord:
    """Read one customer's full record, logging the access first.

    Args:
        archive: Customer id → record.
        customer_id: Whose record.
        actor: Who reads.
        reason: Why (the access log's purpose), e.g. ``"revisit call for T-1"``.
        audit: Receives the :class:`PiiAccess` before the record is returned.
        at: When (aware); the core reads no clock.
        ticket_id: The ticket the read serves, if any.
        policy: Who may read in full.

    Returns:
        The record, unmasked.

    Raises:
        NotFoundError: No such customer.
        PermissionDeniedError: The policy does not permit the actor; nothing is logged.
        ValidationError: A naive ``at`` or an empty reason.
        Exception: Whatever ``audit`` raises; the record is not returned.
    """
    record = archive.get(customer_id)
    if record is None:
        raise NotFoundError("customer", customer_id)
    policy.require(actor, record)
    audit(_access(record, actor=actor, at=at, reason=reason, ticket_id=ticket_id))
    return record


def export_personal_data(
    record: CustomerRecord,
    *,
    actor: Actor,
    at: datetime,
    reason: str,
    audit: AuditSink,
    reveal: bool = False,
    policy: PiiPolicy = DEFAULT_PII_POLICY,
) -> dict[str, Any]:
    """Export one person's data (PIPL access and portability) as JSON-ready data.

    Masked unless ``reveal=True``; a revealed export needs the policy's permission and is
    logged like :func:`read_full`. A masked export is not logged (it holds no personal data).

    Args:
        record: The record.
        actor: Who exports.
        at: When (aware).
        reason: Why, e.g. the request reference.
        audit: Receives the access when revealed.
        reveal: Write personal fields in full.
        policy: Who may reveal.

    Returns:
        The record as JSON-ready data (the customer converter's shape).

    Raises:
        PermissionDeniedError: ``reveal`` without the policy's permission.
    """
    from propcrm.customers._serialization import converter

    if reveal:
        policy.require(actor, record)
        audit(_access(record, actor=actor, at=at, reason=reason, ticket_id=None))
    data: dict[str, Any] = converter(reveal_pii=reveal).unstructure(record)
    return data
