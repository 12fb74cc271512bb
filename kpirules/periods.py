"""Windows to dates (spec/semantics.md, "Periods").

Every window covers ``count`` complete units (days, weeks, months, quarters, years) just
before the unit holding the as-of date A; the period holding A is never evaluated. Weeks
start on Monday. ``period(window, A, back=k)`` steps ``k`` whole windows further back:
``back=1`` is the previous period that ``change`` compares against, and ``back=2, 3...``
are what history restatement and sparklines walk through.
"""

from __future__ import annotations

import datetime as dt

from kpirules.ast import Window
from kpirules.results import Period

_MONTHS_PER_UNIT = {"month": 1, "quarter": 3, "year": 12}


def _add_months(year: int, month: int, delta: int) -> dt.date:
    """First day of the month ``delta`` months from (year, month)."""
    index = year * 12 + (month - 1) + delta
    return dt.date(index // 12, index % 12 + 1, 1)


def unit_start(unit: str, day: dt.date) -> dt.date:
    """First day of the unit (day/week/month/quarter/year) holding ``day``."""
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if unit == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown window unit {unit!r}")


def period(window: Window, as_of: dt.date, back: int = 0) -> Period:
    """The period ``window`` evaluates as of ``as_of``, stepped ``back`` windows back."""
    span = window.count * (back + 1)
    anchor = unit_start(window.unit, as_of)  # start of the unit holding A: excluded
    if window.unit in ("day", "week"):
        step = 1 if window.unit == "day" else 7
        end = anchor - dt.timedelta(days=step * window.count * back + 1)
        start = anchor - dt.timedelta(days=step * span)
        return Period(start, end)
    months = _MONTHS_PER_UNIT[window.unit]
    start = _add_months(anchor.year, anchor.month, -months * span)
    end = _add_months(anchor.year, anchor.month, -months * window.count * back) - dt.timedelta(days=1)
    return Period(start, end)


def previous(window: Window, as_of: dt.date) -> Period:
    """The period ``change`` compares against: the one just before ``period``."""
    return period(window, as_of, back=1)


def as_of_for(window: Window, as_of: dt.date, back: int) -> dt.date:
    """An as-of date whose period is ``period(window, as_of, back)``: used to re-run a rule
    for an earlier period (restatement, sparklines) with everything else unchanged."""
    return period(window, as_of, back=back - 1).start if back > 0 else as_of


def describe(window: Window) -> str:
    """The window in words for messages: "week", "28 days", "month"."""
    if window.count == 1:
        return window.unit
    return f"{window.count} {window.unit}s"
