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
    "LabelledEnum",
    "PauseReason",
    "Priority",
    "Role",
    "Satisfaction",
    "Severity",
    "TicketKind",
    "TicketStatus",
]


class LabelledEnum(str, Enum):
    """A string enum whose members carry Chinese and English display labels.

    Declare members as ``NAME = ("wire_value", "中文", "English")``. The labels default to empty
    only so that a lookup by value, ``Kind("wire_value")``, type-checks; every member sets both.
    """

    label_zh: str
    label_en: str

    def __new__(cls, value: str, label_zh: str = "", label_en: str = "") -> LabelledEnum:
        """Make a member from its wire value and labels."""
        member = str.__new__(cls, value)
        member._value_ = value
        member.label_zh = label_zh
        member.label_en = label_en
        return member

    def __str__(self) -> str:
        return str(self.value)


class TicketKind(LabelledEnum):
    """What the owner came for."""

    COMPLAINT = ("complaint", "投诉", "Complaint")
    REPAIR = ("repair", "报修", "Repair")
    INQUIRY = ("inquiry", "咨询", "Inquiry")
    SUGGESTION = ("suggestion", "建议", "Suggestion")
    PRAISE = ("praise", "表扬", "Praise")


class Channel(LabelledEnum):
    """Where the request came in (seed 004 unified these into one hotline)."""

    HOTLINE = ("hotline", "客服热线", "Hotline")
    FRONT_DESK = ("front_desk", "前台", "Front desk")
    INTERCOM = ("intercom", "对讲", "Intercom")
    ONSITE_STAFF = ("onsite_staff", "现场员工", "On-site staff")
    AREA_ASSISTANT = ("area_assistant", "片区助理", "Area assistant")
    APP = ("app", "App", "App")
    WECHAT = ("wechat", "微信", "WeChat")
    REVISIT = ("revisit", "回访", "Revisit")
    INSPECTION = ("inspection", "验房", "Inspection")
    FORUM = ("forum", "客户恳谈会", "Owners' forum")
    OTHER = ("other", "其他", "Other")


class Priority(LabelledEnum):
    """Urgency class; the SLA defaults of each are in the domain reference §3."""

    P1 = ("P1", "紧急(生命安全)", "Life safety")
    P2 = ("P2", "急修", "Urgent repair")
    P3 = ("P3", "一般维修", "Ordinary repair")
    P4 = ("P4", "房修(保修)", "Warranty repair")


class Severity(LabelledEnum):
    """Severity of the issue as classified (seed 000: 轻微 / 重大)."""

    MINOR = ("minor", "轻微", "Minor")
    MAJOR = ("major", "重大", "Major")


class TicketStatus(LabelledEnum):
    """Where a ticket stands in its lifecycle."""

    RECEIVED = ("received", "已受理", "Received")
    DISPATCHED = ("dispatched", "已派单", "Dispatched")
    ACCEPTED = ("accepted", "已接单", "Accepted")
    ARRIVED = ("arrived", "已到场", "On site")
    IN_PROGRESS = ("in_progress", "处理中", "In progress")
    PAUSED = ("paused", "暂停", "Paused")
    COMPLETED = ("completed", "已完成", "Completed")
    REVISITED = ("revisited", "已回访", "Revisited")
    CLOSED = ("closed", "已关闭", "Closed")
    REOPENED = ("reopened", "已重开", "Reopened")
    PENDING_ABNORMAL_CLOSE = (
        "pending_abnormal_close",
        "非正常关闭审批中",
        "Abnormal close pending",
    )
    VOIDED = ("voided", "已作废", "Voided")
    MERGED = ("merged", "已合并", "Merged as duplicate")

    @property
    def is_terminal(self) -> bool:
        """Whether no further command can change the ticket's status except a reopen."""
        return self in _TERMINAL


_TERMINAL = frozenset({TicketStatus.VOIDED, TicketStatus.MERGED})


class PauseReason(LabelledEnum):
    """Why work stopped; SLA targets decide per reason whether their clock pauses."""

    CUSTOMER_UNAVAILABLE = ("customer_unavailable", "业主不在家", "Customer unavailable")
    WAITING_FOR_PARTS = ("waiting_for_parts", "待料", "Waiting for parts")
    WAITING_FOR_THIRD_PARTY = ("waiting_for_third_party", "等待第三方", "Waiting for third party")
    OTHER = ("other", "其他", "Other")


class Satisfaction(LabelledEnum):
    """Revisit or survey answer on the usual five-point scale."""

    VERY_SATISFIED = ("very_satisfied", "非常满意", "Very satisfied")
    SATISFIED = ("satisfied", "满意", "Satisfied")
    BASICALLY_SATISFIED = ("basically_satisfied", "基本满意", "Basically satisfied")
    DISSATISFIED = ("dissatisfied", "不满意", "Dissatisfied")
    VERY_DISSATISFIED = ("very_dissatisfied", "非常不满意", "Very dissatisfied")

    @property
    def is_satisfied(self) -> bool:
        """Whether the answer counts towards the satisfaction rate (满意 + 基本满意 and above)."""
        return self in _SATISFIED


_SATISFIED = frozenset(
    {Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED}
)


class ComplaintValidity(LabelledEnum):
    """Whether a complaint counts in the valid-complaint KPIs."""

    VALID = ("valid", "有效", "Valid")
    INVALID = ("invalid", "无效", "Invalid")


class EscalationLevel(LabelledEnum):
    """The escalation ladder: team lead → department head → management."""

    NONE = ("none", "未升级", "Not escalated")
    TEAM_LEAD = ("team_lead", "班组长", "Team lead")
    DEPARTMENT_HEAD = ("department_head", "部门负责人", "Department head")
    MANAGEMENT = ("management", "公司管理层", "Management")

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


class ClosureType(LabelledEnum):
    """How a ticket was closed."""

    NORMAL = ("normal", "正常关闭", "Normal")
    ABNORMAL = ("abnormal", "非正常关闭", "Abnormal")


class Role(LabelledEnum):
    """Who issues commands; the lifecycle rules map roles to the commands they may issue."""

    HOTLINE_AGENT = ("hotline_agent", "客服专员", "Hotline agent")
    DISPATCHER = ("dispatcher", "调度员", "Dispatcher")
    HANDLER = ("handler", "处理人", "Handler")
    SUPERVISOR = ("supervisor", "主管", "Supervisor")
    CUSTOMER = ("customer", "客户", "Customer")
    SYSTEM = ("system", "系统", "System")


class AreaType(LabelledEnum):
    """Where in the estate a location is: inside a unit, a common area, or outside the estate."""

    UNIT = ("unit", "户内", "In unit")
    COMMON = ("common", "公共区域", "Common area")
    EXTERNAL = ("external", "红线外", "External")
