"""Serialization at the edges: every value, command and event to and from JSON, with cattrs.

The domain never sees dictionaries: JSON is turned into values here, once, and malformed input
raises :class:`propcrm.errors.ValidationError` listing every bad field with its JSONPath
(``$.events[3].occurred_at``).

Wire conventions:

- datetimes are ISO 8601 strings with a UTC offset; naive ones are refused;
- money is a decimal string (``"10.05"``), never a float;
- durations are seconds;
- enums are their wire values; sets are sorted lists;
- an event is an envelope ``{"type": ..., "payload": {...}, ...}``; a command is
  ``{"command": "dispatch", ...}``;
- phone and ID numbers are masked unless the converter is made with ``reveal_pii=True``
  (stores do that; exports and logs do not).

Example:
    >>> from propcrm.serialization import dumps, loads
    >>> from propcrm.model import OrgScope
    >>> dumps(OrgScope(company_id="c1", project_id="p1"))
    '{"company_id":"c1","project_id":"p1","group_id":null,"service_centre_id":null}'
    >>> loads('{"company_id": "c1", "project_id": ""}', OrgScope)
    Traceback (most recent call last):
    ...
    propcrm.errors.ValidationError: invalid OrgScope: 1 bad field
      - must not be empty @ $.project_id
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
from cattrs import BaseValidationError, ClassValidationError, Converter, IterableValidationError
from cattrs.errors import AttributeValidationNote
from cattrs.gen import make_dict_unstructure_fn
from cattrs.preconf.json import JsonConverter, configure_converter

from propcrm.errors import FieldError, ValidationError
from propcrm.model.customer import CustomerRef, mask_id_number, mask_name, mask_phone
from propcrm.workflow.commands import COMMAND_TYPES, Command
from propcrm.workflow.events import EVENT_SCHEMA_VERSION, EVENT_TYPES, Event

__all__ = [
    "PropcrmConverter",
    "dumps",
    "field_errors",
    "loads",
    "make_converter",
    "register_commands",
    "structure",
    "unstructure",
]

T = TypeVar("T")


def _join(base: str, relative: str) -> str:
    """Join a cattrs path with a path relative to the value found there (``$.x``)."""
    return base + relative[1:] if relative.startswith("$") else f"{base}.{relative}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, TypeError) and "missing" in str(exc) and "argument" in str(exc):
        return f"required field missing ({exc})"
    return str(exc) or type(exc).__name__


def field_errors(exc: BaseException, path: str = "$") -> list[FieldError]:
    """Flatten a (cattrs or propcrm) validation error into field errors with full paths."""
    if isinstance(exc, ValidationError):
        return [FieldError(path=_join(path, e.path), message=e.message) for e in exc.errors]
    if isinstance(exc, IterableValidationError | ClassValidationError):
        errors: list[FieldError] = []
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                inner_path = f"{path}.{note.name}"
            else:
                inner_path = f"{path}[{note.index!r}]"
            errors.extend(field_errors(inner, inner_path))
        for inner in without:
            errors.extend(field_errors(inner, path))
        return errors
    return [FieldError(path=path, message=_describe(exc))]


def _first_hint(exc: BaseException) -> str | None:
    """The hint of the first propcrm error inside a (possibly nested) cattrs error."""
    if isinstance(exc, ValidationError):
        return exc.hint
    for inner in getattr(exc, "exceptions", ()):
        hint = _first_hint(inner)
        if hint:
            return hint
    return None


class PropcrmConverter(JsonConverter):
    """A cattrs JSON converter whose ``structure`` raises :class:`ValidationError`.

    Made by :func:`make_converter`; ``reveal_pii`` records whether it writes personal data.
    """

    reveal_pii: bool = False

    def structure(self, obj: Any, cl: Any) -> Any:
        """Structure ``obj`` into ``cl``; malformed input raises ``ValidationError``."""
        try:
            return super().structure(obj, cl)
        except ValidationError:
            raise
        except (BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            name = getattr(cl, "__name__", None) or str(cl)
            raise ValidationError(field_errors(exc), subject=name, hint=_first_hint(exc)) from None


def _structure_datetime(value: Any, _type: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 datetime: {value!r}") from None
    else:
        raise ValueError(f"expected an ISO 8601 datetime string, got {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} refused; include a UTC offset")
    return parsed


def _structure_date(value: Any, _type: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date string, got {type(value).__name__}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO date: {value!r}") from None


def _structure_decimal(value: Any, _type: Any) -> Decimal:
    if isinstance(value, bool | float):
        raise ValueError(f'money must be a decimal string such as "10.05", not {value!r}')
    if isinstance(value, Decimal | int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite decimal: {value!r}")
        return result
    raise ValueError(f"expected a decimal string, got {type(value).__name__}")


def _structure_timedelta(value: Any, _type: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a duration in seconds, got {value!r}")
    return timedelta(seconds=value)


def _structure_str(value: Any, _type: Any) -> str:
    # cattrs would turn 42 into "42"; a wrong type at the edge is a mistake worth reporting.
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_int(value: Any, _type: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _structure_bool(value: Any, _type: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _require_mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError.single("$", f"expected an object, got {type(value).__name__}")
    return value


def _register_events(converter: PropcrmConverter) -> None:
    envelope = [a for a in attrs.fields(Event) if a.name != "payload"]

    def unstructure_event(event: Event) -> dict[str, Any]:
        return {
            "event_id": event.event_id,
            "ticket_id": event.ticket_id,
            "sequence": event.sequence,
            "type": event.type,
            "occurred_at": converter.unstructure(event.occurred_at),
            "actor": converter.unstructure(event.actor),
            "payload": converter.unstructure(event.payload),
            "schema_version": event.schema_version,
        }

    def structure_event(value: Any, _type: Any) -> Event:
        data = _require_mapping(value)
        errors: list[FieldError] = []
        fields: dict[str, Any] = {}
        type_name = data.get("type")
        payload_cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
        if payload_cls is None:
            errors.append(FieldError(path="$.type", message=f"unknown event type {type_name!r}"))
        schema_version = data.get("schema_version", EVENT_SCHEMA_VERSION)
        if schema_version != EVENT_SCHEMA_VERSION:
            errors.append(
                FieldError(
                    path="$.schema_version",
                    message=f"schema version {schema_version!r} is not supported "
                    f"(this propcrm writes and reads {EVENT_SCHEMA_VERSION})",
                )
            )
        for field in envelope:
            if field.name == "schema_version":
                continue
            if field.name not in data:
                errors.append(FieldError(path=f"$.{field.name}", message="required field missing"))
                continue
            try:
                value = converter.structure(data[field.name], field.type)
            except ValidationError as exc:
                errors.extend(field_errors(exc, f"$.{field.name}"))
                continue
            # Run the field's own validator now, so one pass reports every bad field; its
            # errors already carry the path "$.<field>".
            try:
                if field.validator is not None:
                    field.validator(None, field, value)
            except ValidationError as exc:
                errors.extend(exc.errors)
                continue
            fields[field.name] = value
        if payload_cls is not None:
            if "payload" not in data:
                errors.append(FieldError(path="$.payload", message="required field missing"))
            else:
                try:
                    fields["payload"] = converter.structure(data["payload"], payload_cls)
                except ValidationError as exc:
                    errors.extend(field_errors(exc, "$.payload"))
        if errors:
            raise ValidationError(errors, subject="Event")
        return Event(**fields, schema_version=EVENT_SCHEMA_VERSION)

    converter.register_unstructure_hook(Event, unstructure_event)
    converter.register_structure_hook(Event, structure_event)


def register_commands(
    converter: Converter, union: Any, command_types: Mapping[str, type[Any]]
) -> None:
    """Register ``{"command": name, ...}`` for every class of ``command_types`` and ``union``.

    Args:
        converter: A converter from :func:`make_converter`.
        union: The command union alias; structuring it dispatches on the ``"command"`` key.
        command_types: Command name → class.
    """
    for command_cls in command_types.values():
        plain = make_dict_unstructure_fn(command_cls, converter)

        def unstructure(command: Any, _plain: Any = plain) -> dict[str, Any]:
            return {"command": command.name, **_plain(command)}

        converter.register_unstructure_hook(command_cls, unstructure)

    def structure(value: Any, _type: Any) -> Any:
        data = dict(_require_mapping(value))
        name = data.pop("command", None)
        command_cls = command_types.get(name) if isinstance(name, str) else None
        if command_cls is None:
            raise ValidationError.single(
                "$.command",
                f"unknown command {name!r}",
                hint="one of " + ", ".join(sorted(command_types)),
            )
        return converter.structure(data, command_cls)

    converter.register_structure_hook_func(lambda t: t == union, structure)


def _register_pii(converter: PropcrmConverter, *, reveal_pii: bool) -> None:
    if reveal_pii:
        return

    def unstructure_customer(customer: CustomerRef) -> dict[str, Any]:
        return {
            "customer_id": customer.customer_id,
            "name": mask_name(customer.name),
            "phone": mask_phone(customer.phone),
            "id_number": mask_id_number(customer.id_number),
        }

    converter.register_unstructure_hook(CustomerRef, unstructure_customer)


def make_converter(*, reveal_pii: bool = False) -> PropcrmConverter:
    """Make the converter propcrm uses at its edges.

    Args:
        reveal_pii: Write phone and ID numbers in full. Stores pass ``True``; exports, logs and
            APIs should keep the default, which writes masked values (and masked values are
            refused when read back, so a masked export can never overwrite real data).
    """
    converter = PropcrmConverter(
        unstruct_collection_overrides={AbstractSet: list},
        detailed_validation=True,
        forbid_extra_keys=True,
    )
    # Start from cattrs' JSON preset, then tighten what the edge accepts.
    configure_converter(converter)
    converter.reveal_pii = reveal_pii
    converter.register_unstructure_hook(datetime, lambda v: v.isoformat())
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(date, lambda v: v.isoformat())
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(timedelta, lambda v: v.total_seconds())
    converter.register_structure_hook(timedelta, _structure_timedelta)
    # Exact-type predicates: a plain ``register_structure_hook(str, ...)`` would also catch the
    # str enums, which subclass str.
    converter.register_structure_hook_func(lambda t: t is str, _structure_str)
    converter.register_structure_hook_func(lambda t: t is int, _structure_int)
    converter.register_structure_hook_func(lambda t: t is bool, _structure_bool)
    converter.register_unstructure_hook_func(
        lambda t: getattr(t, "__origin__", t) in (frozenset, set),
        lambda v: sorted(converter.unstructure(x) for x in v),
    )
    _register_events(converter)
    register_commands(converter, Command, COMMAND_TYPES)
    # The delivery and archive aggregates have their own envelopes; imported here, not at the
    # top, because those modules build converters with this function.
    from propcrm import customers
    from propcrm.workflow import delivery_serialization

    delivery_serialization.register(converter)
    customers.register(converter)
    _register_pii(converter, reveal_pii=reveal_pii)
    return converter


@functools.cache
def _shared(*, reveal_pii: bool) -> PropcrmConverter:
    # Built on first use, not at import: importing propcrm should not pay for converters.
    return make_converter(reveal_pii=reveal_pii)


def unstructure(value: Any, *, reveal_pii: bool = False) -> Any:
    """Turn a value into JSON-ready Python data (dicts, lists, strings, numbers)."""
    return _shared(reveal_pii=reveal_pii).unstructure(value)


def structure(data: Any, cls: type[T]) -> T:
    """Build a ``cls`` from JSON-ready data; malformed data raises ``ValidationError``."""
    return _shared(reveal_pii=True).structure(data, cls)  # type: ignore[no-any-return]


def dumps(value: Any, *, reveal_pii: bool = False) -> str:
    """Serialize a value to compact JSON (personal data masked unless ``reveal_pii``)."""
    return json.dumps(
        unstructure(value, reveal_pii=reveal_pii), ensure_ascii=False, separators=(",", ":")
    )


def loads(text: str | bytes, cls: type[T]) -> T:
    """Parse JSON into a ``cls``; invalid JSON or malformed data raises ``ValidationError``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.single("$", f"not valid JSON: {exc}") from None
    return structure(data, cls)
