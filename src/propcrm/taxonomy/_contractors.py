"""The contractor register: who built which discipline in which project, and warranty routing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from propcrm.errors import NotFoundError, ValidationError
from propcrm.taxonomy._model import CODE_PATTERN, closest, level_of

if TYPE_CHECKING:
    from propcrm.taxonomy._taxonomy import Taxonomy

__all__ = ["Contractor", "ContractorRegister", "Engagement", "Route"]


def _text(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.single(f"$.{attribute.name}", "must be a non-empty string")


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


@attrs.frozen(kw_only=True)
class Contractor:
    """A contracting company (施工单位) in the register.

    Attributes:
        code: The register's own key, e.g. ``"ZJ-3"``.
        name_zh: Chinese name.
        name_en: English name (may repeat the Chinese one).
        party: The party role it plays, e.g. ``"GC"`` or ``"SUB-WP"``.
    """

    code: str = attrs.field(validator=_text)
    name_zh: str = attrs.field(validator=_text)
    name_en: str = attrs.field(validator=_text)
    party: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class Engagement:
    """A contractor's works in one project: the codes it built and its warranty dates.

    Attributes:
        contractor: The contractor's code.
        project_id: The project.
        scope: Taxonomy codes built: disciplines such as ``"Q.WP"``, single items, or a class.
        accepted_on: Completion acceptance of these works (the contractor's period starts here).
        warranty_until: The last day of the warranty agreed in the construction contract, if it
            was agreed beyond the statute (or for ``WX`` items, which only have agreed periods).
        buildings: The buildings it covers; empty means the whole project.
    """

    contractor: str = attrs.field(validator=_text)
    project_id: str = attrs.field(validator=_text)
    scope: tuple[str, ...] = attrs.field(converter=_codes)
    accepted_on: date
    warranty_until: date | None = None
    buildings: tuple[str, ...] = attrs.field(default=(), converter=_codes)

    @scope.validator
    def _check_scope(self, _attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise ValidationError.single("$.scope", "an engagement must cover at least one code")
        for index, code in enumerate(value):
            if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
                raise ValidationError.single(f"$.scope[{index}]", f"{code!r} is not a code")

    def match_depth(self, code: str) -> int:
        """Return how specifically the engagement covers ``code``.

        3 when it names the item, 2 its discipline, 1 its class, 0 when it does not cover it.
        """
        return max(
            (level_of(s).depth for s in self.scope if code == s or code.startswith(s + ".")),
            default=0,
        )


@attrs.frozen(kw_only=True)
class Route:
    """Where a warranty defect goes.

    Attributes:
        code: The item code routed.
        project_id: The project.
        party: The responsible party code.
        contractor: The contractor, ``None`` when the default party was used.
        engagement: The engagement that decided, ``None`` for the fallback.
        reason: Why this party.
    """

    code: str
    project_id: str
    party: str
    contractor: Contractor | None
    engagement: Engagement | None
    reason: str


def _contractor_tuple(values: Iterable[Contractor]) -> tuple[Contractor, ...]:
    return tuple(values)


def _engagement_tuple(values: Iterable[Engagement]) -> tuple[Engagement, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ContractorRegister:
    """Contractors and their engagements (承建商台账), the input of warranty routing.

    Attributes:
        contractors: Every contractor, unique by code.
        engagements: Every engagement; each names a registered contractor.
    """

    contractors: tuple[Contractor, ...] = attrs.field(converter=_contractor_tuple)
    engagements: tuple[Engagement, ...] = attrs.field(converter=_engagement_tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for index, contractor in enumerate(self.contractors):
            if contractor.code in seen:
                raise ValidationError.single(
                    f"$.contractors[{index}].code", f"duplicate contractor {contractor.code!r}"
                )
            seen.add(contractor.code)
        for index, engagement in enumerate(self.engagements):
            if engagement.contractor not in seen:
                raise ValidationError.single(
                    f"$.engagements[{index}].contractor",
                    f"unknown contractor {engagement.contractor!r}",
                    hint="register the contractor first",
                )

    def contractor(self, code: str) -> Contractor:
        """Return a contractor by code.

        Raises:
            NotFoundError: No such contractor; the closest codes are suggested.
        """
        for contractor in self.contractors:
            if contractor.code == code:
                return contractor
        codes = [c.code for c in self.contractors]
        raise NotFoundError("contractor", code, suggestions=closest(code, codes))

    @property
    def projects(self) -> tuple[str, ...]:
        """Every project with at least one engagement, sorted."""
        return tuple(sorted({e.project_id for e in self.engagements}))

    def route(
        self,
        code: str,
        project_id: str,
        *,
        taxonomy: Taxonomy | None = None,
        building_id: str | None = None,
        strict: bool = False,
    ) -> Route:
        """Route a defect to the contractor that built its discipline in the project.

        The engagement covering the code most specifically wins (item before discipline before
        class). Among equally specific ones, the one whose party comes first in the item's
        default parties wins; a remaining tie is an error. With no engagement, the fallback is
        the item's first default party (``strict=True`` raises instead).

        Args:
            code: An item (or discipline) code; a deprecated code is replaced first.
            project_id: The project.
            taxonomy: The taxonomy of the code; the standard one by default.
            building_id: The building, to choose among building-scoped engagements.
            strict: Raise instead of falling back to the default party.

        Returns:
            The route.

        Raises:
            NotFoundError: Unknown code or project, or (``strict``) nothing covers the code.
            ValidationError: Two engagements cover the code equally well.
        """
        from propcrm.taxonomy._taxonomy import standard

        tax = taxonomy if taxonomy is not None else standard()
        node = tax.get(tax.resolve(code))
        if project_id not in self.projects:
            raise NotFoundError(
                "project",
                project_id,
                suggestions=closest(project_id, self.projects),
            )
        candidates = [
            (e.match_depth(node.code), e)
            for e in self.engagements
            if e.project_id == project_id
            and (building_id is None or not e.buildings or building_id in e.buildings)
        ]
        candidates = [(depth, e) for depth, e in candidates if depth]
        if not candidates:
            if strict or not node.parties:
                raise NotFoundError(
                    "engagement",
                    f"{node.code} in {project_id}",
                    hint="register which contractor built this discipline in the project",
                )
            return Route(
                code=node.code,
                project_id=project_id,
                party=node.parties[0],
                contractor=None,
                engagement=None,
                reason=(
                    f"no contractor registered for {node.code} in {project_id}; "
                    f"default party {node.parties[0]}"
                ),
            )
        best = max(depth for depth, _ in candidates)
        top = [e for depth, e in candidates if depth == best]

        def preference(engagement: Engagement) -> int:
            party = self.contractor(engagement.contractor).party
            return node.parties.index(party) if party in node.parties else len(node.parties)

        top.sort(key=preference)
        if len(top) > 1 and preference(top[0]) == preference(top[1]):
            raise ValidationError.single(
                "$.engagements",
                f"{top[0].contractor} and {top[1].contractor} both cover {node.code} "
                f"in {project_id}",
                hint="narrow an engagement's scope or give its buildings",
            )
        chosen = top[0]
        contractor = self.contractor(chosen.contractor)
        covered = max(
            (s for s in chosen.scope if node.code == s or node.code.startswith(s + ".")),
            key=lambda s: s.count("."),
        )
        level = level_of(covered)
        return Route(
            code=node.code,
            project_id=project_id,
            party=contractor.party,
            contractor=contractor,
            engagement=chosen,
            reason=(
                f"{contractor.code} ({contractor.name_zh}) built {covered} "
                f"({level.label_en.lower()}) in {project_id}"
            ),
        )
