"""Closed vocabularies of the domain: ticket kinds, channels, priorities and the like.

Every enum is a ``str`` enum whose value is the stable wire name (used in JSON, SQL and rules);
``label_zh``/``label_en`` give the display names.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "AreaType",
    "Channel",
    "ClosureType",
    "ComplaintValidity",
    "EscalationLevel",
    "PauseReason",
    "Priority",
    "Role",
    "Satisfaction",
    "Severity",
    "TicketKind",
    "TicketStatus",
]


class _Labelled(str, Enum):
    """A string enum whose members have Chinese and English display labels."""

    @property
    def label_zh(self) -> str:
        """The Chinese display name."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """The English display name."""
        return _LABELS[self][1]

    def __str__(self) -> str:
        return str(self.value)


class TicketKind(_Labelled):
    """What the owner came for."""

    COMPLAINT = "complaint"
    REPAIR = "repair"
    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


class Channel(_Labelled):
    """Where the request came in (seed 004 unified these into one hotline)."""

    HOTLINE = "hotline"
    FRONT_DESK = "front_desk"
    INTERCOM = "intercom"
    ONSITE_STAFF = "onsite_staff"
    AREA_ASSISTANT = "area_assistant"
    APP = "app"
    WECHAT = "wechat"
    REVISIT = "revisit"
    INSPECTION = "inspection"
    OTHER = "other"


class Priority(_Labelled):
    """Urgency class; the SLA defaults of each are in the domain reference §3."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Severity(_Labelled):
    """Severity of the issue as classified (seed 000: 轻微 / 重大)."""

    MINOR = "minor"
    MAJOR = "major"


class TicketStatus(_Labelled):
    """Where a ticket stands in its lifecycle."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    REVISITED = "revisited"
    CLOSED = "closed"
    REOPENED = "reopened"
    PENDING_ABNORMAL_CLOSE = "pending_abnormal_close"
    VOIDED = "voided"
    MERGED = "merged"

    @property
    def is_terminal(self) -> bool:
        """Whether no further command can change the ticket's status except a reopen."""
        return self in _TERMINAL


_TERMINAL = frozenset({TicketStatus.VOIDED, TicketStatus.MERGED})


class PauseReason(_Labelled):
    """Why work stopped; SLA targets decide per reason whether their clock pauses."""

    CUSTOMER_UNAVAILABLE = "customer_unavailable"
    WAITING_FOR_PARTS = "waiting_for_parts"
    WAITING_FOR_THIRD_PARTY = "waiting_for_third_party"
    OTHER = "other"


class Satisfaction(_Labelled):
    """Revisit or survey answer on the usual five-point scale."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def is_satisfied(self) -> bool:
        """Whether the answer counts towards the satisfaction rate (满意 + 基本满意 and above)."""
        return self in _SATISFIED


_SATISFIED = frozenset(
    {Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED}
)


class ComplaintValidity(_Labelled):
    """Whether a complaint counts in the valid-complaint KPIs."""

    VALID = "valid"
    INVALID = "invalid"


class EscalationLevel(_Labelled):
    """The escalation ladder: team lead → department head → management."""

    NONE = "none"
    TEAM_LEAD = "team_lead"
    DEPARTMENT_HEAD = "department_head"
    MANAGEMENT = "management"

    @property
    def rank(self) -> int:
        """Position on the ladder, 0 for not escalated."""
        return _ESCALATION_ORDER.index(self)


_ESCALATION_ORDER = (
    EscalationLevel.NONE,
    EscalationLevel.TEAM_LEAD,
    EscalationLevel.DEPARTMENT_HEAD,
    EscalationLevel.MANAGEMENT,
)


class ClosureType(_Labelled):
    """How a ticket was closed."""

    NORMAL = "normal"
    ABNORMAL = "abnormal"


class Role(_Labelled):
    """Who issues commands; the lifecycle rules map roles to the commands they may issue."""

    HOTLINE_AGENT = "hotline_agent"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    CUSTOMER = "customer"
    SYSTEM = "system"


class AreaType(_Labelled):
    """Where in the estate a location is: inside a unit, a common area, or outside the estate."""

    UNIT = "unit"
    COMMON = "common"
    EXTERNAL = "external"


# Display labels (zh, en) of every member, kept apart from the wire values.
_LABELS: dict[_Labelled, tuple[str, str]] = {
    TicketKind.COMPLAINT: ("投诉", "Complaint"),
    TicketKind.REPAIR: ("报修", "Repair"),
    TicketKind.INQUIRY: ("咨询", "Inquiry"),
    TicketKind.SUGGESTION: ("建议", "Suggestion"),
    TicketKind.PRAISE: ("表扬", "Praise"),
    Channel.HOTLINE: ("客服热线", "Hotline"),
    Channel.FRONT_DESK: ("前台", "Front desk"),
    Channel.INTERCOM: ("对讲", "Intercom"),
    Channel.ONSITE_STAFF: ("现场员工", "On-site staff"),
    Channel.AREA_ASSISTANT: ("片区助理", "Area assistant"),
    Channel.APP: ("App", "App"),
    Channel.WECHAT: ("微信", "WeChat"),
    Channel.REVISIT: ("回访", "Revisit"),
    Channel.INSPECTION: ("验房", "Inspection"),
    Channel.OTHER: ("其他", "Other"),
    Priority.P1: ("紧急(生命安全)", "Life safety"),
    Priority.P2: ("急修", "Urgent repair"),
    Priority.P3: ("一般维修", "Ordinary repair"),
    Priority.P4: ("房修(保修)", "Warranty repair"),
    Severity.MINOR: ("轻微", "Minor"),
    Severity.MAJOR: ("重大", "Major"),
    TicketStatus.RECEIVED: ("已受理", "Received"),
    TicketStatus.DISPATCHED: ("已派单", "Dispatched"),
    TicketStatus.ACCEPTED: ("已接单", "Accepted"),
    TicketStatus.ARRIVED: ("已到场", "On site"),
    TicketStatus.IN_PROGRESS: ("处理中", "In progress"),
    TicketStatus.PAUSED: ("暂停", "Paused"),
    TicketStatus.COMPLETED: ("已完成", "Completed"),
    TicketStatus.REVISITED: ("已回访", "Revisited"),
    TicketStatus.CLOSED: ("已关闭", "Closed"),
    TicketStatus.REOPENED: ("已重开", "Reopened"),
    TicketStatus.PENDING_ABNORMAL_CLOSE: ("非正常关闭审批中", "Abnormal close pending"),
    TicketStatus.VOIDED: ("已作废", "Voided"),
    TicketStatus.MERGED: ("已合并", "Merged as duplicate"),
    PauseReason.CUSTOMER_UNAVAILABLE: ("业主不在家", "Customer unavailable"),
    PauseReason.WAITING_FOR_PARTS: ("待料", "Waiting for parts"),
    PauseReason.WAITING_FOR_THIRD_PARTY: ("等待第三方", "Waiting for third party"),
    PauseReason.OTHER: ("其他", "Other"),
    Satisfaction.VERY_SATISFIED: ("非常满意", "Very satisfied"),
    Satisfaction.SATISFIED: ("满意", "Satisfied"),
    Satisfaction.BASICALLY_SATISFIED: ("基本满意", "Basically satisfied"),
    Satisfaction.DISSATISFIED: ("不满意", "Dissatisfied"),
    Satisfaction.VERY_DISSATISFIED: ("非常不满意", "Very dissatisfied"),
    ComplaintValidity.VALID: ("有效", "Valid"),
    ComplaintValidity.INVALID: ("无效", "Invalid"),
    EscalationLevel.NONE: ("未升级", "Not escalated"),
    EscalationLevel.TEAM_LEAD: ("班组长", "Team lead"),
    EscalationLevel.DEPARTMENT_HEAD: ("部门负责人", "Department head"),
    EscalationLevel.MANAGEMENT: ("公司管理层", "Management"),
    ClosureType.NORMAL: ("正常关闭", "Normal"),
    ClosureType.ABNORMAL: ("非正常关闭", "Abnormal"),
    Role.HOTLINE_AGENT: ("客服专员", "Hotline agent"),
    Role.DISPATCHER: ("调度员", "Dispatcher"),
    Role.HANDLER: ("处理人", "Handler"),
    Role.SUPERVISOR: ("主管", "Supervisor"),
    Role.CUSTOMER: ("客户", "Customer"),
    Role.SYSTEM: ("系统", "System"),
    AreaType.UNIT: ("户内", "In unit"),
    AreaType.COMMON: ("公共区域", "Common area"),
    AreaType.EXTERNAL: ("红线外", "External"),
}
