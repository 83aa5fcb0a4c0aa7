"""Field validators shared by the value classes (private).

attrs calls each validator with ``(instance, attribute, value)``. These raise
:class:`propcrm.errors.ValidationError` carrying the field path ``$.<field>``, so a bad value
reports where it is even when the value is built directly rather than parsed from JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

import attrs

from propcrm.errors import ValidationError

__all__ = [
    "aware_datetime",
    "member_of",
    "non_empty_str",
    "optional_aware_datetime",
    "positive_int",
    "require_aware",
]


def _path(attribute: attrs.Attribute[Any]) -> str:
    return f"$.{attribute.name}"


def require_aware(value: datetime, path: str = "$") -> datetime:
    """Return ``value`` if it is a timezone-aware datetime; raise ``ValidationError`` otherwise."""
    if not isinstance(value, datetime):
        raise ValidationError.single(path, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(
            path,
            f"naive datetime {value.isoformat()} refused",
            hint="attach a time zone, e.g. value.replace(tzinfo=ZoneInfo('Asia/Shanghai'))",
        )
    return value


def aware_datetime(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate a timezone-aware ``datetime``."""
    require_aware(value, _path(attribute))  # type: ignore[arg-type]


def optional_aware_datetime(
    _instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Validate ``None`` or a timezone-aware ``datetime``."""
    if value is not None:
        require_aware(value, _path(attribute))  # type: ignore[arg-type]


def positive_int(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate an integer ≥ 1 (booleans refused), e.g. an event's sequence number."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be an integer ≥ 1, got {value!r}"
        )


def non_empty_str(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate a string with at least one non-space character."""
    if not isinstance(value, str):
        raise ValidationError.single(
            _path(attribute), f"expected a string, got {type(value).__name__}"
        )
    if not value.strip():
        raise ValidationError.single(_path(attribute), "must not be empty")


def member_of(enum_cls: type[Enum]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """An attrs validator: the value must be a member of ``enum_cls``.

    Values are built from wire strings at the edges (cattrs); inside the library a field of an
    enum type holds a member, never a bare string.
    """

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, enum_cls):
            choices = ", ".join(repr(m.value) for m in enum_cls)
            raise ValidationError.single(
                f"$.{attribute.name}",
                f"{value!r} is not a {enum_cls.__name__}",
                hint=f"pass {enum_cls.__name__}(value) with a value among {choices}",
            )

    return validate
