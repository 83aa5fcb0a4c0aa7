"""Wire hooks for the archive: events, commands, and masking of personal fields (private)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cattrs import Converter
from cattrs.gen import make_dict_unstructure_fn

from propcrm.customers import _archive as a
from propcrm.customers._values import (
    CustomerRecord,
    FamilyMember,
    Ownership,
    Verification,
    mask_text,
)
from propcrm.model.customer import mask_id_number, mask_name, mask_phone
from propcrm.serialization import register_commands
from propcrm.workflow.delivery_serialization import register_aggregate_events

__all__ = ["converter", "register"]


def _hide(_value: Any) -> None:
    return None


#: Wire key → how an export without ``reveal_pii`` writes it.
_MASKS: dict[str, Callable[[Any], Any]] = {
    "name": mask_name,
    "full_name": mask_name,
    "phone": mask_phone,
    "id_number": mask_id_number,
    "address": mask_text,
    "email": mask_text,
    "birthday": _hide,
    "certificate_no": mask_text,
    "title_certificate_no": mask_text,
}

#: Classes whose fields hold personal data, inner ones first (hooks are built in this order).
_PII_CLASSES: tuple[type[Any], ...] = (
    FamilyMember,
    Verification,
    Ownership,
    CustomerRecord,
    a.CustomerRegistered,
    a.CustomerChanged,
    a.TitleCertificateRecorded,
    a.RegisterCustomer,
    a.ChangeCustomer,
    a.RecordTitleCertificate,
)


def _masking(converter: Converter, cls: type[Any]) -> None:
    plain = make_dict_unstructure_fn(cls, converter)
    name = getattr(cls, "name", None) if cls in a.COMMAND_TYPES.values() else None

    def unstructure(value: Any) -> dict[str, Any]:
        data = plain(value)
        for key, mask in _MASKS.items():
            if key in data and data[key] is not None:
                data[key] = mask(data[key])
        return data if name is None else {"command": name, **data}

    converter.register_unstructure_hook(cls, unstructure)


def register(converter: Converter) -> None:
    """Teach ``converter`` the archive events (:class:`ArchiveEvent`) and commands.

    A converter made without ``reveal_pii`` writes personal fields masked (and masked values
    are refused when read back, so a masked export never overwrites real data).

    Example:
        >>> from propcrm.serialization import make_converter
        >>> from propcrm import customers
        >>> converter = make_converter()
        >>> customers.register(converter)
    """
    register_commands(converter, a.ArchiveCommand, a.COMMAND_TYPES)
    if not getattr(converter, "reveal_pii", False):
        for cls in _PII_CLASSES:
            _masking(converter, cls)
    register_aggregate_events(converter, a.ArchiveEvent, a.EVENT_TYPES, a.EVENT_SCHEMA_VERSION)


@functools.cache
def converter(*, reveal_pii: bool) -> Converter:
    """The propcrm converter with the archive hooks registered (built once per setting)."""
    from propcrm.serialization import make_converter

    return make_converter(reveal_pii=reveal_pii)  # make_converter registers the archive hooks
