"""The ``propcrm taxonomy``, ``calendar`` and ``store`` subcommands.

Each handler takes the parsed arguments and an output stream and returns the exit code; errors
are propcrm errors, which :func:`propcrm.cli.main` prints as one line.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TextIO

from propcrm.errors import ValidationError

__all__ = ["add_subcommands"]


def _aware(text: str, path: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError.single(path, f"not an ISO 8601 datetime: {text!r}") from None
    if value.tzinfo is None:
        raise ValidationError.single(
            path, f"{text!r} has no UTC offset", hint="write e.g. 2026-03-02T09:00+08:00"
        )
    return value


def _hours(text: str, path: str) -> timedelta:
    try:
        return timedelta(hours=float(text))
    except ValueError:
        raise ValidationError.single(path, f"not a number of hours: {text!r}") from None


def _taxonomy(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.taxonomy import standard

    tax = standard()
    if args.action == "list":
        for node in tax.nodes_at(args.level):
            name = node.name_zh if args.lang == "zh" else node.name_en
            flag = f"  (deprecated → {node.replaced_by})" if node.replaced_by else ""
            print(f"{node.code:<10} {name}{flag}", file=out)
    elif args.action == "search":
        for hit in tax.search(" ".join(args.words), limit=args.limit):
            node = tax.get(hit.code)
            print(f"{hit.code:<10} {hit.score:>4}  {node.name_zh} / {node.name_en}", file=out)
    elif args.action == "show":
        node = tax.get(args.code)
        print(f"{node.code}  {node.name_zh} / {node.name_en}", file=out)
        print(f"  kinds:    {', '.join(k.value for k in node.kinds) or '-'}", file=out)
        print(f"  parties:  {', '.join(node.parties) or '-'}", file=out)
        print(f"  warranty: {', '.join(node.warranty) or '-'}", file=out)
        print(f"  keywords: {', '.join(node.keywords) or '-'}", file=out)
        print(f"  taxonomy: {tax.tag}", file=out)
    else:  # export
        out.write(tax.to_json() if args.format == "json" else tax.to_csv())
    return 0


def _calendar(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.metrics.calendar import get_calendar

    calendar = get_calendar(args.name)
    if args.action == "add":
        due = calendar.add(_aware(args.start, "$.start"), _hours(args.hours, "$.hours"))
        print(due.isoformat(), file=out)
    elif args.action == "elapsed":
        spent = calendar.elapsed(_aware(args.start, "$.start"), _aware(args.end, "$.end"))
        print(f"{spent.total_seconds() / 3600:g} business hours", file=out)
    else:  # is-working
        when = _aware(args.at, "$.at")
        working = calendar.is_working(when)
        print("working" if working else "closed", file=out)
        if not working:
            print(f"opens {calendar.next_working(when).isoformat()}", file=out)
    return 0


def _store(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.stores.sql import init, migrate, schema_version

    if args.action == "init":
        print(f"schema version {init(args.url)} at {args.url}", file=out)
    elif args.action == "migrate":
        steps = migrate(args.url)
        print(f"applied {steps or 'nothing'}; schema version {schema_version(args.url)}", file=out)
    else:
        print(f"schema version {schema_version(args.url)}", file=out)
    return 0


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``taxonomy``, ``calendar`` and ``store`` to the ``propcrm`` parser."""
    tax = commands.add_parser("taxonomy", help="list, search, show or export the issue taxonomy")
    tax_actions = tax.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = tax_actions.add_parser("list", help="list codes at a level")
    listing.add_argument("--level", choices=["class", "discipline", "item"], default="item")
    listing.add_argument("--lang", choices=["zh", "en"], default="zh")
    search = tax_actions.add_parser("search", help="classify a report by keywords (zh or en)")
    search.add_argument("words", nargs="+")
    search.add_argument("--limit", type=int, default=5)
    show = tax_actions.add_parser("show", help="one code with its parties and warranty")
    show.add_argument("code")
    export = tax_actions.add_parser("export", help="the whole taxonomy as CSV or JSON")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    tax.set_defaults(handler=_taxonomy)

    cal = commands.add_parser("calendar", help="business-time arithmetic on a named calendar")
    cal_actions = cal.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = cal_actions.add_parser("add", help="the instant HOURS business hours after START")
    add.add_argument("start")
    add.add_argument("hours")
    elapsed = cal_actions.add_parser("elapsed", help="business hours between START and END")
    elapsed.add_argument("start")
    elapsed.add_argument("end")
    working = cal_actions.add_parser("is-working", help="whether AT is working time")
    working.add_argument("at")
    cal.add_argument("--name", default="cn-statutory", help="calendar name (default cn-statutory)")
    cal.set_defaults(handler=_calendar)

    store = commands.add_parser("store", help="create or migrate a SQL store's schema")
    store_actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("init", "create the schema if missing"),
        ("migrate", "apply pending migrations"),
        ("version", "print the schema version"),
    ):
        store_actions.add_parser(action, help=text).add_argument("url")
    store.set_defaults(handler=_store)
