"""``propcrm kpi``, ``propcrm rfm`` and ``propcrm sla``: the service data from the command line.

Each handler takes the parsed arguments and an output stream and returns the exit code. Every
user mistake is a :mod:`propcrm.errors` error naming the field, which :func:`propcrm.cli.main`
prints as one line. Tables, CSV and JSON go to the output stream; progress bars go to stderr,
and only when it is a terminal.

- ``kpi`` streams a store's events (``Store.iter_events``) into the streaming KPI engine
  (:func:`propcrm.metrics.kpi.compute`), or runs the dataframe engine
  (:func:`propcrm.metrics.kpi.compute_frame`) on Polars over an exported facts file.
- ``rfm`` scores a CSV of transactions with :func:`propcrm.metrics.rfm.score` and a shipped map.
- ``sla`` evaluates one stored ticket with :func:`propcrm.metrics.sla.evaluate` and the warnings
  ladder.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote, urlsplit

from propcrm.cli._commands import _aware
from propcrm.errors import FieldError, NotFoundError, StoreError, ValidationError

if TYPE_CHECKING:
    from propcrm.metrics.kpi import Households, KpiValue
    from propcrm.metrics.rfm import RfmResult, SegmentMap
    from propcrm.metrics.sla import SlaReport
    from propcrm.stores import Store
    from propcrm.workflow import Event

__all__ = [
    "add_subcommands",
    "kpi_records",
    "read_facts",
    "read_transactions",
    "rfm_records",
    "rfm_summary",
    "sla_records",
    "sla_state",
    "store_histories",
]

_Labels = Mapping[str, tuple[str, str]]

# -- shared helpers ---------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on stderr when it is a terminal and progress is wanted; otherwise nothing.

    tqdm is optional (extra ``demo``): without it the work runs silently.
    """

    def __init__(self, enabled: bool, *, total: int | None, desc: str, unit: str) -> None:
        self._bar: Any = None
        stream = sys.stderr
        if not enabled or not stream.isatty():
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=desc, unit=unit, file=stream)

    def update(self, n: int) -> None:
        """Advance by ``n``."""
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()


_Handler = Callable[[argparse.Namespace, TextIO], int]


def _pipe_safe(handler: _Handler) -> _Handler:
    """Stop quietly when the reader goes away (``propcrm rfm … | head``): no traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            code = handler(args, out)
            out.flush()
        except BrokenPipeError:
            # Python flushes stdout again at exit; point it at /dev/null so that cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, out.fileno())
            except (OSError, ValueError):  # not a real file (tests): nothing to flush later
                pass
            finally:
                os.close(devnull)
            return 0
        return code

    return run


def _split(text: str | None) -> list[str]:
    """A comma-separated option as a list, blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _date(text: str, path: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError.single(
            path, f"not an ISO date: {text!r}", hint="write e.g. 2026-03-31"
        ) from None


def _existing_file(text: str, path: str, kind: str) -> Path:
    file = Path(text)
    if not file.exists():
        raise NotFoundError(kind, text, hint=f"check the path ({path}) and the working directory")
    if not file.is_file():
        raise ValidationError.single(path, f"{text!r} is not a file")
    return file


def _read_csv(file: Path, path: str) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The header and the rows of a UTF-8 CSV file (a BOM is allowed)."""
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ValidationError.single(path, f"cannot read {str(file)!r}: {error.strerror}") from None
    try:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as error:
        handle.close()
        raise ValidationError.single(path, f"not a UTF-8 CSV file: {error}") from None
    if not header:
        handle.close()
        raise ValidationError.single(path, f"{str(file)!r} is empty (no header row)")
    reader.fieldnames = header

    def rows() -> Iterator[dict[str, str]]:
        with handle:
            try:
                yield from reader
            except (UnicodeDecodeError, csv.Error) as error:
                raise ValidationError.single(
                    path, f"unreadable CSV near line {reader.line_num}: {error}"
                ) from None

    return header, rows()


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """An aligned text table; columns whose cells all look like numbers are right-aligned."""
    widths = [_width(h) for h in header]
    for row in rows:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str], right: Sequence[bool]) -> str:
        parts = []
        for cell, w, r in zip(cells, widths, right, strict=True):
            pad = " " * (w - _width(cell))
            parts.append(pad + cell if r else cell + pad)
        return "  ".join(parts).rstrip()

    numeric = [
        bool(rows) and all(_looks_numeric(row[i]) for row in rows) for i in range(len(header))
    ]
    print(line(header, numeric), file=out)
    print(line(["-" * w for w in widths], numeric), file=out)
    for row in rows:
        print(line(row, numeric), file=out)


_NUMBER = re.compile(r"^-?[0-9][0-9,.]*\s*(%|s|min|h|d)?$")


def _looks_numeric(cell: str) -> bool:
    return cell in ("-", "") or bool(_NUMBER.match(cell))


def _csv_out(fields: Sequence[str], records: Iterable[Mapping[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _csv_cell(record.get(k)) for k in fields})


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _json_out(data: Any, out: TextIO) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def _label(labels: _Labels, key: str, lang: str) -> str:
    zh, en = labels[key]
    return zh if lang == "zh" else en


# -- propcrm kpi ------------------------------------------------------------------------------

_KPI_HEAD: _Labels = {
    "kpi": ("指标", "KPI"),
    "period": ("期间", "Period"),
    "value": ("数值", "Value"),
    "target": ("目标", "Target"),
    "result": ("达标", "Result"),
    "n": ("分子/分母", "Num/Den"),
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "empty": (
        "没有数据：所选范围内没有可统计的记录。",
        "No values: nothing to count in this selection.",
    ),
}


def _grouping(text: str | None) -> tuple[str | None, tuple[str, ...]]:
    """``--by``: at most one period and any dimensions, validated with hints."""
    from propcrm.metrics.kpi import DIMENSIONS, PERIODS

    period: str | None = None
    dims: list[str] = []
    errors: list[FieldError] = []
    for index, item in enumerate(_split(text)):
        if item in PERIODS:
            if period is not None:
                errors.append(
                    FieldError(path=f"$.by[{index}]", message=f"a second period {item!r}")
                )
            period = item
        elif item in DIMENSIONS:
            if item in dims:
                errors.append(FieldError(path=f"$.by[{index}]", message=f"{item!r} twice"))
            dims.append(item)
        else:
            import difflib

            close = difflib.get_close_matches(item, [*PERIODS, *DIMENSIONS], n=1, cutoff=0.5)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(
                FieldError(path=f"$.by[{index}]", message=f"unknown grouping {item!r}{guess}")
            )
    if errors:
        raise ValidationError(
            errors,
            subject="--by",
            hint="group by one of " + ", ".join(PERIODS) + " and any of " + ", ".join(DIMENSIONS),
        )
    return period, tuple(dims)


def _kpi_names(text: str | None) -> list[str] | None:
    """``--kpi``: registered names (``None`` for the whole suite); unknown ones suggest others."""
    from propcrm.metrics.kpi import get_kpi

    names = _split(text)
    if not names:
        return None
    for name in names:
        get_kpi(name)  # NotFoundError with the close names in its hint
    return list(dict.fromkeys(names))


def _window(start: str | None, end: str | None) -> tuple[date, date] | None:
    """``--from`` (first day) and ``--to`` (last day, counted) as ``[start, end)``."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        # An open end would make the annualised rates divide by a meaningless number of days.
        missing = "$.from" if start is None else "$.to"
        raise ValidationError.single(
            missing, "--from and --to go together", hint="give the first and the last day"
        )
    first, last = _date(start, "$.from"), _date(end, "$.to")
    if last < first:
        raise ValidationError.single("$.to", f"{last} is before --from {first}")
    return first, last + timedelta(days=1)


def _households(text: str) -> Households:
    """``--households FILE``: a CSV ``org_unit_id,households``; a ``*`` row sets the total."""
    from propcrm.metrics.kpi import Households

    file = _existing_file(text, "$.households", "households file")
    header, rows = _read_csv(file, "$.households")
    missing = [c for c in ("org_unit_id", "households") if c not in header]
    if missing:
        raise ValidationError.single(
            "$.households.columns",
            f"missing column {', '.join(missing)} (found {', '.join(header)})",
            hint="the header is org_unit_id,households",
        )
    by_unit: dict[str, int] = {}
    total: int | None = None
    errors: list[FieldError] = []
    for index, row in enumerate(rows):
        unit = (row.get("org_unit_id") or "").strip()
        raw = (row.get("households") or "").strip()
        where = f"$.households[{index}]"
        if not unit:
            errors.append(FieldError(path=f"{where}.org_unit_id", message="empty"))
            continue
        try:
            count = int(raw)
        except ValueError:
            count = -1
        if count < 0:
            errors.append(
                FieldError(path=f"{where}.households", message=f"not a count ≥ 0: {raw!r}")
            )
            continue
        if unit == "*":
            total = count
        elif unit in by_unit:
            errors.append(FieldError(path=f"{where}.org_unit_id", message=f"{unit!r} twice"))
        else:
            by_unit[unit] = count
    if errors:
        raise ValidationError(errors, subject="households file")
    return Households(by_unit=by_unit, total=sum(by_unit.values()) if total is None else total)


def _sqlite_file(url: str) -> str | None:
    """The database file of a ``sqlite:///path`` URL, or ``None`` for in-memory databases."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] != "sqlite":
        return None
    path = unquote(parts.path)
    if parts.netloc or not path or path in ("/", "/:memory:"):
        return None
    return path[1:] if path.startswith("/") else path


def _open_store(url: str, company: str | None) -> Store:
    """Open an existing store; a ``sqlite:///`` file that does not exist is refused (not made)."""
    from propcrm.stores import open_store

    file = _sqlite_file(url)
    if file is not None and not Path(file).is_file():
        raise NotFoundError(
            "SQLite store file", file, hint="check --store, e.g. sqlite:///path/to/crm.db"
        )
    return open_store(url, tenant=company)


def store_histories(
    store: Store, *, batch_size: int = 10_000, progress: bool = False
) -> Iterator[list[Event]]:
    """Every ticket's history from the store's global event stream, one ticket at a time.

    Two passes over :meth:`Store.iter_events`: the first notes the stream's last position and
    each ticket's last sequence (one integer per ticket); the second holds a ticket's events
    only until its last one arrives, yields the history and drops it. Memory follows the
    tickets in flight, not the events; events written after the first pass are left out, so
    the histories are a consistent snapshot.

    Raises:
        StoreError: The second pass lacks events the first pass saw.
    """
    last: dict[str, int] = {}
    end = 0
    scan = _Progress(progress, total=None, desc="scanning events", unit="ev")
    try:
        for batch in store.iter_events(batch_size=batch_size):
            for stored in batch:
                last[stored.event.ticket_id] = stored.event.sequence
            if batch:
                end = batch[-1].position
            scan.update(len(batch))
    finally:
        scan.close()
    total = sum(last.values())
    bar = _Progress(progress, total=total, desc="folding events", unit="ev")
    pending: dict[str, list[Event]] = {}
    seen = 0
    try:
        for batch in store.iter_events(batch_size=batch_size):
            before = seen
            for stored in batch:
                if stored.position > end:
                    break  # written after the first pass
                event = stored.event
                seen += 1
                history = pending.setdefault(event.ticket_id, [])
                history.append(event)
                if event.sequence == last[event.ticket_id]:
                    del pending[event.ticket_id]
                    yield history
            bar.update(seen - before)
            if seen - before < len(batch):
                break
    finally:
        bar.close()
    if pending or seen != total:
        raise StoreError(
            f"the event stream changed while it was read ({seen} of {total} events found)",
            hint="run the command again",
        )


def _fact_options(names: Sequence[str] | None, as_of: datetime, calendar_name: str) -> Any:
    """Facts as of ``as_of``; business time and SLA states only when a chosen KPI reads them.

    The SLA columns cost most of the time of a fact row, so ``--kpi backlog`` skips them.
    """
    from propcrm.metrics.calendar import get_calendar
    from propcrm.metrics.kpi import FactOptions, get_kpi, kpi_definitions
    from propcrm.metrics.sla import default_policies

    calendar = get_calendar(calendar_name)  # NotFoundError for a mistyped name, always
    definitions = kpi_definitions() if names is None else [get_kpi(n) for n in names]
    columns: set[str] = set()
    for d in definitions:
        columns |= d.columns()
    return FactOptions(
        as_of=as_of,
        calendar=calendar if any(c.endswith("_bs") for c in columns) else None,
        policies=(
            default_policies(business_calendar=calendar_name)
            if any(c.startswith("sla_") for c in columns)
            else None
        ),
    )


def _kpis_from_store(args: argparse.Namespace, **engine: Any) -> tuple[KpiValue, ...]:
    from propcrm.metrics.kpi import Households, compute

    as_of = _aware(args.as_of, "$.as_of") if args.as_of else datetime.now(timezone.utc)
    options = _fact_options(engine["definitions"], as_of, args.calendar or "cn-statutory")
    store = _open_store(args.store, args.company)
    try:
        if engine["households"] is None:
            tree = store.org_tree()
            if any(True for _ in tree):
                engine["households"] = Households.from_tree(tree)
        histories = store_histories(
            store, batch_size=args.batch_size, progress=not args.no_progress
        )
        values: tuple[KpiValue, ...] = compute(histories, options=options, **engine)
        return values
    finally:
        store.close()


_POLARS_TYPES = {"str": "String", "int": "Int64", "bool": "Boolean"}


def read_facts(text: str, *, company: str | None = None) -> Any:
    """A ticket-facts file (``.parquet`` or ``.csv``) as a Polars frame with the fact types.

    Raises:
        NotFoundError: No such file.
        ValidationError: Another suffix, a missing column or a value of the wrong type (the
            path names the row and the column).
        OptionalDependencyError: Polars is not installed.
    """
    from propcrm._optional import require_module
    from propcrm.metrics.kpi import FACT_COLUMNS

    pl = require_module("polars", extra="demo", feature="reading a KPI facts file")
    file = _existing_file(text, "$.facts", "facts file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(file)
        elif suffix == ".csv":
            frame = pl.read_csv(file, infer_schema=False, encoding="utf8")
        else:
            raise ValidationError.single(
                "$.facts",
                f"{file.name!r} is neither .parquet nor .csv",
                hint="export facts with propcrm.metrics.kpi.write_parquet (or as CSV)",
            )
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValidationError.single("$.facts", f"unreadable {suffix} file: {first}") from None
    except OSError as error:
        raise ValidationError.single("$.facts", f"unreadable file: {error}") from None
    missing = [c for c in FACT_COLUMNS if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ValidationError.single(
            "$.facts.columns",
            f"missing fact column {shown}",
            hint="a facts file holds every column of propcrm.metrics.kpi.FACT_COLUMNS",
        )
    frame = frame.select(list(FACT_COLUMNS))
    casts: dict[str, Any] = {}
    for name, kind in FACT_COLUMNS.items():
        col = pl.col(name)
        if kind == "bool" and frame.schema[name] == pl.String:
            mapping = {"true": True, "false": False, "1": True, "0": False}
            casts[name] = (
                col.str.strip_chars()
                .str.to_lowercase()
                .replace_strict(mapping, default=None, return_dtype=pl.Boolean)
            )
        else:
            casts[name] = col.cast(getattr(pl, _POLARS_TYPES[kind]), strict=False)
    try:
        typed = frame.select([expr.alias(name) for name, expr in casts.items()])
        bad = frame.select(
            [
                (expr.is_null() & pl.col(name).is_not_null()).arg_true().first().alias(name)
                for name, expr in casts.items()
            ]
        ).row(0, named=True)
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0]
        raise ValidationError.single("$.facts", f"cannot read the columns: {first}") from None
    errors = [
        FieldError(
            path=f"$.facts[{row}].{name}",
            message=f"not a {FACT_COLUMNS[name]}: {frame[name][row]!r}",
        )
        for name, row in bad.items()
        if row is not None
    ]
    if errors:
        raise ValidationError(errors[:3], subject="facts file")
    if company is not None:
        typed = typed.filter(pl.col("company") == company)
    return typed


def _kpis_from_facts(args: argparse.Namespace, **engine: Any) -> tuple[KpiValue, ...]:
    from propcrm.metrics.kpi import compute_frame

    for option, given in (("as_of", args.as_of), ("calendar", args.calendar)):
        if given is not None:
            raise ValidationError.single(
                f"$.{option}",
                f"--{option.replace('_', '-')} works only with --store",
                hint="a facts file was exported at its own as-of instant, calendar and policies",
            )
    frame = read_facts(args.facts, company=args.company)
    values: tuple[KpiValue, ...] = compute_frame(frame, as_records=True, **engine)
    return values


def _fmt_seconds(value: float) -> str:
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    if value < 2 * 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def _fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return _fmt_seconds(value)
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "per_100_households":
        return f"{value:.2f}"
    return f"{value:.1f}"


def _fmt_count(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _kpi_table(
    values: Sequence[KpiValue], dims: Sequence[str], period: bool, lang: str
) -> tuple[list[str], list[list[str]]]:
    head = [_label(_KPI_HEAD, "kpi", lang), *dims]
    if period:
        head.append(_label(_KPI_HEAD, "period", lang))
    head += [_label(_KPI_HEAD, key, lang) for key in ("value", "target", "result", "n")]
    rows = []
    for v in values:
        group = dict(v.group)
        row = [v.label_zh if lang == "zh" else v.label_en]
        row += [group.get(d) or "-" for d in dims]
        if period:
            row.append(v.period or "-")
        result = "-" if v.met is None else _label(_KPI_HEAD, "met" if v.met else "missed", lang)
        row += [
            _fmt_value(v.value, v.unit),
            _fmt_value(v.target, v.unit),
            result,
            f"{_fmt_count(v.numerator)}/{_fmt_count(v.denominator)}",
        ]
        rows.append(row)
    return head, rows


def kpi_records(
    values: Iterable[KpiValue], dims: Sequence[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The CSV/JSON columns and one flat record per KPI value (``KpiValue.as_dict``)."""
    fields = [
        "kpi",
        *dims,
        "period",
        "numerator",
        "denominator",
        "value",
        "unit",
        "direction",
        "target",
        "met",
        "cohort",
        "exclusions",
        "label_zh",
        "label_en",
    ]
    return fields, [v.as_dict() for v in values]


def _kpi(args: argparse.Namespace, out: TextIO) -> int:
    period, dims = _grouping(args.by)
    engine: dict[str, Any] = {
        "definitions": _kpi_names(args.kpi),
        "group_by": dims,
        "period": period,
        "window": _window(args.from_, args.to),
        "households": _households(args.households) if args.households else None,
    }
    if args.facts is not None:
        values = _kpis_from_facts(args, **engine)
    else:
        values = _kpis_from_store(args, **engine)
    if args.format == "table":
        if not values:
            print(_label(_KPI_HEAD, "empty", args.lang), file=out)
            return 0
        head, rows = _kpi_table(values, dims, period is not None, args.lang)
        _table(head, rows, out)
    else:
        fields, records = kpi_records(values, dims)
        if args.format == "csv":
            _csv_out(fields, records, out)
        else:
            _json_out(records, out)
    return 0


# -- propcrm rfm ------------------------------------------------------------------------------

_RFM_FIELDS = ("customer_id", "date", "amount", "type", "order_id")
_MOBILE = re.compile(r"^(\+?86)?1[3-9][0-9]{9}$")
_ID_CARD = re.compile(r"^[0-9]{17}[0-9Xx]$")
_RFM_HEAD: _Labels = {
    "customer_id": ("客户", "Customer"),
    "recency_days": ("R天数", "Recency (d)"),
    "frequency": ("F", "Frequency"),
    "monetary": ("M(元)", "Monetary (yuan)"),
    "code": ("RFM", "RFM"),
    "segment": ("客群", "Segment"),
    "customers": ("客户数", "Customers"),
    "share": ("占比", "Share"),
    "none": ("(未分配)", "(unassigned)"),
}


def _rfm_columns(text: str | None, header: Sequence[str]) -> dict[str, str | None]:
    """``--columns field=header,…``: which CSV column holds each transaction field."""
    chosen: dict[str, str | None] = {f: (f if f in header else None) for f in _RFM_FIELDS}
    for index, item in enumerate(_split(text)):
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or field not in _RFM_FIELDS:
            raise ValidationError.single(
                f"$.columns[{index}]",
                f"expected field=column with a field of {', '.join(_RFM_FIELDS)}, got {item!r}",
            )
        if column not in header:
            raise ValidationError.single(
                f"$.columns[{index}]",
                f"no column {column!r} in the file (found {', '.join(header)})",
            )
        chosen[field] = column
    missing = [f for f in ("customer_id", "date", "amount") if chosen[f] is None]
    if missing:
        raise ValidationError.single(
            "$.transactions.columns",
            f"missing column {', '.join(missing)} (found {', '.join(header)})",
            hint="name them with --columns, e.g. --columns date=order_date,amount=revenue",
        )
    return chosen


def read_transactions(
    text: str, *, columns: str | None = None, progress: bool = False
) -> list[Any]:
    """The transactions of a CSV file, each bad row reported as ``$[row].field (line n)``.

    Raises:
        NotFoundError: No such file.
        ValidationError: A missing column, a bad value, or personal data as a customer id.
    """
    from propcrm.metrics.rfm import Transaction

    file = _existing_file(text, "$.transactions", "transactions file")
    header, rows = _read_csv(file, "$.transactions")
    chosen = _rfm_columns(columns, header)
    out: list[Any] = []
    errors: list[FieldError] = []
    hint: str | None = None
    bar = _Progress(progress, total=None, desc="transactions", unit="row")
    try:
        for index, row in enumerate(rows):
            line = index + 2
            values = {f: (row.get(c) or "").strip() if c else "" for f, c in chosen.items()}
            where = f"$[{index}]"
            try:
                customer = values["customer_id"]
                if _MOBILE.match(customer) or _ID_CARD.match(customer):
                    raise ValidationError.single(
                        ".customer_id",
                        "looks like a phone or ID number, not a customer id",
                        hint="replace personal data by customer ids before scoring",
                    )
                try:
                    amount = Decimal(values["amount"])
                except InvalidOperation:
                    raise ValidationError.single(
                        ".amount", f"not a decimal amount: {values['amount']!r}"
                    ) from None
                out.append(
                    Transaction(
                        customer_id=customer,
                        date=_date(values["date"], ".date"),
                        amount=amount,
                        type=values["type"] or "purchase",
                        order_id=values["order_id"] or None,
                    )
                )
            except ValidationError as error:
                hint = hint or error.hint
                for found in error.errors:
                    sub = found.path[1:] if found.path.startswith("$") else found.path
                    errors.append(
                        FieldError(path=f"{where}{sub}", message=f"{found.message} (line {line})")
                    )
                if len(errors) >= 3:
                    break
            if index % 10_000 == 9_999:
                bar.update(10_000)
        bar.update(len(out) % 10_000)
    finally:
        bar.close()
    if errors:
        raise ValidationError(errors, subject="transactions file", hint=hint)
    return out


def _segment_map(name: str) -> SegmentMap:
    import difflib

    from propcrm.metrics.rfm import SHIPPED_MAPS

    found = SHIPPED_MAPS.get(name)
    if found is None:
        close = difflib.get_close_matches(name, list(SHIPPED_MAPS), n=3, cutoff=0.4)
        raise NotFoundError("segment map", name, suggestions=close or list(SHIPPED_MAPS))
    return found


#: The fields of a per-customer record, in CSV column order.
_RFM_RECORD = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "code",
    "segment",
    "segment_zh",
    "segment_en",
)


def rfm_records(result: RfmResult, segment_map: SegmentMap) -> list[dict[str, Any]]:
    """One record per customer: values, scores and segment (ids only, no personal data)."""
    from propcrm.metrics.rfm import assign_segments

    segments = assign_segments(result, segment_map)
    records = []
    for row in result:
        seg = segments[row.customer_id]
        records.append(
            {
                "customer_id": row.customer_id,
                "recency_days": row.recency_days,
                "frequency": None if row.frequency is None else str(row.frequency),
                "monetary": None if row.monetary is None else str(row.monetary),
                "r": row.r,
                "f": row.f,
                "m": row.m,
                "code": row.code,
                "segment": None if seg is None else seg.key,
                "segment_zh": None if seg is None else seg.zh,
                "segment_en": None if seg is None else seg.en,
            }
        )
    return records


def rfm_summary(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Customers and share per segment, largest first (ties by key); unassigned last."""
    counts = Counter(r["segment"] for r in records)
    labels = {r["segment"]: (r["segment_zh"], r["segment_en"]) for r in records}
    total = len(records)
    keys = sorted(counts, key=lambda k: (k is None, -counts[k], k or ""))
    return [
        {
            "segment": key,
            "segment_zh": labels[key][0],
            "segment_en": labels[key][1],
            "customers": counts[key],
            "share": round(counts[key] / total, 6),
        }
        for key in keys
    ]


def _rfm(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.metrics.rfm import PROPERTY_WEIGHTS, PURCHASE_WEIGHTS, score

    as_of = _date(args.as_of, "$.as_of")
    segment_map = _segment_map(args.map)
    transactions = read_transactions(
        args.transactions, columns=args.columns, progress=not args.no_progress
    )
    weights = PROPERTY_WEIGHTS if args.weights == "property" else PURCHASE_WEIGHTS
    result = score(transactions, as_of=as_of, mode=args.mode, weights=weights)
    records = rfm_records(result, segment_map)
    lang = args.lang
    if args.summary:
        summary = rfm_summary(records)
        if args.format == "json":
            _json_out(summary, out)
        elif args.format == "csv":
            _csv_out(["segment", "segment_zh", "segment_en", "customers", "share"], summary, out)
        else:
            head = [_label(_RFM_HEAD, k, lang) for k in ("segment", "customers", "share")]
            rows = [
                [
                    (s["segment_zh"] if lang == "zh" else s["segment_en"])
                    or _label(_RFM_HEAD, "none", lang),
                    str(s["customers"]),
                    f"{s['share'] * 100:.1f}%",
                ]
                for s in summary
            ]
            _table(head, rows, out)
        return 0
    if args.format == "json":
        _json_out(records, out)
    elif args.format == "csv":
        _csv_out(_RFM_RECORD, records, out)
    else:
        head = [
            _label(_RFM_HEAD, k, lang)
            for k in ("customer_id", "recency_days", "frequency", "monetary", "code", "segment")
        ]
        rows = [
            [
                str(r["customer_id"]),
                "-" if r["recency_days"] is None else str(r["recency_days"]),
                r["frequency"],
                r["monetary"] or "-",
                r["code"] or "-",
                (r["segment_zh"] if lang == "zh" else r["segment_en"])
                or _label(_RFM_HEAD, "none", lang),
            ]
            for r in records
        ]
        _table(head, rows, out)
    return 0


# -- propcrm sla ------------------------------------------------------------------------------

_SLA_HEAD: _Labels = {
    "policy": ("策略", "Policy"),
    "target": ("目标", "Target"),
    "status": ("状态", "Status"),
    "warning": ("预警", "Warning"),
    "due_at": ("截止", "Due"),
    "elapsed": ("已用", "Elapsed"),
    "remaining": ("剩余", "Remaining"),
    "breached_by": ("超时", "Late by"),
    "none": ("没有适用的SLA目标。", "No SLA target applies."),
}


def _hours(value: timedelta | None) -> str:
    if value is None:
        return "-"
    return f"{value.total_seconds() / 3600:.2f} h"


def sla_records(
    report: SlaReport, warnings: Mapping[tuple[str, str, int], str], tz: tzinfo | None = None
) -> list[dict[str, Any]]:
    """One record per target of ``report`` with the highest warning rung fired, if any.

    Instants are ISO strings in ``tz`` (as evaluated when ``None``).
    """

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(tz).isoformat()

    out = []
    for s in report.targets:
        out.append(
            {
                "policy": s.policy,
                "target": s.target.value,
                "status": s.status.value,
                "warning": warnings.get((s.policy, s.target.value, s.cycle)),
                "calendar": s.calendar,
                "started_at": iso(s.started_at),
                "due_at": iso(s.due_at),
                "elapsed_s": s.elapsed_seconds,
                "remaining_s": s.remaining_seconds,
                "breached_by_s": s.breached_by_seconds,
                "met_at": iso(s.met_at),
                "cycle": s.cycle,
                "reason": s.reason,
            }
        )
    return out


def sla_state(
    history: Sequence[Event], at: datetime, calendar: str = "cn-statutory"
) -> tuple[SlaReport, list[dict[str, Any]]]:
    """The SLA report of one history at ``at`` with the default policies on ``calendar``.

    The records give instants in the offset of ``at``.
    """
    from propcrm.metrics.calendar import get_calendar
    from propcrm.metrics.sla import DEFAULT_LADDER, default_policies, evaluate, warnings_for

    get_calendar(calendar)  # NotFoundError with suggestions before any work
    if at < history[0].occurred_at:
        raise ValidationError.single(
            "$.at",
            f"{at.isoformat()} is before the ticket was received "
            f"({history[0].occurred_at.isoformat()})",
        )
    policies = default_policies(business_calendar=calendar)
    report = evaluate(history, policies, at)
    rank = {rung.name: i for i, rung in enumerate(DEFAULT_LADDER)}
    highest: dict[tuple[str, str, int], str] = {}
    for w in warnings_for(history, policies, at):
        key = (w.policy, w.target.value, w.cycle)
        if key not in highest or rank[w.rung] > rank[highest[key]]:
            highest[key] = w.rung
    return report, sla_records(report, highest, at.tzinfo)


def _sla(args: argparse.Namespace, out: TextIO) -> int:
    from propcrm.metrics.calendar import get_calendar

    # Times in the offset the user wrote --at in, else in the calendar's time zone.
    at = (
        _aware(args.at, "$.at")
        if args.at
        else datetime.now(timezone.utc).astimezone(get_calendar(args.calendar).timezone)
    )
    store = _open_store(args.store, args.company)
    try:
        store.get(args.ticket_id)  # NotFoundError for an unknown (or another tenant's) ticket
        history = store.events(args.ticket_id)
    finally:
        store.close()
    if not history:
        raise NotFoundError("ticket", args.ticket_id)
    report, records = sla_state(history, at, args.calendar)
    if args.format == "json":
        _json_out(
            {
                "ticket_id": report.ticket_id,
                "evaluated_at": report.evaluated_at.isoformat(),
                "policies": [a.policy.name for a in report.policies],
                "targets": records,
            },
            out,
        )
        return 0
    from propcrm.metrics.sla import SlaStatus, SlaTarget

    lang = args.lang
    tz = at.tzinfo
    print(f"{report.ticket_id} @ {at.astimezone(tz).isoformat(timespec='minutes')}", file=out)
    if not records:
        print(_label(_SLA_HEAD, "none", lang), file=out)
        return 0
    keys = (
        "policy",
        "target",
        "status",
        "warning",
        "due_at",
        "elapsed",
        "remaining",
        "breached_by",
    )
    rows = []
    for s, r in zip(report.targets, records, strict=True):
        status = SlaStatus(r["status"])
        target = SlaTarget(r["target"])
        rows.append(
            [
                s.policy,
                target.label_zh if lang == "zh" else target.label_en,
                status.label_zh if lang == "zh" else status.label_en,
                r["warning"] or "-",
                "-" if s.due_at is None else s.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                _hours(s.elapsed),
                _hours(s.remaining),
                _hours(s.breached_by),
            ]
        )
    _table([_label(_SLA_HEAD, k, lang) for k in keys], rows, out)
    return 0


# -- the parser -------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def _common(
    parser: argparse.ArgumentParser, formats: Sequence[str], *, progress: bool = True
) -> None:
    parser.add_argument("--format", choices=list(formats), default="table", help="output format")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="labels (default zh)")
    if progress:
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (shown on a terminal only)"
        )


_KPI_EPILOG = """\
examples:
  propcrm kpi --store sqlite:///crm.db --by month,project --kpi repair_timeliness
  propcrm kpi --facts facts.parquet --by quarter --from 2026-01-01 --to 2026-06-30 --format csv

--by takes at most one period (day, week, month, quarter, year) and any dimensions (company,
service_centre, project, building, category, category_class, category_discipline, kind,
channel, responsible_party, contractor, assignee, priority, severity). --from and --to are
the first and last local days (UTC+8) of each KPI's cohort date, given together. A --households
CSV has the header org_unit_id,households; a row '*,N' sets the total used when no org
dimension is grouped by (default: the sum of the rows). Reading a store without --households
uses the store's org units.
"""

_RFM_EPILOG = """\
the CSV (UTF-8, header row) has one transaction per line:
  customer_id  a customer id (never a phone or ID number: such ids are refused)
  date         ISO date, e.g. 2024-11-02
  amount       yuan, at most two decimals (refunds positive or negative)
  type         optional: purchase (default), refund, property_fee, referral, club_activity,
               service
  order_id     optional: lines of one order; a refund with it nets against that order
name other headers with --columns, e.g. --columns date=order_date,amount=revenue

maps: property (default), rfm_11, rf_grid, high_low_8, rfm_11_legacy
example:
  propcrm rfm orders.csv --as-of 2024-12-31 --summary
"""


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kpi``, ``rfm`` and ``sla`` to the ``propcrm`` parser."""
    kpi = commands.add_parser(
        "kpi",
        help="service KPIs from a store or a facts file, grouped, against targets",
        description="Service KPIs (docs/kpis.md) from a store's events or an exported facts file.",
        epilog=_KPI_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = kpi.add_mutually_exclusive_group(required=True)
    source.add_argument("--store", metavar="URL", help="a store URL, e.g. sqlite:///crm.db")
    source.add_argument("--facts", metavar="FILE", help="a facts file (.parquet or .csv)")
    kpi.add_argument("--by", metavar="GROUPS", help="e.g. month,project")
    kpi.add_argument("--kpi", metavar="NAMES", help="KPI names, comma-separated (default: all)")
    kpi.add_argument("--from", dest="from_", metavar="DATE", help="first day counted")
    kpi.add_argument("--to", metavar="DATE", help="last day counted")
    kpi.add_argument("--households", metavar="FILE", help="CSV org_unit_id,households")
    kpi.add_argument("--company", metavar="ID", help="only this company's tickets")
    kpi.add_argument(
        "--as-of", dest="as_of", metavar="DATETIME", help="store only: facts as of (default now)"
    )
    kpi.add_argument(
        "--calendar", metavar="NAME", help="store only: business calendar (default cn-statutory)"
    )
    kpi.add_argument("--batch-size", type=_positive, default=10_000, help=argparse.SUPPRESS)
    _common(kpi, ["table", "csv", "json"])
    kpi.set_defaults(handler=_pipe_safe(_kpi))

    rfm = commands.add_parser(
        "rfm",
        help="RFM segments from a CSV of transactions",
        description="RFM scores and segments (docs/rfm.md) from a CSV of transactions.",
        epilog=_RFM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rfm.add_argument("transactions", metavar="TRANSACTIONS.csv")
    rfm.add_argument("--as-of", dest="as_of", required=True, metavar="DATE", help="analysis date")
    rfm.add_argument("--map", default="property", metavar="NAME", help="segment map")
    rfm.add_argument(
        "--mode",
        choices=["fixed", "quantile", "r_compatible", "dense"],
        default="fixed",
        help="scoring mode (default fixed)",
    )
    rfm.add_argument(
        "--weights",
        choices=["purchase", "property"],
        default="purchase",
        help="F and M from purchases (default) or the property relationship weights",
    )
    rfm.add_argument("--columns", metavar="FIELD=HEADER,...", help="other column names")
    rfm.add_argument("--summary", action="store_true", help="customers and share per segment")
    _common(rfm, ["table", "csv", "json"])
    rfm.set_defaults(handler=_pipe_safe(_rfm))

    sla = commands.add_parser(
        "sla",
        help="the SLA state of one ticket",
        description="Every SLA target of one stored ticket (docs/sla.md), default policies.",
    )
    sla.add_argument("ticket_id", metavar="TICKET_ID", help="the ticket's id")
    sla.add_argument("--store", required=True, metavar="URL", help="a store URL")
    sla.add_argument("--at", metavar="DATETIME", help="evaluate at (default now), with offset")
    sla.add_argument(
        "--calendar",
        default="cn-statutory",
        metavar="NAME",
        help="business calendar of the working-day targets (default cn-statutory)",
    )
    sla.add_argument("--company", metavar="ID", help="the tenant to read as")
    _common(sla, ["table", "json"], progress=False)
    sla.set_defaults(handler=_pipe_safe(_sla))
