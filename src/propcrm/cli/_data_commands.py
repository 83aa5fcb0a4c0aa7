"""``propcrm kpi``, ``propcrm rfm`` and ``propcrm sla``: the service data from the command line."""

from __future__ import annotations

import argparse


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kpi``, ``rfm`` and ``sla`` to the ``propcrm`` parser (not yet built)."""
