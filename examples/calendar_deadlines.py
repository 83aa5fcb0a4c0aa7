"""SLA deadlines over the 2025 Spring Festival on China's statutory calendar.

Run: python examples/calendar_deadlines.py

A property-management service desk answers complaints within one working day and resolves them
within three (domain defaults); a working day here is the 7.5 business hours of the default
office hours (09:00-12:00, 13:30-18:00). Life-safety calls run on the 24x7 calendar; the
monitoring centre works an overnight shift. The script prints each ticket's deadlines, how much
business time has passed at a given "now", and then checks a million synthetic tickets at once.
Needs the ``china`` and ``frames`` extras (chinesecalendar, numpy).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from propcrm.metrics.calendar import (
    BusinessCalendar,
    add_many,
    check_breaches,
    get_calendar,
    register_calendar,
)

SH = ZoneInfo("Asia/Shanghai")
WORKING_DAY = timedelta(hours=7.5)
NOW = datetime(2025, 2, 5, 10, 0, tzinfo=SH)

TICKETS = [
    ("C-101", "complaint: noise from the unit upstairs", datetime(2025, 1, 24, 16, 40, tzinfo=SH)),
    ("C-102", "complaint: parking fee charged twice", datetime(2025, 1, 26, 11, 5, tzinfo=SH)),
    ("C-103", "complaint: lobby not cleaned", datetime(2025, 1, 27, 17, 0, tzinfo=SH)),
    ("Q-201", "inquiry: when is the water cut", datetime(2025, 1, 29, 9, 30, tzinfo=SH)),
]


def show(t: datetime) -> str:
    return t.astimezone(SH).strftime("%a %m-%d %H:%M")


def main() -> None:
    office = get_calendar("cn-statutory")
    register_calendar(
        "monitoring-centre",
        lambda: BusinessCalendar(
            name="monitoring-centre", timezone="Asia/Shanghai", weekly={"daily": "20:00-08:30"}
        ),
        replace=True,
    )
    night = get_calendar("monitoring-centre")

    print(f"now: {show(NOW)}  (calendar {office.name}: Mon-Fri 09:00-12:00, 13:30-18:00)")
    print("ticket  received         ack due          resolve due      elapsed  status")
    for code, _title, received in TICKETS:
        ack = office.add(received, WORKING_DAY)
        resolve = office.add(received, 3 * WORKING_DAY)
        spent = office.elapsed(received, NOW)
        status = "ack breached" if ack < NOW else "ack pending"
        if resolve < NOW:
            status = "resolution breached"
        hours = spent.total_seconds() / 3600
        print(f"{code:6}  {show(received)}  {show(ack)}  {show(resolve)}  {hours:5.1f} h  {status}")

    naive_due = TICKETS[2][2] + 3 * timedelta(days=1)
    print(
        f"\nC-103 on wall-clock days would be due {show(naive_due)}; "
        f"in business time it is {show(office.add(TICKETS[2][2], 3 * WORKING_DAY))} "
        "(Spring Festival 01-28..02-04; Sunday 01-26 and Saturday 02-08 are make-up days)."
    )

    alarm = datetime(2025, 1, 31, 23, 50, tzinfo=SH)
    on_site = get_calendar("24x7").add(alarm, timedelta(minutes=15))
    print(
        f"Lift alarm at {show(alarm)}: on site by {show(on_site)} (24x7); "
        "the monitoring centre's 2 business hours end at "
        f"{show(night.add(alarm, timedelta(hours=2)))} (overnight shift 20:00-08:30)."
    )

    rng = np.random.default_rng(1)
    n = 1_000_000
    created = rng.integers(
        int(datetime(2025, 1, 1, tzinfo=SH).timestamp()), int(NOW.timestamp()), n
    )
    targets = rng.integers(1, 4, n) * int(WORKING_DAY.total_seconds())
    began = time.perf_counter()
    due = add_many(office, created, targets)
    result = check_breaches(office, due, NOW)
    spent_s = time.perf_counter() - began
    breached = int(result.breached.sum())
    at_risk = int(((result.remaining > 0) & (result.remaining <= 3600)).sum())
    print(
        f"\n{n:,} synthetic tickets: {breached:,} breached, {at_risk:,} due within one business "
        f"hour; deadlines and checks took {spent_s:.3f} s."
    )


if __name__ == "__main__":
    main()
