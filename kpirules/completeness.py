"""Complete periods (spec/semantics.md, "Complete periods"): late data never make a FAIL.

For a metric column ``x`` the table gives its data start F(x) and data end L(x): the
earliest and the latest date up to A-1 on which some row of the whole table (before
``where`` and segments) has a non-blank ``x`` (a cell that does not read as a number counts:
it is there, only wrong; a placeholder such as ``--`` or ``n/a`` does not: the spec's blank
cell is missing, and the reader reads placeholders as blank for every aggregate, so they
cover no day either: ``kpirules.read.numbers.holds_no_value``). The tables compute them
(``DataTable.extents``, the DuckDB backend's query; a warehouse's metric columns are numeric,
so only NULL is blank there); this module decides what they mean:

- ``Extents.gap(column, period)``: why ``period`` is not complete for ``column`` (the
  NO_DATA reason, "visits are in only up to 2026-11-21"), or None when it is. A column
  with no non-blank cell up to A-1 has no extent, and no gap.
- ``complete_through`` (a date, or "yesterday" = A-1) replaces L(x) for every column.
- ``late(...)``: the columns whose data end is older than ``late_after`` allows (A-1 minus
  ``late_after``): ``check`` and ``run`` exit 6 for them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Mapping

from kpirules.dataclass_fast import dataclass, field
from kpirules.i18n import _
from kpirules.results import Period

Span = tuple[dt.date, dt.date]  # (data start F, data end L)

DEFAULT_LATE_AFTER = "2 days"
_DURATION = re.compile(r"^\s*(\d+)\s*(day|days|d|week|weeks|w)\s*$", re.IGNORECASE)


def parse_late_after(text: str | int) -> dt.timedelta:
    """``"2 days"``, ``"1 week"``, ``"0 days"`` (or a bare number of days) as a timedelta.
    Raises ValueError with what to write instead."""
    if isinstance(text, int) and not isinstance(text, bool):
        days = text
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise ValueError(_('{value} is not a duration; write it as "2 days" or "1 week"').format(value=repr(text)))
        days = int(m[1]) * (7 if m[2].lower().startswith("w") else 1)
    if days < 0:
        raise ValueError(_("late_after cannot be negative"))
    check_days(text, days)
    return dt.timedelta(days=days)


MAX_DAYS = 36_500  # durations are counted back from dates: a longer one overflows the calendar


def check_days(text: str | int, days: int) -> None:
    """ValueError for a duration of more than 100 years (``MAX_DAYS``): a date that far
    back is before year 1 (Python's dates overflow) and no setting means it."""
    if days > MAX_DAYS:
        raise ValueError(_("{value} is longer than 100 years").format(value=repr(text)))


def parse_complete_through(text: str | dt.date) -> dt.date | str:
    """A date (``"2026-11-30"``) or ``"yesterday"``. Raises ValueError otherwise."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    value = str(text).strip()
    if value.lower() == "yesterday":
        return "yesterday"
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(_('{value} is neither a date (2026-11-30) nor "yesterday"').format(value=repr(text))) from None


def _day(date: dt.date) -> str:
    from kpirules.i18n import date_text

    return date_text(date)  # ISO in English, 26.11.2026 in Polish


@dataclass(frozen=True)
class Extents:
    """The data start and end of every metric column a plan needs, as of ``as_of``."""

    as_of: dt.date
    spans: Mapping[str, Span] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)  # column -> as the rules write it

    @classmethod
    def build(cls, found: Mapping[str, Span], as_of: dt.date,
              complete_through: dt.date | str | None = None,
              labels: Mapping[str, str] | None = None) -> Extents:
        """``found`` as the table computed it (up to A-1), with ``complete_through``
        replacing every data end."""
        spans = dict(found)
        if complete_through is not None:
            end = as_of - dt.timedelta(days=1) if complete_through == "yesterday" else complete_through
            spans = {column: (start, end) for column, (start, _) in spans.items()}  # type: ignore[misc]
        return cls(as_of=as_of, spans=spans, labels=dict(labels or {}))

    def gap(self, column: str, period: Period | None) -> str | None:
        """Why ``period`` is not complete for ``column`` (a NO_DATA reason), else None."""
        span = self.spans.get(column)
        if span is None or period is None:
            return None
        start, end = span
        label = self.labels.get(column, column)
        plural = label.endswith("s")  # "visits are", "revenue is"
        if period.end > end:
            text = _("{column} are in only up to {day}") if plural else _("{column} is in only up to {day}")
            return text.format(column=label, day=_day(end))
        if period.start < start:
            text = _("{column} begin only on {day}") if plural else _("{column} begins only on {day}")
            return text.format(column=label, day=_day(start))
        return None

    def late(self, late_after: dt.timedelta) -> dict[str, dt.date]:
        """Columns whose data end is older than A-1 minus ``late_after``, with that end."""
        oldest = self.as_of - dt.timedelta(days=1) - late_after
        return {column: end for column, (_, end) in sorted(self.spans.items()) if end < oldest}


def through_text(spans: Mapping[str, Span], *, limit: int = 3) -> str | None:
    """How far the data reach, compactly: "data through 2026-11-22" when every column ends
    on one day, else "data through 2026-11-22 (visits, orders), 2026-11-20 (signups)"."""
    if not spans:
        return None
    by_end: dict[dt.date, list[str]] = {}
    for column, (_start, end) in spans.items():
        by_end.setdefault(end, []).append(column)
    if len(by_end) == 1:
        return _("data through {ends}").format(ends=_day(next(iter(by_end))))
    parts = []
    for end in sorted(by_end, reverse=True):
        names = sorted(by_end[end])
        shown = ", ".join(names[:limit]) + (f" +{len(names) - limit}" if len(names) > limit else "")
        parts.append(f"{_day(end)} ({shown})")
    return _("data through {ends}").format(ends=", ".join(parts))
