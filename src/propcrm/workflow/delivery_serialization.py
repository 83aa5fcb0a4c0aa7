"""Wire hooks for the delivery commands and events (and any aggregate envelope of that shape).

:func:`register` teaches a converter made by :func:`propcrm.serialization.make_converter` the
delivery envelope and commands; :func:`register_aggregate_events` does the same for another
aggregate's envelope (the customer archive uses it), and
:func:`propcrm.serialization.register_commands` for any command union. The wire shapes follow
the ticket ones: an event is
``{"event_id", "<aggregate id>", "sequence", "type", "occurred_at", "actor", "payload",
"schema_version"}``; a command is ``{"command": "<name>", ...fields}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from cattrs import Converter

from propcrm.errors import FieldError, ValidationError
from propcrm.serialization import register_commands

__all__ = ["register", "register_aggregate_events"]


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError.single("$", f"expected an object, got {type(value).__name__}")
    return value


def _paths(exc: ValidationError, base: str) -> list[FieldError]:
    return [
        FieldError(
            path=base + e.path[1:] if e.path.startswith("$") else f"{base}.{e.path}",
            message=e.message,
        )
        for e in exc.errors
    ]


def register_aggregate_events(
    converter: Converter,
    envelope: type[Any],
    payload_types: Mapping[str, type[Any]],
    schema_version: int,
) -> None:
    """Register the wire shape of an event envelope whose ``payload`` is one of ``payload_types``.

    Args:
        converter: A converter from :func:`propcrm.serialization.make_converter`.
        envelope: The attrs envelope class (fields as :class:`propcrm.workflow.Event`'s, the
            aggregate id named as the aggregate's).
        payload_types: Wire name → payload class.
        schema_version: The only schema version read and written.
    """
    attrs.resolve_types(envelope)
    fields = [f for f in attrs.fields(envelope) if f.name not in ("payload", "schema_version")]

    def unstructure(event: Any) -> dict[str, Any]:
        data = {f.name: converter.unstructure(getattr(event, f.name), f.type) for f in fields}
        data["type"] = event.payload.event_type
        data["payload"] = converter.unstructure(event.payload)
        data["schema_version"] = event.schema_version
        return data

    def structure(value: Any, _type: Any) -> Any:
        data = _mapping(value)
        errors: list[FieldError] = []
        built: dict[str, Any] = {}
        type_name = data.get("type")
        payload_cls = payload_types.get(type_name) if isinstance(type_name, str) else None
        if payload_cls is None:
            errors.append(FieldError(path="$.type", message=f"unknown event type {type_name!r}"))
        if data.get("schema_version", schema_version) != schema_version:
            errors.append(
                FieldError(
                    path="$.schema_version",
                    message=f"schema version {data.get('schema_version')!r} is not supported "
                    f"(this propcrm reads {schema_version})",
                )
            )
        for field in fields:
            if field.name not in data:
                errors.append(FieldError(path=f"$.{field.name}", message="required field missing"))
                continue
            try:
                value = converter.structure(data[field.name], field.type)
            except ValidationError as exc:
                errors.extend(_paths(exc, f"$.{field.name}"))
                continue
            try:  # the field's own validator; its errors already carry "$.<field>"
                if field.validator is not None:
                    field.validator(None, field, value)
            except ValidationError as exc:
                errors.extend(exc.errors)
                continue
            built[field.name] = value
        if payload_cls is not None:
            try:
                built["payload"] = converter.structure(data.get("payload"), payload_cls)
            except ValidationError as exc:
                errors.extend(_paths(exc, "$.payload"))
        if errors:
            raise ValidationError(errors, subject=envelope.__name__)
        return envelope(**built, schema_version=schema_version)

    converter.register_unstructure_hook(envelope, unstructure)
    converter.register_structure_hook(envelope, structure)


def register(converter: Converter) -> None:
    """Teach ``converter`` the delivery events (:class:`DeliveryEvent`) and commands.

    Example:
        >>> from propcrm.serialization import make_converter
        >>> from propcrm.workflow import delivery_serialization
        >>> converter = make_converter()
        >>> delivery_serialization.register(converter)
    """
    from propcrm.workflow import delivery as d

    register_aggregate_events(converter, d.DeliveryEvent, d.EVENT_TYPES, d.EVENT_SCHEMA_VERSION)
    register_commands(converter, d.DeliveryCommand, d.COMMAND_TYPES)
