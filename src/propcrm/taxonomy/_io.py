"""CSV and JSON import and export of taxonomies, with row- and field-level errors (private)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar, cast

import attrs

from propcrm.errors import FieldError, ValidationError
from propcrm.taxonomy._data import read_csv_rows, read_json, read_text
from propcrm.taxonomy._model import Node, Party
from propcrm.taxonomy._taxonomy import Taxonomy

__all__ = [
    "COLUMNS",
    "load_standard",
    "node_from_row",
    "party_from_row",
    "taxonomy_from_csv",
    "taxonomy_from_json",
    "taxonomy_to_csv",
    "to_document",
    "to_json_text",
]

#: The CSV columns, in order: every field of :class:`Node`.
COLUMNS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Node))
_LISTS = frozenset({"aliases", "keywords", "kinds", "parties", "warranty", "areas", "rooms"})
_OPTIONAL = frozenset({"priority", "severity", "replaced_by"})
_REQUIRED = frozenset({"code", "name_zh", "name_en"})
_PARTY_COLUMNS = ("code", "kind", "name_zh", "name_en")
_T = TypeVar("_T")
_NODE_PATH = re.compile(r"\$\.nodes\[(\d+)\](?:\.(.+))?")


def _under(prefix: str) -> Callable[[str], str]:
    """Return a function putting ``prefix`` (``row 7: ``, ``$.nodes[5].``) before a field path."""

    def where(field: str) -> str:
        return prefix + field

    return where


def _csv_cell(name: str, text: str) -> object:
    text = text.strip()
    if name in _LISTS:
        return tuple(part.strip() for part in text.split("|")) if text else ()
    if name in _OPTIONAL and not text:
        return None
    return text


def _problem_path(error_path: str, field: str) -> str:
    """The field-relative part of a validator's path (``$.warranty[0]`` → ``warranty[0]``)."""
    return error_path[2:] if error_path.startswith("$.") else field


def node_from_row(
    row: Mapping[str, object], *, where: Callable[[str], str], csv_cells: bool = False
) -> tuple[Node | None, list[FieldError]]:
    """Build a node from a mapping of field values, collecting every bad field.

    Each field is converted and validated on its own, so one bad cell does not hide another.

    Args:
        row: Field name → value (CSV text cells when ``csv_cells``).
        where: Turns a field-relative path (``warranty[0]``) into the reported path
            (``row 17: warranty[0]`` or ``$.nodes[15].warranty[0]``).
        csv_cells: Whether values are CSV text to split first.

    Returns:
        The node (``None`` when a field was bad) and the problems found.
    """
    values: dict[str, Any] = {}
    problems: list[FieldError] = []
    for field in attrs.fields(Node):
        if field.name not in row or row[field.name] is None:
            if field.name in _REQUIRED:
                problems.append(FieldError(path=where(field.name), message="missing"))
            continue
        raw = row[field.name]
        value: Any = _csv_cell(field.name, raw) if csv_cells and isinstance(raw, str) else raw
        try:
            if field.converter is not None:
                value = cast("Callable[[Any], Any]", field.converter)(value)
            if field.validator is not None:
                field.validator(None, field, value)
        except ValidationError as error:
            problems.extend(
                FieldError(path=where(_problem_path(e.path, field.name)), message=e.message)
                for e in error.errors
            )
            continue
        except (TypeError, ValueError) as error:
            problems.append(FieldError(path=where(field.name), message=str(error)))
            continue
        values[field.name] = value
    extra = sorted(set(row) - set(COLUMNS))
    problems.extend(FieldError(path=where(name), message="unknown field") for name in extra)
    if problems:
        return None, problems
    try:
        return Node(**values), []
    except ValidationError as error:  # checks that span fields
        return None, [
            FieldError(path=where(_problem_path(e.path, "code")), message=e.message)
            for e in error.errors
        ]


def party_from_row(
    row: Mapping[str, object], *, where: Callable[[str], str]
) -> tuple[Party | None, list[FieldError]]:
    """Build a party from ``code``, ``kind``, ``name_zh`` and ``name_en``, collecting problems."""
    missing = [c for c in _PARTY_COLUMNS if not isinstance(row.get(c), str)]
    if missing:
        return None, [FieldError(path=where(c), message="missing or not text") for c in missing]
    try:
        return Party(
            code=str(row["code"]),
            kind=str(row["kind"]),
            name_zh=str(row["name_zh"]),
            name_en=str(row["name_en"]),
        ), []
    except ValidationError as error:
        return None, [
            FieldError(path=where(_problem_path(e.path, "kind")), message=e.message)
            for e in error.errors
        ]
    except ValueError as error:
        return None, [FieldError(path=where("kind"), message=str(error))]


def _build(
    name: str,
    version: str,
    nodes: list[Node],
    parties: Iterable[Party],
    node_path: Callable[[int, str], str],
) -> Taxonomy:
    """Build the taxonomy, reporting whole-tree problems at the row or JSON path of the node."""
    try:
        return Taxonomy(name=name, version=version, nodes=nodes, parties=tuple(parties))
    except ValidationError as error:
        rebased = []
        for e in error.errors:
            match = _NODE_PATH.fullmatch(e.path)
            if match is None:
                rebased.append(e)
            else:
                index, rest = int(match[1]), match[2] or "code"
                rebased.append(FieldError(path=node_path(index, rest), message=e.message))
        raise ValidationError(rebased, subject=error.subject, hint=error.hint) from None


def taxonomy_from_csv(
    text: str, *, name: str, version: str, parties: Iterable[Party] | None = None
) -> Taxonomy:
    """Read a taxonomy from CSV text; see :meth:`Taxonomy.from_csv`."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in sorted(_REQUIRED) if c not in header]
    if missing:
        raise ValidationError(
            [FieldError(path=f"row 1: {c}", message="column missing") for c in missing],
            subject="taxonomy CSV",
        )
    nodes: list[Node] = []
    problems: list[FieldError] = []
    for offset, row in enumerate(reader):
        node, found = node_from_row(
            {k: v for k, v in row.items() if k is not None and v is not None},
            where=_under(f"row {offset + 2}: "),
            csv_cells=True,
        )
        problems.extend(found)
        if node is not None:
            nodes.append(node)
    if problems:
        raise ValidationError(problems, subject="taxonomy CSV")
    register = tuple(parties) if parties is not None else _standard_parties()
    return _build(name, version, nodes, register, lambda i, rest: f"row {i + 2}: {rest}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def taxonomy_to_csv(taxonomy: Taxonomy) -> str:
    """Write a taxonomy's nodes as CSV text, one row per node in code order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for node in taxonomy.nodes:
        writer.writerow([_cell(getattr(node, column)) for column in COLUMNS])
    return out.getvalue()


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def to_document(taxonomy: Taxonomy) -> dict[str, Any]:
    """Return the JSON document of a taxonomy: name, version, parties, nodes."""
    return {
        "name": taxonomy.name,
        "version": taxonomy.version,
        "parties": [{c: _plain(getattr(p, c)) for c in _PARTY_COLUMNS} for p in taxonomy.parties],
        "nodes": [{c: _plain(getattr(n, c)) for c in COLUMNS} for n in taxonomy.nodes],
    }


def to_json_text(taxonomy: Taxonomy) -> str:
    """Return the JSON document of a taxonomy with one party or node per line."""
    document = to_document(taxonomy)

    def block(key: str) -> str:
        rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in document[key])
        return f' "{key}": [\n{rows}\n ]'

    head = ",\n".join(
        f" {json.dumps(key)}: {json.dumps(document[key], ensure_ascii=False)}"
        for key in ("name", "version")
    )
    return "{\n" + head + ",\n" + block("parties") + ",\n" + block("nodes") + "\n}\n"


def _read_objects(
    raws: list[object],
    path: str,
    build: Callable[..., tuple[_T | None, list[FieldError]]],
    problems: list[FieldError],
) -> list[_T]:
    """Build one value per JSON object of a list, adding every problem found to ``problems``."""
    built: list[_T] = []
    for index, raw in enumerate(raws):
        if not isinstance(raw, dict):
            problems.append(FieldError(path=f"{path}[{index}]", message="expected an object"))
            continue
        value, found = build(raw, where=_under(f"{path}[{index}]."))
        problems.extend(found)
        if value is not None:
            built.append(value)
    return built


def taxonomy_from_json(text: str) -> Taxonomy:
    """Read a taxonomy from JSON text; see :meth:`Taxonomy.from_json`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError.single("$", f"not JSON: {error}", subject="taxonomy JSON") from None
    if not isinstance(document, dict):
        raise ValidationError.single("$", "expected an object", subject="taxonomy JSON")
    problems: list[FieldError] = []
    for key in ("name", "version"):
        if not isinstance(document.get(key), str):
            problems.append(FieldError(path=f"$.{key}", message="expected a string"))
    for key in ("parties", "nodes"):
        if not isinstance(document.get(key), list):
            problems.append(FieldError(path=f"$.{key}", message="expected a list"))
    if problems:
        raise ValidationError(problems, subject="taxonomy JSON")
    parties = _read_objects(document["parties"], "$.parties", party_from_row, problems)
    nodes = _read_objects(document["nodes"], "$.nodes", node_from_row, problems)
    if problems:
        raise ValidationError(problems, subject="taxonomy JSON")
    return _build(
        document["name"],
        document["version"],
        nodes,
        parties,
        lambda i, rest: f"$.nodes[{i}].{rest}",
    )


def _standard_parties() -> tuple[Party, ...]:
    found = []
    for offset, row in enumerate(read_csv_rows("parties.csv")):
        party, problems = party_from_row(row, where=_under(f"row {offset + 2}: "))
        if problems or party is None:
            raise ValidationError(problems, subject="data/parties.csv")
        found.append(party)
    return tuple(found)


def load_standard() -> Taxonomy:
    """Read the shipped standard taxonomy (``data/manifest.json`` names it and its version)."""
    manifest = read_json("manifest.json")
    return taxonomy_from_csv(
        read_text(manifest["nodes"]),
        name=manifest["name"],
        version=manifest["version"],
        parties=_standard_parties(),
    )
