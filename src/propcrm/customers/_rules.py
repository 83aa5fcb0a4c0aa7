"""Archive rules from seed 001: completeness before handover, title certificates in 14 days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import attrs
from dateutil.relativedelta import relativedelta

from propcrm.customers._values import CustomerRecord

__all__ = [
    "CompletenessReport",
    "LateTitle",
    "MissingFields",
    "TitleIssued",
    "check_completeness",
    "late_title_certificates",
]


@attrs.frozen(kw_only=True)
class MissingFields:
    """What one record lacks: any of ``"room"``, ``"phone"``, ``"address"``."""

    customer_id: str
    missing: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CompletenessReport:
    """The completeness check of the records to hand over.

    Attributes:
        due_on: The day the check is due: one month before handover.
        is_due: Whether ``as_of`` is on or after ``due_on``.
        checked: How many records were checked.
        incomplete: The records lacking room, phone or address.
    """

    due_on: date
    is_due: bool
    checked: int
    incomplete: tuple[MissingFields, ...]

    @property
    def complete(self) -> bool:
        """Whether every checked record is complete."""
        return not self.incomplete


def check_completeness(
    records: Iterable[CustomerRecord],
    *,
    handover_on: date,
    as_of: date,
    unit_ids: Iterable[str] | None = None,
) -> CompletenessReport:
    """Check room, phone and address of the records to hand over (seed 001).

    Sales hands the archive to customer service within the month before handover (交房准备工作开展
    前一个月内); customer service checks that each record has a room, a phone and an address.

    Args:
        records: The records.
        handover_on: The handover date.
        as_of: Today; the core reads no clock.
        unit_ids: Only customers holding one of these units (a delivery batch's); all by
            default. Erased records are skipped.

    Returns:
        The report, incomplete records in the given order.
    """
    wanted = None if unit_ids is None else frozenset(unit_ids)
    checked = 0
    incomplete: list[MissingFields] = []
    for record in records:
        if record.erased or (wanted is not None and wanted.isdisjoint(record.held_units)):
            continue
        checked += 1
        missing = tuple(
            name
            for name, present in (
                ("room", bool(record.held_units)),
                ("phone", record.phone is not None),
                ("address", record.address is not None),
            )
            if not present
        )
        if missing:
            incomplete.append(MissingFields(customer_id=record.customer_id, missing=missing))
    due_on: date = handover_on - relativedelta(months=1)
    return CompletenessReport(
        due_on=due_on, is_due=as_of >= due_on, checked=checked, incomplete=tuple(incomplete)
    )


@attrs.frozen(kw_only=True)
class TitleIssued:
    """A notice from sales that a title certificate was issued (its number may follow later)."""

    customer_id: str
    unit_id: str
    issued_on: date


@attrs.frozen(kw_only=True)
class LateTitle:
    """A title certificate number recorded late, or still missing after its deadline.

    Attributes:
        customer_id: The customer.
        unit_id: The unit.
        issued_on: The certificate's issue date.
        due_on: The last day to record it.
        recorded_on: When it was recorded; ``None`` while missing.
    """

    customer_id: str
    unit_id: str
    issued_on: date
    due_on: date
    recorded_on: date | None


def late_title_certificates(
    records: Iterable[CustomerRecord],
    *,
    as_of: date,
    issued: Iterable[TitleIssued] = (),
    within: timedelta = timedelta(days=14),
) -> tuple[LateTitle, ...]:
    """Title certificate numbers not recorded within ``within`` of issue (seed 001: 14 days).

    Args:
        records: The records.
        as_of: Today; a missing number is late once ``as_of`` is past its due day.
        issued: Issue notices for certificates whose number may not be recorded yet.
        within: The allowed delay; 14 days by default (a practice, so configurable).

    Returns:
        Late ones: recorded after the due day, or (from ``issued``) still missing after it.
    """
    by_id = {r.customer_id: r for r in records}
    late: dict[tuple[str, str], LateTitle] = {}
    for record in by_id.values():
        for own in record.units:
            if own.title_issued_on is None or own.title_recorded_on is None:
                continue
            due = own.title_issued_on + within
            if own.title_recorded_on > due:
                late[(record.customer_id, own.unit_id)] = LateTitle(
                    customer_id=record.customer_id,
                    unit_id=own.unit_id,
                    issued_on=own.title_issued_on,
                    due_on=due,
                    recorded_on=own.title_recorded_on,
                )
    for notice in issued:
        holder = by_id.get(notice.customer_id)
        held = holder.ownership(notice.unit_id) if holder is not None else None
        recorded = held is not None and held.title_recorded_on is not None
        due = notice.issued_on + within
        if not recorded and as_of > due:
            late[(notice.customer_id, notice.unit_id)] = LateTitle(
                customer_id=notice.customer_id,
                unit_id=notice.unit_id,
                issued_on=notice.issued_on,
                due_on=due,
                recorded_on=None,
            )
    return tuple(late.values())
