"""The ``propcrm`` command line.

``propcrm demo`` runs the main job. A user's mistake gets a one-line message and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from propcrm.errors import PropcrmError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="propcrm",
        description="propcrm: the customer-service loop of Chinese real-estate developers.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run a scripted service scenario and print each ticket's history"
    )
    demo.add_argument(
        "--lang", choices=["zh", "en"], default="en", help="language of labels (default: en)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from propcrm.cli._demo import run_demo

            return run_demo(lang=args.lang, out=sys.stdout)
        parser.print_help()
        return 2
    except PropcrmError as error:
        print(f"propcrm: error: {error.message}", file=sys.stderr)
        return 2
