"""The ``propcrm`` command line.

``propcrm demo`` runs the main job; ``propcrm taxonomy``, ``propcrm calendar`` and
``propcrm store`` work on the taxonomy, business calendars and SQL store schemas. A user's
mistake gets a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from propcrm.errors import PropcrmError, ValidationError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="propcrm",
        description="propcrm: the customer-service loop of Chinese real-estate developers.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each module adds its own subcommands and sets ``handler(args, out) -> exit code``.
    from propcrm.cli import _commands, _data_commands, _demo

    _demo.add_subcommands(commands)
    _data_commands.add_subcommands(commands)
    _commands.add_subcommands(commands)
    return parser


def _one_line(error: PropcrmError) -> str:
    """A propcrm error as one line: every bad field of a ValidationError, then the hint."""
    text = (
        "; ".join(str(e) for e in error.errors)
        if isinstance(error, ValidationError)
        else error.message.replace("\n", " ")
    )
    return text + (f" (hint: {error.hint})" if error.hint else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args, sys.stdout))
        parser.print_help()
        return 2
    except PropcrmError as error:
        print(f"propcrm: error: {_one_line(error)}", file=sys.stderr)
        return 2
