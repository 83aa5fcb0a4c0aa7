"""Customer references with personal data that stays masked unless asked for.

Phone and ID numbers are personal information (PIPL). ``repr`` and ``str`` always mask them;
code that needs the full value reads the attribute explicitly, and exports mask unless the caller
passes ``reveal_pii=True`` (see :mod:`propcrm.serialization`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from propcrm._validation import non_empty_str
from propcrm.errors import ValidationError

__all__ = ["CustomerRef", "mask_id_number", "mask_name", "mask_phone"]

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
_ID_NUMBER = re.compile(r"^[0-9A-Za-z]{6,20}$")


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number, keeping the first three and last four digits: ``138****5678``."""
    if phone is None or "*" in phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str | None) -> str | None:
    """Mask an ID number, keeping the first and last two characters: ``11**************1X``."""
    if id_number is None or "*" in id_number:
        return id_number
    if len(id_number) <= 4:
        return "*" * len(id_number)
    return id_number[:2] + "*" * (len(id_number) - 4) + id_number[-2:]


def mask_name(name: str | None) -> str | None:
    """Mask a personal name, keeping the family name: ``张**``."""
    if name is None or "*" in name:
        return name
    return name[:1] + "*" * (len(name) - 1)


def _masked_repr(mask: Callable[[str | None], str | None]) -> Callable[[str | None], str]:
    return lambda value: repr(mask(value))


def _phone(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not _PHONE.match(value):
        shown = mask_phone(value) if isinstance(value, str) else type(value).__name__
        hint = (
            "this looks like a masked export; import from a source that keeps personal data"
            if isinstance(value, str) and "*" in value
            else "use digits, with an optional leading + and spaces or dashes"
        )
        looks_masked = " (looks masked)" if isinstance(value, str) and "*" in value else ""
        raise ValidationError.single(
            f"$.{attribute.name}", f"not a phone number: {shown}{looks_masked}", hint=hint
        )


def _id_number(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not _ID_NUMBER.match(value):
        shown = mask_id_number(value) if isinstance(value, str) else type(value).__name__
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"not an ID number: {shown}"
            + (" (looks masked)" if isinstance(value, str) and "*" in value else ""),
            hint="6 to 20 letters or digits; a value with '*' is a masked export",
        )


@attrs.frozen(kw_only=True)
class CustomerRef:
    """Who reported an issue: a reference to a customer (owner, tenant or prospect).

    ``repr`` masks ``name``, ``phone`` and ``id_number``; read the attributes to get the values.

    Attributes:
        customer_id: Stable id of the customer in the archive.
        name: Display name.
        phone: Contact phone number.
        id_number: ID card or passport number.
    """

    customer_id: str = attrs.field(validator=non_empty_str)
    name: str | None = attrs.field(default=None, repr=_masked_repr(mask_name))
    phone: str | None = attrs.field(default=None, validator=_phone, repr=_masked_repr(mask_phone))
    id_number: str | None = attrs.field(
        default=None, validator=_id_number, repr=_masked_repr(mask_id_number)
    )

    def masked(self) -> CustomerRef:
        """A copy fit for display: personal fields replaced by their masked forms.

        The copy bypasses validation on purpose (masked values are not valid phone numbers),
        so it must never be stored as the customer's data.
        """
        copy = object.__new__(CustomerRef)
        object.__setattr__(copy, "customer_id", self.customer_id)
        object.__setattr__(copy, "name", mask_name(self.name))
        object.__setattr__(copy, "phone", mask_phone(self.phone))
        object.__setattr__(copy, "id_number", mask_id_number(self.id_number))
        return copy
