"""The example store passes propcrm's conformance suite and state machine, through its URL."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest

try:
    import propcrm_store_example  # noqa: F401 - installed with pip install -e
except ImportError:  # collected by the main test run before the package is installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from propcrm_store_example import JsonFileStore
from propcrm_store_example.plugin import propcrm_register_stores

from propcrm.stores import open_store, register_store
from propcrm.testing.store_contract import MakeStore, StoreContract, receive
from propcrm.testing.store_machine import store_machine

# The plugin manager registers the scheme from the entry point; registering it here as well is
# harmless (the same factory) and lets the test run where the manager is not loaded.
propcrm_register_stores(register=register_store)


class TestJsonFileStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> MakeStore:
        url = f"jsonfile://{tmp_path / 'crm.json'}"
        root = open_store(url)
        assert isinstance(root, JsonFileStore)
        return root.for_tenant


def _open_stores(tmp: Path) -> Callable[[], tuple[MakeStore, Callable[[], None]]]:
    counter = iter(range(1_000_000))

    def open_stores() -> tuple[MakeStore, Callable[[], None]]:
        root = JsonFileStore(tmp / f"m{next(counter)}.json")
        return root.for_tenant, root.close

    return open_stores


def test_matches_the_memory_store(tmp_path: Path) -> None:
    machine = store_machine(_open_stores(tmp_path))
    machine.TestCase.settings = machine.TestCase.settings.__class__(
        machine.TestCase.settings, max_examples=10, stateful_step_count=20, deadline=None
    )
    machine.TestCase().runTest()


def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"jsonfile://{tmp_path / 'crm.json'}"
    ticket, events = receive("t1", key="hotline-1")
    open_store(url, tenant="c1").save(ticket, events, 0)
    again = open_store(url, tenant="c1")
    assert again.get("t1") == ticket
    assert again.events("t1") == events
    assert again.ticket_for_intake_key("hotline-1") == "t1"


def test_entry_point_names_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="propcrm") if ep.name == "jsonfile"]
    if not found:
        pytest.skip("propcrm-store-example is not installed (pip install -e it to check this)")
    assert found[0].value == "propcrm_store_example.plugin"
    assert found[0].load().propcrm_register_stores is propcrm_register_stores
