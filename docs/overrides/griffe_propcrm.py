"""A griffe extension for propcrm's docstrings, loaded by mkdocstrings when the site is built.

propcrm's docstrings are Google style with two habits from Sphinx that Markdown does not know:

- cross-reference roles (``:class:`Lifecycle```, ``:func:`~propcrm.open_store```): shown as
  inline code, the role and any leading ``~`` dropped;
- a paragraph ending in ``::`` before an indented example: the colons become one.

Module constants are documented with ``#:`` comments (read by Sphinx and by people); griffe
keeps no comments, so this extension reads them from the source and makes them the docstring.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from griffe import Attribute, Docstring, Extension, Object

__all__ = ["PropcrmDocstrings"]

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(\S)::$", flags=re.MULTILINE)


@cache
def _source_lines(path: str) -> tuple[str, ...]:
    return tuple(Path(path).read_text(encoding="utf-8").splitlines())


def _clean(text: str) -> str:
    return _LITERAL.sub(r"\1:", _ROLE.sub(r"`\1`", text))


def _comment_above(obj: Attribute) -> str | None:
    if obj.lineno is None or not isinstance(obj.filepath, Path):
        return None
    lines = _source_lines(str(obj.filepath))
    found: list[str] = []
    index = obj.lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(found) or None


class PropcrmDocstrings(Extension):
    """Clean Sphinx roles out of docstrings; make ``#:`` comments the docstrings of constants."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite the docstring of every object griffe loads."""
        if obj.docstring is None and isinstance(obj, Attribute):
            comment = _comment_above(obj)
            if comment is not None:
                obj.docstring = Docstring(comment, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = _clean(obj.docstring.value)
