"""A griffe extension for propcrm's docstrings, loaded by mkdocstrings when the site is built.

propcrm's docstrings are Google style with two habits from Sphinx that Markdown does not know:

- cross-reference roles (``:class:`Lifecycle```, ``:func:`~propcrm.open_store```): shown as
  inline code, the role and any leading ``~`` dropped;
- a paragraph ending in ``::`` before an indented example: the colons become one.

Module constants are documented with ``#:`` comments (read by Sphinx and by people); griffe
keeps no comments, so this extension reads them from the source and makes them the docstring.

propcrm's values are attrs classes, whose ``__init__`` attrs writes at run time: griffe reads the
source and sees none, so the reference would show classes without a signature. This extension
writes the ``__init__`` attrs would make (fields in order, base classes' first; ``init=False``
and ``ClassVar`` left out; ``alias``, defaults, ``factory`` and ``kw_only`` honoured), and
``tests/test_docs_site.py`` checks it against ``inspect.signature`` of the real classes.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from griffe import (
    Attribute,
    Class,
    Docstring,
    Expr,
    ExprCall,
    ExprKeyword,
    Extension,
    Function,
    Module,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
)

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


_ATTRS_DECORATORS = ("attrs.frozen", "attrs.define", "attrs.mutable", "attr.s", "attr.attrs")
_FIELD_CALLS = ("attrs.field", "attr.ib", "field")


def _attrs_decorator(cls: Class) -> Expr | str | None:
    for decorator in cls.decorators:
        text = str(decorator.value)
        if text.split("(", 1)[0] in _ATTRS_DECORATORS:
            return decorator.value
    return None


def _is_field_call(call: ExprCall) -> bool:
    name = str(call.function)
    return name in _FIELD_CALLS or name.rsplit(".", 1)[-1].endswith("_field")


def _keywords(call: object) -> dict[str, Any]:
    if not isinstance(call, ExprCall):
        return {}
    return {a.name: a.value for a in call.arguments if isinstance(a, ExprKeyword)}


def _is_true(value: object) -> bool:
    return str(value) == "True"


def _is_field(member: Attribute) -> bool:
    """Whether ``member`` is an annotated name in the class body, not a ``ClassVar``."""
    # griffe unwraps ``ClassVar[X]`` to ``X`` and files ``self.x = ...`` under the same name:
    # read the source line instead.
    if member.lineno is None or not isinstance(member.filepath, Path):
        return False
    line = _source_lines(str(member.filepath))[member.lineno - 1].strip()
    declaration = line.split("=", 1)[0]
    return declaration.startswith(f"{member.name}:") and "ClassVar[" not in declaration


def _attrs_parameters(cls: Class) -> list[Parameter] | None:
    """The parameters of the ``__init__`` attrs makes for ``cls``; ``None`` if not attrs."""
    decorator = _attrs_decorator(cls)
    if decorator is None:
        return None
    class_kw_only = _is_true(_keywords(decorator).get("kw_only"))
    parameters: list[Parameter] = []
    bases = [b for b in reversed(cls.mro()) if _attrs_decorator(b) is not None]
    for owner in [*bases, cls]:
        for name, member in owner.members.items():
            if member.is_alias or not isinstance(member, Attribute) or member.annotation is None:
                continue
            if not _is_field(member):
                continue
            value = member.value
            options: dict[str, Any] = {}
            if isinstance(value, ExprCall) and _is_field_call(value):
                options = _keywords(value)
                positional = [a for a in value.arguments if not isinstance(a, ExprKeyword)]
                if str(value.function) not in _FIELD_CALLS and positional:
                    # a helper such as ``_ref_field(default)`` wrapping ``attrs.field``
                    options.setdefault("default", positional[0])
                value = options.get("default")
                if value is None and "factory" in options:
                    value = f"<factory {options['factory']}>"
            if "init" in options and not _is_true(options["init"]):
                continue
            alias = options.get("alias")
            name_in_init = str(alias).strip("'\"") if alias is not None else name.lstrip("_")
            kw_only = class_kw_only or _is_true(options.get("kw_only"))
            kind = ParameterKind.keyword_only if kw_only else ParameterKind.positional_or_keyword
            parameters = [p for p in parameters if p.name != name_in_init]
            parameters.append(
                Parameter(name_in_init, annotation=member.annotation, kind=kind, default=value)
            )
    return parameters


def _classes(module: Module | Class) -> list[Class]:
    found: list[Class] = []
    for member in module.members.values():
        if member.is_alias:
            continue
        if isinstance(member, Class):
            found.append(member)
            found.extend(_classes(member))
        elif isinstance(member, Module):
            found.extend(_classes(member))
    return found


def add_attrs_init(cls: Class) -> None:
    """Give an attrs class the ``__init__`` attrs writes at run time (nothing for others)."""
    parameters = _attrs_parameters(cls)
    if parameters is None or "__init__" in cls.members:
        return
    init = Function(
        "__init__",
        lineno=cls.lineno,
        endlineno=cls.lineno,
        parameters=Parameters(
            Parameter("self", kind=ParameterKind.positional_or_keyword), *parameters
        ),
        returns="None",
    )
    init.labels.add("attrs-generated")
    cls.set_member("__init__", init)


class PropcrmDocstrings(Extension):
    """Clean Sphinx roles out of docstrings; make ``#:`` comments the docstrings of constants."""

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        """Once the package is loaded (bases resolvable), write attrs classes' ``__init__``."""
        for cls in _classes(pkg):
            add_attrs_init(cls)

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite the docstring of every object griffe loads."""
        if obj.docstring is None and isinstance(obj, Attribute):
            comment = _comment_above(obj)
            if comment is not None:
                obj.docstring = Docstring(comment, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = _clean(obj.docstring.value)
