"""Statutory warranty: the two tables of the domain reference §4 as data, and the decision."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import attrs
from dateutil.relativedelta import (  # type: ignore[import-untyped, unused-ignore]
    relativedelta,
)

from propcrm.errors import FieldError, NotFoundError, ValidationError
from propcrm.model.enums import AreaType, LabelledEnum
from propcrm.taxonomy._data import read_csv_rows

if TYPE_CHECKING:
    from propcrm.taxonomy._contractors import ContractorRegister, Route
    from propcrm.taxonomy._taxonomy import Taxonomy

__all__ = [
    "DEFAULT_DESIGN_LIFE_YEARS",
    "REMAINDER_RULE",
    "Basis",
    "ContractualExtension",
    "Exclusion",
    "PeriodKind",
    "Season",
    "SeasonKind",
    "Side",
    "Term",
    "WarrantyDecision",
    "WarrantyRule",
    "WarrantyState",
    "add_period",
    "exclusions",
    "rule_codes",
    "seasons",
    "warranty_rules",
    "warranty_status",
]

#: The design service life used for ``WS`` and ``b-struct`` unless the caller says otherwise.
DEFAULT_DESIGN_LIFE_YEARS = 50

#: The rule that makes the buyer's period the longest of the three terms.
REMAINDER_RULE = (
    "《商品房销售管理办法》 Art. 33: the buyer's period is never shorter than what remains of "
    "the contractor's period, nor than the minimum of the 1998 provisions"
)


class Side(LabelledEnum):
    """Which statutory table a rule belongs to."""

    CONTRACTOR = ("contractor", "承包单位对建设单位", "Contractor to developer")
    BUYER = ("buyer", "开发企业对购房人", "Developer to buyer")


class PeriodKind(LabelledEnum):
    """How a rule's period is measured."""

    DESIGN_LIFE = ("design_life", "设计使用年限", "Design service life")
    YEARS = ("years", "年", "Years")
    MONTHS = ("months", "月", "Months")
    SEASONS = ("seasons", "采暖期/供冷期", "Heating or cooling seasons")
    AGREED = ("agreed", "约定", "As agreed")


class SeasonKind(LabelledEnum):
    """A heating or a cooling season."""

    HEATING = ("heating", "采暖期", "Heating season")
    COOLING = ("cooling", "供冷期", "Cooling season")


class Basis(LabelledEnum):
    """Which of the three terms of the buyer's period a date comes from."""

    BUYER_MINIMUM = ("buyer_minimum", "购房人最低保修期", "Buyer minimum")
    CONTRACTOR_REMAINDER = ("contractor_remainder", "承包单位保修期存续期", "Contractor remainder")
    CONTRACTUAL_EXTENSION = ("contractual_extension", "合同延长保修期", "Contractual extension")


class WarrantyState(LabelledEnum):
    """The outcome of a warranty decision."""

    COVERED = ("covered", "保修期内", "Covered")
    EXPIRED = ("expired", "已过保修期", "Expired")
    EXCLUDED = ("excluded", "不属保修范围", "Excluded")
    NO_PERIOD = ("no_period", "无法定保修期且未约定", "No statutory or agreed period")
    NOT_APPLICABLE = ("not_applicable", "不适用保修", "Warranty does not apply")


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(part) for part in text.split("-"))
    return month, day


def _pair(value: Iterable[int]) -> tuple[int, int]:
    month, day = value
    return month, day


def _check_month_day(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # 2001 is not a leap year: 29 February is refused because not every year has it.
    try:
        date(2001, *value)  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"{value!r} is not a (month, day) that exists every year",
            hint="29 February is refused; use 28 February or 1 March",
        ) from None


@attrs.frozen(kw_only=True)
class WarrantyRule:
    """One row of a statutory table.

    Attributes:
        code: ``WS``, ``WL5``, … on the contractor side; ``b-struct``, ``b-leak1``, … for buyers.
        side: Contractor → developer (from completion acceptance) or developer → buyer (from
            handover).
        period: How the minimum is measured.
        amount: Years, months or seasons; ``None`` for design life and agreed periods.
        name_zh: Scope in Chinese.
        name_en: Scope in English.
        statute: The regulation, e.g. ``《建设工程质量管理条例》``.
        article: The article, e.g. ``Art. 40(2)``.
        note: How the rule is read here, if that needs saying.
    """

    code: str
    side: Side = attrs.field(converter=Side)
    period: PeriodKind = attrs.field(converter=PeriodKind)
    amount: int | None = None
    name_zh: str
    name_en: str
    statute: str
    article: str
    note: str = ""

    @classmethod
    def from_row(cls, row: dict[str, str]) -> WarrantyRule:
        """Build a rule from a row of ``data/warranty.csv``."""
        return cls(
            code=row["code"],
            side=Side(row["side"]),
            period=PeriodKind(row["period"]),
            amount=int(row["amount"]) if row["amount"] else None,
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            statute=row["statute"],
            article=row["article"],
            note=row["note"],
        )

    @property
    def reference(self) -> str:
        """The statute and article, e.g. ``《建设工程质量管理条例》 Art. 40(2)``."""
        return f"{self.statute} {self.article}"


@attrs.frozen(kw_only=True)
class Season:
    """A region's heating or cooling season, as month-days; it may run over the new year.

    Attributes:
        region: Region code, e.g. ``"north"``.
        kind: Heating or cooling.
        start: First day of the season as ``(month, day)``.
        end: Last day of the season as ``(month, day)``; before ``start`` means the next year.
        name_zh: Region name in Chinese.
        name_en: Region name in English.
        source: Where the dates come from.
    """

    region: str
    kind: SeasonKind = attrs.field(converter=SeasonKind)
    start: tuple[int, int] = attrs.field(converter=_pair, validator=_check_month_day)
    end: tuple[int, int] = attrs.field(converter=_pair, validator=_check_month_day)
    name_zh: str = ""
    name_en: str = ""
    source: str = ""

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Season:
        """Build a season from a row of ``data/seasons.csv``."""
        return cls(
            region=row["region"],
            kind=SeasonKind(row["kind"]),
            start=_month_day(row["start"]),
            end=_month_day(row["end"]),
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            source=row["source"],
        )

    def occurrence(self, year: int) -> tuple[date, date]:
        """Return the first and last day of the season that starts in ``year``."""
        first = date(year, *self.start)
        last_year = year + 1 if self.end < self.start else year
        return first, date(last_year, *self.end)

    def end_of_nth(self, after: date, n: int) -> date:
        """Return the last day of the ``n``-th season that starts on or after ``after``.

        A season already running on ``after`` does not count: the system has not yet been
        through a whole season.

        Args:
            after: The day counting starts (completion acceptance or handover).
            n: How many seasons, at least 1.

        Returns:
            The last day of that season, inclusive.
        """
        year = after.year if date(after.year, *self.start) >= after else after.year + 1
        return self.occurrence(year + n - 1)[1]


@attrs.frozen(kw_only=True)
class Exclusion:
    """A reason the warranty does not apply even within the period.

    Attributes:
        code: ``misuse``, ``third_party``, ``force_majeure`` or ``owner_alteration``.
        name_zh: Chinese name.
        name_en: English name.
        party: Who bears the repair (party code).
        statute: The regulation.
        article: The article.
    """

    code: str
    name_zh: str
    name_en: str
    party: str
    statute: str
    article: str

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Exclusion:
        """Build an exclusion from a row of ``data/exclusions.csv``."""
        return cls(
            code=row["code"],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            party=row["party"],
            statute=row["statute"],
            article=row["article"],
        )

    @property
    def reference(self) -> str:
        """The statute and article."""
        return f"{self.statute} {self.article}"


def _scope_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


@attrs.frozen(kw_only=True)
class ContractualExtension:
    """A warranty the developer promised beyond the statute (1998 provisions, Art. 6).

    Attributes:
        until: The last covered day.
        scope: The taxonomy codes it covers (an item, a discipline or a class); empty means all.
        reference: Where it is promised, e.g. ``"purchase contract, annex 3"``.
    """

    until: date
    scope: tuple[str, ...] = attrs.field(default=(), converter=_scope_tuple)
    reference: str = "purchase contract"

    def covers(self, code: str) -> bool:
        """Whether the extension applies to an item code (directly or through an ancestor)."""
        return not self.scope or any(code == s or code.startswith(s + ".") for s in self.scope)


@attrs.frozen(kw_only=True)
class Term:
    """One candidate expiry of the buyer's period, and where it comes from.

    Attributes:
        basis: Buyer minimum, contractor remainder or contractual extension.
        expiry: The last covered day.
        rule: The statutory rule, ``None`` for a contractual extension.
        period: The period in words, e.g. ``"5 years from completion acceptance 2020-06-30"``.
        reference: The statute and article, or where an extension was promised.
    """

    basis: Basis
    expiry: date
    rule: WarrantyRule | None
    period: str
    reference: str


@attrs.frozen(kw_only=True)
class WarrantyDecision:
    """Whether a defect is under warranty, until when, why, and who repairs it.

    Attributes:
        code: The item code decided (a deprecated code is replaced by its live code first).
        asked_on: The date the question was about.
        state: Covered, expired, excluded, no period, or not applicable.
        expiry: The buyer's last covered day, ``None`` when no term applies.
        deciding: The term that gave ``expiry``.
        terms: Every term considered, in basis order.
        responsible: Party code of who must repair.
        route: The contractor route, when a contractor is responsible and a register was given.
        exclusion: The exclusion that applied, if any.
        reason: One sentence saying why.
    """

    code: str
    asked_on: date
    state: WarrantyState
    expiry: date | None
    deciding: Term | None
    terms: tuple[Term, ...]
    responsible: str
    route: Route | None = None
    exclusion: Exclusion | None = None
    reason: str

    @property
    def covered(self) -> bool:
        """Whether the repair is owed under warranty on ``asked_on``."""
        return self.state is WarrantyState.COVERED

    @property
    def reference(self) -> str | None:
        """The statute and article of the deciding term (or of the exclusion when excluded)."""
        if self.exclusion is not None:
            return self.exclusion.reference
        return None if self.deciding is None else self.deciding.reference


@functools.cache
def warranty_rules() -> dict[str, WarrantyRule]:
    """Return both statutory tables, keyed by rule code (loaded once, on first use)."""
    return {row["code"]: WarrantyRule.from_row(row) for row in read_csv_rows("warranty.csv")}


@functools.cache
def rule_codes() -> frozenset[str]:
    """Return the codes of every statutory warranty rule."""
    return frozenset(warranty_rules())


@functools.cache
def _all_seasons() -> tuple[Season, ...]:
    return tuple(Season.from_row(row) for row in read_csv_rows("seasons.csv"))


def seasons(region: str | None = None) -> tuple[Season, ...]:
    """Return the shipped heating/cooling seasons, all or of one region.

    Args:
        region: A region code such as ``"north"``; ``None`` for every region.

    Returns:
        The seasons, in data-file order.

    Raises:
        NotFoundError: The region is not in the data.
    """
    every = _all_seasons()
    if region is None:
        return every
    found = tuple(s for s in every if s.region == region)
    if not found:
        known = sorted({s.region for s in every})
        raise NotFoundError(
            "season region", region, hint="known regions: " + ", ".join(known) + "; or pass Seasons"
        )
    return found


@functools.cache
def exclusions() -> dict[str, Exclusion]:
    """Return the exclusions (misuse, third party, force majeure, owner alteration) by code."""
    return {row["code"]: Exclusion.from_row(row) for row in read_csv_rows("exclusions.csv")}


def add_period(start: date, *, years: int = 0, months: int = 0) -> date:
    """Return the last covered day of a period of years and months starting on ``start``.

    The Civil Code (《民法典》 Arts. 201-202) is followed: the start day is not counted, and the
    period ends on the corresponding day of the final month, or on that month's last day when it
    has no corresponding day. So 5 years from 2020-06-30 end on 2025-06-30 (covered that day) and
    1 year from 2024-02-29 ends on 2025-02-28.

    Args:
        start: The day the period is counted from (acceptance or handover).
        years: Whole years.
        months: Whole months.

    Returns:
        The last covered day.
    """
    result: date = start + relativedelta(years=years, months=months)
    return result


def _rule_term(
    rule: WarrantyRule,
    basis: Basis,
    start: date,
    start_name: str,
    season_list: Sequence[Season],
    design_life_years: int,
) -> Term | None:
    if rule.period is PeriodKind.AGREED:
        return None
    amount = rule.amount or 0
    if rule.period is PeriodKind.DESIGN_LIFE:
        expiry = add_period(start, years=design_life_years)
        period = f"design service life of {design_life_years} years from {start_name} {start}"
    elif rule.period is PeriodKind.YEARS:
        expiry = add_period(start, years=amount)
        period = f"{amount} year{'s' * (amount != 1)} from {start_name} {start}"
    elif rule.period is PeriodKind.MONTHS:
        expiry = add_period(start, months=amount)
        period = f"{amount} month{'s' * (amount != 1)} from {start_name} {start}"
    else:
        ends = [(s.end_of_nth(start, amount), s) for s in season_list]
        expiry, season = max(ends, key=lambda pair: pair[0])
        period = (
            f"{amount} {season.kind.value} season{'s' * (amount != 1)} of region "
            f"{season.region!r} from {start_name} {start}"
        )
    return Term(basis=basis, expiry=expiry, rule=rule, period=period, reference=rule.reference)


def _resolve_seasons(
    region: str | Sequence[Season] | None, kind: SeasonKind | None
) -> tuple[Season, ...]:
    found = seasons(region) if isinstance(region, str) else tuple(region or ())
    if kind is not None:
        found = tuple(s for s in found if s.kind is kind)
    return found


def _party_after(party: str, area: AreaType) -> str:
    # Common parts have no single owner: the property company organises the repair and the
    # special maintenance fund pays (《物业管理条例》 Art. 53); outside the estate, the utility.
    if party == "OWN" and area is AreaType.COMMON:
        return "PM"
    if party == "OWN" and area is AreaType.EXTERNAL:
        return "UT"
    return party


def warranty_status(
    code: str,
    *,
    handover: date,
    accepted: date,
    asked_on: date,
    extensions: Sequence[ContractualExtension] = (),
    region: str | Sequence[Season] | None = None,
    season_kind: SeasonKind | str | None = None,
    exclusion: Exclusion | str | None = None,
    area: AreaType | str = AreaType.UNIT,
    design_life_years: int = DEFAULT_DESIGN_LIFE_YEARS,
    register: ContractorRegister | None = None,
    project_id: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> WarrantyDecision:
    """Decide whether a defect is under warranty on a date, until when, why, and who repairs it.

    The buyer's last covered day is the latest of three terms (《商品房销售管理办法》 Art. 33):
    handover + the buyer minimum (1998 provisions, Art. 5), completion acceptance + the
    contractor minimum (《建设工程质量管理条例》 Art. 40), and any contractual extension. A day
    is covered up to and including its expiry (see :func:`add_period`).

    Args:
        code: The taxonomy item code; a deprecated code is replaced by its live code.
        handover: The day the unit was handed over to the buyer (交付之日).
        accepted: The day of completion acceptance (竣工验收合格之日).
        asked_on: The day the question is about (usually the day the defect was reported).
        extensions: Warranty promised beyond the statute.
        region: A region code of :func:`seasons` or your own seasons; needed for heating and
            cooling items.
        season_kind: Only count heating or only cooling seasons; by default every season of the
            region counts and the later expiry wins.
        exclusion: An exclusion found on inspection (code or value), if any.
        area: Where the defect is; decides who pays once warranty is over.
        design_life_years: The design service life for foundations and main structure.
        register: The contractor register, to name the contractor responsible.
        project_id: The project, with ``register``.
        taxonomy: The taxonomy the code belongs to; the standard one by default.

    Returns:
        The decision.

    Raises:
        NotFoundError: Unknown code, region, exclusion or project.
        ValidationError: Dates out of order, a missing region, or a bad design life.
    """
    from propcrm.taxonomy._taxonomy import standard

    tax = taxonomy if taxonomy is not None else standard()
    node = tax.get(tax.resolve(code))
    area = AreaType(area)
    _check_inputs(handover, accepted, asked_on, design_life_years)
    excluded = _exclusion(exclusion)
    rules = warranty_rules()

    season_list: tuple[Season, ...] = ()
    if any(rules[c].period is PeriodKind.SEASONS for c in node.warranty):
        kind = None if season_kind is None else SeasonKind(season_kind)
        season_list = _resolve_seasons(region, kind)
        if not season_list:
            raise ValidationError.single(
                "$.region",
                f"{node.code} is measured in heating/cooling seasons and no season was given",
                hint="pass region='north' (or another region of seasons()) or Season values",
            )

    route = None
    terms: list[Term] = []
    if node.contractor_rule is not None:
        if register is not None and project_id is not None:
            route = register.route(node.code, project_id, taxonomy=tax)
        rule = rules[node.contractor_rule]
        term = _rule_term(
            rule,
            Basis.CONTRACTOR_REMAINDER,
            accepted,
            "completion acceptance",
            season_list,
            design_life_years,
        )
        agreed = None if route is None or route.engagement is None else route.engagement
        if (
            agreed is not None
            and agreed.warranty_until is not None
            and (term is None or agreed.warranty_until > term.expiry)
        ):
            term = Term(
                basis=Basis.CONTRACTOR_REMAINDER,
                expiry=agreed.warranty_until,
                rule=rule,
                period=f"agreed with contractor {agreed.contractor} until {agreed.warranty_until}",
                reference=f"{rule.reference}; construction contract",
            )
        if term is not None:
            terms.append(term)
    if node.buyer_rule is not None:
        rule = rules[node.buyer_rule]
        # The structure's service life is the building's: it runs from completion acceptance.
        start, name = (
            (accepted, "completion acceptance")
            if rule.period is PeriodKind.DESIGN_LIFE
            else (handover, "handover")
        )
        term = _rule_term(rule, Basis.BUYER_MINIMUM, start, name, season_list, design_life_years)
        if term is not None:
            terms.append(term)
    if node.warranty:
        terms.extend(
            Term(
                basis=Basis.CONTRACTUAL_EXTENSION,
                expiry=ext.until,
                rule=None,
                period=f"extended until {ext.until}",
                reference=ext.reference,
            )
            for ext in extensions
            if ext.covers(node.code)
        )
    terms.sort(key=lambda t: _BASIS_ORDER.index(t.basis))

    default_party = node.parties[0] if node.parties else "PM"
    if not node.warranty:
        return WarrantyDecision(
            code=node.code,
            asked_on=asked_on,
            state=WarrantyState.NOT_APPLICABLE,
            expiry=None,
            deciding=None,
            terms=(),
            responsible=default_party,
            reason=f"{node.code} carries no warranty rule; it goes to its default party",
        )
    deciding = max(terms, key=lambda t: t.expiry) if terms else None  # first of equals wins
    expiry = None if deciding is None else deciding.expiry

    def decide(
        state: WarrantyState,
        responsible: str,
        reason: str,
        *,
        route: Route | None = None,
        exclusion: Exclusion | None = None,
    ) -> WarrantyDecision:
        return WarrantyDecision(
            code=node.code,
            asked_on=asked_on,
            state=state,
            expiry=expiry,
            deciding=deciding,
            terms=tuple(terms),
            responsible=responsible,
            route=route,
            exclusion=exclusion,
            reason=reason,
        )

    if excluded is not None:
        return decide(
            WarrantyState.EXCLUDED,
            _party_after(excluded.party, area),
            f"excluded: {excluded.name_en} ({excluded.reference})",
            exclusion=excluded,
        )
    if deciding is None or expiry is None:
        return decide(
            WarrantyState.NO_PERIOD,
            _party_after("OWN", area),
            f"{node.code}: no statutory minimum and no agreed period was given",
        )
    if asked_on > expiry:
        return decide(
            WarrantyState.EXPIRED,
            _party_after("OWN", area),
            f"expired on {expiry} ({deciding.period}; {deciding.reference})",
        )
    contractor_term = next((t for t in terms if t.basis is Basis.CONTRACTOR_REMAINDER), None)
    if contractor_term is not None and asked_on <= contractor_term.expiry:
        responsible = route.party if route is not None else default_party
        who = (
            f"contractor {route.contractor.code}"
            if route is not None and route.contractor is not None
            else f"default party {responsible}"
        )
        reason = f"covered until {expiry}; {who} is within its own period"
    else:
        responsible = "DEV-ENG"
        route = None
        reason = f"covered until {expiry}; the contractor's period is over, the developer repairs"
    return decide(
        WarrantyState.COVERED,
        responsible,
        f"{reason} ({deciding.period}; {deciding.reference})",
        route=route,
    )


_BASIS_ORDER = (Basis.BUYER_MINIMUM, Basis.CONTRACTOR_REMAINDER, Basis.CONTRACTUAL_EXTENSION)


def _check_inputs(handover: date, accepted: date, asked_on: date, design_life: int) -> None:
    problems: list[FieldError] = []
    dates: tuple[tuple[str, object], ...] = (
        ("handover", handover),
        ("accepted", accepted),
        ("asked_on", asked_on),
    )
    for name, value in dates:
        if not isinstance(value, date) or isinstance(value, datetime):
            problems.append(FieldError(path=f"$.{name}", message="expected a date (not datetime)"))
    if not problems:
        if handover < accepted:
            problems.append(
                FieldError(path="$.handover", message="handover is before completion acceptance")
            )
        if asked_on < accepted:
            problems.append(
                FieldError(
                    path="$.asked_on",
                    message="before completion acceptance there is no warranty yet",
                )
            )
    if not isinstance(design_life, int) or design_life < 1:
        problems.append(
            FieldError(path="$.design_life_years", message="must be a positive number of years")
        )
    if problems:
        raise ValidationError(problems, subject="warranty question")


def _exclusion(value: Exclusion | str | None) -> Exclusion | None:
    if value is None or isinstance(value, Exclusion):
        return value
    known = exclusions()
    if value not in known:
        raise NotFoundError(
            "warranty exclusion", value, hint="known exclusions: " + ", ".join(sorted(known))
        )
    return known[value]
