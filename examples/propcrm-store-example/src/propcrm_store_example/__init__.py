"""An example third-party propcrm store: everything in one JSON file (``jsonfile://``)."""

from __future__ import annotations

from propcrm_store_example.store import JsonFileStore, open_jsonfile_store

__all__ = ["JsonFileStore", "open_jsonfile_store"]
