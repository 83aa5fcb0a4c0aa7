"""The running shell of the demo: plan, run through the service on SQLite, read back, report.

Everything the user sees comes from the store: the histories are read back with
``store.iter_events`` after the run, never taken from the plan, so the dashboard shows what the
service actually wrote.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from propcrm._optional import require_module
from propcrm.demo._group import generate_group, households_for
from propcrm.demo._plan import DemoPlan, plan_year
from propcrm.errors import PropcrmError, ValidationError
from propcrm.plugins import Notification, hookimpl, make_plugin_manager
from propcrm.workflow import Event

if TYPE_CHECKING:
    from propcrm.reports import Dashboard

__all__ = ["DemoOptions", "DemoResult", "NotificationCollector", "Refusal", "run_demo"]


@attrs.frozen(kw_only=True)
class DemoOptions:
    """What ``propcrm demo`` runs.

    Attributes:
        seed: The seed of the group and the year.
        households: Households of the whole group.
        output: The folder for ``propcrm-demo.db`` and ``report.html`` (created if missing).
        lang: ``"en"`` or ``"zh"``.
        progress: Show a progress bar on stderr (only when it is a terminal).
        notify_every: How often, in simulated time, the scheduler delivers the due SLA
            warnings and revisit reminders (``TicketService.deliver_due_notifications``); weekly
            by default, on Mondays at 08:30, for the weekly follow-up (周例会). Each run reads
            every open ticket, so a daily scheduler costs about as much as all the commands.
    """

    seed: int = 2025
    households: int = attrs.field(default=8000)
    output: Path = Path("propcrm-demo")
    lang: str = "en"
    progress: bool = True
    notify_every: timedelta = timedelta(days=7)

    @households.validator
    def _check_households(self, _attribute: attrs.Attribute[int], value: int) -> None:
        households_for(households=value)

    def __attrs_post_init__(self) -> None:
        if self.lang not in ("en", "zh"):
            raise ValidationError.single("$.lang", f"must be 'en' or 'zh', got {self.lang!r}")
        if not isinstance(self.notify_every, timedelta) or self.notify_every < timedelta(hours=1):
            raise ValidationError.single(
                "$.notify_every",
                f"must be a timedelta of an hour or more, got {self.notify_every!r}",
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValidationError.single("$.seed", f"must be an integer, got {self.seed!r}")


@attrs.frozen(kw_only=True)
class Refusal:
    """A command the service refused: a bug in the generator, never expected.

    Attributes:
        ticket_id: The ticket.
        command: The command's rule name.
        at: When it was issued.
        message: The refusal.
    """

    ticket_id: str
    command: str
    at: datetime
    message: str


class NotificationCollector:
    """A ``propcrm_deliver_notification`` plugin that keeps each message once, by its key."""

    def __init__(self) -> None:
        self.delivered: dict[str, Notification] = {}

    @hookimpl
    def propcrm_deliver_notification(self, notification: Notification) -> None:
        """Keep ``notification`` unless its idempotency key was delivered already."""
        self.delivered.setdefault(notification.idempotency_key, notification)

    def counts(self) -> Counter[str]:
        """Delivered messages by kind (wire value)."""
        return Counter(n.kind.value for n in self.delivered.values())


@attrs.frozen(kw_only=True)
class DemoResult:
    """What a demo run did and measured.

    Attributes:
        plan: The plan that ran.
        db_path: The SQLite file.
        report_path: The HTML report.
        tickets: Tickets in the store.
        events: Events in the store.
        commands: Commands run through the service.
        refusals: Commands the service refused (a correct run has none).
        notifications: Delivered notifications by kind.
        timings: Seconds per phase (plan, run, warnings, read, dashboard).
        seconds: Wall-clock seconds of the whole run.
        cpu_seconds: CPU seconds of the process over the run (on a shared machine, the fair
            measure: the run is single-threaded).
        peak_rss_mib: Peak resident memory of the process, MiB.
        dashboard: The dashboard value (``propcrm.reports.Dashboard``).
        text: The printed dashboard.
    """

    plan: DemoPlan
    db_path: Path
    report_path: Path
    tickets: int
    events: int
    commands: int
    refusals: tuple[Refusal, ...]
    notifications: Mapping[str, int]
    timings: Mapping[str, float]
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    dashboard: Dashboard
    text: str


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class _Clock:
    """The simulation clock the service reads: set before each command."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def _bar(total: int, *, enabled: bool, desc: str, stream: TextIO) -> Iterator[Any]:
    tqdm = require_module("tqdm", extra="demo", feature="the demo's progress bar").tqdm
    bar = tqdm(
        total=total,
        desc=desc,
        unit="cmd",
        file=stream,
        disable=not enabled,
        mininterval=0.5,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()


def _first_tick(plan: DemoPlan) -> datetime:
    # The first Monday of the year at 08:30.
    day = plan.period[0]
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, dtime(8, 30), tzinfo=plan.as_of.tzinfo)


def _fresh_db(output: Path) -> Path:
    db = output / "propcrm-demo.db"
    try:
        output.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    except OSError as error:
        raise ValidationError.single(
            "$.output",
            f"cannot use {str(output)!r} as the output folder: {error.strerror or error}",
            hint="pass --output a folder you can write to",
        ) from None
    return db


def run_demo(options: DemoOptions, *, out: TextIO, err: TextIO | None = None) -> DemoResult:
    """Run the demo: generate, plan, run every command through the service, report.

    Args:
        options: Seed, size, output folder, language, progress.
        out: Where the dashboard and the footer are printed.
        err: Where progress goes; ``sys.stderr`` by default (shown only on a terminal).

    Returns:
        What ran and what it measured.

    Raises:
        PropcrmError: The store, the plugins or the report failed (one line on the CLI).
    """
    from propcrm.metrics.calendar import get_calendar
    from propcrm.service import TicketService
    from propcrm.stores import open_store
    from propcrm.taxonomy import standard

    started = time.perf_counter()
    cpu_started = time.process_time()
    stream = sys.stderr if err is None else err
    show = options.progress and stream.isatty()
    timings: dict[str, float] = {}
    db = _fresh_db(options.output)
    taxonomy = standard()
    group = generate_group(options.seed, options.households)
    plan = plan_year(group, taxonomy=taxonomy)
    timings["plan"] = time.perf_counter() - started

    store = open_store(f"sqlite:///{db}")
    collector = NotificationCollector()
    try:
        mark = time.perf_counter()
        store.save_org_units(group.org)
        clock = _Clock(plan.as_of)
        plugins = make_plugin_manager(plugins=[collector])
        service = TicketService(store, plugins=plugins, clock=clock)
        refusals: list[Refusal] = []
        steps = plan.steps
        tick = _first_tick(plan)
        with _bar(
            len(steps), enabled=show, desc="year" if options.lang == "en" else "全年", stream=stream
        ) as bar:
            pending = 0
            for step in steps:
                while tick <= step.at:
                    # The scheduler: SLA warnings and revisit reminders, delivered once.
                    clock.now = tick
                    service.deliver_due_notifications(now=tick)
                    tick += options.notify_every
                clock.now = step.at
                try:
                    service.run(step.command, actor=step.actor)
                except PropcrmError as error:
                    refusals.append(
                        Refusal(
                            ticket_id=step.ticket_id,
                            command=step.command.name,
                            at=step.at,
                            message=error.message,
                        )
                    )
                pending += 1
                if pending == 256:
                    bar.update(pending)
                    pending = 0
            bar.update(pending)
        timings["run"] = time.perf_counter() - mark

        mark = time.perf_counter()
        histories: dict[str, list[Event]] = {}
        events = 0
        for batch in store.iter_events():
            for stored in batch:
                histories.setdefault(stored.event.ticket_id, []).append(stored.event)
            events += len(batch)
        timings["read"] = time.perf_counter() - mark

    finally:
        store.close()

    mark = time.perf_counter()
    from propcrm.metrics.rfm import PROPERTY_WEIGHTS
    from propcrm.reports import build_dashboard, render_text, write_html

    title = (
        f"{group.name} {group.year} 年客户服务年报"
        if options.lang == "zh"
        else f"Lvyin Group: customer service in {group.year}"
    )
    dashboard = build_dashboard(
        list(histories.values()),
        households={p.project_id: p.households for p in group.projects},
        period=plan.period,
        as_of=plan.as_of,
        org=group.org,
        surveys=plan.surveys,
        delivery_events=plan.delivery_events,
        transactions=plan.transactions,
        calendar=get_calendar(group.calendar),
        policies=None,
        taxonomy=taxonomy,
        title=title,
        survey_definitions=(plan.survey,),
        rfm_weights=PROPERTY_WEIGHTS,
    )
    text = render_text(dashboard, lang=options.lang)
    report = options.output / "report.html"
    write_html(dashboard, report, lang=options.lang)
    timings["dashboard"] = time.perf_counter() - mark
    print(text, file=out)
    result = DemoResult(
        plan=plan,
        db_path=db,
        report_path=report,
        tickets=len(histories),
        events=events,
        commands=len(plan.steps),
        refusals=tuple(refusals),
        notifications=dict(collector.counts()),
        timings=timings,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        peak_rss_mib=_peak_rss_mib(),
        dashboard=dashboard,
        text=text,
    )
    print(footer(result, lang=options.lang), file=out)
    return result


#: The run's phases in Chinese, for the footer.
_PHASES_ZH = {"plan": "计划", "run": "执行", "read": "读回", "dashboard": "看板"}


def footer(result: DemoResult, *, lang: str = "en") -> str:
    """The closing lines: what ran, how long it took, how much memory, where the files are."""
    refused = len(result.refusals)
    sent = result.notifications
    warnings = sent.get("sla_warning", 0) + sent.get("sla_breach", 0)
    reminders = sent.get("revisit_reminder", 0)
    if lang == "zh":
        phases = "，".join(
            f"{_PHASES_ZH.get(name, name)} {seconds:.1f} 秒"
            for name, seconds in result.timings.items()
        )
        lines = [
            f"工单 {result.tickets:,} 张，事件 {result.events:,} 条，指令 {result.commands:,} 条"
            f"（被拒绝 {refused} 条），已发送时限预警 {warnings:,} 条、回访提醒 {reminders:,} 条",
            f"用时 {result.seconds:.1f} 秒（{phases}；CPU {result.cpu_seconds:.1f} 秒），"
            f"内存峰值 {result.peak_rss_mib:.0f} MiB",
            f"数据库：{result.db_path}",
            f"报告：{result.report_path}",
        ]
    else:
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
        lines = [
            f"{result.tickets:,} tickets, {result.events:,} events, {result.commands:,} commands "
            f"({refused} refused), {warnings:,} SLA warnings and {reminders:,} revisit reminders "
            "delivered",
            f"run time {result.seconds:.1f} s ({phases}; CPU {result.cpu_seconds:.1f} s), "
            f"peak memory {result.peak_rss_mib:.0f} MiB",
            f"database: {result.db_path}",
            f"report:   {result.report_path}",
        ]
    return "\n".join(lines)
