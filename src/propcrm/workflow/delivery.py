"""House delivery (交付): internal inspection, rectification by contractors, formal handover.

Seed 000 puts delivery at the centre of customer service: every unit is inspected internally
(内部自检验房 / 模拟验房) about a month before handover, its defects are rectified by the
contractors that built them, and at the formal delivery (正式交付) the owner inspects the unit,
signs the defect list and receives the keys. Defects still open when the keys are handed over
become warranty tickets under the handover date.

A delivery batch (交付批次, one project or building) is an event-sourced aggregate in the same
style as tickets: a command is decided by :func:`decide` (or :meth:`Delivery.handle`) into
:class:`DeliveryEvent` values or refused with a typed error, and :func:`replay` folds a history
into a :class:`DeliveryBatch`. Nothing here reads a clock or does I/O.

Delivery events use their own envelope, :class:`DeliveryEvent`, shaped like
:class:`propcrm.workflow.Event` but named for its aggregate (``batch_id``): ticket stores and the
ticket converter dispatch on the ticket event types, so a delivery event must never be mistaken
for a ticket event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

import attrs

from propcrm._validation import (
    aware_datetime,
    member_of,
    non_empty_str,
    positive_int,
    require_aware,
)
from propcrm.errors import (
    FieldError,
    InvalidTransitionError,
    PermissionDeniedError,
    PropcrmError,
    ValidationError,
)
from propcrm.model.actor import Actor
from propcrm.model.customer import CustomerRef
from propcrm.model.enums import Channel, LabelledEnum, Priority, Role, Severity, TicketKind
from propcrm.model.location import Location
from propcrm.model.org import OrgScope
from propcrm.taxonomy import ContractorRegister, Taxonomy
from propcrm.workflow.commands import ReceiveTicket

__all__ = [
    "COMMAND_TYPES",
    "DEFAULT_PERMISSIONS",
    "EVENT_SCHEMA_VERSION",
    "EVENT_TYPES",
    "BatchOpened",
    "BookHandover",
    "Defect",
    "DefectReport",
    "DefectSource",
    "DefectStatus",
    "Delivery",
    "DeliveryBatch",
    "DeliveryCommand",
    "DeliveryEvent",
    "DeliveryPayload",
    "DeliveryRefusedError",
    "HandOverUnit",
    "HandoverBooked",
    "InspectionRecorded",
    "MeterKind",
    "MeterReading",
    "OpenDeliveryBatch",
    "OwnerInspectionRecorded",
    "RecordInspection",
    "RecordOwnerInspection",
    "RecordReinspection",
    "RectificationIssued",
    "RectificationReported",
    "RectificationTask",
    "ReinspectionRecorded",
    "ReportRectified",
    "RoutedDefect",
    "TaskStatus",
    "UnitDelivery",
    "UnitHandedOver",
    "UnitStage",
    "checklist",
    "decide",
    "replay",
    "warranty_tickets",
]

#: The schema version written on new delivery events.
EVENT_SCHEMA_VERSION = 1


class DefectSource(LabelledEnum):
    """Which inspection found a defect."""

    INTERNAL = ("internal", "内部自检验房", "Internal inspection")
    OWNER = ("owner", "业主验房", "Owner inspection")


class DefectStatus(LabelledEnum):
    """Where a defect stands."""

    OPEN = ("open", "待整改", "Open")
    REPORTED = ("reported", "待复验", "Rectified, awaiting re-inspection")
    CLOSED = ("closed", "已关闭", "Closed")
    WARRANTY = ("warranty", "转保修", "Handed over open: warranty ticket")

    @property
    def is_open(self) -> bool:
        """Whether the defect still needs work before handover."""
        return self in (DefectStatus.OPEN, DefectStatus.REPORTED)


class TaskStatus(LabelledEnum):
    """Where a rectification task (整改单) stands."""

    OPEN = ("open", "整改中", "Open")
    REPORTED = ("reported", "待复验", "Reported done, awaiting re-inspection")
    CLOSED = ("closed", "已关闭", "Closed by re-inspection")
    TRANSFERRED = ("transferred", "转保修", "Unit handed over; open defects became tickets")


class UnitStage(LabelledEnum):
    """Where a unit stands in its delivery."""

    PLANNED = ("planned", "待验房", "Planned")
    INSPECTED = ("inspected", "已自检", "Internally inspected")
    BOOKED = ("booked", "已预约", "Handover booked")
    OWNER_INSPECTED = ("owner_inspected", "业主已验房", "Owner inspected")
    HANDED_OVER = ("handed_over", "已交付", "Handed over")


class MeterKind(LabelledEnum):
    """A meter read at handover."""

    WATER = ("water", "水表", "Water")
    ELECTRICITY = ("electricity", "电表", "Electricity")
    GAS = ("gas", "燃气表", "Gas")
    HEAT = ("heat", "热量表", "Heat")


class DeliveryRefusedError(InvalidTransitionError):
    """A delivery command was refused; the batch is left exactly as it was.

    Args:
        batch_id: The batch the command was for.
        subject: What was refused, e.g. ``"unit 'U-101'"`` or ``"batch 'B-1'"``.
        stage: The unit's stage or the task's status when the command arrived, if any.
        command: The refused command's name.
        reason: Why it was refused.
        hint: What would make it acceptable.
    """

    def __init__(
        self,
        *,
        batch_id: str,
        subject: str,
        stage: str | None,
        command: str,
        reason: str,
        hint: str | None = None,
    ) -> None:
        self.ticket_id = None
        self.batch_id = batch_id
        self.subject = subject
        self.status = stage
        self.command = command
        self.reason = reason
        where = f"{subject} in stage {stage!r}" if stage else subject
        PropcrmError.__init__(self, f"command {command!r} refused for {where}: {reason}", hint=hint)


# ---------------------------------------------------------------------------------------------
# values


def _text_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


def _non_empty_items(
    _instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationError.single(
                f"$.{attribute.name}[{index}]", "must be a non-empty string"
            )


_optional_text = attrs.validators.optional(non_empty_str)


@attrs.frozen(kw_only=True)
class DefectReport:
    """A defect as the inspector (or owner) reports it.

    Attributes:
        defect_id: Stable id, unique in the batch.
        code: Taxonomy item code, e.g. ``"Q.WP.04"``.
        location: Where it is; must be inside the inspected unit.
        description: What was seen.
        severity: Minor or major.
        photos: References to photos (file names, object keys), never the images.
    """

    defect_id: str = attrs.field(validator=non_empty_str)
    code: str = attrs.field(validator=non_empty_str)
    location: Location
    description: str = attrs.field(validator=non_empty_str)
    severity: Severity = attrs.field(default=Severity.MINOR, validator=member_of(Severity))
    photos: tuple[str, ...] = attrs.field(
        default=(), converter=_text_tuple, validator=_non_empty_items
    )


@attrs.frozen(kw_only=True)
class RoutedDefect:
    """A reported defect with the party and contractor it was routed to (a recorded fact).

    Attributes:
        report: The defect as reported.
        party: The responsible party code, e.g. ``"SUB-WP"``.
        contractor: The contractor code from the register, ``None`` when the taxonomy's default
            party was used.
        reason: Why this party (the register's explanation).
    """

    report: DefectReport
    party: str = attrs.field(validator=non_empty_str)
    contractor: str | None = attrs.field(default=None, validator=_optional_text)
    reason: str = ""

    @property
    def assignee(self) -> str:
        """Who rectifies it: the contractor, else the party."""
        return self.contractor or self.party


def _non_negative(_instance: object, attribute: attrs.Attribute[Decimal], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"must be a non-negative Decimal, got {value!r}",
            hint="pass readings as Decimal('1234.5'), never as float",
        )


@attrs.frozen(kw_only=True)
class MeterReading:
    """A meter read at handover (抄表).

    Attributes:
        meter: Water, electricity, gas or heat.
        reading: The reading, as a Decimal.
        meter_id: The meter's number, if recorded.
    """

    meter: MeterKind = attrs.field(validator=member_of(MeterKind))
    reading: Decimal = attrs.field(validator=_non_negative)
    meter_id: str | None = attrs.field(default=None, validator=_optional_text)


# ---------------------------------------------------------------------------------------------
# commands


def _unique(
    _instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    _non_empty_items(_instance, attribute, value)
    if not value:
        raise ValidationError.single(f"$.{attribute.name}", "must name at least one")
    for index, item in enumerate(value):
        if value.index(item) != index:
            raise ValidationError.single(f"$.{attribute.name}[{index}]", f"duplicate {item!r}")


def _reports(values: Iterable[DefectReport]) -> tuple[DefectReport, ...]:
    return tuple(values)


def _unique_defects(
    _instance: object,
    _attribute: attrs.Attribute[tuple[DefectReport, ...]],
    value: tuple[DefectReport, ...],
) -> None:
    ids = [d.defect_id for d in value]
    for index, defect_id in enumerate(ids):
        if ids.index(defect_id) != index:
            raise ValidationError.single(
                f"$.defects[{index}].defect_id", f"duplicate defect id {defect_id!r}"
            )


@attrs.frozen(kw_only=True)
class OpenDeliveryBatch:
    """Open a delivery batch (交付批次) for a project or one of its buildings.

    Attributes:
        batch_id: The new batch's id.
        scope: The tenant chain down to the project.
        title: Display name, e.g. ``"翠湖花园 3 栋 首批交付"``.
        planned_handover_on: The promised handover date (the on-time KPI counts against it).
        unit_ids: The units to deliver.
        building_id: The building, when the batch is one building.
    """

    name: ClassVar[str] = "open_batch"
    batch_id: str = attrs.field(validator=non_empty_str)
    scope: OrgScope
    title: str = attrs.field(validator=non_empty_str)
    planned_handover_on: date
    unit_ids: tuple[str, ...] = attrs.field(converter=_text_tuple, validator=_unique)
    building_id: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(kw_only=True)
class RecordInspection:
    """Record an internal inspection of one unit (内部自检验房 / 模拟验房).

    Each defect is routed to its contractor through the contractor register, and one
    rectification task is issued per contractor for the defects of this inspection.

    Attributes:
        batch_id: The batch.
        unit_id: The unit inspected.
        inspector: The inspector's staff id.
        checklist: The taxonomy codes checked (see :func:`checklist`).
        defects: The defects found; empty when the unit passed.
    """

    name: ClassVar[str] = "record_inspection"
    batch_id: str = attrs.field(validator=non_empty_str)
    unit_id: str = attrs.field(validator=non_empty_str)
    inspector: str = attrs.field(validator=non_empty_str)
    checklist: tuple[str, ...] = attrs.field(converter=_text_tuple, validator=_unique)
    defects: tuple[DefectReport, ...] = attrs.field(
        default=(), converter=_reports, validator=_unique_defects
    )


@attrs.frozen(kw_only=True)
class ReportRectified:
    """The contractor reports a rectification task done; it awaits re-inspection."""

    name: ClassVar[str] = "report_rectified"
    batch_id: str = attrs.field(validator=non_empty_str)
    task_id: str = attrs.field(validator=non_empty_str)
    note: str | None = None


@attrs.frozen(kw_only=True)
class RecordReinspection:
    """Re-inspect a reported task (复验): listed defects go back, the others close.

    Attributes:
        batch_id: The batch.
        task_id: The task re-inspected.
        inspector: The inspector's staff id.
        failed: Defects of the task that are not fixed; the task goes back to the contractor.
        note: Free text.
    """

    name: ClassVar[str] = "record_reinspection"
    batch_id: str = attrs.field(validator=non_empty_str)
    task_id: str = attrs.field(validator=non_empty_str)
    inspector: str = attrs.field(validator=non_empty_str)
    failed: tuple[str, ...] = attrs.field(
        default=(), converter=_text_tuple, validator=_non_empty_items
    )
    note: str | None = None


@attrs.frozen(kw_only=True)
class BookHandover:
    """Book the owner's formal delivery appointment (交付预约).

    Attributes:
        batch_id: The batch.
        unit_id: The unit.
        customer_id: The owner taking the unit (their archive id).
        appointment_at: The appointment.
    """

    name: ClassVar[str] = "book_handover"
    batch_id: str = attrs.field(validator=non_empty_str)
    unit_id: str = attrs.field(validator=non_empty_str)
    customer_id: str = attrs.field(validator=non_empty_str)
    appointment_at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class RecordOwnerInspection:
    """Record the owner's inspection at the formal delivery (业主验房) and the signed defect list.

    It may be recorded again before the keys are handed over (more defects, or the signature):
    keys are only handed over once the owner has signed.

    Attributes:
        batch_id: The batch.
        unit_id: The unit.
        defects: The defects the owner found; routed and issued like internal ones.
        signed: Whether the owner signed the defect list (签字确认).
    """

    name: ClassVar[str] = "record_owner_inspection"
    batch_id: str = attrs.field(validator=non_empty_str)
    unit_id: str = attrs.field(validator=non_empty_str)
    defects: tuple[DefectReport, ...] = attrs.field(
        default=(), converter=_reports, validator=_unique_defects
    )
    signed: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


def _readings(values: Iterable[MeterReading]) -> tuple[MeterReading, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class HandOverUnit:
    """Hand the keys over (交钥匙): the unit is delivered.

    Defects still open become warranty tickets under the handover date: see
    :func:`warranty_tickets`.

    Attributes:
        batch_id: The batch.
        unit_id: The unit.
        keys: The keys handed over (key numbers or a count as text).
        meter_readings: The meters read at handover.
        move_in_fee_ref: A reference to the move-in fees (入伙费用) in the billing system.
    """

    name: ClassVar[str] = "hand_over"
    batch_id: str = attrs.field(validator=non_empty_str)
    unit_id: str = attrs.field(validator=non_empty_str)
    keys: tuple[str, ...] = attrs.field(converter=_text_tuple, validator=_unique)
    meter_readings: tuple[MeterReading, ...] = attrs.field(default=(), converter=_readings)
    move_in_fee_ref: str | None = attrs.field(default=None, validator=_optional_text)


#: The union of every delivery-batch command `Delivery.handle` accepts.
DeliveryCommand: TypeAlias = (
    OpenDeliveryBatch
    | RecordInspection
    | ReportRectified
    | RecordReinspection
    | BookHandover
    | RecordOwnerInspection
    | HandOverUnit
)

#: Every delivery command class by its rule name.
COMMAND_TYPES: dict[str, type[DeliveryCommand]] = {
    cls.name: cls
    for cls in (
        OpenDeliveryBatch,
        RecordInspection,
        ReportRectified,
        RecordReinspection,
        BookHandover,
        RecordOwnerInspection,
        HandOverUnit,
    )
}

_STAFF = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.HOTLINE_AGENT, Role.SYSTEM})

#: Default roles allowed to issue each delivery command; contractors' staff act as handlers.
DEFAULT_PERMISSIONS: Mapping[str, frozenset[Role]] = MappingProxyType(
    {
        **dict.fromkeys(COMMAND_TYPES, _STAFF),
        ReportRectified.name: _STAFF | {Role.HANDLER},
    }
)


# ---------------------------------------------------------------------------------------------
# events


def _routed(values: Iterable[RoutedDefect]) -> tuple[RoutedDefect, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class BatchOpened:
    """A delivery batch was opened."""

    event_type: ClassVar[str] = "delivery_batch_opened"
    scope: OrgScope
    title: str
    planned_handover_on: date
    unit_ids: tuple[str, ...] = attrs.field(converter=_text_tuple)
    building_id: str | None = None


@attrs.frozen(kw_only=True)
class InspectionRecorded:
    """A unit was inspected internally; its defects were routed to their contractors."""

    event_type: ClassVar[str] = "inspection_recorded"
    unit_id: str
    inspector: str
    checklist: tuple[str, ...] = attrs.field(converter=_text_tuple)
    defects: tuple[RoutedDefect, ...] = attrs.field(default=(), converter=_routed)


@attrs.frozen(kw_only=True)
class RectificationIssued:
    """A rectification task (整改单) was issued to a contractor for some defects of a unit."""

    event_type: ClassVar[str] = "rectification_issued"
    task_id: str
    unit_id: str
    assignee: str
    party: str
    defect_ids: tuple[str, ...] = attrs.field(converter=_text_tuple)


@attrs.frozen(kw_only=True)
class RectificationReported:
    """The contractor reported the task done."""

    event_type: ClassVar[str] = "rectification_reported"
    task_id: str
    note: str | None = None


@attrs.frozen(kw_only=True)
class ReinspectionRecorded:
    """A task was re-inspected: ``closed`` defects passed, ``sent_back`` ones went back."""

    event_type: ClassVar[str] = "reinspection_recorded"
    task_id: str
    inspector: str
    closed: tuple[str, ...] = attrs.field(default=(), converter=_text_tuple)
    sent_back: tuple[str, ...] = attrs.field(default=(), converter=_text_tuple)
    note: str | None = None


@attrs.frozen(kw_only=True)
class HandoverBooked:
    """The owner's delivery appointment was booked."""

    event_type: ClassVar[str] = "handover_booked"
    unit_id: str
    customer_id: str
    appointment_at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class OwnerInspectionRecorded:
    """The owner inspected the unit; their defects were routed to the contractors."""

    event_type: ClassVar[str] = "owner_inspection_recorded"
    unit_id: str
    defects: tuple[RoutedDefect, ...] = attrs.field(default=(), converter=_routed)
    signed: bool = True


@attrs.frozen(kw_only=True)
class UnitHandedOver:
    """The keys were handed over; ``open_defect_ids`` became warranty tickets."""

    event_type: ClassVar[str] = "unit_handed_over"
    unit_id: str
    keys: tuple[str, ...] = attrs.field(converter=_text_tuple)
    meter_readings: tuple[MeterReading, ...] = attrs.field(default=(), converter=_readings)
    move_in_fee_ref: str | None = None
    open_defect_ids: tuple[str, ...] = attrs.field(default=(), converter=_text_tuple)


#: The union of every delivery event payload; a `DeliveryEvent` envelope carries one.
DeliveryPayload: TypeAlias = (
    BatchOpened
    | InspectionRecorded
    | RectificationIssued
    | RectificationReported
    | ReinspectionRecorded
    | HandoverBooked
    | OwnerInspectionRecorded
    | UnitHandedOver
)

#: Every delivery payload class by its wire name.
EVENT_TYPES: dict[str, type[DeliveryPayload]] = {
    cls.event_type: cls
    for cls in (
        BatchOpened,
        InspectionRecorded,
        RectificationIssued,
        RectificationReported,
        ReinspectionRecorded,
        HandoverBooked,
        OwnerInspectionRecorded,
        UnitHandedOver,
    )
}


@attrs.frozen(kw_only=True)
class DeliveryEvent:
    """One immutable fact in a delivery batch's history (the envelope of :class:`Event`).

    Attributes:
        event_id: ``"<batch_id>/<sequence>"``.
        batch_id: The batch the event belongs to (the aggregate id).
        sequence: Position in the batch's history, 1 for the opening.
        occurred_at: When it happened; timezone-aware.
        actor: Who did it.
        payload: The typed facts.
        schema_version: The payload schema version it was written with.
    """

    event_id: str = attrs.field(validator=non_empty_str)
    batch_id: str = attrs.field(validator=non_empty_str)
    sequence: int = attrs.field(validator=positive_int)
    occurred_at: datetime = attrs.field(validator=aware_datetime)
    actor: Actor
    payload: DeliveryPayload
    schema_version: int = EVENT_SCHEMA_VERSION

    @property
    def type(self) -> str:
        """The payload's wire name, e.g. ``"inspection_recorded"``."""
        return self.payload.event_type


# ---------------------------------------------------------------------------------------------
# state


@attrs.frozen(kw_only=True)
class Defect:
    """A defect's state in the batch.

    Attributes:
        defect_id: Stable id.
        unit_id: The unit.
        code: Taxonomy item code.
        location: Where it is.
        description: What was seen.
        severity: Minor or major.
        photos: Photo references.
        source: Internal or owner inspection.
        party: The responsible party it was routed to.
        contractor: The contractor code, if the register named one.
        task_id: The rectification task it belongs to.
        status: Open, reported, closed, or handed over as a warranty ticket.
        found_at: When it was recorded.
        closed_at: When re-inspection closed it.
    """

    defect_id: str
    unit_id: str
    code: str
    location: Location
    description: str
    severity: Severity
    photos: tuple[str, ...]
    source: DefectSource
    party: str
    contractor: str | None
    task_id: str | None
    status: DefectStatus
    found_at: datetime
    closed_at: datetime | None = None


@attrs.frozen(kw_only=True)
class RectificationTask:
    """A rectification task's state.

    Attributes:
        task_id: Stable id, ``"<batch_id>/R<n>"``.
        unit_id: The unit.
        assignee: The contractor (or party) rectifying.
        party: The responsible party code.
        defect_ids: The defects it covers.
        status: Open, reported, closed or transferred to warranty.
        issued_at: When it was issued.
        reported_at: The latest report of completion.
        closed_at: When re-inspection closed it.
        send_backs: How many re-inspections sent it back.
    """

    task_id: str
    unit_id: str
    assignee: str
    party: str
    defect_ids: tuple[str, ...]
    status: TaskStatus
    issued_at: datetime
    reported_at: datetime | None = None
    closed_at: datetime | None = None
    send_backs: int = 0


@attrs.frozen(kw_only=True)
class UnitDelivery:
    """One unit's delivery state.

    Attributes:
        unit_id: The unit.
        stage: Where it stands.
        inspections: How many internal inspections were recorded.
        first_inspection_defects: Defects found by the first internal inspection.
        first_inspected_at: When the first internal inspection was recorded.
        inspector: The latest internal inspector.
        checklist: The latest inspection's checklist.
        customer_id: The owner, once booked.
        appointment_at: The delivery appointment.
        owner_inspected_at: When the owner inspected.
        owner_signed: Whether the owner signed the defect list.
        handed_over_at: When the keys were handed over.
        keys: The keys handed over.
        meter_readings: The meters read at handover.
        move_in_fee_ref: The move-in fees reference.
        warranty_defect_ids: Defects handed over open, which become warranty tickets.
    """

    unit_id: str
    stage: UnitStage = UnitStage.PLANNED
    inspections: int = 0
    first_inspection_defects: int | None = None
    first_inspected_at: datetime | None = None
    inspector: str | None = None
    checklist: tuple[str, ...] = ()
    customer_id: str | None = None
    appointment_at: datetime | None = None
    owner_inspected_at: datetime | None = None
    owner_signed: bool | None = None
    handed_over_at: datetime | None = None
    keys: tuple[str, ...] = ()
    meter_readings: tuple[MeterReading, ...] = ()
    move_in_fee_ref: str | None = None
    warranty_defect_ids: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class DeliveryBatch:
    """A delivery batch's state, derived from its events by :func:`replay`.

    Attributes:
        batch_id: Stable id.
        scope: The tenant chain down to the project.
        title: Display name.
        planned_handover_on: The promised handover date.
        building_id: The building, when the batch is one building.
        units: Unit id → state, in the batch's order.
        defects: Defect id → state, in the order found.
        tasks: Task id → state, in the order issued.
        version: The sequence of the latest event.
        updated_at: When the latest event occurred.
    """

    batch_id: str
    scope: OrgScope
    title: str
    planned_handover_on: date
    building_id: str | None
    units: Mapping[str, UnitDelivery]
    defects: Mapping[str, Defect]
    tasks: Mapping[str, RectificationTask]
    version: int
    updated_at: datetime

    def open_defects(self, unit_id: str) -> tuple[Defect, ...]:
        """The unit's defects still open (not closed, not yet handed over as tickets)."""
        return tuple(d for d in self.defects.values() if d.unit_id == unit_id and d.status.is_open)


# ---------------------------------------------------------------------------------------------
# decide


def checklist(taxonomy: Taxonomy, *, disciplines: Iterable[str] | None = None) -> tuple[str, ...]:
    """The inspection checklist drawn from the taxonomy: live housing-quality items, by code.

    Args:
        taxonomy: The taxonomy to draw from.
        disciplines: Only these disciplines (e.g. ``["Q.WP", "Q.DW"]``); every ``Q`` discipline
            by default.

    Returns:
        Item codes, sorted.
    """
    wanted = None if disciplines is None else frozenset(disciplines)
    return tuple(
        node.code
        for node in taxonomy.nodes_at("item")
        if node.code.startswith("Q.") and (wanted is None or taxonomy.rollup(node.code) in wanted)
    )


def _refuse(
    batch: DeliveryBatch | None,
    command: DeliveryCommand,
    reason: str,
    *,
    subject: str | None = None,
    stage: str | None = None,
    hint: str | None = None,
) -> DeliveryRefusedError:
    return DeliveryRefusedError(
        batch_id=command.batch_id,
        subject=subject or f"batch {command.batch_id!r}",
        stage=stage,
        command=command.name,
        reason=reason,
        hint=hint,
    )


def _unit(batch: DeliveryBatch, command: DeliveryCommand, unit_id: str) -> UnitDelivery:
    unit = batch.units.get(unit_id)
    if unit is None:
        raise ValidationError.single(
            "$.unit_id",
            f"unit {unit_id!r} is not in batch {batch.batch_id!r}",
            hint="units: " + ", ".join(batch.units),
        )
    return unit


def _route(
    batch: DeliveryBatch,
    reports: tuple[DefectReport, ...],
    unit_id: str,
    taxonomy: Taxonomy,
    register: ContractorRegister | None,
) -> tuple[RoutedDefect, ...]:
    errors: list[FieldError] = []
    routed: list[RoutedDefect] = []
    for index, report in enumerate(reports):
        path = f"$.defects[{index}]"
        if report.defect_id in batch.defects:
            errors.append(
                FieldError(path=f"{path}.defect_id", message=f"defect {report.defect_id!r} exists")
            )
        try:
            node = taxonomy.validate_code(report.code, live=True, path=f"{path}.code")
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        where = report.location
        if where.unit_id != unit_id or where.project_id != batch.scope.project_id:
            errors.append(
                FieldError(
                    path=f"{path}.location",
                    message=f"must be inside unit {unit_id!r} of project "
                    f"{batch.scope.project_id!r}",
                )
            )
            continue
        if register is not None and batch.scope.project_id in register.projects:
            route = register.route(
                node.code,
                batch.scope.project_id,
                taxonomy=taxonomy,
                building_id=where.building_id or batch.building_id,
            )
            contractor = route.contractor.code if route.contractor else None
            routed.append(
                RoutedDefect(
                    report=report, party=route.party, contractor=contractor, reason=route.reason
                )
            )
        elif node.parties:
            routed.append(
                RoutedDefect(
                    report=report,
                    party=node.parties[0],
                    reason=f"no contractor register for {batch.scope.project_id}; "
                    f"default party {node.parties[0]}",
                )
            )
        else:
            errors.append(
                FieldError(path=f"{path}.code", message=f"{node.code} has no responsible party")
            )
    if errors:
        raise ValidationError(errors, subject="inspection")
    return tuple(routed)


def _issue(
    batch: DeliveryBatch, unit_id: str, routed: tuple[RoutedDefect, ...]
) -> list[DeliveryPayload]:
    by_assignee: dict[str, list[RoutedDefect]] = {}
    for defect in routed:
        by_assignee.setdefault(defect.assignee, []).append(defect)
    issued: list[DeliveryPayload] = []
    for number, (assignee, defects) in enumerate(by_assignee.items(), len(batch.tasks) + 1):
        issued.append(
            RectificationIssued(
                task_id=f"{batch.batch_id}/R{number}",
                unit_id=unit_id,
                assignee=assignee,
                party=defects[0].party,
                defect_ids=tuple(d.report.defect_id for d in defects),
            )
        )
    return issued


def _task(batch: DeliveryBatch, command: DeliveryCommand, task_id: str) -> RectificationTask:
    task = batch.tasks.get(task_id)
    if task is None:
        raise ValidationError.single(
            "$.task_id",
            f"no rectification task {task_id!r} in batch {batch.batch_id!r}",
            hint="tasks: " + (", ".join(batch.tasks) or "none"),
        )
    return task


def _payloads(
    batch: DeliveryBatch | None,
    command: DeliveryCommand,
    taxonomy: Taxonomy,
    register: ContractorRegister | None,
) -> list[DeliveryPayload]:
    if isinstance(command, OpenDeliveryBatch):
        if batch is not None:
            raise _refuse(batch, command, "the batch already exists")
        return [
            BatchOpened(
                scope=command.scope,
                title=command.title,
                planned_handover_on=command.planned_handover_on,
                unit_ids=command.unit_ids,
                building_id=command.building_id,
            )
        ]
    if batch is None:
        raise _refuse(None, command, "the batch does not exist", hint="open it first")
    if isinstance(command, RecordInspection):
        unit = _unit(batch, command, command.unit_id)
        if unit.stage is not UnitStage.PLANNED and unit.stage is not UnitStage.INSPECTED:
            raise _refuse(
                batch,
                command,
                "internal inspections happen before the handover is booked",
                subject=f"unit {unit.unit_id!r}",
                stage=unit.stage.value,
                hint="record what the owner finds with RecordOwnerInspection",
            )
        bad = [i for i, code in enumerate(command.checklist) if code not in taxonomy]
        if bad:
            raise ValidationError.single(
                f"$.checklist[{bad[0]}]", f"{command.checklist[bad[0]]!r} is not in {taxonomy.tag}"
            )
        routed = _route(batch, command.defects, unit.unit_id, taxonomy, register)
        recorded = InspectionRecorded(
            unit_id=unit.unit_id,
            inspector=command.inspector,
            checklist=command.checklist,
            defects=routed,
        )
        return [recorded, *_issue(batch, unit.unit_id, routed)]
    if isinstance(command, ReportRectified):
        task = _task(batch, command, command.task_id)
        if task.status is not TaskStatus.OPEN:
            raise _refuse(
                batch,
                command,
                "only an open task can be reported done",
                subject=f"task {task.task_id!r}",
                stage=task.status.value,
            )
        return [RectificationReported(task_id=task.task_id, note=command.note)]
    if isinstance(command, RecordReinspection):
        task = _task(batch, command, command.task_id)
        if task.status is not TaskStatus.REPORTED:
            raise _refuse(
                batch,
                command,
                "re-inspection follows the contractor's report",
                subject=f"task {task.task_id!r}",
                stage=task.status.value,
                hint="the contractor reports the task done with ReportRectified first",
            )
        pending = [d for d in task.defect_ids if batch.defects[d].status.is_open]
        unknown = [d for d in command.failed if d not in pending]
        if unknown:
            raise ValidationError.single(
                "$.failed",
                f"{unknown[0]!r} is not an open defect of task {task.task_id!r}",
                hint="open defects: " + ", ".join(pending),
            )
        return [
            ReinspectionRecorded(
                task_id=task.task_id,
                inspector=command.inspector,
                closed=tuple(d for d in pending if d not in command.failed),
                sent_back=tuple(d for d in pending if d in command.failed),
                note=command.note,
            )
        ]
    if isinstance(command, BookHandover):
        unit = _unit(batch, command, command.unit_id)
        if unit.stage is not UnitStage.INSPECTED and unit.stage is not UnitStage.BOOKED:
            raise _refuse(
                batch,
                command,
                "a unit is booked for handover after its internal inspection",
                subject=f"unit {unit.unit_id!r}",
                stage=unit.stage.value,
                hint="record the internal inspection first"
                if unit.stage is UnitStage.PLANNED
                else None,
            )
        return [
            HandoverBooked(
                unit_id=unit.unit_id,
                customer_id=command.customer_id,
                appointment_at=command.appointment_at,
            )
        ]
    if isinstance(command, RecordOwnerInspection):
        unit = _unit(batch, command, command.unit_id)
        if unit.stage is not UnitStage.BOOKED and unit.stage is not UnitStage.OWNER_INSPECTED:
            raise _refuse(
                batch,
                command,
                "the owner inspects at the booked appointment",
                subject=f"unit {unit.unit_id!r}",
                stage=unit.stage.value,
                hint="book the handover first" if unit.stage is not UnitStage.HANDED_OVER else None,
            )
        routed = _route(batch, command.defects, unit.unit_id, taxonomy, register)
        recorded_owner = OwnerInspectionRecorded(
            unit_id=unit.unit_id, defects=routed, signed=command.signed
        )
        return [recorded_owner, *_issue(batch, unit.unit_id, routed)]
    if isinstance(command, HandOverUnit):
        unit = _unit(batch, command, command.unit_id)
        if unit.stage is not UnitStage.OWNER_INSPECTED:
            raise _refuse(
                batch,
                command,
                "keys are handed over after the owner's inspection",
                subject=f"unit {unit.unit_id!r}",
                stage=unit.stage.value,
                hint=None
                if unit.stage is UnitStage.HANDED_OVER
                else "record the owner's inspection (and signed defect list) first",
            )
        if not unit.owner_signed:
            raise _refuse(
                batch,
                command,
                "the owner has not signed the defect list",
                subject=f"unit {unit.unit_id!r}",
                stage=unit.stage.value,
                hint="record the owner's inspection again with signed=True",
            )
        return [
            UnitHandedOver(
                unit_id=unit.unit_id,
                keys=command.keys,
                meter_readings=command.meter_readings,
                move_in_fee_ref=command.move_in_fee_ref,
                open_defect_ids=tuple(d.defect_id for d in batch.open_defects(unit.unit_id)),
            )
        ]
    raise ValidationError.single(  # pragma: no cover - every command is handled above
        "$", f"not a delivery command: {type(command).__name__}"
    )


def decide(
    batch: DeliveryBatch | None,
    command: DeliveryCommand,
    *,
    now: datetime,
    actor: Actor,
    taxonomy: Taxonomy,
    register: ContractorRegister | None = None,
    permissions: Mapping[str, frozenset[Role]] = DEFAULT_PERMISSIONS,
) -> list[DeliveryEvent]:
    """Decide ``command`` against ``batch``: the events it leads to, or a typed refusal.

    Args:
        batch: The batch's current state, or ``None`` for :class:`OpenDeliveryBatch`.
        command: What is asked.
        now: When; timezone-aware, not before the batch's latest event.
        actor: Who asks.
        taxonomy: Defect codes and checklists are checked against it (live codes only).
        register: The contractor register that routes defects; without it (or without the
            project in it) a defect goes to its taxonomy item's first default party.
        permissions: Command name → roles that may issue it.

    Returns:
        The new events, numbered from ``batch.version + 1``; apply them in order.

    Raises:
        DeliveryRefusedError: The command does not fit the unit's stage or the task's status.
        PermissionDeniedError: The actor's role may not issue the command, or the batch lies
            outside the actor's org scope.
        ValidationError: Unknown unit, task or defect, bad taxonomy codes, defects outside the
            unit, a naive ``now`` or one before the latest event (with field paths).
    """
    require_aware(now, "$.now")
    if actor.role not in permissions.get(command.name, frozenset()):
        raise PermissionDeniedError(
            f"role {actor.role.value!r} may not issue {command.name!r}",
            hint="issue it as a delivery staff role, or pass other permissions",
        )
    target = command.scope if isinstance(command, OpenDeliveryBatch) else None
    target = batch.scope if batch is not None else target
    if target is not None:
        actor.require_covers(target, subject="batch")
    if batch is not None:
        if command.batch_id != batch.batch_id:
            raise ValidationError.single(
                "$.batch_id", f"command is for batch {command.batch_id!r}, not {batch.batch_id!r}"
            )
        if now < batch.updated_at:
            raise ValidationError.single(
                "$.now",
                f"{now.isoformat()} is before the batch's latest event "
                f"({batch.updated_at.isoformat()})",
                hint="histories are append-only in time; pass the current time as now",
            )
    payloads = _payloads(batch, command, taxonomy, register)
    first = 1 if batch is None else batch.version + 1
    return [
        DeliveryEvent(
            event_id=f"{command.batch_id}/{first + offset}",
            batch_id=command.batch_id,
            sequence=first + offset,
            occurred_at=now,
            actor=actor,
            payload=payload,
        )
        for offset, payload in enumerate(payloads)
    ]


# ---------------------------------------------------------------------------------------------
# apply and replay

_State = dict[str, Any]


def _add_defects(
    state: _State, routed: tuple[RoutedDefect, ...], source: DefectSource, at: datetime
) -> None:
    for defect in routed:
        report = defect.report
        state["defects"][report.defect_id] = Defect(
            defect_id=report.defect_id,
            unit_id=report.location.unit_id or "",
            code=report.code,
            location=report.location,
            description=report.description,
            severity=report.severity,
            photos=report.photos,
            source=source,
            party=defect.party,
            contractor=defect.contractor,
            task_id=None,
            status=DefectStatus.OPEN,
            found_at=at,
        )


def _evolve_unit(state: _State, unit_id: str, **changes: Any) -> None:
    state["units"][unit_id] = attrs.evolve(state["units"][unit_id], **changes)


def _evolve_task(state: _State, task_id: str, **changes: Any) -> None:
    state["tasks"][task_id] = attrs.evolve(state["tasks"][task_id], **changes)


def _evolve_defects(state: _State, defect_ids: Iterable[str], **changes: Any) -> None:
    for defect_id in defect_ids:
        state["defects"][defect_id] = attrs.evolve(state["defects"][defect_id], **changes)


def _fold(state: _State | None, event: DeliveryEvent) -> _State:
    p = event.payload
    at = event.occurred_at
    if state is None:
        if event.sequence != 1 or not isinstance(p, BatchOpened):
            raise ValidationError.single(
                "$.sequence",
                f"a delivery history starts with delivery_batch_opened at sequence 1, not "
                f"{event.type} at {event.sequence}",
                subject="delivery history",
            )
        state = {
            "batch_id": event.batch_id,
            "scope": p.scope,
            "title": p.title,
            "planned_handover_on": p.planned_handover_on,
            "building_id": p.building_id,
            "units": {u: UnitDelivery(unit_id=u) for u in p.unit_ids},
            "defects": {},
            "tasks": {},
        }
    elif event.batch_id != state["batch_id"] or event.sequence != state["version"] + 1:
        raise ValidationError.single(
            "$.sequence",
            f"expected event {state['version'] + 1} of batch {state['batch_id']!r}, got "
            f"{event.sequence} of {event.batch_id!r}",
            subject="delivery history",
            hint="events must be applied in order without gaps or repeats",
        )
    elif isinstance(p, InspectionRecorded):
        unit = state["units"][p.unit_id]
        _add_defects(state, p.defects, DefectSource.INTERNAL, at)
        first = unit.inspections == 0
        _evolve_unit(
            state,
            p.unit_id,
            stage=UnitStage.INSPECTED,
            inspections=unit.inspections + 1,
            first_inspection_defects=len(p.defects) if first else unit.first_inspection_defects,
            first_inspected_at=at if first else unit.first_inspected_at,
            inspector=p.inspector,
            checklist=p.checklist,
        )
    elif isinstance(p, RectificationIssued):
        state["tasks"][p.task_id] = RectificationTask(
            task_id=p.task_id,
            unit_id=p.unit_id,
            assignee=p.assignee,
            party=p.party,
            defect_ids=p.defect_ids,
            status=TaskStatus.OPEN,
            issued_at=at,
        )
        _evolve_defects(state, p.defect_ids, task_id=p.task_id)
    elif isinstance(p, RectificationReported):
        task = state["tasks"][p.task_id]
        _evolve_task(state, p.task_id, status=TaskStatus.REPORTED, reported_at=at)
        open_ids = [d for d in task.defect_ids if state["defects"][d].status.is_open]
        _evolve_defects(state, open_ids, status=DefectStatus.REPORTED)
    elif isinstance(p, ReinspectionRecorded):
        task = state["tasks"][p.task_id]
        _evolve_defects(state, p.closed, status=DefectStatus.CLOSED, closed_at=at)
        _evolve_defects(state, p.sent_back, status=DefectStatus.OPEN)
        if p.sent_back:
            _evolve_task(state, p.task_id, status=TaskStatus.OPEN, send_backs=task.send_backs + 1)
        else:
            _evolve_task(state, p.task_id, status=TaskStatus.CLOSED, closed_at=at)
    elif isinstance(p, HandoverBooked):
        _evolve_unit(
            state,
            p.unit_id,
            stage=UnitStage.BOOKED,
            customer_id=p.customer_id,
            appointment_at=p.appointment_at,
        )
    elif isinstance(p, OwnerInspectionRecorded):
        _add_defects(state, p.defects, DefectSource.OWNER, at)
        _evolve_unit(
            state,
            p.unit_id,
            stage=UnitStage.OWNER_INSPECTED,
            owner_inspected_at=at,
            owner_signed=p.signed,
        )
    elif isinstance(p, UnitHandedOver):
        _evolve_defects(state, p.open_defect_ids, status=DefectStatus.WARRANTY)
        for task in list(state["tasks"].values()):
            if task.unit_id == p.unit_id and task.status in (TaskStatus.OPEN, TaskStatus.REPORTED):
                _evolve_task(state, task.task_id, status=TaskStatus.TRANSFERRED)
        _evolve_unit(
            state,
            p.unit_id,
            stage=UnitStage.HANDED_OVER,
            handed_over_at=at,
            keys=p.keys,
            meter_readings=p.meter_readings,
            move_in_fee_ref=p.move_in_fee_ref,
            warranty_defect_ids=p.open_defect_ids,
        )
    state["version"] = event.sequence
    state["updated_at"] = at
    return state


def _freeze(state: _State) -> DeliveryBatch:
    return DeliveryBatch(
        batch_id=state["batch_id"],
        scope=state["scope"],
        title=state["title"],
        planned_handover_on=state["planned_handover_on"],
        building_id=state["building_id"],
        units=MappingProxyType(dict(state["units"])),
        defects=MappingProxyType(dict(state["defects"])),
        tasks=MappingProxyType(dict(state["tasks"])),
        version=state["version"],
        updated_at=state["updated_at"],
    )


def _thaw(batch: DeliveryBatch) -> _State:
    state = attrs.asdict(batch, recurse=False)
    for name in ("units", "defects", "tasks"):
        state[name] = dict(state[name])
    return state


def apply(batch: DeliveryBatch | None, event: DeliveryEvent) -> DeliveryBatch:
    """Fold one event into ``batch`` (``None`` before the opening) and return the new state.

    Raises:
        ValidationError: The event does not follow the batch (another batch, a gap or repeat).
    """
    return _freeze(_fold(None if batch is None else _thaw(batch), event))


def replay(events: Iterable[DeliveryEvent]) -> DeliveryBatch:
    """Rebuild a batch from its whole history, in order.

    Raises:
        ValidationError: The history is empty or out of order.
    """
    state: _State | None = None
    for event in events:
        state = _fold(state, event)
    if state is None:
        raise ValidationError.single("$", "an empty history has no batch", subject="history")
    return _freeze(state)


@attrs.frozen(kw_only=True)
class Delivery:
    """The delivery flows with their taxonomy and contractor register bound.

    Attributes:
        taxonomy: Defect codes and checklists are checked against it.
        register: Routes defects to contractors; ``None`` routes to default parties.
        permissions: Command name → roles allowed.
    """

    taxonomy: Taxonomy
    register: ContractorRegister | None = None
    permissions: Mapping[str, frozenset[Role]] = DEFAULT_PERMISSIONS

    def handle(
        self, batch: DeliveryBatch | None, command: DeliveryCommand, *, now: datetime, actor: Actor
    ) -> list[DeliveryEvent]:
        """Decide ``command``; see :func:`decide`. The batch is not changed: apply the events."""
        return decide(
            batch,
            command,
            now=now,
            actor=actor,
            taxonomy=self.taxonomy,
            register=self.register,
            permissions=self.permissions,
        )

    def execute(
        self, batch: DeliveryBatch | None, command: DeliveryCommand, *, now: datetime, actor: Actor
    ) -> tuple[DeliveryBatch, list[DeliveryEvent]]:
        """Decide ``command`` and apply its events: the new batch and the events."""
        events = self.handle(batch, command, now=now, actor=actor)
        for event in events:
            batch = apply(batch, event)
        assert batch is not None
        return batch, events


def _default_ticket_id(batch: DeliveryBatch, defect: Defect) -> str:
    return f"W-{batch.batch_id}-{defect.defect_id}"


def warranty_tickets(
    batch: DeliveryBatch,
    unit_id: str,
    *,
    ticket_id: Callable[[DeliveryBatch, Defect], str] = _default_ticket_id,
    priority: Priority = Priority.P4,
) -> tuple[ReceiveTicket, ...]:
    """The warranty tickets to receive for the defects a unit was handed over with.

    Issue each with :meth:`propcrm.workflow.Lifecycle.handle` at ``now`` = the unit's
    ``handed_over_at``: the ticket is received under the handover date, through the inspection
    channel, classified under the defect's code, with its contractor as responsible party. The
    idempotency key ``delivery:<batch>:<defect>`` makes issuing twice one ticket.

    Args:
        batch: The batch, after the unit's :class:`UnitHandedOver`.
        unit_id: The unit.
        ticket_id: Makes each ticket's id; ``"W-<batch>-<defect>"`` by default.
        priority: The tickets' priority; P4 (warranty repair, 房修) by default.

    Returns:
        One :class:`ReceiveTicket` per defect, in the order found; empty when none was open.

    Raises:
        ValidationError: The unit is not in the batch or not handed over yet.
    """
    unit = batch.units.get(unit_id)
    if unit is None or unit.handed_over_at is None:
        raise ValidationError.single(
            "$.unit_id",
            f"unit {unit_id!r} of batch {batch.batch_id!r} is not handed over",
            hint="warranty tickets are issued for units handed over with open defects",
        )
    handed_on = unit.handed_over_at.date().isoformat()
    reporter = CustomerRef(customer_id=unit.customer_id) if unit.customer_id else None
    return tuple(
        ReceiveTicket(
            ticket_id=ticket_id(batch, defect),
            kind=TicketKind.REPAIR,
            channel=Channel.INSPECTION,
            scope=batch.scope,
            description=f"交付遗留问题 ({handed_on}, {defect.source.label_zh}, "
            f"{defect.contractor or defect.party}): {defect.description}",
            priority=priority,
            severity=defect.severity,
            category_code=defect.code,
            location=defect.location,
            reporter=reporter,
            responsible_party=defect.party,
            idempotency_key=f"delivery:{batch.batch_id}:{defect.defect_id}",
        )
        for defect in (batch.defects[d] for d in unit.warranty_defect_ids)
    )
