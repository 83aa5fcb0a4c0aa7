"""The plugin module named by the ``propcrm`` entry point: it registers the ``jsonfile`` scheme."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from propcrm.stores import StoreFactory
from propcrm_store_example.store import open_jsonfile_store

__all__ = ["propcrm_register_stores"]

hookimpl = pluggy.HookimplMarker("propcrm")


@hookimpl
def propcrm_register_stores(register: Callable[[str, StoreFactory], None]) -> None:
    """Register ``jsonfile://`` with propcrm's store registry."""
    register("jsonfile", open_jsonfile_store)
