"""The taxonomy: lookup, navigation, search, extension, merge and diff (private module)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import attrs

from propcrm.errors import FieldError, NotFoundError, ValidationError
from propcrm.model.enums import AreaType, TicketKind
from propcrm.taxonomy._model import CODE_PATTERN, Level, Node, Party, RoomType, closest
from propcrm.taxonomy._search import (
    DISCIPLINE_WEIGHT,
    KEYWORD_WEIGHT,
    NAME_WEIGHT,
    SearchHit,
    units,
    weighted_units,
)

__all__ = ["Conflict", "Taxonomy", "TaxonomyDiff", "standard"]

#: How ``merge`` settles a code both sides define differently.
Conflict = Literal["error", "ours", "theirs"]


def _version(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        raise ValidationError.single(
            f"$.{attribute.name}", f"{value!r} must be a non-empty string without spaces"
        )


def _node_tuple(values: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(values)


def _party_tuple(values: Iterable[Party]) -> tuple[Party, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class TaxonomyDiff:
    """What changed between two versions of a taxonomy.

    Attributes:
        old: ``name@version`` of the old taxonomy.
        new: ``name@version`` of the new one.
        added: Codes only in the new one.
        removed: Codes only in the old one (a compatible new version has none).
        deprecated: ``(code, replacement)`` for codes live before and deprecated now.
        renamed: Codes whose Chinese or English name changed.
        changed: ``(code, field names)`` for every code whose content changed, renames included.
    """

    old: str
    new: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    deprecated: tuple[tuple[str, str], ...]
    renamed: tuple[str, ...]
    changed: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def compatible(self) -> bool:
        """Whether every old code still exists (tickets classified under the old one resolve)."""
        return not self.removed

    @property
    def empty(self) -> bool:
        """Whether nothing changed in the nodes."""
        return not (self.added or self.removed or self.changed)


@attrs.frozen(kw_only=True)
class Taxonomy:
    """A versioned tree of issue codes with its party register.

    Values are immutable: every operation that changes something returns a new taxonomy and
    leaves this one as it was. Build one with :func:`standard`, :meth:`from_csv` or
    :meth:`from_json`, or directly from nodes.

    Attributes:
        name: The taxonomy's name, e.g. ``"propcrm-standard"`` or a vendor's own.
        version: Its version string; tickets record ``tag`` (``name@version``).
        nodes: Every node, sorted by code (deprecated ones included: codes are never removed).
        parties: The responsible-party register the nodes refer to, sorted by code.
    """

    name: str = attrs.field(validator=_version)
    version: str = attrs.field(validator=_version)
    nodes: tuple[Node, ...] = attrs.field(converter=_node_tuple)
    parties: tuple[Party, ...] = attrs.field(converter=_party_tuple)
    _index: dict[str, Node] = attrs.field(init=False, repr=False, eq=False, hash=False)
    _memo: dict[str, Any] = attrs.field(init=False, repr=False, eq=False, hash=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        problems = _structure_problems(self.nodes, self.parties)
        if problems:
            raise ValidationError(problems, subject=f"taxonomy {self.name}@{self.version}")
        object.__setattr__(self, "nodes", tuple(sorted(self.nodes, key=lambda n: n.code)))
        object.__setattr__(self, "parties", tuple(sorted(self.parties, key=lambda p: p.code)))
        object.__setattr__(self, "_index", {node.code: node for node in self.nodes})

    # ----------------------------------------------------------------------------- reading

    @property
    def tag(self) -> str:
        """``name@version``: what a ticket records as the taxonomy it was classified under."""
        return f"{self.name}@{self.version}"

    @property
    def fingerprint(self) -> str:
        """A short SHA-256 of the content (nodes and parties, not the version string).

        Two taxonomies with the same fingerprint classify alike; use it to notice a vendor
        taxonomy whose content changed without a new version.
        """
        if "fingerprint" not in self._memo:
            from propcrm.taxonomy._io import to_document

            document = to_document(self)
            del document["name"], document["version"]
            blob = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
            self._memo["fingerprint"] = hashlib.sha256(blob).hexdigest()[:16]
        fingerprint: str = self._memo["fingerprint"]
        return fingerprint

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __contains__(self, code: object) -> bool:
        return code in self._index

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code, deprecated ones included, sorted."""
        return tuple(self._index)

    def get(self, code: str) -> Node:
        """Return the node with this code (deprecated nodes too).

        Args:
            code: A code such as ``"Q.WP.08"``.

        Returns:
            The node.

        Raises:
            NotFoundError: No such code; ``suggestions`` holds the closest codes.
        """
        try:
            return self._index[code]
        except (KeyError, TypeError):
            raise NotFoundError("taxonomy code", code, suggestions=self.suggest(code)) from None

    def suggest(self, code: object, *, n: int = 3) -> tuple[str, ...]:
        """Return up to ``n`` existing codes closest to ``code`` (difflib ratio, best first)."""
        return closest(code.upper() if isinstance(code, str) else code, self.codes, n=n)

    def party(self, code: str) -> Party:
        """Return a responsible party by code.

        Raises:
            NotFoundError: No such party; the closest codes are suggested.
        """
        for party in self.parties:
            if party.code == code:
                return party
        raise NotFoundError(
            "party", code, suggestions=closest(code, [p.code for p in self.parties])
        )

    def nodes_at(self, level: Level | str, *, include_deprecated: bool = False) -> tuple[Node, ...]:
        """Return the nodes of one level, sorted by code.

        Args:
            level: ``class``, ``discipline`` or ``item``.
            include_deprecated: Include deprecated nodes.
        """
        wanted = Level(level)
        return tuple(
            n for n in self.nodes if n.level is wanted and (include_deprecated or not n.deprecated)
        )

    def children(self, code: str, *, include_deprecated: bool = False) -> tuple[Node, ...]:
        """Return the direct children of a node, sorted by code.

        Raises:
            NotFoundError: Unknown code.
        """
        self.get(code)
        return tuple(
            n for n in self.nodes if n.parent == code and (include_deprecated or not n.deprecated)
        )

    def ancestors(self, code: str) -> tuple[Node, ...]:
        """Return the parent, the grandparent and so on up to the top class (nearest first).

        Raises:
            NotFoundError: Unknown code.
        """
        node = self.get(code)
        found: list[Node] = []
        while node.parent is not None:
            node = self._index[node.parent]
            found.append(node)
        return tuple(found)

    @property
    def replacements(self) -> dict[str, str]:
        """The deprecation mapping: every deprecated code → the live code that replaces it."""
        return {n.code: n.replaced_by for n in self.nodes if n.replaced_by is not None}

    def is_valid(self, code: object, *, live: bool = False) -> bool:
        """Whether ``code`` exists here (and, with ``live=True``, is not deprecated)."""
        node = self._index.get(code) if isinstance(code, str) else None
        return node is not None and not (live and node.deprecated)

    def validate_code(self, code: object, *, live: bool = False, path: str = "$.code") -> Node:
        """Check a code a ticket carries and return its node.

        Args:
            code: The value to check.
            live: Refuse deprecated codes (for new classifications).
            path: The field path to report.

        Returns:
            The node.

        Raises:
            ValidationError: Malformed, unknown, or (``live``) deprecated; the hint names the
                closest codes or the replacement.
        """
        if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
            raise ValidationError.single(
                path, f"{code!r} is not a taxonomy code", hint="codes look like 'Q.WP.08'"
            )
        if code not in self._index:
            close = self.suggest(code)
            raise ValidationError.single(
                path,
                f"{code!r} is not in {self.tag}",
                hint="did you mean " + ", ".join(close) + "?" if close else None,
            )
        node = self._index[code]
        if live and node.replaced_by is not None:
            raise ValidationError.single(
                path, f"{code!r} is deprecated", hint=f"use {node.replaced_by!r}"
            )
        return node

    def resolve(self, code: str) -> str:
        """Return the live code for ``code``: itself when live, else its replacement.

        Raises:
            NotFoundError: Unknown code.
        """
        node = self.get(code)
        seen = {node.code}
        while node.replaced_by is not None:
            node = self._index[node.replaced_by]
            if node.code in seen:  # pragma: no cover - construction refuses cycles
                raise ValidationError.single("$.replaced_by", f"cycle at {node.code}")
            seen.add(node.code)
        return node.code

    def rollup(self, code: str, level: Level | str = Level.DISCIPLINE) -> str:
        """Return the code of the ancestor at ``level`` (or the code itself at that level).

        KPIs group by this. A deprecated code rolls up through its own place in the tree, so
        history keeps its grouping; call :meth:`resolve` first to group by the replacement.

        Args:
            code: Any code of this taxonomy.
            level: ``discipline`` or ``class`` (``item`` returns item codes unchanged).

        Raises:
            NotFoundError: Unknown code.
            ValidationError: The code sits above ``level`` (a class has no discipline).
        """
        node = self.get(code)
        wanted = Level(level)
        if node.level.depth < wanted.depth:
            raise ValidationError.single(
                "$.level",
                f"{code} is a {node.level.value}; it cannot roll up to a {wanted.value}",
            )
        return ".".join(code.split(".")[: wanted.depth])

    def size(self) -> dict[str, int]:
        """Count live items per top class and per discipline, e.g. ``{"Q": 90, "Q.WP": 10}``."""
        counts: dict[str, int] = {}
        for node in self.nodes_at(Level.ITEM):
            for key in (self.rollup(node.code, Level.CLASS), self.rollup(node.code)):
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    # ------------------------------------------------------------------------------ search

    def search(
        self,
        query: str,
        *,
        limit: int | None = 10,
        level: Level | str = Level.ITEM,
        kind: TicketKind | str | None = None,
        area: AreaType | str | None = None,
        room: RoomType | str | None = None,
    ) -> tuple[SearchHit, ...]:
        """Find the live nodes a free-text report points to, best first.

        The scoring is in :mod:`propcrm.taxonomy._search`: query units (Chinese bigrams,
        stemmed English words) weigh 3 when a keyword or alias has them, 2 for a name, 1 for the
        discipline's names and keywords and for the labels of the node's room types; ties are
        broken by code. The result depends only on the query and the taxonomy.

        Args:
            query: The report, in Chinese, English or both.
            limit: At most this many hits; ``None`` for all.
            level: Which level to search (items by default).
            kind: Keep only nodes that apply to this ticket kind.
            area: Keep only nodes that fit this area.
            room: Keep only nodes that fit this room type.

        Returns:
            The hits with a positive score.
        """
        wanted = Level(level)
        ticket_kind = None if kind is None else TicketKind(kind)
        where = None if area is None else AreaType(area)
        room_type = None if room is None else RoomType(room)
        query_units = units(query)
        hits: list[SearchHit] = []
        for node in self.nodes_at(wanted):
            if ticket_kind is not None and node.kinds and ticket_kind not in node.kinds:
                continue
            if not node.applies_to(where, room_type):
                continue
            bag = self._bag(node)
            matched = tuple(u for u in query_units if u in bag)
            if matched:
                hits.append(
                    SearchHit(code=node.code, score=sum(bag[u] for u in matched), matched=matched)
                )
        hits.sort(key=lambda h: (-h.score, h.code))
        return tuple(hits if limit is None else hits[:limit])

    def _bag(self, node: Node) -> dict[str, int]:
        bags: dict[str, dict[str, int]] = self._memo.setdefault("bags", {})
        if node.code not in bags:
            texts = [(t, KEYWORD_WEIGHT) for t in (*node.keywords, *node.aliases)]
            texts += [(node.name_zh, NAME_WEIGHT), (node.name_en, NAME_WEIGHT)]
            texts += [(t, DISCIPLINE_WEIGHT) for r in node.rooms for t in (r.label_zh, r.label_en)]
            if node.level is Level.ITEM and node.parent is not None:
                parent = self._index[node.parent]
                texts += [
                    (t, DISCIPLINE_WEIGHT)
                    for t in (parent.name_zh, parent.name_en, *parent.keywords)
                ]
            bags[node.code] = weighted_units(texts)
        return bags[node.code]

    # ---------------------------------------------------------------------------- extending

    def with_version(self, version: str, *, name: str | None = None) -> Taxonomy:
        """Return the same content under another version (and optionally another name)."""
        return Taxonomy(
            name=name or self.name, version=version, nodes=self.nodes, parties=self.parties
        )

    def add(self, *nodes: Node, version: str | None = None) -> Taxonomy:
        """Return a taxonomy with new nodes added.

        Args:
            nodes: New nodes; their codes must be new and their parents must exist (a parent
                may be among the nodes added).
            version: The new version string; the current one when ``None``.

        Raises:
            ValidationError: A code exists already, a parent is missing or deprecated, or a
                party is unknown.
        """
        taken = [i for i, n in enumerate(nodes) if n.code in self._index]
        if taken:
            raise ValidationError(
                [
                    FieldError(path=f"$[{i}].code", message=f"{nodes[i].code} exists already")
                    for i in taken
                ],
                subject="new taxonomy nodes",
                hint="codes are never reused: pick a new code, or use replace() to change one",
            )
        return self._rebuild((*self.nodes, *nodes), version)

    def add_parties(self, *parties: Party, version: str | None = None) -> Taxonomy:
        """Return a taxonomy with new responsible parties in its register.

        Raises:
            ValidationError: A party code exists already.
        """
        known = {p.code for p in self.parties}
        for index, party in enumerate(parties):
            if party.code in known:
                raise ValidationError.single(f"$[{index}].code", f"{party.code} exists already")
        return Taxonomy(
            name=self.name,
            version=version or self.version,
            nodes=self.nodes,
            parties=(*self.parties, *parties),
        )

    def replace(self, node: Node, *, version: str | None = None) -> Taxonomy:
        """Return a taxonomy where the node with ``node.code`` is replaced by ``node``.

        Use it to change parties, keywords, hints or warranty codes of an existing node.

        Raises:
            NotFoundError: No node has that code.
            ValidationError: The result is not a valid taxonomy.
        """
        self.get(node.code)
        return self._rebuild(tuple(node if n.code == node.code else n for n in self.nodes), version)

    def rename(
        self,
        code: str,
        *,
        name_zh: str | None = None,
        name_en: str | None = None,
        version: str | None = None,
    ) -> Taxonomy:
        """Return a taxonomy where a node has new names; the code stays.

        The old names become aliases, so reports worded the old way are still found.

        Raises:
            NotFoundError: Unknown code.
            ValidationError: A new name is empty.
        """
        node = self.get(code)
        new_zh = node.name_zh if name_zh is None else name_zh
        new_en = node.name_en if name_en is None else name_en
        old = [n for n, new in ((node.name_zh, new_zh), (node.name_en, new_en)) if n != new]
        aliases = tuple(dict.fromkeys((*node.aliases, *old)))
        return self.replace(
            attrs.evolve(node, name_zh=new_zh, name_en=new_en, aliases=aliases), version=version
        )

    def deprecate(self, code: str, replaced_by: str, *, version: str | None = None) -> Taxonomy:
        """Return a taxonomy where ``code`` is deprecated in favour of the live ``replaced_by``.

        The node stays (codes are never removed, so old tickets still resolve), search skips
        it, and every code that pointed to ``code`` now points to ``replaced_by`` directly.

        Args:
            code: The code to retire; a discipline or class only once its children are retired.
            replaced_by: A live code of the same level.
            version: The new version string; the current one when ``None``.

        Raises:
            NotFoundError: Either code is unknown.
            ValidationError: Already deprecated, replacement not live, a different level, the
                replacement under the retired code, or live children left.
        """
        node = self.get(code)
        target = self.get(replaced_by)
        problem = None
        if node.deprecated:
            problem = f"{code} is already deprecated (replaced by {node.replaced_by})"
        elif target.deprecated:
            problem = f"{replaced_by} is deprecated; use {target.replaced_by}"
        elif target.code == code or target.code.startswith(code + "."):
            problem = f"{replaced_by} is {code} or lies under it"
        elif target.level is not node.level:
            problem = f"{code} is a {node.level.value} and {replaced_by} a {target.level.value}"
        elif self.children(code):
            problem = f"{code} still has live children; deprecate them first"
        if problem is not None:
            raise ValidationError.single("$.replaced_by", problem, subject=f"deprecate {code}")
        nodes = tuple(
            attrs.evolve(n, replaced_by=replaced_by)
            if n.code == code or n.replaced_by == code
            else n
            for n in self.nodes
        )
        return self._rebuild(nodes, version)

    def _rebuild(self, nodes: tuple[Node, ...], version: str | None) -> Taxonomy:
        return Taxonomy(
            name=self.name, version=version or self.version, nodes=nodes, parties=self.parties
        )

    # ------------------------------------------------------------------------ merge and diff

    def merge(
        self,
        other: Taxonomy,
        *,
        version: str,
        name: str | None = None,
        on_conflict: Conflict = "error",
    ) -> Taxonomy:
        """Return the union of two taxonomies, for example the standard one and a vendor's.

        No code of either side is lost. A code deprecated on one side stays deprecated; chains
        of replacements are shortened to their live end. A code both sides define differently
        is a conflict, settled by ``on_conflict``: ``"error"`` raises, ``"ours"`` keeps this
        side's node, ``"theirs"`` the other's. Parties are merged the same way.

        Args:
            other: The other taxonomy.
            version: The version of the result.
            name: The name of the result; this one's by default.
            on_conflict: How to settle conflicts.

        Raises:
            ValidationError: Conflicts with ``on_conflict="error"``, replacement cycles, or a
                result that is not a valid taxonomy.
        """
        nodes: dict[str, Node] = {n.code: n for n in self.nodes}
        problems: list[FieldError] = []
        for theirs in other.nodes:
            ours = nodes.get(theirs.code)
            if ours is None or ours == theirs:
                nodes[theirs.code] = theirs
                continue
            settled = _settle(ours, theirs, on_conflict)
            if settled is None:
                problems.append(
                    FieldError(
                        path=f"$.nodes[{theirs.code}]",
                        message="defined differently on both sides: "
                        + ", ".join(_changed_fields(ours, theirs)),
                    )
                )
            else:
                nodes[theirs.code] = settled
        parties: dict[str, Party] = {p.code: p for p in self.parties}
        for party in other.parties:
            mine = parties.get(party.code)
            if mine is None or mine == party or on_conflict == "theirs":
                parties[party.code] = party
            elif on_conflict == "error":
                problems.append(
                    FieldError(path=f"$.parties[{party.code}]", message="defined differently")
                )
        if problems:
            raise ValidationError(
                problems,
                subject=f"merge of {self.tag} and {other.tag}",
                hint="pass on_conflict='ours' or 'theirs', or align the two first",
            )
        return Taxonomy(
            name=name or self.name,
            version=version,
            nodes=_shorten_chains(nodes),
            parties=tuple(parties.values()),
        )

    def diff(self, new: Taxonomy) -> TaxonomyDiff:
        """Return what changed from this taxonomy (the old one) to ``new``."""
        old_codes, new_codes = set(self._index), set(new._index)
        common = sorted(old_codes & new_codes)
        changed = tuple(
            (code, fields)
            for code in common
            if (fields := _changed_fields(self._index[code], new._index[code]))
        )
        return TaxonomyDiff(
            old=self.tag,
            new=new.tag,
            added=tuple(sorted(new_codes - old_codes)),
            removed=tuple(sorted(old_codes - new_codes)),
            deprecated=tuple(
                (code, new._index[code].replaced_by or "")
                for code in common
                if not self._index[code].deprecated and new._index[code].deprecated
            ),
            renamed=tuple(code for code, fields in changed if {"name_zh", "name_en"} & set(fields)),
            changed=changed,
        )

    # ---------------------------------------------------------------------------------- I/O

    @classmethod
    def from_csv(
        cls, text: str, *, name: str, version: str, parties: Iterable[Party] | None = None
    ) -> Taxonomy:
        """Read nodes from CSV text (the format of ``data/standard.csv``).

        Args:
            text: The CSV, with a header row.
            name: The taxonomy's name.
            version: Its version.
            parties: The party register; the standard register by default.

        Raises:
            ValidationError: Every bad field, with paths such as ``row 17: warranty`` (row 1
                is the header).
        """
        from propcrm.taxonomy._io import taxonomy_from_csv

        return taxonomy_from_csv(text, name=name, version=version, parties=parties)

    def to_csv(self) -> str:
        """Write the nodes as CSV (lists joined with ``|``); parties are not included."""
        from propcrm.taxonomy._io import taxonomy_to_csv

        return taxonomy_to_csv(self)

    @classmethod
    def from_json(cls, text: str) -> Taxonomy:
        """Read a taxonomy written by :meth:`to_json`.

        Raises:
            ValidationError: Every bad field, with paths such as ``$.nodes[17].warranty``.
        """
        from propcrm.taxonomy._io import taxonomy_from_json

        return taxonomy_from_json(text)

    def to_json(self) -> str:
        """Write name, version, parties and nodes as JSON, one party or node per line.

        Fields come in a fixed order and Chinese stays text, so two versions diff line by line.
        """
        from propcrm.taxonomy._io import to_json_text

        return to_json_text(self)


def _settle(ours: Node, theirs: Node, on_conflict: Conflict) -> Node | None:
    if ours.deprecated != theirs.deprecated:
        return ours if ours.deprecated else theirs  # deprecation is never undone by a merge
    if on_conflict == "ours":
        return ours
    if on_conflict == "theirs":
        return theirs
    return None


def _changed_fields(old: Node, new: Node) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(Node) if getattr(old, f.name) != getattr(new, f.name))


def _shorten_chains(nodes: Mapping[str, Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for node in nodes.values():
        if node.replaced_by is None:
            out.append(node)
            continue
        seen = [node.code]
        target = node.replaced_by
        while target in nodes and nodes[target].replaced_by is not None:
            if target in seen:
                raise ValidationError.single(
                    f"$.nodes[{node.code}].replaced_by",
                    "replacement cycle: " + " → ".join([*seen, target]),
                )
            seen.append(target)
            target = nodes[target].replaced_by  # type: ignore[assignment]
        out.append(node if target == node.replaced_by else attrs.evolve(node, replaced_by=target))
    return tuple(out)


_V = TypeVar("_V", Node, Party)


def _unique_by_code(
    values: tuple[object, ...], kind: type[_V], path: str, problems: list[FieldError]
) -> dict[str, _V]:
    """Index values by code, adding a problem for each wrong type and each repeated code."""
    by_code: dict[str, _V] = {}
    for index, value in enumerate(values):
        if not isinstance(value, kind):
            problems.append(
                FieldError(path=f"{path}[{index}]", message=f"expected a {kind.__name__}")
            )
        elif value.code in by_code:
            problems.append(
                FieldError(path=f"{path}[{index}].code", message=f"duplicate code {value.code}")
            )
        else:
            by_code[value.code] = value
    return by_code


def _structure_problems(nodes: tuple[object, ...], parties: tuple[object, ...]) -> list[FieldError]:
    problems: list[FieldError] = []
    party_codes = set(_unique_by_code(parties, Party, "$.parties", problems))
    by_code = _unique_by_code(nodes, Node, "$.nodes", problems)
    for index, node in enumerate(nodes):
        if not isinstance(node, Node) or by_code.get(node.code) is not node:
            continue
        at = f"$.nodes[{index}]"
        parent = by_code.get(node.parent) if node.parent else None
        if node.parent is not None and parent is None:
            problems.append(
                FieldError(path=f"{at}.code", message=f"parent {node.parent} does not exist")
            )
        elif parent is not None and parent.deprecated and not node.deprecated:
            problems.append(
                FieldError(path=f"{at}.code", message=f"parent {node.parent} is deprecated")
            )
        problems.extend(
            FieldError(path=f"{at}.parties[{i}]", message=f"unknown party {code}")
            for i, code in enumerate(node.parties)
            if code not in party_codes
        )
        if node.replaced_by is not None:
            target = by_code.get(node.replaced_by)
            if target is None:
                message = f"replacement {node.replaced_by} does not exist"
            elif target.deprecated:
                message = f"replacement {node.replaced_by} is deprecated too"
            elif target.level is not node.level:
                message = f"replacement {node.replaced_by} is not a {node.level.value}"
            else:
                continue
            problems.append(FieldError(path=f"{at}.replaced_by", message=message))
    return problems


@functools.cache
def standard() -> Taxonomy:
    """Return the standard taxonomy shipped with propcrm (read on first call, then cached).

    Its ``version`` follows the data file ``data/manifest.json``; tickets record its ``tag``.
    """
    from propcrm.taxonomy._io import load_standard

    return load_standard()
