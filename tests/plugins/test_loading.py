"""Loading in a fresh process: lazy, once, from entry points, with the environment block list.

Each test runs Python in a subprocess with a fake installed distribution on its path, so the
process-wide manager, the registries and ``sys.modules`` start clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ACME = """
from propcrm.plugins import hookimpl
from propcrm.metrics.calendar import twenty_four_seven

CALLS = []

@hookimpl
def propcrm_register_calendars(register):
    CALLS.append("calendars")
    register("acme-office", lambda: twenty_four_seven(name="acme-office"))
"""


def install(site: Path, name: str, module_text: str, entry: str | None = None) -> None:
    (site / f"{name}.py").write_text(textwrap.dedent(module_text), encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[propcrm]\n{entry or name} = {name}\n")


def run(site: Path, code: str, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k != "PROPCRM_BLOCK_PLUGINS"}
    environ["PYTHONPATH"] = os.pathsep.join([str(site), environ.get("PYTHONPATH", "")])
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    parsed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


@pytest.fixture
def site(tmp_path: Path) -> Path:
    install(tmp_path, "acme_propcrm", ACME, entry="acme")
    return tmp_path


def test_importing_propcrm_loads_no_plugin_and_reads_no_entry_point(site: Path) -> None:
    out = run(
        site,
        """
        import importlib.metadata, json, sys
        calls = []
        real = importlib.metadata.entry_points
        importlib.metadata.entry_points = lambda *a, **k: calls.append(k) or real(*a, **k)
        import propcrm, propcrm.plugins, propcrm.stores, propcrm.service, propcrm.taxonomy
        import propcrm.metrics.calendar, propcrm.workflow
        loaded = sorted(m for m in sys.modules if ".builtin_" in m or m.startswith("acme"))
        from propcrm.plugins import _manager
        print(json.dumps({"calls": len(calls), "loaded": loaded,
                          "default": _manager._default is not None}))
        """,
    )
    assert out == {"calls": 0, "loaded": [], "default": False}


def test_installed_plugins_load_once_after_the_builtins(site: Path) -> None:
    out = run(
        site,
        """
        import json
        from propcrm.plugins import ensure_loaded, get_plugins
        ensure_loaded(); ensure_loaded()
        import acme_propcrm
        from propcrm.metrics.calendar import get_calendar
        names = get_plugins().names()
        print(json.dumps({
            "names": [n for n in names if n != "propcrm.stores.builtin_plugin"],
            "calls": acme_propcrm.CALLS,
            "acme": get_calendar("acme-office").name,
            "desk": get_calendar("cn-hotline-desk").name,
        }))
        """,
    )
    names = out.pop("names")
    assert isinstance(names, list)
    # built-ins first, then installed plugins (others may be installed besides acme)
    assert names[:3] == [
        "propcrm.plugins.builtin_calendars",
        "propcrm.plugins.builtin_taxonomy",
        "propcrm.plugins.builtin_router",
    ]
    assert "acme" in names[3:]
    assert out == {"calls": ["calendars"], "acme": "acme-office", "desk": "cn-hotline-desk"}


def test_open_store_loads_the_builtin_stores_lazily(site: Path) -> None:
    pytest.importorskip("propcrm.stores.builtin_plugin")
    out = run(
        site,
        """
        import json
        from propcrm.stores import registered_schemes
        print(json.dumps({"schemes": list(registered_schemes())}))
        """,
    )
    assert "memory" in out["schemes"]  # type: ignore[operator]


def test_the_environment_block_list_is_honoured(site: Path) -> None:
    out = run(
        site,
        """
        import json
        from propcrm.plugins import ensure_loaded, get_plugins
        from propcrm.metrics.calendar import calendar_names
        ensure_loaded()
        print(json.dumps({"names": list(get_plugins().names()), "calendars": calendar_names()}))
        """,
        PROPCRM_BLOCK_PLUGINS="acme, propcrm.plugins.builtin_calendars",
    )
    assert "acme" not in out["names"]  # type: ignore[operator]
    assert "propcrm.plugins.builtin_calendars" not in out["names"]  # type: ignore[operator]
    assert "propcrm.plugins.builtin_router" in out["names"]  # type: ignore[operator]
    assert "acme-office" not in out["calendars"]  # type: ignore[operator]
    assert "cn-hotline-desk" not in out["calendars"]  # type: ignore[operator]


def test_a_plugin_that_fails_to_load_is_named_every_time(site: Path) -> None:
    install(site, "broken_propcrm", "raise RuntimeError('missing licence key')\n", "broken")
    out = run(
        site,
        """
        import json
        from propcrm.errors import PluginError
        from propcrm.plugins import ensure_loaded
        messages = []
        for _ in range(2):
            try:
                ensure_loaded()
            except PluginError as error:
                messages.append(str(error))
        print(json.dumps({"messages": messages}))
        """,
    )
    messages = out["messages"]
    assert isinstance(messages, list) and len(messages) == 2
    assert "plugin 'broken' (broken_propcrm) failed to load" in messages[0]
    assert "missing licence key" in messages[0]
    assert "PROPCRM_BLOCK_PLUGINS=broken" in messages[0]
    assert messages[1] == messages[0]


def test_a_blocked_broken_plugin_is_never_imported(site: Path) -> None:
    install(site, "broken_propcrm", "raise RuntimeError('missing licence key')\n", "broken")
    out = run(
        site,
        """
        import json, sys
        from propcrm.plugins import ensure_loaded
        ensure_loaded()
        print(json.dumps({"imported": "broken_propcrm" in sys.modules}))
        """,
        PROPCRM_BLOCK_PLUGINS="broken",
    )
    assert out == {"imported": False}
