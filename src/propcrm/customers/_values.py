"""Values of the customer archive: contacts, family, units held, evidence, the record (private)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.model.customer import mask_id_number, mask_name, mask_phone
from propcrm.model.enums import LabelledEnum, Satisfaction, TicketKind
from propcrm.model.org import OrgScope

__all__ = [
    "PERSONAL_FIELDS",
    "ContactMethod",
    "CustomerRecord",
    "FamilyMember",
    "Ownership",
    "RevisitLink",
    "TicketLink",
    "UnitHolding",
    "UnitUse",
    "Verification",
    "mask_text",
]

#: The record's personal fields (PIPL): masked in reprs and exports, logged when read in full,
#: removed by erasure. Everything else (ids, units held, service history) is kept for KPIs.
PERSONAL_FIELDS: tuple[str, ...] = (
    "name",
    "id_number",
    "phone",
    "address",
    "email",
    "birthday",
    "family",
)


def mask_text(value: str | None) -> str | None:
    """Mask free personal text (an address, an e-mail): the first three characters and ``***``."""
    if value is None or value.endswith("***"):
        return value
    return value[:3] + "***"


def _masked(mask: Callable[[str | None], str | None]) -> Callable[[str | None], str]:
    return lambda value: repr(mask(value))


def _hidden_date(value: date | None) -> str:
    return "None" if value is None else "'****-**-**'"


_optional_text = attrs.validators.optional(non_empty_str)


class ContactMethod(LabelledEnum):
    """How the customer prefers to be contacted (首选联系方式)."""

    PHONE = ("phone", "电话", "Phone")
    SMS = ("sms", "短信", "SMS")
    WECHAT = ("wechat", "微信", "WeChat")
    EMAIL = ("email", "电子邮件", "E-mail")
    LETTER = ("letter", "信函", "Letter")


class UnitUse(LabelledEnum):
    """What the owner does with a unit (房屋使用)."""

    SELF_USE = ("self_use", "自住", "Self-use")
    INVESTMENT = ("investment", "投资", "Investment")
    RENTAL = ("rental", "出租", "Rental")


@attrs.frozen(kw_only=True)
class FamilyMember:
    """A family member (家庭成员); personal data, masked in ``repr``.

    Attributes:
        name: Name.
        relation: Relation to the customer, e.g. ``"spouse"``, ``"配偶"``.
        birthday: Birthday, if known.
        phone: Phone, if known (not validated: family contacts are free text).
    """

    name: str = attrs.field(validator=non_empty_str, repr=_masked(mask_name))
    relation: str = attrs.field(validator=non_empty_str)
    birthday: date | None = attrs.field(default=None, repr=_hidden_date)
    phone: str | None = attrs.field(default=None, repr=_masked(mask_phone))


@attrs.frozen(kw_only=True)
class UnitHolding:
    """A unit a customer takes (from sales, or by transfer).

    Attributes:
        unit_id: The unit (房号).
        since: The day the customer holds it from (contract or transfer date).
        use: Self-use, investment or rental.
    """

    unit_id: str = attrs.field(validator=non_empty_str)
    since: date
    use: UnitUse = attrs.field(default=UnitUse.SELF_USE, validator=member_of(UnitUse))


@attrs.frozen(kw_only=True)
class Verification:
    """The evidence a change is checked against (seed 001: 核实客户身份).

    The customer's ID number, phone and room as stated on the change form; every one the record
    holds must match before the change applies. The values are compared, never stored in events:
    events keep ``form_ref`` and the names of the fields checked.

    Attributes:
        form_ref: The change form (客户信息变更登记表) or channel reference.
        id_number: The ID number given.
        phone: The phone number given (the one on record, not the new one).
        unit_id: A room the customer holds.
    """

    form_ref: str = attrs.field(validator=non_empty_str)
    id_number: str | None = attrs.field(default=None, repr=_masked(mask_id_number))
    phone: str | None = attrs.field(default=None, repr=_masked(mask_phone))
    unit_id: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(kw_only=True)
class Ownership:
    """A unit the customer holds or held, with its history.

    Attributes:
        unit_id: The unit.
        since: Held from.
        use: The current use.
        until: Held until (ownership changed), ``None`` while held.
        use_history: Every (from day, use), oldest first.
        title_certificate_no: The title certificate number (产权证号), once recorded.
        title_issued_on: The day the certificate was issued.
        title_recorded_on: The day the number was recorded in the archive.
    """

    unit_id: str
    since: date
    use: UnitUse
    until: date | None = None
    use_history: tuple[tuple[date, UnitUse], ...] = ()
    title_certificate_no: str | None = attrs.field(default=None, repr=_masked(mask_text))
    title_issued_on: date | None = None
    title_recorded_on: date | None = None

    @property
    def held(self) -> bool:
        """Whether the customer still holds the unit."""
        return self.until is None


@attrs.frozen(kw_only=True)
class TicketLink:
    """A complaint or repair in the customer's history (a reference to the ticket)."""

    ticket_id: str
    kind: TicketKind


@attrs.frozen(kw_only=True)
class RevisitLink:
    """A revisit or survey answer in the customer's history."""

    revisit_id: str
    satisfaction: Satisfaction
    on: date


def _tuple(values: Iterable[object]) -> tuple[object, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CustomerRecord:
    """The 360° view of one customer (seed 002), derived from the archive's events.

    ``repr`` (and so ``str``, logs and tracebacks) masks every personal field. Read them in
    full with :func:`propcrm.customers.read_full`, which logs the access.

    Attributes:
        customer_id: Stable id.
        scope: The tenant chain down to the project the customer belongs to.
        name: Name.
        id_number: ID card or passport number.
        phone: Phone.
        address: Postal address (通讯地址).
        email: E-mail.
        preferred_contact: Preferred contact method.
        birthday: Birthday.
        family: Family members.
        units: Units held or once held, with their history.
        tickets: Complaint and repair history (references).
        revisits: Revisits and survey answers.
        satisfaction: The latest satisfaction answer.
        club_membership_ref: Reference to the customer-club membership (客户会).
        segment: The customer segment (e.g. an RFM segment).
        erased: Whether personal data was erased (PIPL); ids and service facts remain.
        registered_at: When the record was created.
        version: The sequence of the latest event.
        updated_at: When the latest event occurred.
    """

    customer_id: str
    scope: OrgScope
    name: str | None = attrs.field(repr=_masked(mask_name))
    id_number: str | None = attrs.field(repr=_masked(mask_id_number))
    phone: str | None = attrs.field(repr=_masked(mask_phone))
    address: str | None = attrs.field(repr=_masked(mask_text))
    email: str | None = attrs.field(repr=_masked(mask_text))
    preferred_contact: ContactMethod
    birthday: date | None = attrs.field(repr=_hidden_date)
    family: tuple[FamilyMember, ...]
    units: tuple[Ownership, ...]
    tickets: tuple[TicketLink, ...]
    revisits: tuple[RevisitLink, ...]
    satisfaction: Satisfaction | None
    club_membership_ref: str | None
    segment: str | None
    erased: bool
    registered_at: datetime
    version: int
    updated_at: datetime

    @property
    def held_units(self) -> tuple[str, ...]:
        """The units the customer holds now."""
        return tuple(o.unit_id for o in self.units if o.held)

    def ownership(self, unit_id: str) -> Ownership | None:
        """The customer's (latest) ownership of ``unit_id``, if any."""
        found = [o for o in self.units if o.unit_id == unit_id]
        return found[-1] if found else None

    def masked(self) -> CustomerRecord:
        """A copy fit for display: personal fields replaced by their masked forms.

        Never store the copy as the customer's data.
        """
        return attrs.evolve(
            self,
            name=mask_name(self.name),
            id_number=mask_id_number(self.id_number),
            phone=mask_phone(self.phone),
            address=mask_text(self.address),
            email=mask_text(self.email),
            birthday=None,
            family=tuple(
                attrs.evolve(m, name=mask_name(m.name) or "*", phone=mask_phone(m.phone))
                for m in self.family
            ),
            units=tuple(
                attrs.evolve(o, title_certificate_no=mask_text(o.title_certificate_no))
                for o in self.units
            ),
        )
