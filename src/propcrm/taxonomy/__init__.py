"""The standard issue taxonomy (问题标准库), statutory warranty and the contractor register.

Classify a report and decide warranty in one line each::

    >>> from datetime import date
    >>> from propcrm import taxonomy
    >>> taxonomy.standard().search("卫生间天花板滴水")[0].code
    'Q.WP.08'
    >>> taxonomy.warranty_status(
    ...     "Q.WP.08", handover=date(2024, 6, 1), accepted=date(2024, 3, 1),
    ...     asked_on=date(2026, 11, 23),
    ... ).covered
    True

Nothing is read at import time: the shipped data is loaded on first use and cached.
"""

from __future__ import annotations

from propcrm.taxonomy._cases import Case, CaseLibrary, ReviewArea
from propcrm.taxonomy._contractors import Contractor, ContractorRegister, Engagement, Route
from propcrm.taxonomy._model import Level, Node, Party, PartyKind, RoomType
from propcrm.taxonomy._search import SearchHit
from propcrm.taxonomy._taxonomy import Conflict, Taxonomy, TaxonomyDiff, standard
from propcrm.taxonomy._warranty import (
    DEFAULT_DESIGN_LIFE_YEARS,
    Basis,
    ContractualExtension,
    Exclusion,
    PeriodKind,
    Season,
    SeasonKind,
    Side,
    Term,
    WarrantyDecision,
    WarrantyRule,
    WarrantyState,
    add_period,
    exclusions,
    seasons,
    warranty_rules,
    warranty_status,
)

__all__ = [
    "DEFAULT_DESIGN_LIFE_YEARS",
    "Basis",
    "Case",
    "CaseLibrary",
    "Conflict",
    "Contractor",
    "ContractorRegister",
    "ContractualExtension",
    "Engagement",
    "Exclusion",
    "Level",
    "Node",
    "Party",
    "PartyKind",
    "PeriodKind",
    "ReviewArea",
    "RoomType",
    "Route",
    "SearchHit",
    "Season",
    "SeasonKind",
    "Side",
    "Taxonomy",
    "TaxonomyDiff",
    "Term",
    "WarrantyDecision",
    "WarrantyRule",
    "WarrantyState",
    "add_period",
    "exclusions",
    "seasons",
    "standard",
    "warranty_rules",
    "warranty_status",
]
