"""SLA policies as data: targets, clock semantics, and which tickets a policy covers."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import timedelta
from types import MappingProxyType
from typing import TypeVar

import attrs

from propcrm._validation import member_of, non_empty_str
from propcrm.errors import FieldError, ValidationError
from propcrm.model import Channel, PauseReason, Priority, Ticket, TicketKind
from propcrm.model.enums import LabelledEnum
from propcrm.workflow import EVENT_TYPES

__all__ = [
    "MATCH_FIELDS",
    "MEMO_SIZE",
    "ClockKind",
    "HoldAccounting",
    "PolicyApplication",
    "PolicyMatch",
    "PolicySet",
    "ReopenMode",
    "ReopenRule",
    "SlaPolicy",
    "SlaTarget",
    "TargetRule",
]


class SlaTarget(LabelledEnum):
    """What an SLA clock measures, from its start event to its stop event."""

    FIRST_RESPONSE = ("first_response", "首次响应", "First response")
    DISPATCH = ("dispatch", "派单", "Dispatch")
    ARRIVAL = ("arrival", "到场", "On-site arrival")
    RESOLUTION = ("resolution", "解决", "Resolution")
    REVISIT = ("revisit", "回访", "Revisit")
    CLOSURE = ("closure", "客户确认关闭", "Customer-confirmed closure")


class ClockKind(LabelledEnum):
    """Whether a target counts business time on its calendar or plain wall-clock time."""

    BUSINESS = ("business", "工作时间", "Business time")
    WALL = ("wall", "自然时间", "Wall-clock time")


class HoldAccounting(LabelledEnum):
    """How a pause (hold) that stops a target's clock is credited.

    ``business``: the pause removes the business time that passed during it, no more.
    ``wall``: the deadline moves later by the pause's full wall-clock length.
    """

    BUSINESS = ("business", "按工作时间扣除", "Credit business time")
    WALL = ("wall", "按自然时间顺延", "Extend by wall-clock time")


class ReopenMode(LabelledEnum):
    """What a reopen does to a target whose clock had stopped."""

    CONTINUE = ("continue", "继续计时", "Continue")
    RESET = ("reset", "重新计时", "Reset")
    NEW_TICKET_AFTER = ("new_ticket_after", "超期视为新单", "New ticket after N days")


@attrs.frozen(kw_only=True)
class ReopenRule:
    """The reopen semantics of one target.

    Attributes:
        mode: Continue the clock with the time already used, reset it, or (``new_ticket_after``)
            reset only when the reopen comes more than ``after`` after the stop.
        after: The threshold for ``new_ticket_after``.
    """

    mode: ReopenMode = attrs.field(default=ReopenMode.CONTINUE, validator=member_of(ReopenMode))
    after: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        if self.mode is ReopenMode.NEW_TICKET_AFTER and (
            self.after is None or self.after < timedelta(0)
        ):
            raise ValidationError.single(
                "$.after", "new_ticket_after needs a non-negative 'after' duration"
            )

    def resets(self, since_stop: timedelta) -> bool:
        """Whether a reopen ``since_stop`` after the clock stopped starts the target afresh."""
        if self.mode is ReopenMode.RESET:
            return True
        if self.mode is ReopenMode.NEW_TICKET_AFTER:
            assert self.after is not None
            return since_stop > self.after
        return False


_V = TypeVar("_V")


def _kinds(values: Iterable[TicketKind]) -> frozenset[TicketKind]:
    return frozenset(values)


def _priorities(values: Iterable[Priority]) -> frozenset[Priority]:
    return frozenset(values)


def _channels(values: Iterable[Channel]) -> frozenset[Channel]:
    return frozenset(values)


def _pause_reasons(values: Iterable[PauseReason]) -> frozenset[PauseReason]:
    return frozenset(values)


def _target_rules(values: Iterable[TargetRule]) -> tuple[TargetRule, ...]:
    return tuple(values)


def _policy_list(values: Iterable[SlaPolicy]) -> tuple[SlaPolicy, ...]:
    return tuple(values)


def _strings(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _check_events(
    _instance: object, attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    unknown = sorted(value - EVENT_TYPES.keys())
    if unknown:
        raise ValidationError.single(
            f"$.{attribute.name}",
            f"unknown event types {unknown}",
            hint="see propcrm.workflow.EVENT_TYPES",
        )
    if not value:
        raise ValidationError.single(f"$.{attribute.name}", "needs at least one event type")


def _positive_duration(
    _instance: object, attribute: attrs.Attribute[timedelta], value: object
) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be a positive timedelta, got {value!r}"
        )


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not isinstance(value, int | float) or not 0 < value < 1:
        raise ValidationError.single(
            f"$.{attribute.name}", f"must be between 0 and 1, got {value!r}"
        )


#: The events that start and stop each target by default.
DEFAULT_EVENTS: Mapping[SlaTarget, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        SlaTarget.FIRST_RESPONSE: (
            frozenset({"ticket_received"}),
            frozenset({"customer_responded", "ticket_accepted"}),
        ),
        SlaTarget.DISPATCH: (frozenset({"ticket_received"}), frozenset({"ticket_dispatched"})),
        SlaTarget.ARRIVAL: (frozenset({"ticket_received"}), frozenset({"handler_arrived"})),
        SlaTarget.RESOLUTION: (frozenset({"ticket_received"}), frozenset({"ticket_completed"})),
        SlaTarget.REVISIT: (frozenset({"ticket_completed"}), frozenset({"revisit_recorded"})),
        SlaTarget.CLOSURE: (frozenset({"ticket_received"}), frozenset({"ticket_closed"})),
    }
)


@attrs.frozen(kw_only=True)
class TargetRule:
    """One target of a policy: a duration on a calendar, with its clock semantics.

    Attributes:
        target: What is measured.
        duration: The committed time, in business time on ``calendar`` (or wall-clock time when
            ``clock`` is ``wall``).
        calendar: Name of the business calendar (see ``propcrm.metrics.calendar.get_calendar``);
            ignored for wall-clock targets.
        clock: Business or wall-clock time.
        start_on: Event types that start the clock (the first one counts).
        stop_on: Event types that stop it (the first one after the start counts).
        paused_by: Pause reasons that stop this target's clock; others let it run (waiting for
            parts pauses resolution, not arrival).
        hold: How a pause is credited.
        on_reopen: What a reopen does once the clock has stopped.
        at_risk_at: Share of the duration used after which a running target is ``at_risk``.
    """

    target: SlaTarget = attrs.field(validator=member_of(SlaTarget))
    duration: timedelta = attrs.field(validator=_positive_duration)
    calendar: str = attrs.field(default="24x7", validator=non_empty_str)
    clock: ClockKind = attrs.field(default=ClockKind.BUSINESS, validator=member_of(ClockKind))
    start_on: frozenset[str] = attrs.field(
        default=attrs.Factory(lambda self: DEFAULT_EVENTS[self.target][0], takes_self=True),
        converter=_strings,
        validator=_check_events,
    )
    stop_on: frozenset[str] = attrs.field(
        default=attrs.Factory(lambda self: DEFAULT_EVENTS[self.target][1], takes_self=True),
        converter=_strings,
        validator=_check_events,
    )
    paused_by: frozenset[PauseReason] = attrs.field(factory=frozenset, converter=_pause_reasons)
    hold: HoldAccounting = attrs.field(
        default=HoldAccounting.BUSINESS, validator=member_of(HoldAccounting)
    )
    on_reopen: ReopenRule = attrs.field(factory=ReopenRule)
    at_risk_at: float = attrs.field(default=0.8, validator=_fraction)

    @property
    def calendar_name(self) -> str:
        """The calendar the clock runs on: ``24x7`` for wall-clock targets."""
        return "24x7" if self.clock is ClockKind.WALL else self.calendar


@attrs.frozen(kw_only=True)
class PolicyMatch:
    """Which tickets a policy covers; every non-empty criterion must hold (empty = any).

    Attributes:
        kinds: Ticket kinds.
        priorities: Priorities.
        category_prefixes: Taxonomy code prefixes (``"Q.WP"`` covers ``"Q.WP.08"``).
        project_ids: Projects.
        channels: Intake channels.
    """

    kinds: frozenset[TicketKind] = attrs.field(factory=frozenset, converter=_kinds)
    priorities: frozenset[Priority] = attrs.field(factory=frozenset, converter=_priorities)
    category_prefixes: frozenset[str] = attrs.field(factory=frozenset, converter=_strings)
    project_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_strings)
    channels: frozenset[Channel] = attrs.field(factory=frozenset, converter=_channels)

    def matches(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` matches: :meth:`explain`'s answer without building the reasons."""
        if self.kinds and ticket.kind not in self.kinds:
            return False
        if self.priorities and ticket.priority not in self.priorities:
            return False
        if self.channels and ticket.channel not in self.channels:
            return False
        if self.project_ids and ticket.scope.project_id not in self.project_ids:
            return False
        if self.category_prefixes:
            code = ticket.category_code
            if not code:
                return False
            return any(code.startswith(prefix) for prefix in self.category_prefixes)
        return True

    def criteria(self) -> frozenset[str]:
        """The ticket fields this match reads (its non-empty criteria), as :data:`MATCH_FIELDS`."""
        return frozenset(
            name
            for name, allowed in (
                ("kind", self.kinds),
                ("priority", self.priorities),
                ("channel", self.channels),
                ("project_id", self.project_ids),
                ("category_code", self.category_prefixes),
            )
            if allowed
        )

    def explain(self, ticket: Ticket) -> tuple[bool, tuple[str, ...]]:
        """Whether ``ticket`` matches, and why (or why not), one reason per criterion."""
        reasons: list[str] = []
        ok = True

        def check(label: str, value: str, allowed: AbstractSet[object], hit: bool) -> None:
            nonlocal ok
            if not allowed:
                return
            shown = ", ".join(sorted(str(a) for a in allowed))
            reasons.append(f"{label} {value} {'∈' if hit else '∉'} {{{shown}}}")
            ok = ok and hit

        check("kind", ticket.kind.value, self.kinds, ticket.kind in self.kinds)
        check(
            "priority", ticket.priority.value, self.priorities, ticket.priority in self.priorities
        )
        check("channel", ticket.channel.value, self.channels, ticket.channel in self.channels)
        check(
            "project",
            ticket.scope.project_id,
            self.project_ids,
            ticket.scope.project_id in self.project_ids,
        )
        if self.category_prefixes:
            code = ticket.category_code or ""
            hits = sorted(p for p in self.category_prefixes if code and code.startswith(p))
            prefixes = ", ".join(sorted(self.category_prefixes))
            if hits:
                reasons.append(f"category {code} starts with {hits[0]}")
            else:
                reasons.append(f"category {code or '(none)'} starts with none of {{{prefixes}}}")
            ok = ok and bool(hits)
        if not reasons:
            reasons.append("matches every ticket")
        return ok, tuple(reasons)


@attrs.frozen(kw_only=True)
class SlaPolicy:
    """A named set of targets for the tickets its ``match`` covers.

    Attributes:
        name: Stable name, e.g. ``"P2-urgent-repair"``.
        label_zh: Chinese display name.
        label_en: English display name.
        match: Which tickets it covers.
        targets: The targets, at most one per :class:`SlaTarget`.
        precedence: Higher wins when a policy set picks one policy per ticket.
    """

    name: str = attrs.field(validator=non_empty_str)
    label_zh: str
    label_en: str
    match: PolicyMatch = attrs.field(factory=PolicyMatch)
    targets: tuple[TargetRule, ...] = attrs.field(converter=_target_rules)
    precedence: int = 0

    def __attrs_post_init__(self) -> None:
        seen: set[SlaTarget] = set()
        errors = []
        for index, rule in enumerate(self.targets):
            if rule.target in seen:
                errors.append(
                    FieldError(
                        path=f"$.targets[{index}].target", message=f"{rule.target.value} twice"
                    )
                )
            seen.add(rule.target)
        if errors:
            raise ValidationError(errors, subject=f"SLA policy {self.name!r}")

    def target(self, target: SlaTarget) -> TargetRule | None:
        """The rule for ``target``, if the policy has one."""
        return next((rule for rule in self.targets if rule.target is target), None)


@attrs.frozen(kw_only=True)
class PolicyApplication:
    """A policy that covers a ticket, with the reasons it does."""

    policy: SlaPolicy
    reasons: tuple[str, ...]


#: The ticket fields a :class:`PolicyMatch` can read, in match-key order.
MATCH_FIELDS: tuple[str, ...] = ("kind", "priority", "channel", "project_id", "category_code")
_FIELD_PATHS = MappingProxyType(
    {
        "kind": "kind",
        "priority": "priority",
        "channel": "channel",
        "project_id": "scope.project_id",
        "category_code": "category_code",
    }
)
#: Distinct match keys a policy set remembers before it starts afresh.
MEMO_SIZE = 4096


def _no_key(_ticket: Ticket) -> tuple[object, ...]:
    return ()


def _key_reader(policies: tuple[SlaPolicy, ...]) -> Callable[[Ticket], object]:
    """A function from a ticket to the values of the fields some policy reads."""
    used: set[str] = set()
    for policy in policies:
        used |= policy.match.criteria()
    paths = [_FIELD_PATHS[name] for name in MATCH_FIELDS if name in used]
    return operator.attrgetter(*paths) if paths else _no_key


def _by_precedence(policies: tuple[SlaPolicy, ...]) -> tuple[SlaPolicy, ...]:
    """Highest precedence first; ties keep the order listed (the sort is stable)."""
    return tuple(sorted(policies, key=lambda p: -p.precedence))


@attrs.frozen(kw_only=True)
class PolicySet:
    """Policies and how they combine.

    Attributes:
        policies: The policies, in any order.
        all_matching: Apply every matching policy (a ticket can fall under several) instead of
            only the one with the highest precedence (ties: the earliest listed).
    """

    policies: tuple[SlaPolicy, ...] = attrs.field(converter=_policy_list)
    all_matching: bool = False
    # Derived from the fields above (so never stale) and left out of eq, hash and repr.
    _ranked: tuple[SlaPolicy, ...] = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(lambda self: _by_precedence(self.policies), takes_self=True),
    )
    _key: Callable[[Ticket], object] = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(lambda self: _key_reader(self.policies), takes_self=True),
    )
    _chosen: dict[object, tuple[SlaPolicy, ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )
    _explained: dict[object, tuple[PolicyApplication, ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        names = [p.name for p in self.policies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValidationError.single("$.policies", f"duplicate policy names {duplicates}")

    def match_key(self, ticket: Ticket) -> tuple[object, ...]:
        """The values of the ticket fields this set's policies read (see :data:`MATCH_FIELDS`).

        Two tickets with the same key get the same policies, with the same reasons: this is
        the key :meth:`policies_for` and :meth:`applicable` memoise on.
        """
        key = self._key(ticket)
        return key if isinstance(key, tuple) else (key,)

    def policies_for(self, ticket: Ticket) -> tuple[SlaPolicy, ...]:
        """The policies that cover ``ticket``, best first, without explanations (the fast path).

        The same policies as :meth:`applicable`; the answer is memoised on :meth:`match_key`
        (at most :data:`MEMO_SIZE` keys), so a batch of tickets costs one dictionary look-up
        per ticket once its keys have been seen.
        """
        key = self._key(ticket)
        found = self._chosen.get(key)
        if found is None:
            if self.all_matching:
                found = tuple(p for p in self._ranked if p.match.matches(ticket))
            else:
                best = next((p for p in self._ranked if p.match.matches(ticket)), None)
                found = () if best is None else (best,)
            _remember(self._chosen, key, found)
        return found

    def applicable(self, ticket: Ticket, *, memo: bool = True) -> tuple[PolicyApplication, ...]:
        """The policies that cover ``ticket``, each with its reasons, best first.

        Only the chosen policies are explained, once per :meth:`match_key` (the reasons read
        nothing else). ``memo=False`` explains every policy afresh, which is the reference the
        fast path is tested against.
        """
        if not memo:
            return self._explain_all(ticket)
        key = self._key(ticket)
        found = self._explained.get(key)
        if found is None:
            found = tuple(
                PolicyApplication(policy=policy, reasons=policy.match.explain(ticket)[1])
                for policy in self.policies_for(ticket)
            )
            _remember(self._explained, key, found)
        return found

    def _explain_all(self, ticket: Ticket) -> tuple[PolicyApplication, ...]:
        hits = []
        for order, policy in enumerate(self.policies):
            ok, reasons = policy.match.explain(ticket)
            if ok:
                hits.append(
                    (-policy.precedence, order, PolicyApplication(policy=policy, reasons=reasons))
                )
        hits.sort(key=lambda h: (h[0], h[1]))
        chosen = [h[2] for h in hits]
        return tuple(chosen if self.all_matching else chosen[:1])

    def explain(self, ticket: Ticket) -> str:
        """A readable account of every policy: matched or not, and why."""
        lines = []
        chosen = {a.policy.name for a in self.applicable(ticket)}
        for policy in self.policies:
            ok, reasons = policy.match.explain(ticket)
            mark = "applies" if policy.name in chosen else ("matches" if ok else "no")
            lines.append(f"{policy.name}: {mark} ({'; '.join(reasons)})")
        return "\n".join(lines)


def _remember(memo: dict[object, _V], key: object, value: _V) -> None:
    if len(memo) >= MEMO_SIZE:
        memo.clear()  # simple and bounded: a working set this large is rare
    memo[key] = value
