"""Windows to dates (spec/semantics.md, "Periods", "Baselines", "To-date windows").

``WINDOWS`` is the one table of the windows a rule can name: how each is written, which
unit it counts, and how it goes back a year. Parsing (kpirules.transform), printing
(kpirules.format), the docs' window list and the date arithmetic below all read it, so a
new window is one row here (plus its words in the grammar when it needs new ones).

Every window but the to-date ones covers ``count`` complete units (days, weeks, months,
quarters, years) just before the unit holding the as-of date A; the period holding A is
never evaluated. Weeks start on Monday. A to-date window covers the days of A's unit before
A (none when A is the unit's first day). ``period(window, A, back=k)`` steps ``k`` periods
further back: ``back=1`` is the previous period, and ``back=2, 3...`` are what ``vs average
of last N``, history restatement and sparklines walk through.
"""

from __future__ import annotations

import datetime as dt
from kpirules.dataclass_fast import dataclass
from functools import lru_cache

from kpirules.ast import Baseline, Window
from kpirules.results import Period

# How a year-earlier period is found: 52 weeks back (same weekdays) or 12 calendar months.
SHIFT_364_DAYS = "364 days"
SHIFT_12_MONTHS = "12 months"


@dataclass(frozen=True)
class WindowKind:
    """One row of the windows table."""

    unit: str  # day, week, month, quarter, year
    to_date: bool
    word: str  # how a rule writes it: `weekly`, `week to date`
    last_year: str  # SHIFT_364_DAYS or SHIFT_12_MONTHS
    plural: str | None = None  # the unit of `over last N <plural>`, if it has one


WINDOWS: tuple[WindowKind, ...] = (
    WindowKind("day", False, "daily", SHIFT_364_DAYS, "days"),
    WindowKind("week", False, "weekly", SHIFT_364_DAYS, "weeks"),
    WindowKind("month", False, "monthly", SHIFT_12_MONTHS, "months"),
    WindowKind("quarter", False, "quarterly", SHIFT_12_MONTHS),
    WindowKind("year", False, "yearly", SHIFT_12_MONTHS),
    WindowKind("week", True, "week to date", SHIFT_364_DAYS),
    WindowKind("month", True, "month to date", SHIFT_12_MONTHS),
    WindowKind("quarter", True, "quarter to date", SHIFT_12_MONTHS),
    WindowKind("year", True, "year to date", SHIFT_12_MONTHS),
)
_KIND = {(k.unit, k.to_date): k for k in WINDOWS}
SINGLE_WORDS = {k.word: k.unit for k in WINDOWS if not k.to_date}  # `weekly` -> week
TO_DATE_UNITS = tuple(k.unit for k in WINDOWS if k.to_date)  # `<unit> to date`
OVER_LAST_UNITS = {k.plural: k.unit for k in WINDOWS if k.plural} | {
    k.unit: k.unit for k in WINDOWS if k.plural}  # `over last N days` (or `1 day`)
WINDOW_HELP = (", ".join(k.word for k in WINDOWS if not k.to_date)
               + ", over last N " + "|".join(k.plural for k in WINDOWS if k.plural)
               + " or " + "/".join(TO_DATE_UNITS) + " to date")
# The as-of dates kpirules judges: periods, baselines a year back and durations of up to
# 100 years (late_after, history_keep) all stay inside Python's calendar (years 1 to 9999).
AS_OF_RANGE = (dt.date(1900, 1, 1), dt.date(9998, 12, 31))


def judged(day: dt.date) -> bool:
    """Whether ``day`` is in ``AS_OF_RANGE`` (``--as-of``, a rule test's or the add-on's as-of)."""
    return AS_OF_RANGE[0] <= day <= AS_OF_RANGE[1]


def outside_text(value: str) -> str:
    """The message of an as-of date outside ``AS_OF_RANGE``."""
    from kpirules.i18n import _

    return _("{value} is outside the dates kpirules judges: {first} to {last}").format(
        value=value, first=AS_OF_RANGE[0].isoformat(), last=AS_OF_RANGE[1].isoformat())


_MONTHS_PER_UNIT = {"month": 1, "quarter": 3, "year": 12}
_DAY = dt.timedelta(days=1)


def kind(window: Window) -> WindowKind:
    return _KIND[(window.unit, window.to_date)]


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


def shift_units(unit: str, start: dt.date, units: int) -> dt.date:
    """The first day of the unit ``units`` units after the one starting on ``start``."""
    if unit in ("day", "week"):
        return start + dt.timedelta(days=units * (1 if unit == "day" else 7))
    return _add_months(start.year, start.month, units * _MONTHS_PER_UNIT[unit])


def unit_days(unit: str, day: dt.date) -> int:
    """How many days the whole unit holding ``day`` has (D of ``pace``)."""
    start = unit_start(unit, day)
    return (shift_units(unit, start, 1) - start).days


@lru_cache(maxsize=4096)  # a thousand rules share a handful of windows
def period(window: Window, as_of: dt.date, back: int = 0) -> Period | None:
    """The period ``window`` evaluates as of ``as_of``, stepped ``back`` periods back.

    None only for a to-date window on the first day of its unit: its period holds no day
    (and so has no previous period either)."""
    anchor = unit_start(window.unit, as_of)  # start of the unit holding A: excluded
    if window.to_date:
        days = (as_of - anchor).days  # d: the days of the unit before A
        if days == 0:
            return None
        start = shift_units(window.unit, anchor, -back)
        # The first d days of that unit, cut at its last day (March 1-30 vs February 1-28).
        end = min(start + dt.timedelta(days=days - 1), shift_units(window.unit, start, 1) - _DAY)
        return Period(start, end)
    start = shift_units(window.unit, anchor, -window.count * (back + 1))
    end = shift_units(window.unit, anchor, -window.count * back) - _DAY
    return Period(start, end)


def previous(window: Window, as_of: dt.date) -> Period | None:
    """The period ``vs previous`` compares against: the one just before ``period``."""
    return period(window, as_of, back=1)


def last_year(window: Window, as_of: dt.date) -> Period | None:
    """The evaluated period a year earlier (``vs last year``)."""
    now = period(window, as_of)
    if now is None:
        return None
    if kind(window).last_year == SHIFT_364_DAYS:
        weeks52 = dt.timedelta(days=364)
        return Period(now.start - weeks52, now.end - weeks52)
    start = _add_months(now.start.year, now.start.month, -12)
    if window.to_date:
        # Through the day 12 months before A-1; a 29 February becomes 28 February.
        end = now.end.replace(year=now.end.year - 1, day=min(
            now.end.day, (_add_months(now.end.year - 1, now.end.month, 1) - _DAY).day))
    else:  # whole months: the same months a year earlier
        end = _add_months(now.end.year, now.end.month, -11) - _DAY
    return Period(start, end)


@lru_cache(maxsize=4096)
def baseline_periods(window: Window, as_of: dt.date, baseline: Baseline) -> tuple[Period, ...]:
    """The periods a ``vs`` clause compares with, nearest first (empty when the evaluated
    period holds no day)."""
    if period(window, as_of) is None:
        return ()
    if baseline.kind == "last_year":
        found = last_year(window, as_of)
        return (found,) if found is not None else ()
    backs = range(1, (baseline.count if baseline.kind == "average" else 1) + 1)
    return tuple(p for p in (period(window, as_of, back) for back in backs) if p is not None)


def pace_days(window: Window, span: Period) -> tuple[int, int]:
    """(d, D) of ``pace`` for ``span``, a period of a to-date window: its days, and the
    days of the whole unit it starts (each baseline period uses its own)."""
    return span.days, unit_days(window.unit, span.start)


def as_of_for(window: Window, as_of: dt.date, back: int) -> dt.date:
    """An as-of date whose period is ``period(window, as_of, back)``: used to re-run a rule
    for an earlier period (restatement, sparklines) with everything else unchanged."""
    if back <= 0:
        return as_of
    if window.to_date:
        # The same day of the unit ``back`` units earlier, cut at that unit's last day + 1.
        anchor = unit_start(window.unit, as_of)
        start = shift_units(window.unit, anchor, -back)
        return min(start + (as_of - anchor), shift_units(window.unit, start, 1))
    found = period(window, as_of, back=back - 1)
    return found.start if found is not None else as_of


def describe(window: Window) -> str:
    """The window in words for messages: "week", "28 days", "month", "month to date"."""
    if window.to_date:
        return kind(window).word
    if window.count == 1:
        return window.unit
    return f"{window.count} {window.unit}s"
