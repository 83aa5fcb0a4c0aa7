"""The documentation site: it builds with ``mkdocs build --strict``, and its pages match the code.

- the glossary's generated part (enum labels, taxonomy classes and disciplines, parties) is what
  the code says; regenerate it with ``python tests/test_docs_site.py``;
- every propcrm name and KPI the glossary's hand-written part cites exists;
- the API reference has a page for every public package and lists every top-level name;
- every Markdown page under ``docs/`` is in the site's navigation;
- the site builds with warnings as errors, with the pages a reader looks for first.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossary.md"
MKDOCS_YML = ROOT / "mkdocs.yml"
BEGIN = "<!-- BEGIN GENERATED: python tests/test_docs_site.py -->"
END = "<!-- END GENERATED -->"

# Public modules whose labelled enums the glossary lists, in the order it lists them.
ENUM_MODULES = (
    "propcrm.model",
    "propcrm.workflow.delivery",
    "propcrm.workflow.revisits",
    "propcrm.taxonomy",
    "propcrm.customers",
    "propcrm.metrics.sla",
    "propcrm.metrics.kpi",
    "propcrm.metrics.rfm",
    "propcrm.plugins",
)

# One reference page per public package: page → the modules it must render.
REFERENCE = {
    "propcrm.md": ("propcrm",),
    "errors.md": ("propcrm.errors",),
    "model.md": ("propcrm.model",),
    "workflow.md": (
        "propcrm.workflow",
        "propcrm.workflow.commands",
        "propcrm.workflow.events",
        "propcrm.workflow.diagram",
    ),
    "delivery.md": (
        "propcrm.workflow.delivery",
        "propcrm.workflow.delivery_kpis",
        "propcrm.workflow.delivery_serialization",
        "propcrm.workflow.revisits",
    ),
    "calendar.md": ("propcrm.metrics.calendar",),
    "sla.md": ("propcrm.metrics.sla",),
    "kpi.md": ("propcrm.metrics.kpi",),
    "rfm.md": ("propcrm.metrics.rfm",),
    "taxonomy.md": ("propcrm.taxonomy",),
    "customers.md": ("propcrm.customers",),
    "stores.md": ("propcrm.stores", "propcrm.stores.sql", "propcrm.stores.helpers"),
    "plugins.md": ("propcrm.plugins", "propcrm.plugins.hookspecs"),
    "serialization.md": ("propcrm.serialization",),
    "service.md": ("propcrm.service", "propcrm.aggregates"),
    "testing.md": (
        "propcrm.testing",
        "propcrm.testing.strategies",
        "propcrm.testing.store_contract",
        "propcrm.testing.store_machine",
        "propcrm.testing.pytest_plugin",
    ),
    "reports.md": ("propcrm.reports",),
    "demo.md": ("propcrm.demo",),
}


def _have_griffe() -> bool:
    return importlib.util.find_spec("griffe") is not None


# Public names with neither a docstring nor a ``#:`` comment, so the reference cannot show them
# (reported for fixing in the source). A name not in this list must appear in the reference.
UNDOCUMENTED: dict[str, set[str]] = {}

# -- the glossary's generated part -------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _labelled_enums() -> list[tuple[str, Any]]:
    from propcrm.model.enums import LabelledEnum

    found: list[tuple[str, Any]] = []
    seen: set[Any] = set()
    for module_name in ENUM_MODULES:
        module = importlib.import_module(module_name)
        for name in sorted(module.__all__):
            value = getattr(module, name)
            if (
                isinstance(value, type)
                and issubclass(value, LabelledEnum)
                and value is not LabelledEnum
                and value not in seen
            ):
                seen.add(value)
                found.append((module_name, value))
    return found


def generated_glossary() -> str:
    """The glossary's generated part, from the code."""
    from propcrm.taxonomy import Level, standard

    lines = [
        "### Enums",
        "",
        "Every labelled enum of the public API: the member, its wire value and its labels",
        "(`label_zh`, `label_en`).",
        "",
    ]
    for module_name, enum in _labelled_enums():
        lines += [
            f"#### `{enum.__name__}` (`{module_name}`)",
            "",
            "| 中文 | English | member | value |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(m.label_zh)} | {_cell(m.label_en)} | `{enum.__name__}.{m.name}` "
            f"| `{m.value}` |"
            for m in enum
        ]
        lines.append("")
    taxonomy = standard()
    lines += [
        f"### Issue classes and disciplines (`{taxonomy.tag}`)",
        "",
        "The top two levels of the standard issue taxonomy (`propcrm.taxonomy.standard()`); the",
        "items below them are in the [taxonomy guide](taxonomy.md).",
        "",
        "| code | 中文 | English | level |",
        "|---|---|---|---|",
    ]
    nodes = [*taxonomy.nodes_at(Level.CLASS), *taxonomy.nodes_at(Level.DISCIPLINE)]
    lines += [
        f"| `{n.code}` | {_cell(n.name_zh)} | {_cell(n.name_en)} | "
        f"{'class' if n in taxonomy.nodes_at(Level.CLASS) else 'discipline'} |"
        for n in sorted(nodes, key=lambda n: n.code)
    ]
    lines += [
        "",
        "### Responsible parties",
        "",
        "The party codes tickets are dispatched to (`Taxonomy.parties`).",
        "",
        "| code | 中文 | English | kind |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{p.code}` | {_cell(p.name_zh)} | {_cell(p.name_en)} | `{p.kind.value}` |"
        for p in sorted(taxonomy.parties, key=lambda p: p.code)
    ]
    return "\n".join(lines) + "\n"


def _replace_generated(text: str, generated: str) -> str:
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    return text[:start] + "\n" + generated + text[end:]


def _current_generated(text: str) -> str:
    start = text.index(BEGIN) + len(BEGIN)
    return text[start : text.index(END)].lstrip("\n")


def test_glossary_generated_part_matches_the_code() -> None:
    text = GLOSSARY.read_text(encoding="utf-8")
    assert _current_generated(text) == generated_glossary(), (
        "docs/glossary.md is out of date: run python tests/test_docs_site.py"
    )


def test_glossary_lists_the_key_enums() -> None:
    generated = generated_glossary()
    for needle in ("`TicketKind.COMPLAINT`", "| 投诉 |", "`TicketStatus.REOPENED`", "`GC`"):
        assert needle in generated


# -- the glossary's hand-written part ------------------------------------------------------------


def _resolve(dotted: str) -> object:
    """The object a dotted ``propcrm...`` name stands for (longest importable module first)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            found: object = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def _hand_written() -> str:
    return GLOSSARY.read_text(encoding="utf-8").split(BEGIN)[0]


def test_glossary_names_exist() -> None:
    names = re.findall(r"`(propcrm(?:\.\w+)+)`", _hand_written())
    assert len(names) > 80
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (AttributeError, ModuleNotFoundError):
            missing.append(name)
    assert not missing, f"docs/glossary.md cites names propcrm does not have: {missing}"


def test_glossary_kpis_exist() -> None:
    from propcrm.metrics.kpi import kpi_definitions

    known = {definition.name for definition in kpi_definitions()}
    cited = re.findall(r"KPI `(\w+)`", _hand_written())
    assert len(cited) > 15
    assert sorted(set(cited) - known) == []


def test_glossary_party_codes_exist() -> None:
    from propcrm.taxonomy import standard

    codes = {party.code for party in standard().parties}
    cited = set(re.findall(r"`((?:DEV|SUB)-[A-Z]+|GC|PM|OWN)`", _hand_written()))
    assert cited and cited <= codes


# -- the home page -------------------------------------------------------------------------------


def _fresh_machine_commands(text: str) -> list[str]:
    return re.findall(r"^python3 -m venv .*$", text, flags=re.MULTILINE)


def test_home_page_has_the_readme_commands() -> None:
    readme = _fresh_machine_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    home = _fresh_machine_commands((DOCS / "index.md").read_text(encoding="utf-8"))
    assert len(readme) == 2
    assert home == readme, "docs/index.md must show the README's two commands"


# -- the API reference ---------------------------------------------------------------------------


def test_every_public_package_has_a_reference_page() -> None:
    for page, modules in REFERENCE.items():
        text = (DOCS / "reference" / page).read_text(encoding="utf-8")
        for module in modules:
            assert f"::: {module}\n" in text, f"docs/reference/{page} does not render {module}"


def test_top_level_reference_links_every_exported_name() -> None:
    import propcrm

    text = (DOCS / "reference" / "propcrm.md").read_text(encoding="utf-8")
    missing = [name for name in propcrm.__all__ if f"`{name}`" not in text]
    assert not missing, f"docs/reference/propcrm.md does not list {missing}"


# -- the griffe extension: attrs classes get the signature attrs gives them -----------------------

# Public modules whose attrs classes the reference shows with a signature.
ATTRS_MODULES = (
    "propcrm",
    "propcrm.errors",
    "propcrm.model",
    "propcrm.workflow",
    "propcrm.workflow.commands",
    "propcrm.workflow.events",
    "propcrm.workflow.delivery",
    "propcrm.workflow.delivery_kpis",
    "propcrm.workflow.revisits",
    "propcrm.metrics.calendar",
    "propcrm.metrics.sla",
    "propcrm.metrics.kpi",
    "propcrm.metrics.rfm",
    "propcrm.taxonomy",
    "propcrm.customers",
    "propcrm.stores",
    "propcrm.plugins",
    "propcrm.service",
    "propcrm.reports",
    "propcrm.demo",
)


def _public_attrs_classes() -> list[type]:
    import attrs

    found: list[type] = []
    for module_name in ATTRS_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and attrs.has(value) and value not in found:
                found.append(value)
    return found


@pytest.mark.skipif(not _have_griffe(), reason="griffe comes with mkdocstrings[python]")
def test_attrs_signatures_in_the_reference_match_the_classes() -> None:
    import inspect

    import griffe

    extension = griffe.load_extensions(
        str(DOCS / "overrides" / "griffe_propcrm.py") + ":PropcrmDocstrings"
    )
    package = griffe.load("propcrm", search_paths=[str(ROOT / "src")], extensions=extension)
    classes = _public_attrs_classes()
    assert len(classes) > 150
    differ = []
    for cls in classes:
        path = f"{cls.__module__}.{cls.__qualname__}".removeprefix("propcrm.")
        init = package[path].members.get("__init__")
        documented = (
            [
                (p.name, p.kind.value, p.default is None)
                for p in list(init.parameters)[1:]  # self
            ]
            if init is not None
            else None
        )
        actual = [
            (p.name, str(p.kind.description), p.default is inspect.Parameter.empty)
            for p in inspect.signature(cls).parameters.values()
        ]
        if documented != actual:
            differ.append(f"{path}: reference {documented}, class {actual}")
    assert not differ, "\n".join(differ)


# -- the navigation ------------------------------------------------------------------------------


def _nav_pages() -> set[str]:
    text = MKDOCS_YML.read_text(encoding="utf-8")
    nav = text[text.index("\nnav:") :]
    return set(re.findall(r"([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE))


def test_every_page_is_in_the_navigation() -> None:
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert sorted(pages - _nav_pages()) == [], "add these pages to the nav in mkdocs.yml"
    assert sorted(_nav_pages() - pages) == [], "the nav in mkdocs.yml names missing pages"


# -- the build -----------------------------------------------------------------------------------


# What the build needs: mkdocs, the Material theme, mkdocstrings and its Python handler.
SITE_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(
    not all(_have(m) for m in SITE_PACKAGES),
    reason="the docs site needs mkdocs-material and mkdocstrings[python]: pip install -e '.[docs]'",
)
def test_site_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    started = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(MKDOCS_YML),
            "-d",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    print(f"mkdocs build --strict: {seconds:.1f} s")
    for page in (
        "index.html",
        "glossary.html",
        "architecture.html",
        "cli.html",
        "reports.html",
        "demo.html",
        "tutorials/vendor.html",
        "tutorials/store-author.html",
        "tutorials/notebook-kpis.html",
        "tutorials/test-suite.html",
        *(f"reference/{page[:-3]}.html" for page in REFERENCE),
        "search/search_index.json",
    ):
        assert (site / page).is_file(), f"the site has no {page}"
    # Every public name (but the known undocumented ones) has its entry in the reference.
    missing = []
    for page, modules in REFERENCE.items():
        html = (site / "reference" / f"{page[:-3]}.html").read_text(encoding="utf-8")
        ids = set(re.findall(r'id="([^"]+)"', html))
        for module_name in modules:
            module = importlib.import_module(module_name)
            missing += [
                f"{module_name}.{name}"
                for name in getattr(module, "__all__", ())
                if f"{module_name}.{name}" not in ids
                and not isinstance(getattr(module, name), types.ModuleType)
                and name not in UNDOCUMENTED.get(module_name, ())
                and module_name != "propcrm"  # its page links to the defining pages
            ]
    assert not missing, f"public names missing from the reference (no docstring?): {missing}"
    # mkdocstrings rendered the API from the docstrings, and snippets included the example files.
    service = (site / "reference" / "service.html").read_text(encoding="utf-8")
    assert 'id="propcrm.service.TicketService"' in service
    assert "Run lifecycle commands against a store" in service
    store_tutorial = (site / "tutorials" / "store-author.html").read_text(encoding="utf-8")
    assert "propcrm_register_stores" in store_tutorial
    assert "--8&lt;--" not in store_tutorial and "--8<--" not in store_tutorial


if __name__ == "__main__":
    GLOSSARY.write_text(
        _replace_generated(GLOSSARY.read_text(encoding="utf-8"), generated_glossary()),
        encoding="utf-8",
    )
    print(f"updated {GLOSSARY.relative_to(ROOT)}")
