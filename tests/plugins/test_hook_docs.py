"""docs/plugin_hooks.md documents every hook under its exact signature (datasette's test_docs)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from propcrm.plugins import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"

_HEADING = re.compile(r"^## (propcrm_\w+)\(([^)]*)\)$", re.MULTILINE)


def _specs() -> dict[str, Callable[..., Any]]:
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if name.startswith("propcrm_") and hasattr(fn, "propcrm_spec")
    }


def render(fn: Callable[..., Any]) -> str:
    """``def name(a: A, b: B) -> R`` from the specification, annotations as written."""
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {fn.__name__}({params}) -> {sig.return_annotation}"


def doc_problems(text: str) -> list[str]:
    """Every difference between the page and the specifications, as sentences."""
    problems: list[str] = []
    specs = _specs()
    sections = {m[1]: m for m in _HEADING.finditer(text)}
    for name in sorted(set(specs) - set(sections)):
        problems.append(f"{name} is not documented")
    for name in sorted(set(sections) - set(specs)):
        problems.append(f"{name} is documented but not a hook")
    headings = [m[1] for m in _HEADING.finditer(text)]
    if len(headings) != len(set(headings)):
        problems.append("a hook is documented twice")
    for name, match in sections.items():
        fn = specs.get(name)
        if fn is None:
            continue
        params = [p.strip() for p in match[2].split(",") if p.strip()]
        if params != list(inspect.signature(fn).parameters):
            problems.append(f"{name}: heading lists {params}")
        following = _HEADING.search(text, match.end())
        body = text[match.end() : following.start() if following else len(text)]
        if f"```python\n{render(fn)}\n```" not in body:
            problems.append(f"{name}: signature block is not `{render(fn)}`")
        first = "yes" if fn.propcrm_spec.get("firstresult") else "no"  # type: ignore[attr-defined]
        if f"firstresult: {first}." not in body:
            problems.append(f"{name}: must say 'firstresult: {first}.'")
    return problems


def test_every_hook_is_documented_under_its_exact_signature() -> None:
    assert doc_problems(DOC.read_text(encoding="utf-8")) == []


def test_every_hook_is_named_propcrm_and_says_firstresult_in_its_docstring() -> None:
    specs = _specs()
    assert len(specs) == 12
    public = {n for n in hookspecs.__all__ if n.startswith("propcrm_")}
    assert public == set(specs)
    for name, fn in specs.items():
        doc = inspect.getdoc(fn) or ""
        assert "firstresult" in doc, name
        for param in inspect.signature(fn).parameters:
            assert f"{param}:" in doc, f"{name} does not document {param}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t.replace("## propcrm_route_ticket(ticket, now, taxonomy)", ""),
            "propcrm_route_ticket is not documented",
        ),
        (
            lambda t: t.replace(
                "(ticket: Ticket, now: datetime,", "(ticket: Ticket, at: datetime,"
            ),
            "propcrm_route_ticket: signature block",
        ),
        (
            lambda t: t.replace(
                "## propcrm_events_stored(ticket, events)", "## propcrm_events_stored(ticket)"
            ),
            "propcrm_events_stored: heading lists ['ticket']",
        ),
        (
            lambda t: t.replace("firstresult: yes.", "firstresult: no."),
            "propcrm_route_ticket: must say 'firstresult: yes.'",
        ),
        (
            lambda t: t + "\n## propcrm_on_void(ticket)\n",
            "propcrm_on_void is documented but not a hook",
        ),
    ],
)
def test_the_check_notices_drift(change: Callable[[str], str], expected: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    problems = doc_problems(change(text))
    assert any(p.startswith(expected) for p in problems), problems
