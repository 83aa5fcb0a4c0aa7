"""Values plugins receive or return: routes, notifications and PII-access records (private)."""

from __future__ import annotations

from datetime import datetime

import attrs

from propcrm._validation import aware_datetime, member_of, non_empty_str
from propcrm.errors import ValidationError
from propcrm.model.actor import Actor
from propcrm.model.enums import LabelledEnum

__all__ = ["Notification", "NotificationKind", "PiiAccess", "Route"]


_optional_text = attrs.validators.optional(non_empty_str)


@attrs.frozen(kw_only=True)
class Route:
    """Where a dispatched ticket goes: the answer of ``propcrm_route_ticket``.

    Attributes:
        party: The responsible party code (``"PM"``, ``"GC"``, ``"SUB-WP"`` …), if the router
            names one.
        assignee: The staff member or team queue that handles it, if the router names one.
        desk: The desk on duty that coordinates and follows the ticket up (the hotline desk by
            day, the monitoring centre by night, in the built-in router), if any.
        reason: Why, in one sentence, for the work log and for audits.
        router: The name of the router that decided.
    """

    party: str | None = attrs.field(default=None, validator=_optional_text)
    assignee: str | None = attrs.field(default=None, validator=_optional_text)
    desk: str | None = attrs.field(default=None, validator=_optional_text)
    reason: str = attrs.field(validator=non_empty_str)
    router: str = attrs.field(default="custom", validator=non_empty_str)

    def __attrs_post_init__(self) -> None:
        if self.party is None and self.assignee is None:
            raise ValidationError.single(
                "$.party", "a route needs a party or an assignee", subject="route"
            )


class NotificationKind(LabelledEnum):
    """What a notification is about."""

    SLA_WARNING = ("sla_warning", "时限预警", "SLA warning")
    SLA_BREACH = ("sla_breach", "超时", "SLA breach")
    REVISIT_REMINDER = ("revisit_reminder", "回访提醒", "Revisit reminder")
    MILESTONE = ("milestone", "进度通知", "Milestone notice")


@attrs.frozen(kw_only=True)
class Notification:
    """A message to deliver through ``propcrm_deliver_notification``.

    Delivery plugins must treat ``idempotency_key`` as the message's identity: the same key
    delivered twice is one message to the recipient.

    Attributes:
        kind: SLA warning or breach, revisit reminder, milestone notice to the owner.
        recipient: Who gets it: a staff id, a team queue or a customer id.
        ticket_id: The ticket it is about.
        text_zh: The text in Chinese.
        text_en: The text in English.
        idempotency_key: Stable identity of the message, e.g. ``"T-1/sla_warning/resolve"``.
        due_at: When it should be delivered (an aware datetime); a sender may hold it until then,
            for example outside quiet hours.
    """

    kind: NotificationKind = attrs.field(validator=member_of(NotificationKind))
    recipient: str = attrs.field(validator=non_empty_str)
    ticket_id: str = attrs.field(validator=non_empty_str)
    text_zh: str = attrs.field(validator=non_empty_str)
    text_en: str = attrs.field(validator=non_empty_str)
    idempotency_key: str = attrs.field(validator=non_empty_str)
    due_at: datetime = attrs.field(validator=aware_datetime)


def _fields(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, frozenset | set | tuple | list):
        raise ValidationError.single(
            "$.fields", f"expected field names, got {type(value).__name__}", subject="PII access"
        )
    return frozenset(value)


def _non_empty_fields(
    _instance: object, _attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    if not value:
        raise ValidationError.single(
            "$.fields", "name at least one field that was read", subject="PII access"
        )
    for name in sorted(value):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError.single(
                "$.fields", f"not a field name: {name!r}", subject="PII access"
            )


@attrs.frozen(kw_only=True)
class PiiAccess:
    """One read of personal data in the customer archive (seed 001: the archive's access log).

    Attributes:
        actor: Who read it.
        at: When (an aware datetime).
        customer_id: Whose record.
        purpose: Why, e.g. ``"revisit call for T-1"``.
        fields: Which personal fields were revealed (``"name"``, ``"phone"``, ``"id_number"``).
        ticket_id: The ticket the read served, if any.
    """

    actor: Actor = attrs.field(validator=attrs.validators.instance_of(Actor))
    at: datetime = attrs.field(validator=aware_datetime)
    customer_id: str = attrs.field(validator=non_empty_str)
    purpose: str = attrs.field(validator=non_empty_str)
    fields: frozenset[str] = attrs.field(converter=_fields, validator=_non_empty_fields)
    ticket_id: str | None = attrs.field(default=None, validator=_optional_text)
