"""Deterministic keyword search over taxonomy nodes (private module).

The scoring is meant to be read and checked by hand:

1. Text becomes *units*. A run of Chinese characters gives its character bigrams (a run of one
   character gives that character); Latin text gives lower-cased words, stop words dropped,
   with a light suffix strip (``-ing``, ``-ed``, ``-s``) applied alike to queries and terms.
2. Each node has a weighted bag of units: its keywords and aliases weigh 3, its names 2, the
   names and keywords of its discipline and the labels of its room types 1. A unit keeps its
   highest weight.
3. A node's score is the sum, over the distinct units of the query, of the weight the node gives
   that unit. Nodes scoring 0 are not hits. Ties are broken by code, ascending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

__all__ = ["SearchHit", "units", "weighted_units"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {"a", "an", "and", "are", "at", "be", "been", "by", "for", "from", "has", "have", "i", "in"}
    | {"is", "it", "its", "my", "of", "on", "or", "our", "the", "there", "this", "to", "too"}
    | {"very", "was", "were", "with"}
)
KEYWORD_WEIGHT = 3
NAME_WEIGHT = 2
DISCIPLINE_WEIGHT = 1


def _stem(word: str) -> str:
    for suffix, keep in (("ing", 4), ("ed", 4), ("s", 3)):
        if (
            word.endswith(suffix)
            and len(word) - len(suffix) >= keep - 1
            and not word.endswith("ss")
        ):
            return word[: -len(suffix)]
    return word


def units(text: str) -> tuple[str, ...]:
    """Split text into search units: Chinese bigrams and stemmed Latin words, in order, unique.

    Args:
        text: Any text, Chinese, English or mixed.

    Returns:
        The units, first occurrence first.

    Examples:
        >>> units("卫生间天花板滴水")
        ('卫生', '生间', '间天', '天花', '花板', '板滴', '滴水')
        >>> units("Water drips from the bathroom ceiling")
        ('water', 'drip', 'bathroom', 'ceil')
    """
    found: list[str] = []
    for run in _CJK.findall(text):
        found.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    for word in _WORD.findall(text.lower()):
        if word not in _STOP:
            found.append(_stem(word))
    return tuple(dict.fromkeys(found))


def weighted_units(weighted_texts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Return each unit of the texts with the highest weight any text gives it."""
    bag: dict[str, int] = {}
    for text, weight in weighted_texts:
        for unit in units(text):
            bag[unit] = max(bag.get(unit, 0), weight)
    return bag


@attrs.frozen(kw_only=True)
class SearchHit:
    """One search result.

    Attributes:
        code: The node found.
        score: The sum of the weights of the matched units.
        matched: The query units the node matched, in query order.
    """

    code: str
    score: int
    matched: tuple[str, ...]
