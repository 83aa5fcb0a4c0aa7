"""The top-level package: its re-exports resolve, and importing it builds nothing yet."""

from __future__ import annotations

import subprocess
import sys

import pytest

import propcrm


def test_every_re_exported_name_resolves_to_its_home() -> None:
    from propcrm import aggregates, errors, model, service, stores, workflow

    homes = (aggregates, errors, model, service, stores, workflow)
    for name in propcrm.__all__:
        value = getattr(propcrm, name)
        if name in {"customers", "errors", "taxonomy"}:
            assert value.__name__ == f"propcrm.{name}"
        elif name != "__version__":
            assert any(getattr(home, name, None) is value for home in homes), name
    assert set(propcrm.__all__) <= set(dir(propcrm))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Tickets'"):
        propcrm.Tickets  # noqa: B018


def test_import_propcrm_loads_no_subpackage() -> None:
    # The command line and `import propcrm.errors` start fast: the value classes load on use.
    script = (
        "import sys, propcrm, propcrm.errors\n"
        "print(sorted(m for m in sys.modules if m.startswith('propcrm.')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['propcrm.errors']"
