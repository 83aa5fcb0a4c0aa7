"""The customer archive (客户台帐) as an event-sourced aggregate: commands, events, decide, replay.

Personal changes (contacts, identity, family, units held) are verified against the ID number,
phone and room on record before they apply (seed 001); facts from other systems (title
certificate numbers from sales, ticket and revisit references, segment, club membership) are
recorded without evidence, by staff or system actors. Erasure (PIPL) is a tombstone event;
:func:`redact` removes the personal values from the earlier events for the store to rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

import attrs

from propcrm._validation import (
    aware_datetime,
    member_of,
    non_empty_str,
    positive_int,
    require_aware,
)
from propcrm.customers._values import (
    PERSONAL_FIELDS,
    ContactMethod,
    CustomerRecord,
    FamilyMember,
    Ownership,
    RevisitLink,
    TicketLink,
    UnitHolding,
    UnitUse,
    Verification,
)
from propcrm.errors import (
    InvalidTransitionError,
    PermissionDeniedError,
    PropcrmError,
    ValidationError,
)
from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef
from propcrm.model.enums import Role, Satisfaction, TicketKind
from propcrm.model.org import OrgScope

__all__ = [
    "ARCHIVE_PERMISSIONS",
    "COMMAND_TYPES",
    "EVENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "AcquireUnit",
    "ArchiveCommand",
    "ArchiveEvent",
    "ArchivePayload",
    "ArchiveRefusedError",
    "ChangeCustomer",
    "ChangeUnitUse",
    "CustomerChanged",
    "CustomerErased",
    "CustomerRegistered",
    "EraseCustomer",
    "LinkTicket",
    "ProfileUpdated",
    "RecordRevisitResult",
    "RecordTitleCertificate",
    "RegisterCustomer",
    "ReleaseUnit",
    "RevisitResultRecorded",
    "TicketLinked",
    "TitleCertificateRecorded",
    "UnitAcquired",
    "UnitReleased",
    "UnitUseChanged",
    "UpdateProfile",
    "VerificationError",
    "decide",
    "history_of",
    "redact",
    "replay",
    "replay_archive",
    "verify",
]

#: The schema version written on new archive events.
EVENT_SCHEMA_VERSION = 1


class ArchiveRefusedError(InvalidTransitionError):
    """An archive command was refused; the record is left exactly as it was.

    Args:
        customer_id: The customer the command was for.
        command: The refused command's name.
        reason: Why.
        hint: What would make it acceptable.
    """

    def __init__(
        self, *, customer_id: str, command: str, reason: str, hint: str | None = None
    ) -> None:
        self.ticket_id = None
        self.customer_id = customer_id
        self.status = None
        self.command = command
        self.reason = reason
        PropcrmError.__init__(
            self, f"command {command!r} refused for customer {customer_id!r}: {reason}", hint=hint
        )


class VerificationError(PermissionDeniedError):
    """A change's evidence does not match the record; nothing was applied.

    The message names the fields that did not match, never their values.

    Args:
        customer_id: The customer.
        command: The refused command's name.
        mismatched: The evidence fields that did not match (``id_number``, ``phone``,
            ``unit_id``) or were missing.
    """

    def __init__(self, *, customer_id: str, command: str, mismatched: tuple[str, ...]) -> None:
        self.customer_id = customer_id
        self.command = command
        self.mismatched = mismatched
        super().__init__(
            f"command {command!r} refused for customer {customer_id!r}: the evidence does not "
            f"match the record ({', '.join(mismatched)})",
            hint="check the customer's identity (ID number, phone on record, room) on the "
            "change form and resubmit",
        )


# ---------------------------------------------------------------------------------------------
# commands


_optional_text = attrs.validators.optional(non_empty_str)


def _ref_field(default: object = attrs.NOTHING) -> Any:
    return attrs.field(default=default, validator=non_empty_str)


def _family(values: Iterable[FamilyMember] | None) -> tuple[FamilyMember, ...] | None:
    return None if values is None else tuple(values)


def _members(values: Iterable[FamilyMember]) -> tuple[FamilyMember, ...]:
    return tuple(values)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _holdings(values: Iterable[UnitHolding]) -> tuple[UnitHolding, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class _PersonalInput:
    """Personal fields a command may set; phone and ID number pass :class:`CustomerRef`'s rules."""

    customer_id: str = _ref_field()
    full_name: str | None = attrs.field(default=None, validator=_optional_text, repr=False)
    phone: str | None = attrs.field(default=None, repr=False)
    id_number: str | None = attrs.field(default=None, repr=False)
    address: str | None = attrs.field(default=None, validator=_optional_text, repr=False)
    email: str | None = attrs.field(default=None, validator=_optional_text, repr=False)
    birthday: date | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        CustomerRef(customer_id=self.customer_id, phone=self.phone, id_number=self.id_number)


@attrs.frozen(kw_only=True)
class RegisterCustomer(_PersonalInput):
    """Create a customer's record (sales hands it over to customer service).

    Attributes:
        customer_id: The new record's id.
        scope: The tenant chain down to the project.
        full_name: Name (``name`` is the command's rule name).
        phone: Phone.
        id_number: ID card or passport number.
        address: Postal address.
        email: E-mail.
        preferred_contact: Preferred contact method.
        birthday: Birthday.
        family: Family members.
        units: The units the customer holds.
    """

    name: ClassVar[str] = "register"
    scope: OrgScope
    full_name: str = attrs.field(validator=non_empty_str, repr=False)
    preferred_contact: ContactMethod = attrs.field(
        default=ContactMethod.PHONE, validator=member_of(ContactMethod)
    )
    family: tuple[FamilyMember, ...] = attrs.field(default=(), converter=_members, repr=False)
    units: tuple[UnitHolding, ...] = attrs.field(default=(), converter=_holdings)


@attrs.frozen(kw_only=True)
class ChangeCustomer(_PersonalInput):
    """Change personal data, verified first; fields left ``None`` stay as they are.

    Attributes:
        customer_id: The customer.
        evidence: The identity check of the change form.
        full_name: New name.
        phone: New phone.
        id_number: New ID number.
        address: New address.
        email: New e-mail.
        preferred_contact: New preferred contact method.
        birthday: New birthday.
        family: The family members, replacing the current list.
    """

    name: ClassVar[str] = "change"
    evidence: Verification
    preferred_contact: ContactMethod | None = None
    family: tuple[FamilyMember, ...] | None = attrs.field(
        default=None, converter=_family, repr=False
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if all(getattr(self, f) is None for f in _CHANGE_FIELDS):
            raise ValidationError.single("$", "a change must change at least one field")


_CHANGE_FIELDS = (
    "full_name",
    "phone",
    "id_number",
    "address",
    "email",
    "preferred_contact",
    "birthday",
    "family",
)


@attrs.frozen(kw_only=True)
class AcquireUnit:
    """The customer takes another unit (ownership change in), verified first."""

    name: ClassVar[str] = "acquire_unit"
    customer_id: str = _ref_field()
    evidence: Verification
    holding: UnitHolding


@attrs.frozen(kw_only=True)
class ReleaseUnit:
    """The customer no longer holds a unit (sold or transferred), verified first."""

    name: ClassVar[str] = "release_unit"
    customer_id: str = _ref_field()
    evidence: Verification
    unit_id: str = _ref_field()
    until: date
    reason: str = _ref_field()


@attrs.frozen(kw_only=True)
class ChangeUnitUse:
    """The use of a held unit changes (self-use, investment, rental), verified first."""

    name: ClassVar[str] = "change_unit_use"
    customer_id: str = _ref_field()
    evidence: Verification
    unit_id: str = _ref_field()
    use: UnitUse = attrs.field(validator=member_of(UnitUse))
    since: date


@attrs.frozen(kw_only=True)
class RecordTitleCertificate:
    """Record a unit's title certificate number (产权证号), provided by sales.

    Seed 001: within 14 days of the certificate's issue; :func:`late_title_certificates`
    reports the late ones.
    """

    name: ClassVar[str] = "record_title"
    customer_id: str = _ref_field()
    unit_id: str = _ref_field()
    certificate_no: str = attrs.field(validator=non_empty_str, repr=False)
    issued_on: date


@attrs.frozen(kw_only=True)
class LinkTicket:
    """Add a complaint or repair ticket to the customer's service history."""

    name: ClassVar[str] = "link_ticket"
    customer_id: str = _ref_field()
    ticket_id: str = _ref_field()
    kind: TicketKind = attrs.field(validator=member_of(TicketKind))


@attrs.frozen(kw_only=True)
class RecordRevisitResult:
    """Add a revisit or survey answer; it becomes the customer's latest satisfaction."""

    name: ClassVar[str] = "record_revisit_result"
    customer_id: str = _ref_field()
    revisit_id: str = _ref_field()
    satisfaction: Satisfaction = attrs.field(validator=member_of(Satisfaction))
    on: date


@attrs.frozen(kw_only=True)
class UpdateProfile:
    """Set the segment or the club membership reference; ``None`` leaves a field unchanged."""

    name: ClassVar[str] = "update_profile"
    customer_id: str = _ref_field()
    segment: str | None = attrs.field(default=None, validator=_optional_text)
    club_membership_ref: str | None = attrs.field(default=None, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.segment is None and self.club_membership_ref is None:
            raise ValidationError.single("$", "set a segment or a club membership reference")


@attrs.frozen(kw_only=True)
class EraseCustomer:
    """Erase the customer's personal data (PIPL right to deletion).

    Ids, units held, ticket and revisit references and satisfaction stay, so KPI history does
    not change; name, contacts, ID number, birthday, family and title numbers go.

    Attributes:
        customer_id: The customer.
        reason: Why (the request).
        request_ref: The reference of the customer's request.
    """

    name: ClassVar[str] = "erase"
    customer_id: str = _ref_field()
    reason: str = _ref_field()
    request_ref: str = _ref_field()


#: The union of every customer-archive command.
ArchiveCommand: TypeAlias = (
    RegisterCustomer
    | ChangeCustomer
    | AcquireUnit
    | ReleaseUnit
    | ChangeUnitUse
    | RecordTitleCertificate
    | LinkTicket
    | RecordRevisitResult
    | UpdateProfile
    | EraseCustomer
)

#: Every archive command class by name.
COMMAND_TYPES: dict[str, type[ArchiveCommand]] = {
    cls.name: cls
    for cls in (
        RegisterCustomer,
        ChangeCustomer,
        AcquireUnit,
        ReleaseUnit,
        ChangeUnitUse,
        RecordTitleCertificate,
        LinkTicket,
        RecordRevisitResult,
        UpdateProfile,
        EraseCustomer,
    )
}

_STAFF = frozenset({Role.SUPERVISOR, Role.HOTLINE_AGENT, Role.SYSTEM})

#: Default roles that may issue each archive command: customer-service staff and the system;
#: erasure only by a supervisor or the system.
ARCHIVE_PERMISSIONS: Mapping[str, frozenset[Role]] = MappingProxyType(
    {
        **dict.fromkeys(COMMAND_TYPES, _STAFF),
        EraseCustomer.name: frozenset({Role.SUPERVISOR, Role.SYSTEM}),
    }
)

# ---------------------------------------------------------------------------------------------
# events


@attrs.frozen(kw_only=True)
class _Verified:
    """What a verified event keeps of its evidence: the form and the names of the fields checked.

    Attributes:
        form_ref: The change form the evidence came from.
        verified: The evidence fields that were checked and matched.
    """

    form_ref: str
    verified: tuple[str, ...] = attrs.field(converter=_names)


@attrs.frozen(kw_only=True)
class _PersonalFacts:
    """Personal fields an event may carry; ``None`` when not set, or once redacted."""

    full_name: str | None = attrs.field(default=None, repr=False)
    phone: str | None = attrs.field(default=None, repr=False)
    id_number: str | None = attrs.field(default=None, repr=False)
    address: str | None = attrs.field(default=None, repr=False)
    email: str | None = attrs.field(default=None, repr=False)
    birthday: date | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class CustomerRegistered(_PersonalFacts):
    """A record was created. Personal fields are ``None`` once redacted."""

    event_type: ClassVar[str] = "customer_registered"
    scope: OrgScope
    preferred_contact: ContactMethod = ContactMethod.PHONE
    family: tuple[FamilyMember, ...] = attrs.field(default=(), converter=_members, repr=False)
    units: tuple[UnitHolding, ...] = attrs.field(default=(), converter=_holdings)


@attrs.frozen(kw_only=True)
class CustomerChanged(_PersonalFacts):
    """A verified change of personal data; ``None`` fields were not changed.

    Attributes:
        form_ref: The change form the evidence came from.
        verified: The evidence fields that were checked and matched.
    """

    event_type: ClassVar[str] = "customer_changed"
    form_ref: str
    verified: tuple[str, ...] = attrs.field(converter=_names)
    preferred_contact: ContactMethod | None = None
    family: tuple[FamilyMember, ...] | None = attrs.field(
        default=None, converter=_family, repr=False
    )


@attrs.frozen(kw_only=True)
class UnitAcquired(_Verified):
    """The customer took a unit (verified)."""

    event_type: ClassVar[str] = "unit_acquired"
    holding: UnitHolding


@attrs.frozen(kw_only=True)
class UnitReleased(_Verified):
    """The customer no longer holds a unit (verified)."""

    event_type: ClassVar[str] = "unit_released"
    unit_id: str
    until: date
    reason: str


@attrs.frozen(kw_only=True)
class UnitUseChanged(_Verified):
    """The use of a held unit changed (verified)."""

    event_type: ClassVar[str] = "unit_use_changed"
    unit_id: str
    use: UnitUse
    since: date


@attrs.frozen(kw_only=True)
class TitleCertificateRecorded:
    """A title certificate number was recorded (on the event's date)."""

    event_type: ClassVar[str] = "title_certificate_recorded"
    unit_id: str
    certificate_no: str | None = attrs.field(repr=False)
    issued_on: date


@attrs.frozen(kw_only=True)
class TicketLinked:
    """A complaint or repair ticket joined the customer's history."""

    event_type: ClassVar[str] = "ticket_linked"
    ticket_id: str
    kind: TicketKind


@attrs.frozen(kw_only=True)
class RevisitResultRecorded:
    """A revisit or survey answer joined the customer's history."""

    event_type: ClassVar[str] = "revisit_result_recorded"
    revisit_id: str
    satisfaction: Satisfaction
    on: date


@attrs.frozen(kw_only=True)
class ProfileUpdated:
    """The segment or the club membership reference changed."""

    event_type: ClassVar[str] = "profile_updated"
    segment: str | None = None
    club_membership_ref: str | None = None


@attrs.frozen(kw_only=True)
class CustomerErased:
    """Tombstone: the customer's personal data was erased (PIPL)."""

    event_type: ClassVar[str] = "customer_erased"
    reason: str
    request_ref: str


#: The union of every customer-archive event payload; an `ArchiveEvent` carries one.
ArchivePayload: TypeAlias = (
    CustomerRegistered
    | CustomerChanged
    | UnitAcquired
    | UnitReleased
    | UnitUseChanged
    | TitleCertificateRecorded
    | TicketLinked
    | RevisitResultRecorded
    | ProfileUpdated
    | CustomerErased
)

#: Every archive payload class by wire name.
EVENT_TYPES: dict[str, type[ArchivePayload]] = {
    cls.event_type: cls
    for cls in (
        CustomerRegistered,
        CustomerChanged,
        UnitAcquired,
        UnitReleased,
        UnitUseChanged,
        TitleCertificateRecorded,
        TicketLinked,
        RevisitResultRecorded,
        ProfileUpdated,
        CustomerErased,
    )
}


@attrs.frozen(kw_only=True)
class ArchiveEvent:
    """One immutable fact in a customer's record (the envelope of ticket events, per customer).

    Attributes:
        event_id: ``"<customer_id>/<sequence>"``.
        customer_id: The customer (the aggregate id).
        sequence: Position in the record's history, 1 for the registration.
        occurred_at: When; timezone-aware.
        actor: Who.
        payload: The typed facts.
        schema_version: The payload schema version it was written with.
    """

    event_id: str = attrs.field(validator=non_empty_str)
    customer_id: str = attrs.field(validator=non_empty_str)
    sequence: int = attrs.field(validator=positive_int)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    actor: Actor
    payload: ArchivePayload
    schema_version: int = EVENT_SCHEMA_VERSION

    @property
    def type(self) -> str:
        """The payload's wire name."""
        return self.payload.event_type


# ---------------------------------------------------------------------------------------------
# decide


def _digits(value: str | None) -> str | None:
    return None if value is None else "".join(ch for ch in value if ch.isdigit())


def verify(
    record: CustomerRecord, evidence: Verification
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Check ``evidence`` against the record: ``(verified, mismatched)`` field names.

    Every identity fact the record holds must be given and match: the ID number (letters
    compared case-blind), the phone on record (digits compared) and a room the customer holds.

    Args:
        record: The record before the change.
        evidence: What the change form states.

    Returns:
        The evidence fields that matched, and those that did not (or were missing). When the
        record holds none of the three, ``mismatched`` is ``("record",)``: nothing can be
        verified against it.
    """
    verified: list[str] = []
    mismatched: list[str] = []
    if record.id_number is not None:
        given = evidence.id_number
        ok = given is not None and given.strip().upper() == record.id_number.upper()
        (verified if ok else mismatched).append("id_number")
    if record.phone is not None:
        ok = evidence.phone is not None and _digits(evidence.phone) == _digits(record.phone)
        (verified if ok else mismatched).append("phone")
    if record.held_units:
        (verified if evidence.unit_id in record.held_units else mismatched).append("unit_id")
    if not verified and not mismatched:
        mismatched.append("record")
    return tuple(verified), tuple(mismatched)


def _verified(record: CustomerRecord, command: Any) -> tuple[str, ...]:
    verified, mismatched = verify(record, command.evidence)
    if mismatched:
        raise VerificationError(
            customer_id=record.customer_id, command=command.name, mismatched=mismatched
        )
    return verified


def _refuse(command: ArchiveCommand, reason: str, hint: str | None = None) -> ArchiveRefusedError:
    return ArchiveRefusedError(
        customer_id=command.customer_id, command=command.name, reason=reason, hint=hint
    )


def _held(record: CustomerRecord, command: ArchiveCommand, unit_id: str) -> Ownership:
    ownership = record.ownership(unit_id)
    if ownership is None or not ownership.held:
        raise _refuse(
            command,
            f"the customer does not hold unit {unit_id!r}",
            hint="held units: " + (", ".join(record.held_units) or "none"),
        )
    return ownership


def _payload(record: CustomerRecord | None, command: ArchiveCommand) -> ArchivePayload:
    if isinstance(command, RegisterCustomer):
        if record is not None:
            raise _refuse(command, "the customer is already registered")
        return CustomerRegistered(
            scope=command.scope,
            full_name=command.full_name,
            phone=command.phone,
            id_number=command.id_number,
            address=command.address,
            email=command.email,
            preferred_contact=command.preferred_contact,
            birthday=command.birthday,
            family=command.family,
            units=command.units,
        )
    if record is None:
        raise _refuse(command, "the customer is not registered", hint="register them first")
    if record.erased:
        raise _refuse(
            command,
            "the customer's personal data was erased",
            hint="register the person again, with their consent, under a new id",
        )
    if isinstance(command, ChangeCustomer):
        verified = _verified(record, command)
        return CustomerChanged(
            form_ref=command.evidence.form_ref,
            verified=verified,
            **{f: getattr(command, f) for f in _CHANGE_FIELDS},
        )
    if isinstance(command, AcquireUnit):
        verified = _verified(record, command)
        if command.holding.unit_id in record.held_units:
            raise _refuse(command, f"the customer already holds {command.holding.unit_id!r}")
        return UnitAcquired(
            form_ref=command.evidence.form_ref, verified=verified, holding=command.holding
        )
    if isinstance(command, ReleaseUnit):
        verified = _verified(record, command)
        ownership = _held(record, command, command.unit_id)
        if command.until < ownership.since:
            raise ValidationError.single(
                "$.until", f"{command.until} is before the holding began ({ownership.since})"
            )
        return UnitReleased(
            form_ref=command.evidence.form_ref,
            verified=verified,
            unit_id=command.unit_id,
            until=command.until,
            reason=command.reason,
        )
    if isinstance(command, ChangeUnitUse):
        verified = _verified(record, command)
        _held(record, command, command.unit_id)
        return UnitUseChanged(
            form_ref=command.evidence.form_ref,
            verified=verified,
            unit_id=command.unit_id,
            use=command.use,
            since=command.since,
        )
    if isinstance(command, RecordTitleCertificate):
        if record.ownership(command.unit_id) is None:
            raise _refuse(command, f"the customer never held unit {command.unit_id!r}")
        return TitleCertificateRecorded(
            unit_id=command.unit_id,
            certificate_no=command.certificate_no,
            issued_on=command.issued_on,
        )
    if isinstance(command, LinkTicket):
        if any(t.ticket_id == command.ticket_id for t in record.tickets):
            raise _refuse(command, f"ticket {command.ticket_id!r} is already linked")
        return TicketLinked(ticket_id=command.ticket_id, kind=command.kind)
    if isinstance(command, RecordRevisitResult):
        return RevisitResultRecorded(
            revisit_id=command.revisit_id, satisfaction=command.satisfaction, on=command.on
        )
    if isinstance(command, UpdateProfile):
        return ProfileUpdated(
            segment=command.segment, club_membership_ref=command.club_membership_ref
        )
    if isinstance(command, EraseCustomer):
        return CustomerErased(reason=command.reason, request_ref=command.request_ref)
    raise ValidationError.single(  # pragma: no cover - every command is handled above
        "$", f"not an archive command: {type(command).__name__}"
    )


def decide(
    record: CustomerRecord | None,
    command: ArchiveCommand,
    *,
    now: datetime,
    actor: Actor,
    permissions: Mapping[str, frozenset[Role]] = ARCHIVE_PERMISSIONS,
) -> list[ArchiveEvent]:
    """Decide ``command`` against ``record``: the event it leads to, or a typed refusal.

    Args:
        record: The record, or ``None`` for :class:`RegisterCustomer`.
        command: What is asked.
        now: When; timezone-aware, not before the record's latest event.
        actor: Who asks.
        permissions: Command name → roles that may issue it.

    Returns:
        One event, numbered ``record.version + 1``.

    Raises:
        VerificationError: The evidence does not match the ID number, phone or room on record.
        ArchiveRefusedError: The command does not fit the record (not registered, erased, a unit
            not held, a ticket linked twice).
        PermissionDeniedError: The actor's role may not issue the command, or the customer lies
            outside the actor's org scope.
        ValidationError: A naive ``now``, one before the latest event, or a bad field.
    """
    require_aware(now, "$.now")
    if actor.role not in permissions.get(command.name, frozenset()):
        raise PermissionDeniedError(
            f"role {actor.role.value!r} may not issue {command.name!r}",
            hint="issue it as customer-service staff, or pass other permissions",
        )
    target = command.scope if isinstance(command, RegisterCustomer) else None
    target = record.scope if record is not None else target
    if target is not None:
        actor.require_covers(target, subject="customer")
    if record is not None:
        if command.customer_id != record.customer_id:
            raise ValidationError.single(
                "$.customer_id",
                f"command is for customer {command.customer_id!r}, not {record.customer_id!r}",
            )
        if now < record.updated_at:
            raise ValidationError.single(
                "$.now",
                f"{now.isoformat()} is before the record's latest event",
                hint="histories are append-only in time; pass the current time as now",
            )
    payload = _payload(record, command)
    sequence = 1 if record is None else record.version + 1
    return [
        ArchiveEvent(
            event_id=f"{command.customer_id}/{sequence}",
            customer_id=command.customer_id,
            sequence=sequence,
            occurred_at=now,
            actor=actor,
            payload=payload,
        )
    ]


# ---------------------------------------------------------------------------------------------
# apply and replay

_State = dict[str, Any]
_CHANGED = {"full_name": "name", **{f: f for f in _CHANGE_FIELDS if f != "full_name"}}


def _ownership(state: _State, unit_id: str) -> int:
    return max(i for i, o in enumerate(state["units"]) if o.unit_id == unit_id)


def _set_ownership(state: _State, unit_id: str, **changes: Any) -> None:
    index = _ownership(state, unit_id)
    units = list(state["units"])
    units[index] = attrs.evolve(units[index], **changes)
    state["units"] = tuple(units)


def _new_ownership(holding: UnitHolding) -> Ownership:
    return Ownership(
        unit_id=holding.unit_id,
        since=holding.since,
        use=holding.use,
        use_history=((holding.since, holding.use),),
    )


def _fold(state: _State | None, event: ArchiveEvent) -> _State:
    p = event.payload
    if state is None:
        if event.sequence != 1 or not isinstance(p, CustomerRegistered):
            raise ValidationError.single(
                "$.sequence",
                f"a record starts with customer_registered at sequence 1, not {event.type} "
                f"at {event.sequence}",
                subject="archive history",
            )
        state = {
            "customer_id": event.customer_id,
            "scope": p.scope,
            "name": p.full_name,
            "id_number": p.id_number,
            "phone": p.phone,
            "address": p.address,
            "email": p.email,
            "preferred_contact": p.preferred_contact,
            "birthday": p.birthday,
            "family": p.family,
            "units": tuple(_new_ownership(h) for h in p.units),
            "tickets": (),
            "revisits": (),
            "satisfaction": None,
            "club_membership_ref": None,
            "segment": None,
            "erased": False,
            "registered_at": event.occurred_at,
        }
    elif event.customer_id != state["customer_id"] or event.sequence != state["version"] + 1:
        raise ValidationError.single(
            "$.sequence",
            f"expected event {state['version'] + 1} of customer {state['customer_id']!r}, got "
            f"{event.sequence} of {event.customer_id!r}",
            subject="archive history",
            hint="events must be applied in order without gaps or repeats",
        )
    elif isinstance(p, CustomerChanged):
        for wire, field in _CHANGED.items():
            value = getattr(p, wire)
            if value is not None:
                state[field] = value
    elif isinstance(p, UnitAcquired):
        state["units"] = (*state["units"], _new_ownership(p.holding))
    elif isinstance(p, UnitReleased):
        _set_ownership(state, p.unit_id, until=p.until)
    elif isinstance(p, UnitUseChanged):
        history = state["units"][_ownership(state, p.unit_id)].use_history
        _set_ownership(state, p.unit_id, use=p.use, use_history=(*history, (p.since, p.use)))
    elif isinstance(p, TitleCertificateRecorded):
        _set_ownership(
            state,
            p.unit_id,
            title_certificate_no=p.certificate_no,
            title_issued_on=p.issued_on,
            title_recorded_on=event.occurred_at.date(),
        )
    elif isinstance(p, TicketLinked):
        state["tickets"] = (*state["tickets"], TicketLink(ticket_id=p.ticket_id, kind=p.kind))
    elif isinstance(p, RevisitResultRecorded):
        link = RevisitLink(revisit_id=p.revisit_id, satisfaction=p.satisfaction, on=p.on)
        state["revisits"] = (*state["revisits"], link)
        state["satisfaction"] = p.satisfaction
    elif isinstance(p, ProfileUpdated):
        if p.segment is not None:
            state["segment"] = p.segment
        if p.club_membership_ref is not None:
            state["club_membership_ref"] = p.club_membership_ref
    elif isinstance(p, CustomerErased):
        for field in PERSONAL_FIELDS:
            state[field] = () if field == "family" else None
        state["units"] = tuple(attrs.evolve(o, title_certificate_no=None) for o in state["units"])
        state["erased"] = True
    state["version"] = event.sequence
    state["updated_at"] = event.occurred_at
    return state


def apply(record: CustomerRecord | None, event: ArchiveEvent) -> CustomerRecord:
    """Fold one event into ``record`` (``None`` before the registration).

    Raises:
        ValidationError: The event does not follow the record.
    """
    state = None if record is None else attrs.asdict(record, recurse=False)
    return CustomerRecord(**_fold(state, event))


def replay(events: Iterable[ArchiveEvent]) -> CustomerRecord:
    """Rebuild a record from its whole history, in order.

    Raises:
        ValidationError: The history is empty or out of order.
    """
    state: _State | None = None
    for event in events:
        state = _fold(state, event)
    if state is None:
        raise ValidationError.single("$", "an empty history has no record", subject="history")
    return CustomerRecord(**state)


def replay_archive(events: Iterable[ArchiveEvent]) -> dict[str, CustomerRecord]:
    """Rebuild every record of a stream whose per-customer histories are each in order.

    Returns:
        Customer id → record, in the order customers first appear.
    """
    histories: dict[str, list[ArchiveEvent]] = {}
    for event in events:
        histories.setdefault(event.customer_id, []).append(event)
    return {customer_id: replay(history) for customer_id, history in histories.items()}


def history_of(events: Iterable[ArchiveEvent], field: str) -> tuple[tuple[datetime, Any], ...]:
    """Every value a record field took, with when, oldest first (the change history).

    Args:
        events: One customer's history.
        field: A personal field (``"phone"``, ``"address"`` …) or ``"preferred_contact"``.

    Returns:
        ``(occurred_at, value)`` for the registration (when it set the field) and each verified
        change of it; an erasure adds ``(occurred_at, None)``.
    """
    wire = "full_name" if field == "name" else field
    found: list[tuple[datetime, Any]] = []
    for event in events:
        p = event.payload
        if isinstance(p, CustomerRegistered | CustomerChanged):
            value = getattr(p, wire, None)
            if value is not None:
                found.append((event.occurred_at, value))
        elif isinstance(p, CustomerErased) and field in PERSONAL_FIELDS:
            found.append((event.occurred_at, None))
    return tuple(found)


_BLANK = dict.fromkeys(a.name for a in attrs.fields(_PersonalFacts))
_REDACTED: Mapping[type[Any], Mapping[str, Any]] = {
    CustomerRegistered: {**_BLANK, "family": ()},
    CustomerChanged: {**_BLANK, "family": None},
    TitleCertificateRecorded: {"certificate_no": None},
}


def redact(events: Iterable[ArchiveEvent]) -> Iterator[ArchiveEvent]:
    """The history with personal values removed from every event, for a store to rewrite.

    Use it after an erasure: ids, sequences, times, actors and non-personal facts (units held,
    tickets, revisits, segment) are kept, so KPIs computed from the history do not change.
    """
    for event in events:
        blank = _REDACTED.get(type(event.payload))
        yield (
            event
            if blank is None
            else attrs.evolve(event, payload=attrs.evolve(event.payload, **blank))
        )
