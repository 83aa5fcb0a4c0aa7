"""A slow, obviously right business calendar to check the fast one against.

It knows nothing of the compiled index: for one instant it asks "is any shift of the days around
it running?", converting each shift's local start and end to UTC the plain way, and it answers
``add`` and ``elapsed`` by walking the clock minute by minute (or second by second).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from propcrm.metrics.calendar import BusinessCalendar

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


class Reference:
    """Reads the calendar's plain fields (never its index) and steps through time."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.tz: ZoneInfo = calendar.timezone
        self.weekly = [[(s.start, s.end) for s in day] for day in calendar.weekly]
        self.holidays = set(calendar.holidays)
        self.makeup = {m.day: m.works_as for m in calendar.makeup_days}
        self.overrides = {o.day: [(s.start, s.end) for s in o.shifts] for o in calendar.overrides}
        self._days: dict[date, list[tuple[datetime, datetime]]] = {}
        self._minutes: dict[datetime, bool] = {}

    def shifts_on(self, day: date) -> list[tuple[int, int]]:
        if day in self.overrides:
            return self.overrides[day]
        if day in self.holidays:
            return []
        if day in self.makeup:
            return self.weekly[self.makeup[day]]
        return self.weekly[day.weekday()]

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if day not in self._days:
            out = []
            for start, end in self.shifts_on(day):
                midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)  # fold=0
                out.append(
                    (
                        (midnight + timedelta(seconds=start)).astimezone(UTC),
                        (midnight + timedelta(seconds=end)).astimezone(UTC),
                    )
                )
            self._days[day] = out
        return self._days[day]

    def is_working(self, t: datetime) -> bool:
        local_day = t.astimezone(self.tz).date()
        for back in (2, 1, 0, -1):  # a shift lasts at most 24 h and starts before 24:00
            for start, end in self.intervals_on(local_day - timedelta(days=back)):
                if start <= t < end:
                    return True
        return False

    def _minute_working(self, t: datetime) -> bool:
        """Whether the minute holding ``t`` works (valid when all boundaries are on minutes)."""
        minute = t.replace(second=0, microsecond=0)
        if minute not in self._minutes:
            self._minutes[minute] = self.is_working(minute)
        return self._minutes[minute]

    def add(self, start: datetime, duration: timedelta, *, step: timedelta = MINUTE) -> datetime:
        """Walk forward ``step`` by ``step`` until ``duration`` of working steps has passed."""
        working = self._minute_working if step == SECOND else self.is_working
        t, left = start.astimezone(UTC), duration
        while left > timedelta(0):
            if working(t):
                left -= step
            t += step
        return t

    def subtract(self, end: datetime, duration: timedelta, *, step: timedelta = MINUTE) -> datetime:
        """Walk backward until ``duration`` of working steps lies between the answer and ``end``."""
        working = self._minute_working if step == SECOND else self.is_working
        t, left = end.astimezone(UTC), duration
        while left > timedelta(0):
            t -= step
            if working(t):
                left -= step
        return t

    def elapsed(self, start: datetime, end: datetime, *, step: timedelta = MINUTE) -> timedelta:
        """Count working steps in ``[start, end)`` (negated when ``end`` is first)."""
        working = self._minute_working if step == SECOND else self.is_working
        sign = 1
        a, b = start.astimezone(UTC), end.astimezone(UTC)
        if b < a:
            a, b, sign = b, a, -1
        total = timedelta(0)
        while a < b:
            if working(a):
                total += step
            a += step
        return sign * total

    def next_working(self, t: datetime, *, limit: int = 60 * 24 * 60) -> datetime | None:
        """The first working minute at or after ``t`` (``None`` after ``limit`` minutes)."""
        t = t.astimezone(UTC)
        for _ in range(limit):
            if self.is_working(t):
                return t
            t += MINUTE
        return None
