"""Revisit programmes (回访), satisfaction surveys and owners' forum meetings (客户恳谈会).

A :class:`RevisitProgramme` says which tickets are revisited, when and how many:

- after completion within N hours or days, by kind and category; a rule may wait for an explicit
  trigger instead, e.g. leaks are revisited after the first rain following the repair;
- a residence revisit a set number of months after move-in (seed 001: 3 months);
- sampling rates per kind (100% of complaints, 30% of repairs), deterministic for a seed: a
  ticket is drawn when the hash of the seed and its id falls under the rate, so the same
  programme always draws the same tickets and no random generator is involved.

:func:`revisits_due` lists what is due at an instant. :func:`survey_result` turns survey
responses into the satisfaction rate and index (kept apart, see :mod:`propcrm.model.survey`).
:func:`follow_up_tickets` turns each issue raised at a forum meeting into a ticket to receive.
Nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from fractions import Fraction
from types import MappingProxyType

import attrs
from dateutil.relativedelta import relativedelta

from propcrm._validation import aware_datetime, member_of, non_empty_str, require_aware
from propcrm.errors import ValidationError
from propcrm.model.customer import CustomerRef
from propcrm.model.enums import Channel, LabelledEnum, Severity, TicketKind, TicketStatus
from propcrm.model.location import Location
from propcrm.model.org import OrgScope
from propcrm.model.survey import SurveyDefinition, SurveyResponse
from propcrm.model.ticket import Ticket
from propcrm.workflow.commands import ReceiveTicket

__all__ = [
    "DueRevisit",
    "ForumIssue",
    "ForumMeeting",
    "MoveIn",
    "Rain",
    "RevisitProgramme",
    "RevisitRule",
    "RevisitTrigger",
    "SurveyResult",
    "follow_up_tickets",
    "is_sampled",
    "revisits_due",
    "survey_result",
]


class RevisitTrigger(LabelledEnum):
    """What starts a revisit's window."""

    COMPLETION = ("completion", "完成后", "After completion")
    FIRST_RAIN = ("first_rain", "首次降雨后", "After the first rain following completion")
    MOVE_IN = ("move_in", "入住后", "After move-in")


def _kinds(values: Iterable[TicketKind]) -> frozenset[TicketKind]:
    return frozenset(values)


def _positive_delta(
    _instance: object, attribute: attrs.Attribute[timedelta], value: object
) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a positive timedelta, got {value!r}"
        )


def _non_negative_delta(
    _instance: object, attribute: attrs.Attribute[timedelta], value: object
) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a non-negative timedelta, got {value!r}"
        )


def _non_negative_int(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a non-negative integer, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class RevisitRule:
    """When a revisit is due: its trigger, the delay after it, and the window to do it in.

    The window opens at ``trigger + after`` (``after_months`` calendar months later for
    move-ins) and is due by ``opening + within``, both ends included.

    Attributes:
        rule_id: Stable id, e.g. ``"leak-after-rain"``.
        trigger: Completion, the first rain after completion, or move-in.
        within: How long the window lasts (e.g. 3 days for complaints).
        after: Delay from the trigger to the opening (e.g. 24 h to let a repair settle).
        after_months: Calendar months from the trigger (residence revisits: 3).
        kinds: Ticket kinds the rule applies to; empty means any (unused for move-ins).
        category_prefix: Taxonomy code the ticket's category must be or fall under, e.g.
            ``"Q.WP"``; ``None`` means any.
    """

    rule_id: str = attrs.field(validator=non_empty_str)
    trigger: RevisitTrigger = attrs.field(validator=member_of(RevisitTrigger))
    within: timedelta = attrs.field(validator=_positive_delta)
    after: timedelta = attrs.field(default=timedelta(0), validator=_non_negative_delta)
    after_months: int = attrs.field(default=0, validator=_non_negative_int)
    kinds: frozenset[TicketKind] = attrs.field(factory=frozenset, converter=_kinds)
    category_prefix: str | None = None

    def matches(self, ticket: Ticket) -> bool:
        """Whether the rule applies to ``ticket`` (kind and category)."""
        if self.trigger is RevisitTrigger.MOVE_IN:
            return False
        if self.kinds and ticket.kind not in self.kinds:
            return False
        prefix = self.category_prefix
        if prefix is None:
            return True
        code = ticket.category_code
        return code is not None and (code == prefix or code.startswith(prefix + "."))

    @property
    def specificity(self) -> tuple[int, int]:
        """How specific the rule is: category depth, then whether it names kinds."""
        depth = 0 if self.category_prefix is None else self.category_prefix.count(".") + 1
        return depth, 1 if self.kinds else 0

    def window(self, trigger_at: datetime) -> tuple[datetime, datetime]:
        """The window ``(opens_at, due_by)`` for a trigger at ``trigger_at``."""
        opens: datetime = trigger_at + relativedelta(months=self.after_months) + self.after
        return opens, opens + self.within


def _rules(values: Iterable[RevisitRule]) -> tuple[RevisitRule, ...]:
    return tuple(values)


def _rates(value: Mapping[TicketKind, float]) -> Mapping[TicketKind, float]:
    return MappingProxyType(dict(value))


def _check_rates(
    _instance: object,
    _attribute: attrs.Attribute[Mapping[TicketKind, float]],
    value: Mapping[TicketKind, float],
) -> None:
    for kind, rate in value.items():
        if not isinstance(kind, TicketKind):
            raise ValidationError.single("$.sampling", f"{kind!r} is not a TicketKind")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValidationError.single(
                f"$.sampling.{kind.value}", f"a rate is between 0 and 1, got {rate!r}"
            )


@attrs.frozen(kw_only=True)
class RevisitProgramme:
    """Revisit rules, sampling rates and the sampling seed.

    Attributes:
        rules: The rules; for a ticket the most specific matching rule applies (category depth,
            then kinds named), the first declared among equals.
        sampling: Ticket kind → share revisited, 0 to 1; kinds not listed are not revisited.
            Residence revisits are never sampled.
        seed: The sampling seed; the same seed draws the same tickets.
    """

    rules: tuple[RevisitRule, ...] = attrs.field(converter=_rules)
    sampling: Mapping[TicketKind, float] = attrs.field(converter=_rates, validator=_check_rates)
    seed: str = "propcrm"

    @classmethod
    def default(cls, *, seed: str = "propcrm") -> RevisitProgramme:
        """Defaults from the domain reference (configurable practice, not law).

        Complaints: all revisited within 3 days of completion. Repairs: 30% within 3 days.
        Leaks (``Q.WP``): after the first rain following the repair, within 2 days. Residence
        revisit: 3 months after move-in, within 30 days.
        """
        return cls(
            rules=(
                RevisitRule(
                    rule_id="complaint",
                    trigger=RevisitTrigger.COMPLETION,
                    within=timedelta(days=3),
                    kinds={TicketKind.COMPLAINT},
                ),
                RevisitRule(
                    rule_id="repair",
                    trigger=RevisitTrigger.COMPLETION,
                    within=timedelta(days=3),
                    kinds={TicketKind.REPAIR},
                ),
                RevisitRule(
                    rule_id="leak-after-rain",
                    trigger=RevisitTrigger.FIRST_RAIN,
                    within=timedelta(days=2),
                    kinds={TicketKind.REPAIR, TicketKind.COMPLAINT},
                    category_prefix="Q.WP",
                ),
                RevisitRule(
                    rule_id="residence",
                    trigger=RevisitTrigger.MOVE_IN,
                    after_months=3,
                    within=timedelta(days=30),
                ),
            ),
            sampling={TicketKind.COMPLAINT: 1.0, TicketKind.REPAIR: 0.3},
            seed=seed,
        )

    def rule_for(self, ticket: Ticket) -> RevisitRule | None:
        """The rule that applies to ``ticket``, if any."""
        best: RevisitRule | None = None
        for rule in self.rules:
            if rule.matches(ticket) and (best is None or rule.specificity > best.specificity):
                best = rule
        return best

    def sampled(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` is drawn for a revisit (see :func:`is_sampled`)."""
        return is_sampled(ticket.ticket_id, self.sampling.get(ticket.kind, 0.0), seed=self.seed)


def is_sampled(subject_id: str, rate: float, *, seed: str) -> bool:
    """Whether ``subject_id`` is drawn at ``rate``: deterministic, uniform, no random generator.

    The first 8 bytes of SHA-256 of ``seed`` and ``subject_id`` are read as a fraction of 2⁶⁴
    and compared with the rate: rate 1 draws everything, 0 nothing, and raising the rate only
    ever adds subjects.

    Example:
        >>> is_sampled("T-1", 1.0, seed="s"), is_sampled("T-1", 0.0, seed="s")
        (True, False)
    """
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{seed}\x1f{subject_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big"), 2**64) < Fraction(rate)


@attrs.frozen(kw_only=True)
class Rain:
    """A rain observed at a project: the trigger of leak revisits."""

    project_id: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class MoveIn:
    """A customer moved into a unit (the handover, or the recorded move-in)."""

    customer_id: str = attrs.field(validator=non_empty_str)
    unit_id: str = attrs.field(validator=non_empty_str)
    scope: OrgScope
    moved_in_at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class DueRevisit:
    """A revisit that is due (its window has opened).

    Attributes:
        key: Stable identity, ``"<rule>:<ticket>"`` or ``"<rule>:<customer>:<unit>"``; pass done
            keys to :func:`revisits_due` to leave them out.
        rule_id: The rule.
        scope: Where.
        opens_at: When the window opened.
        due_by: When it must be done (inclusive).
        overdue: Whether the instant asked about is after ``due_by``.
        ticket_id: The ticket, for ticket revisits.
        customer_id: The customer, for residence revisits (and tickets with a reporter).
        unit_id: The unit, for residence revisits.
    """

    key: str
    rule_id: str
    scope: OrgScope
    opens_at: datetime
    due_by: datetime
    overdue: bool
    ticket_id: str | None = None
    customer_id: str | None = None
    unit_id: str | None = None


_NOT_REVISITED = frozenset({TicketStatus.VOIDED, TicketStatus.MERGED})


def _first_rain(rains: Iterable[Rain], project_id: str, after: datetime) -> datetime | None:
    times = [r.at for r in rains if r.project_id == project_id and r.at >= after]
    return min(times) if times else None


def revisits_due(
    *,
    at: datetime,
    programme: RevisitProgramme,
    tickets: Iterable[Ticket] = (),
    move_ins: Iterable[MoveIn] = (),
    rains: Iterable[Rain] = (),
    done: Iterable[str] = (),
) -> tuple[DueRevisit, ...]:
    """The revisits due at ``at``: windows opened on or before it, not yet done.

    A ticket is due when it is completed (not voided or merged), not revisited since its latest
    completion, drawn by the programme's sampling, and its rule's window has opened: at
    completion (plus ``after``), or at the first rain in its project on or after completion for
    ``first_rain`` rules (never, until that rain is given). A move-in is due ``after_months``
    later under the programme's ``move_in`` rules.

    Args:
        at: The instant (aware).
        programme: Rules, sampling and seed.
        tickets: Tickets to consider.
        move_ins: Move-ins to consider.
        rains: Rains observed, for ``first_rain`` rules.
        done: Keys of revisits already done (residence revisits, which no ticket records).

    Returns:
        Due revisits, the earliest ``due_by`` first (then by key); overdue ones included with
        ``overdue=True``.
    """
    require_aware(at, "$.at")
    rain_list = tuple(rains)
    done_keys = frozenset(done)
    due: list[DueRevisit] = []
    for ticket in tickets:
        completed = ticket.completed_at
        if completed is None or ticket.status in _NOT_REVISITED:
            continue
        if ticket.revisited_at is not None and ticket.revisited_at >= completed:
            continue
        rule = programme.rule_for(ticket)
        if rule is None or not programme.sampled(ticket):
            continue
        trigger_at: datetime | None = completed
        if rule.trigger is RevisitTrigger.FIRST_RAIN:
            trigger_at = _first_rain(rain_list, ticket.scope.project_id, completed)
        if trigger_at is None:
            continue
        opens, due_by = rule.window(trigger_at)
        key = f"{rule.rule_id}:{ticket.ticket_id}"
        if opens <= at and key not in done_keys:
            due.append(
                DueRevisit(
                    key=key,
                    rule_id=rule.rule_id,
                    scope=ticket.scope,
                    opens_at=opens,
                    due_by=due_by,
                    overdue=at > due_by,
                    ticket_id=ticket.ticket_id,
                    customer_id=ticket.reporter.customer_id if ticket.reporter else None,
                )
            )
    residence = [r for r in programme.rules if r.trigger is RevisitTrigger.MOVE_IN]
    for move_in in move_ins:
        for rule in residence:
            opens, due_by = rule.window(move_in.moved_in_at)
            key = f"{rule.rule_id}:{move_in.customer_id}:{move_in.unit_id}"
            if opens <= at and key not in done_keys:
                due.append(
                    DueRevisit(
                        key=key,
                        rule_id=rule.rule_id,
                        scope=move_in.scope,
                        opens_at=opens,
                        due_by=due_by,
                        overdue=at > due_by,
                        customer_id=move_in.customer_id,
                        unit_id=move_in.unit_id,
                    )
                )
    return tuple(sorted(due, key=lambda d: (d.due_by, d.key)))


# ---------------------------------------------------------------------------------------------
# surveys


@attrs.frozen(kw_only=True)
class SurveyResult:
    """The satisfaction rate and index of a set of survey responses.

    Attributes:
        responses: Responses counted.
        rated: Responses with an overall answer (the rate's denominator).
        satisfied: Overall answers satisfied or basically satisfied and above.
        rate: ``satisfied / rated`` (满意率), ``None`` when none rated.
        index: Mean of the responses' 0–100 indices (满意度指数), ``None`` when none scored.
    """

    responses: int
    rated: int
    satisfied: int
    rate: float | None
    index: float | None


def survey_result(
    definition: SurveyDefinition, responses: Iterable[SurveyResponse]
) -> SurveyResult:
    """Summarise responses to one survey: satisfaction rate and index, kept apart.

    Raises:
        ValidationError: A response is to another survey or has a score off its scale.
    """
    answers = tuple(responses)
    rated = [r.is_satisfied for r in answers if r.is_satisfied is not None]
    indices = [i for i in (definition.index(r) for r in answers) if i is not None]
    satisfied = sum(1 for s in rated if s)
    return SurveyResult(
        responses=len(answers),
        rated=len(rated),
        satisfied=satisfied,
        rate=satisfied / len(rated) if rated else None,
        index=sum(indices) / len(indices) if indices else None,
    )


# ---------------------------------------------------------------------------------------------
# owners' forum


_optional_text = attrs.validators.optional(non_empty_str)


@attrs.frozen(kw_only=True)
class ForumIssue:
    """An issue raised at an owners' forum meeting.

    Attributes:
        issue_id: Stable id within the meeting.
        description: The issue as recorded in the minutes.
        kind: Complaint, repair, inquiry or suggestion.
        category_code: Taxonomy code, if classified at the meeting.
        raised_by: The customer who raised it, if recorded.
        location: Where, if it is about a place.
        severity: Minor or major.
    """

    issue_id: str = attrs.field(validator=non_empty_str)
    description: str = attrs.field(validator=non_empty_str)
    kind: TicketKind = attrs.field(validator=member_of(TicketKind))
    category_code: str | None = attrs.field(default=None, validator=_optional_text)
    raised_by: str | None = attrs.field(default=None, validator=_optional_text)
    location: Location | None = None
    severity: Severity = attrs.field(default=Severity.MINOR, validator=member_of(Severity))


def _issues(values: Iterable[ForumIssue]) -> tuple[ForumIssue, ...]:
    return tuple(values)


def _unique_issues(
    _instance: object,
    _attribute: attrs.Attribute[tuple[ForumIssue, ...]],
    value: tuple[ForumIssue, ...],
) -> None:
    ids = [i.issue_id for i in value]
    for index, issue_id in enumerate(ids):
        if ids.index(issue_id) != index:
            raise ValidationError.single(
                f"$.issues[{index}].issue_id", f"duplicate issue id {issue_id!r}"
            )


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ForumMeeting:
    """An owners' forum meeting (客户恳谈会, seed 001) with the issues raised.

    Attributes:
        meeting_id: Stable id.
        scope: The project it was held for.
        held_on: The day.
        title: Display name.
        attendees: Customer ids of the owners who came.
        issues: The issues raised; each is followed up as a ticket.
        minutes_ref: Reference to the minutes (会议记录).
    """

    meeting_id: str = attrs.field(validator=non_empty_str)
    scope: OrgScope
    held_on: date
    title: str = attrs.field(validator=non_empty_str)
    attendees: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    issues: tuple[ForumIssue, ...] = attrs.field(
        default=(), converter=_issues, validator=_unique_issues
    )
    minutes_ref: str | None = attrs.field(default=None, validator=_optional_text)


def _forum_ticket_id(meeting: ForumMeeting, issue: ForumIssue) -> str:
    return f"F-{meeting.meeting_id}-{issue.issue_id}"


def follow_up_tickets(
    meeting: ForumMeeting,
    *,
    ticket_id: Callable[[ForumMeeting, ForumIssue], str] = _forum_ticket_id,
    channel: Channel = Channel.FORUM,
) -> tuple[ReceiveTicket, ...]:
    """One ticket per issue raised at the meeting, so each is followed up and answered.

    The idempotency key ``forum:<meeting>:<issue>`` makes receiving twice one ticket.

    Args:
        meeting: The meeting.
        ticket_id: Makes each ticket's id; ``"F-<meeting>-<issue>"`` by default.
        channel: The intake channel (the owners' forum by default).

    Returns:
        The commands to receive, in the order the issues were raised.
    """
    return tuple(
        ReceiveTicket(
            ticket_id=ticket_id(meeting, issue),
            kind=issue.kind,
            channel=channel,
            scope=meeting.scope,
            description=f"客户恳谈会 {meeting.held_on.isoformat()} ({meeting.title}): "
            f"{issue.description}",
            severity=issue.severity,
            category_code=issue.category_code,
            location=issue.location,
            reporter=CustomerRef(customer_id=issue.raised_by) if issue.raised_by else None,
            idempotency_key=f"forum:{meeting.meeting_id}:{issue.issue_id}",
        )
        for issue in meeting.issues
    )
