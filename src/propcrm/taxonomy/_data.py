"""Reading the package data files under ``propcrm/taxonomy/data`` (private module)."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from typing import Any

__all__ = ["read_csv_rows", "read_json", "read_text"]


def read_text(name: str) -> str:
    """Return the text of a data file shipped in ``propcrm/taxonomy/data``."""
    return (resources.files("propcrm.taxonomy") / "data" / name).read_text(encoding="utf-8")


def read_json(name: str) -> Any:
    """Return a shipped JSON data file, parsed."""
    return json.loads(read_text(name))


def read_csv_rows(name: str) -> list[dict[str, str]]:
    """Return the rows of a shipped CSV data file as dictionaries keyed by the header."""
    return list(csv.DictReader(io.StringIO(read_text(name))))
