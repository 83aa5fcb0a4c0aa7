"""The case library (案例库, seed 001): lessons learned, linked to taxonomy codes and projects."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from propcrm.errors import FieldError, ValidationError
from propcrm.model.enums import LabelledEnum, Severity
from propcrm.taxonomy._model import CODE_PATTERN, Level

if TYPE_CHECKING:
    from propcrm.taxonomy._taxonomy import Taxonomy

__all__ = ["CASE_COLUMNS", "Case", "CaseLibrary", "ReviewArea"]


class ReviewArea(LabelledEnum):
    """The four headings under which seed 001 feeds lessons into design and construction."""

    PLANNING = (
        "planning",
        "总体规划、公共设施和景观绿化",
        "Planning, public facilities, landscape",
    )
    BUILDING = ("building", "建筑主体及户内", "Building and unit interior")
    LIVABILITY = (
        "livability",
        "居住性能、影响居住的设备布点",
        "Livability and equipment placement",
    )
    QUALITY = ("quality", "工程质量类", "Construction quality")


def _text(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.single(f"$.{attribute.name}", "must be a non-empty string")


def _code_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


def _check_codes(_inst: object, _attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value:
        raise ValidationError.single("$.codes", "a case must name at least one taxonomy code")
    for index, code in enumerate(value):
        if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
            raise ValidationError.single(f"$.codes[{index}]", f"{code!r} is not a taxonomy code")


def _check_count(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError.single(f"$.{attribute.name}", "must be a whole number ≥ 0")


@attrs.frozen(kw_only=True)
class Case:
    """One lesson learned from an old project, for the design review of new ones.

    Attributes:
        case_id: The library's key.
        title: Short title (usually Chinese).
        codes: Taxonomy codes of the issue (items, or a discipline).
        project_id: The project it happened in.
        area: The design-review heading it feeds (seed 001's four headings).
        problem: What went wrong, as found in tickets and revisits.
        lesson: What new projects should do differently.
        owner: Party code of the department that should act on it, e.g. ``"DI"``.
        recorded_on: When the case was written up.
        tickets: How many tickets the issue caused (the main ranking weight).
        severity: How bad it was.
    """

    case_id: str = attrs.field(validator=_text)
    title: str = attrs.field(validator=_text)
    codes: tuple[str, ...] = attrs.field(converter=_code_tuple, validator=_check_codes)
    project_id: str = attrs.field(validator=_text)
    area: ReviewArea = attrs.field(converter=ReviewArea)
    problem: str = attrs.field(validator=_text)
    lesson: str = attrs.field(validator=_text)
    owner: str = attrs.field(validator=_text)
    recorded_on: date
    tickets: int = attrs.field(default=0, validator=_check_count)
    severity: Severity = attrs.field(default=Severity.MINOR, converter=Severity)

    @classmethod
    def from_row(cls, row: Mapping[str, str], *, line: int = 0) -> Case:
        """Build a case from a CSV row (``codes`` joined with ``|``, dates as ISO text).

        Args:
            row: The row, keyed by :data:`CASE_COLUMNS`.
            line: The row's line number, for error paths (``row 7: recorded_on``).

        Raises:
            ValidationError: Every bad field of the row.
        """
        where = f"row {line}: " if line else "$."
        problems: list[FieldError] = []
        values: dict[str, Any] = {}
        for column in CASE_COLUMNS:
            raw = (row.get(column) or "").strip()
            try:
                if column == "codes":
                    values[column] = tuple(c.strip() for c in raw.split("|") if c.strip())
                elif column == "recorded_on":
                    values[column] = date.fromisoformat(raw)
                elif column == "tickets":
                    values[column] = int(raw or "0")
                else:
                    values[column] = raw
            except ValueError as error:
                problems.append(FieldError(path=where + column, message=str(error)))
        if not problems:
            try:
                return cls(**values)
            except ValidationError as error:
                problems.extend(
                    FieldError(path=where + e.path.removeprefix("$."), message=e.message)
                    for e in error.errors
                )
            except ValueError as error:  # an unknown area or severity
                problems.append(FieldError(path=where + "area/severity", message=str(error)))
        raise ValidationError(problems, subject="case")

    def rank_key(self) -> tuple[int, int, int, str]:
        """Sort key of the ranking: most tickets, then major first, then newest, then id."""
        major = 0 if self.severity is Severity.MAJOR else 1
        return (-self.tickets, major, -self.recorded_on.toordinal(), self.case_id)


#: CSV columns of a case library, in order.
CASE_COLUMNS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Case))


def _case_tuple(values: Iterable[Case]) -> tuple[Case, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CaseLibrary:
    """The case library: every case, unique by id.

    Attributes:
        cases: The cases, in the order given.
    """

    cases: tuple[Case, ...] = attrs.field(converter=_case_tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for index, case in enumerate(self.cases):
            if case.case_id in seen:
                raise ValidationError.single(
                    f"$.cases[{index}].case_id", f"duplicate case {case.case_id!r}"
                )
            seen.add(case.case_id)

    def __len__(self) -> int:
        return len(self.cases)

    def add(self, *cases: Case) -> CaseLibrary:
        """Return a library with more cases.

        Raises:
            ValidationError: A case id is taken.
        """
        return CaseLibrary(cases=(*self.cases, *cases))

    def check(self, taxonomy: Taxonomy) -> None:
        """Check every case's codes against a taxonomy.

        Raises:
            ValidationError: Each unknown code, at ``$.cases[i].codes[j]``.
        """
        problems = [
            FieldError(path=f"$.cases[{i}].codes[{j}]", message=f"unknown code {code}")
            for i, case in enumerate(self.cases)
            for j, code in enumerate(case.codes)
            if code not in taxonomy
        ]
        if problems:
            raise ValidationError(problems, subject=f"case library against {taxonomy.tag}")

    def _disciplines(self, case: Case, taxonomy: Taxonomy) -> set[str]:
        found = set()
        for code in case.codes:
            live = taxonomy.resolve(code)
            if taxonomy.get(live).level is not Level.CLASS:
                found.add(taxonomy.rollup(live, Level.DISCIPLINE))
        return found

    def top_lessons(
        self,
        discipline: str,
        *,
        n: int = 5,
        taxonomy: Taxonomy | None = None,
        area: ReviewArea | str | None = None,
        exclude_project: str | None = None,
    ) -> tuple[Case, ...]:
        """Return the ``n`` lessons that matter most for a discipline, for a design review.

        A case counts for a discipline when one of its codes (replaced by its live code when
        deprecated) rolls up to it. Ranking: most tickets, then major severity, then the most
        recent, then case id.

        Args:
            discipline: A discipline code such as ``"Q.WP"`` (an item code is rolled up).
            n: How many.
            taxonomy: The taxonomy of the codes; the standard one by default.
            area: Only cases under this design-review heading.
            exclude_project: Leave out one project's own cases.

        Raises:
            NotFoundError: An unknown code.
            ValidationError: ``discipline`` is a top class.
        """
        from propcrm.taxonomy._taxonomy import standard

        tax = taxonomy if taxonomy is not None else standard()
        wanted = tax.rollup(tax.resolve(discipline), Level.DISCIPLINE)
        heading = None if area is None else ReviewArea(area)
        chosen = [
            case
            for case in self.cases
            if (heading is None or case.area is heading)
            and case.project_id != exclude_project
            and wanted in self._disciplines(case, tax)
        ]
        return tuple(sorted(chosen, key=Case.rank_key)[:n])

    def top_lessons_by_discipline(
        self, *, n: int = 3, taxonomy: Taxonomy | None = None
    ) -> dict[str, tuple[Case, ...]]:
        """Return the top ``n`` lessons of every discipline that has cases, keyed by code."""
        from propcrm.taxonomy._taxonomy import standard

        tax = taxonomy if taxonomy is not None else standard()
        codes = sorted({d for case in self.cases for d in self._disciplines(case, tax)})
        return {code: self.top_lessons(code, n=n, taxonomy=tax) for code in codes}

    @classmethod
    def from_csv(cls, text: str) -> CaseLibrary:
        """Read a library from CSV with :data:`CASE_COLUMNS` (row 1 is the header).

        Raises:
            ValidationError: Every bad field of every row, at ``row N: field``.
        """
        problems: list[FieldError] = []
        cases: list[Case] = []
        for offset, row in enumerate(csv.DictReader(io.StringIO(text))):
            try:
                cases.append(Case.from_row(row, line=offset + 2))
            except ValidationError as error:
                problems.extend(error.errors)
        if problems:
            raise ValidationError(problems, subject="case library CSV")
        return cls(cases=cases)

    def to_csv(self) -> str:
        """Write the library as CSV with :data:`CASE_COLUMNS`."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CASE_COLUMNS)
        for case in self.cases:
            writer.writerow(
                [
                    "|".join(case.codes)
                    if column == "codes"
                    else str(getattr(case, column).value)
                    if column in ("area", "severity")
                    else str(getattr(case, column))
                    for column in CASE_COLUMNS
                ]
            )
        return out.getvalue()
