"""The History tab: one row per rule x segment x period, upserted by that key.

Running twice for the same as-of date updates the rows it wrote, never adds them again.
Each run also re-evaluates the previous ``restate_periods`` periods (ad platforms restate
their numbers for days): the rows of those periods are updated, and a row whose status
changes is marked in the ``Restated`` column ("was FAIL"). Rows the user added columns to
keep those cells; only the engine's columns are written.

Two runs racing on a Google Sheet (no locks there) can both append the same new key; the
next run finds the duplicates, updates the first and removes the others when nothing of
the user's is on them, so History heals instead of growing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from kpirules.errors import SourceError
from kpirules.i18n import N_
from kpirules.names import normalise
from kpirules.results import RuleResult, Status
from kpirules.writeback.layout import cell_text, header_cells, locate, number_out
from kpirules.writeback.plan import DATE_FORMAT, Out, Style, TabPlan, status_style
from kpirules.writeback.summary import segment_key

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable

HISTORY_COLUMNS = ("Rule", "Segment", "Period start", "Period end", "Status", "Value",
                   "Threshold", "Numbers", "Checked at", "Restated")
HISTORY_NOTES = {
    "Rule": N_("The rule's name (Rules tab). Rows are keyed by Rule, Segment, Period start and Period end."),
    "Segment": N_("For a rule with `by`: the segment, e.g. campaign=search_brand. Empty otherwise."),
    "Period start": N_("First day of the period evaluated."),
    "Period end": N_("Last day of the period evaluated (inclusive)."),
    "Status": N_("PASS, WARN, FAIL, INCONCLUSIVE (too few to judge) or NO_DATA for this period."),
    "Value": N_("The value the rule computed."),
    "Threshold": N_("The threshold it was compared with."),
    "Numbers": N_("The numbers the value came from: each aggregate, rows and days."),
    "Checked at": N_("When this row was last evaluated; later runs re-check recent periods."),
    "Restated": N_("Set when a later run found a different status for this period (late data): "
                   "the status it had before."),
}
HISTORY_WIDTHS = {"Rule": 22, "Segment": 26, "Period start": 12, "Period end": 12, "Status": 10,
                  "Value": 12, "Threshold": 11, "Numbers": 60, "Checked at": 17, "Restated": 12}
Key = tuple[str, str, str, str]  # rule, segment, period start, period end
PERIOD_DATE = Style(number_format=DATE_FORMAT, align="left")
VERDICTS = frozenset(s.value for s in Status if s.is_verdict)


def key_of(result: RuleResult) -> Key | None:
    if result.period is None:
        return None
    return (result.name, segment_key(result.segment), result.period.start.isoformat(),
            result.period.end.isoformat())


@dataclass
class HistoryRow:
    row: int  # 1-based sheet row
    key: Key
    status: str
    checked: str
    user_cells: bool  # something of the user's (a column we do not own) is on the row
    value: float | None = None


@dataclass
class History:
    """The History tab as read: rows by key, duplicates kept apart."""

    raw: RawTable | None
    title: str
    rows: dict[Key, HistoryRow] = field(default_factory=dict)
    duplicates: list[HistoryRow] = field(default_factory=list)
    # Whether a Period start or end cell holds text (releases that wrote dates as text);
    # None: not known (a History not made by read_history), look.
    text_dates: bool | None = field(default=None, repr=False, compare=False)
    _pairs: dict | None = field(default=None, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)
    _in_order: dict = field(default_factory=dict, repr=False, compare=False)

    def last_status(self, name: str, segment: str, start: str, end: str) -> str | None:
        """The status a rule x segment had when last seen: the row of this very period if
        there is one (an earlier run today), else the latest earlier period's row."""
        same = self.rows.get((name, segment, start, end))
        if same is not None:
            return same.status
        earlier = [r for r in self.of(name, segment) if r.key[3] < end]
        if not earlier:
            return None
        return max(earlier, key=lambda r: (r.key[3], r.key[2], r.checked)).status

    def of(self, name: str, segment: str) -> list[HistoryRow]:
        """The rows of one rule x segment (indexed once: a History of a few hundred
        thousand rows is looked up for every result)."""
        if self._pairs is None or self._indexed != len(self.rows):
            pairs: dict[tuple[str, str], list[HistoryRow]] = {}
            for key, row in self.rows.items():
                pairs.setdefault((key[0], key[1]), []).append(row)
            self._pairs, self._indexed, self._in_order = pairs, len(self.rows), {}
        return self._pairs.get((name, segment), [])

    def in_order(self, name: str, segment: str) -> list[HistoryRow]:
        """``of``'s rows by period (start, then end), oldest first: the Dashboard and the
        alerts' trends take the last few."""
        rows = self.of(name, segment)  # first: a new index forgets the orders kept
        pair = (name, segment)
        if pair not in self._in_order:
            self._in_order[pair] = sorted(rows, key=_period)
        return self._in_order[pair]

    def last_verdict(self, name: str, segment: str, start: str, end: str) -> HistoryRow | None:
        """The row of the last *verdict* (PASS, WARN or FAIL) of a rule x segment: this
        period's row if it holds one, else the latest earlier period's verdict. NO_DATA and
        INCONCLUSIVE rows (late or thin data) are not verdicts and are passed over."""
        same = self.rows.get((name, segment, start, end))
        if same is not None and same.status in VERDICTS:
            return same
        earlier = [r for r in self.of(name, segment) if r.key[3] < end and r.status in VERDICTS]
        if not earlier:
            return None
        return max(earlier, key=lambda r: (r.key[3], r.key[2], r.checked))

    def follow_names(self, names: Iterable[str]) -> None:
        """Rows whose Rule is one of ``names`` but for its capitals (the rule was renamed
        ``conversion`` -> ``Conversion``) are that rule's: rule names are compared without
        case, as for duplicates (rulesfile.check_names), so its History, last verdict and
        trend go on, and the next write gives the rows the name as it is now. Two rows that
        become one key are a duplicate, removed as racing runs' are."""
        spelled: dict[str, str] = {}
        for name in names:
            spelled.setdefault(name.casefold(), name)
        if all(spelled.get(key[0].casefold(), key[0]) == key[0] for key in self.rows):
            return  # nothing renamed (every run but the one after a rename)
        rows: dict[Key, HistoryRow] = {}
        for row in sorted(self.rows.values(), key=lambda r: r.row):
            row.key = (spelled.get(row.key[0].casefold(), row.key[0]), *row.key[1:])
            if row.key in rows:
                self.duplicates.append(row)
            else:
                rows[row.key] = row
        self.rows, self._pairs, self._in_order = rows, None, {}


def _period(row: HistoryRow) -> tuple[str, str]:
    return row.key[2], row.key[3]


_LAST_READ: list = []  # [(raw, title, History)]: the runner and the Dashboard read the same tab


def read_history(raw: RawTable | None, title: str) -> History:
    """Index the History tab by key. A tab of that name that is not ours (none of our key
    headers) is refused rather than written into. The tab as read is indexed once per run
    (one pass over its rows; the Dashboard asks again for the same table)."""
    if _LAST_READ and _LAST_READ[0][0] is raw and raw is not None and _LAST_READ[0][1] == title:
        return _LAST_READ[0][2]
    from kpirules.bulk import gc_paused

    with gc_paused():  # a row object a History row: tens of thousands of them
        history = _read_history(raw, title)
    _LAST_READ[:] = [(raw, title, history)]
    return history


def _read_history(raw: RawTable | None, title: str) -> History:
    history = History(raw=raw, title=raw.sheet if raw is not None and raw.sheet else title)
    if raw is None or not any(h not in (None, "") for h in raw.headers):
        if raw is not None and any(any(c not in (None, "") for c in r) for r in raw.rows):
            raise _not_ours(history.title)
        return history
    from kpirules.i18n import header_columns

    found = header_columns(raw.headers, HISTORY_COLUMNS)  # by header, in English or Polish
    if any(h not in found for h in ("Rule", "Period start", "Period end", "Status")):
        raise _not_ours(history.title)
    col = {h: found.get(h) for h in HISTORY_COLUMNS}
    ours = {c for c in col.values() if c is not None}
    width = max(len(raw.headers), max(ours) + 1)
    at = [col[label] for label in ("Rule", "Segment", "Period start", "Period end", "Status", "Checked at")]
    value_col = col["Value"]
    # Column by column (History grows every day): each column's cells converted in one call
    # when they are all of one type, as a run writes them.
    full = max(width, max(map(len, raw.rows), default=0))
    # A column the tab lacks reads as one spare empty cell past the last.
    size = full + 1 if None in (*at, value_col) else full
    cells = raw.rows
    if min(map(len, cells), default=size) < size:
        pad = [None] * size
        cells = [r if len(r) >= size else list(r) + pad[:size - len(r)] for r in cells]
    columns = list(zip(*cells)) if cells else [()] * size
    rule_col, segment_col, start_col, end_col, status_col, checked_col = (c if c is not None else full for c in at)
    theirs = [i for i in range(full) if i not in ours]
    first = raw.header_row + 1
    numbers: Iterable[int] = range(first, first + len(cells))
    rules = _texts(columns[rule_col])
    keys: Iterable[Key] = zip(rules, _texts(columns[segment_col]), _texts(columns[start_col]),
                              _texts(columns[end_col]))
    statuses: Iterable[str] = map(str.upper, _texts(columns[status_col]))
    checked: Iterable[str] = _texts(columns[checked_col])
    values = _numbers(columns[value_col if value_col is not None else full])
    users: Iterable[bool] = ([any(r[i] not in (None, "") for i in theirs) for r in cells] if theirs
                             else itertools.repeat(False))
    if "" in rules:  # rows without a rule name are not ours: skipped
        kept = list(map(bool, rules))
        numbers, keys, statuses, checked, values, users = (
            itertools.compress(c, kept) for c in (numbers, keys, statuses, checked, values, users))
    found = list(map(HistoryRow, numbers, keys, statuses, checked, users, values))
    rows = dict(zip((r.key for r in found), found))
    if len(rows) < len(found):  # a key twice: the first row is the one, the others duplicates
        rows.clear()
        for row in found:
            if row.key in rows:
                history.duplicates.append(row)
            else:
                rows[row.key] = row
    history.rows = rows
    history.text_dates = any(str in set(map(type, columns[c])) for c in (start_col, end_col))
    return history


def _texts(column: tuple) -> list[str]:
    """Key texts of a column's cells (``layout.cell_text``)."""
    kinds = set(map(type, column))
    if kinds <= {str}:
        return list(map(str.strip, column))
    if kinds <= {dt.date}:
        return list(map(dt.date.isoformat, column))
    if kinds <= {str, type(None)}:  # a Segment column: text, or empty
        return ["" if v is None else v.strip() for v in column]
    return list(map(cell_text, column))


def _numbers(column: tuple) -> list[float | None]:
    """The cells that are numbers, as floats; None for any other cell."""
    if set(map(type, column)) <= {float}:
        return list(column)
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in column]


def _not_ours(title: str) -> SourceError:
    from kpirules.i18n import _

    return SourceError(
        _("the {tab} tab exists but is not a kpirules history (it has no Rule, Period start, "
          "Period end and Status headers); kpirules will not write into it").format(tab=title),
        hint=_("rename that tab, or set history_tab in kpirules.toml to another name"),
    )


def history_plan(history: History, current: Iterable[RuleResult], restated: Iterable[RuleResult],
                 checked: str, *, keep: str | None = None, as_of: dt.date | None = None) -> TabPlan:
    """Upserts for this run's results (``current``) and the re-evaluated earlier periods
    (``restated``). ERROR results have no period worth keeping and are left out. With
    ``keep`` (the ``history_keep`` setting, "180 days") rows of periods that ended longer
    ago than that before ``as_of`` are removed, except each rule x segment's latest row and
    rows carrying something of the user's."""
    raw = history.raw
    tab = TabPlan(title=history.title, create=raw is None, freeze_header=raw is None,
                  header_row=raw.header_row if raw is not None else 1)
    cols = locate(raw, HISTORY_COLUMNS)
    header_cells(tab, cols, HISTORY_NOTES, HISTORY_WIDTHS)
    seen: set[Key] = set()
    counts = {"new": 0, "updated": 0, "restated": 0, "duplicates removed": 0}
    items = [(r, False) for r in current] + [(r, True) for r in restated]
    for result, is_restatement in items:
        key = key_of(result)
        if key is None or key in seen or result.status is Status.ERROR:
            continue
        existing = history.rows.get(key)
        if existing is None and is_restatement and result.status is Status.NO_DATA:
            continue  # an empty earlier period nobody recorded: not worth a row
        seen.add(key)
        cells = _row_cells(result, checked)
        if existing is None:
            counts["new"] += 1
            tab.append({cols[label]: out for label, out in cells.items()})
            continue
        counts["updated"] += 1
        if existing.status and existing.status != result.status.value:
            counts["restated"] += 1
            cells["Restated"] = Out(f"was {existing.status}", Style(italic=True))
        else:
            del cells["Restated"]  # keep an earlier mark
        for label, out in cells.items():
            tab.set(existing.row, cols[label], out)
    counts["dates retyped"] = retype_text_dates(history, tab, cols, seen)
    for dup in history.duplicates:
        if not dup.user_cells:
            tab.deletes.append(dup.row)
            counts["duplicates removed"] += 1
    expired = _expired(history, keep, as_of, seen)
    if expired:
        tab.deletes += expired
        counts["older than history_keep removed"] = len(expired)
    tab.counts = counts
    if cols.added and raw is not None:
        tab.columns = max(tab.columns, cols.width)
    return tab


def retype_text_dates(history: History, tab: TabPlan, cols, skip: set[Key]) -> int:
    """Rows written by releases that kept period dates as text get date cells (the key
    reads the same either way), so the column sorts, filters and charts as dates."""
    raw = history.raw
    if raw is None:
        return 0
    starts, ends = cols["Period start"], cols["Period end"]
    if history.text_dates is False or (history.text_dates is None and not any(
            type(r[c]) is str for r in raw.rows for c in (starts, ends) if c < len(r))):
        return 0  # every period a date cell already (or none): nothing to retype
    changed = 0
    for key, row in history.rows.items():
        cells = raw.rows[row.row - raw.header_row - 1]
        if key in skip:
            continue
        for label, text in (("Period start", key[2]), ("Period end", key[3])):
            c = cols[label]
            if c < len(cells) and isinstance(cells[c], str):
                try:
                    tab.set(row.row, c, Out(dt.date.fromisoformat(text), PERIOD_DATE))
                    changed += 1
                except ValueError:
                    pass  # not a date we wrote: leave it
    return changed


def _expired(history: History, keep: str | None, as_of: dt.date | None, written: set) -> list[int]:
    """Rows older than ``keep`` days before ``as_of``; never a rule x segment's latest."""
    from kpirules.config import duration_days

    days = duration_days(keep) if keep else None
    if days is None or as_of is None:
        return []
    cutoff = (as_of - dt.timedelta(days=days)).isoformat()
    old = [row for key, row in history.rows.items() if key[3] < cutoff]
    latest: dict[tuple[str, str], str] = {}  # of the rule x segments with old rows only
    for row in old:
        pair = row.key[:2]
        if pair not in latest:
            latest[pair] = max(r.key[3] for r in history.of(*pair))
    return sorted(row.row for row in old
                  if row.key[3] != latest[row.key[:2]] and not row.user_cells and row.key not in written)


def _row_cells(result: RuleResult, checked: str) -> dict[str, Out]:
    assert result.period is not None
    return {
        "Rule": Out(result.name),
        "Segment": Out(segment_key(result.segment) or None),
        # Real dates (a marketer can chart and filter them); keys still read as ISO text
        # (layout.cell_text), so rows written as text by earlier releases match these.
        "Period start": Out(result.period.start, PERIOD_DATE),
        "Period end": Out(result.period.end, PERIOD_DATE),
        "Status": Out(result.status.value, status_style(result.status.value)),
        "Value": number_out(result.value, result.unit),
        "Threshold": number_out(result.threshold, result.unit),
        "Numbers": Out(numbers(result) or None),
        "Checked at": Out(checked),
        "Restated": Out(None),
    }


def numbers(result: RuleResult) -> str:
    """``signups 32; visits 1,750 (7 rows, 7 days)``, and the previous period for change(),
    in the run's language (nothing reads it back: it is for people)."""
    from kpirules.format import _is_last_year, format_threshold, format_value, period_text
    from kpirules.i18n import _, ngettext, number_text

    detail = result.detail
    if detail is None:
        return ""

    text = "; ".join(f"{t.label} {format_value(t.value)}" for t in detail.terms)
    rows = ngettext("{n} row", "{n} rows", detail.rows).format(n=number_text(f"{detail.rows:,}"))
    days = ngettext("{n} day", "{n} days", detail.days).format(n=number_text(f"{detail.days:,}"))
    text += f" ({rows}, {days})" if text else rows
    if detail.reason:
        text += f"; {detail.reason}"
    prev = detail.previous
    if detail.baselines:  # vs average of last N: the mean, then each period
        # A rate (delta in points, change of a share) reads as a percent.
        known = [b.value for b in detail.baselines if b.value is not None]
        unit = "%" if result.unit in ("%", "pp") and known and max(map(abs, known)) < 1 else None
        each = ", ".join(f"{period_text(b.period)} {format_value(b.value, unit)}"
                         for b in detail.baselines)
        text += f"; {detail.baseline}: {format_value(prev.value if prev else None, unit)} ({each})"
    elif prev is not None:
        terms = "; ".join(f"{t.label} {format_value(t.value)}" for t in prev.terms)
        said = (_("last year {period}: {numbers}") if detail.baseline and _is_last_year(detail.baseline)
                else _("previous {period}: {numbers}"))
        text += "; " + said.format(period=period_text(prev.period), numbers=terms or format_value(prev.value))
    if detail.pace is not None:
        text += "; " + _("pace: {days} of {total} days").format(days=detail.pace[0], total=detail.pace[1])
    for check in result.guards:
        said = (_("at least {minimum} {label}: {value}") if check.period == result.period else
                _("at least {minimum} {label} in {period}: {value}"))
        text += "; " + said.format(minimum=format_value(check.minimum), label=check.label,
                                   period=period_text(check.period), value=format_value(check.value))
    if result.interval is not None:
        lo, hi = result.interval
        text += "; " + _("{level} interval {low}-{high}").format(
            level=format_threshold(result.confidence, "%"), low=format_value(lo, "%"), high=format_value(hi, "%"))
    return text


def now_text(now: dt.datetime) -> str:
    """Checked-at cells: minutes are enough for people, and text sorts like time."""
    return now.strftime("%Y-%m-%d %H:%M")
