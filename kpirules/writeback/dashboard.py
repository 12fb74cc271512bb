"""The Dashboard tab, kept by ``run``: one row per rule (and per segment) with its trend,
last value, target, change and status, rewritten whole on every run.

The trend is the rule's History values, oldest period first, in cells at the end of the row,
each a formula referring to one History cell (``='History'!F17``); on Google Sheets the
Trend cell is ``=SPARKLINE(I2:T2)`` over them. Formulas are built from nothing but the
History tab's name (quoted), column letters and row numbers: never from a rule name, a
segment or any other text. The History tab's name comes from settings that anyone with
edit rights can change, so a name that cannot be quoted safely (control characters, the
characters spreadsheets forbid in tab names, a leading or trailing apostrophe) is refused
and the Dashboard says why instead.

Excel has no SPARKLINE function: on .xlsx the Trend cell is a text sparkline and each rule
gets a native line chart (its segments as series) next to the table. Formulas there carry
their values as cached results, so programs that do not recalculate on open show them.

Rows are addressed as the plan addresses them: History rows as read, new ones below the
last used row in the order appended (``appendCells`` / the xlsx writer put them there).
History rows deleted in the same write (duplicates left by racing runs, or any other
deletes the History plan carries) are never referred to; Google Sheets moves the other
references itself when it deletes the rows (last in the batch), and on .xlsx the references
point to where the rows will have moved.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpirules.config_base import DASHBOARD_TAB
from kpirules.i18n import N_
from kpirules.writeback.plan import (
    HEADER,
    Chart,
    Formula,
    Out,
    Style,
    TabPlan,
    status_style,
)

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable
    from kpirules.results import RuleResult
    from kpirules.writeback.history import History, HistoryRow, Key
    from kpirules.writeback.summary import RuleSummary

log = logging.getLogger("kpirules.run")

COLUMNS = ("Rule", "Segment", "Trend", "Last value", "Target", "Change", "Status", "Period")
WIDTHS = (22, 24, 18, 12, 20, 11, 10, 20)
PERIODS = 12  # values (and sparkline points) per row
FIRST_VALUE_COL = len(COLUMNS)  # 0-based: the History values start right of the table
NOTE = N_("Written by kpirules run on every run: do not edit (it is overwritten). Trend: the "
          "rule's History values, oldest first, from the cells at the end of each row.")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\[\]*?/\\:]")


class UnsafeTabName(ValueError):
    """Why a tab name cannot go into a formula: a message to translate, and the character
    that makes it so (if one does)."""

    def __init__(self, message: str, char: str = ""):
        super().__init__(message)
        self.char = char

    def said(self) -> str:
        from kpirules.i18n import _

        return _(self.args[0]).format(char=repr(self.char))


def quoted_tab(title: str) -> str:
    """``'History'`` for a formula, or ``UnsafeTabName``: only names a spreadsheet could
    itself have are accepted, and their apostrophes are doubled inside the quotes."""
    if not title.strip() or len(title) > 100:
        raise UnsafeTabName(N_("it is empty or longer than 100 characters"))
    bad = _UNSAFE.search(title)
    if bad:
        raise UnsafeTabName(N_("it holds {char}, which a tab name in a formula cannot"), bad.group(0))
    if title.startswith("'") or title.endswith("'"):
        raise UnsafeTabName(N_("it starts or ends with an apostrophe"))
    return "'" + title.replace("'", "''") + "'"


def add_dashboard(outcome, wb, history_tab: str, *, native_charts: bool) -> None:
    """Add the Dashboard to ``outcome.plan`` (a ``runner.RunOutcome``), after its other tabs."""
    from kpirules.writeback.history import read_history

    raw = next((t for name, t in wb.extra_tabs.items()
                if name.strip().casefold() == DASHBOARD_TAB.casefold()), None)
    from kpirules.bulk import gc_paused

    history = read_history(wb.extra_tabs.get(history_tab), history_tab)
    with gc_paused():  # a few objects a History row, none of them garbage
        outcome.trends = trends(history, outcome.report.results, outcome.restated)
        written = outcome.plan.tab(history.title)
        if written is None:
            return
        tab = dashboard_plan(raw, history, written, outcome.report.results, outcome.restated,
                             outcome.summaries, native_charts=native_charts)
    if tab is not None:
        outcome.plan.tabs.append(tab)


def trends(history: History, results: list[RuleResult], restated: list[RuleResult],
           periods: int = PERIODS) -> dict[tuple[str, str], tuple[tuple[float | None, str], ...]]:
    """(rule, segment) -> its last ``periods`` (value, status) after this run, oldest first,
    for each rule x segment with a result now: what alerts carry to draw their trend."""
    from kpirules.report.model import as_number
    from kpirules.writeback.history import HISTORY_COLUMNS, key_of
    from kpirules.writeback.layout import locate

    now: dict[tuple[str, str], dict[Key, tuple[float | None, str]]] = {}
    for r in [*restated, *results]:
        key = key_of(r)
        if key is not None:
            now.setdefault(key[:2], {})[key] = (r.value, r.status.value)
    raw = history.raw
    value_col = locate(raw, HISTORY_COLUMNS)["Value"] if raw is not None else 0
    out = {}
    for pair, points in now.items():  # only History's rows of these: not all of History
        # The last few of History's rows suffice: this run's can only push them out.
        found = {r.key: (_value(r, raw, value_col, as_number), r.status)
                 for r in (history.in_order(*pair)[-periods:] if raw is not None else ())}
        found.update(points)
        out[pair] = tuple(p for _, p in sorted(found.items(), key=lambda kp: (kp[0][2], kp[0][3])))[-periods:]
    return out


def _value(row, raw: RawTable, value_col: int, as_number) -> float | None:
    """A History row's value: the number read (``HistoryRow.value``), else its text as a number."""
    if row.value is not None:
        return row.value
    cells = raw.rows[row.row - raw.header_row - 1]
    return as_number(cells[value_col]) if value_col < len(cells) else None


def attach_trends(notes: list, records: list, found: dict) -> None:
    """Give each notification (``kpirules.notify.Alert``) its rule's trend, ending with the
    period it is about."""
    from kpirules.writeback.summary import segment_key

    for note, record in zip(notes, records):
        r = getattr(record, "result", None)
        if r is None:  # an alert owed by an earlier run, read back from the Alerts tab
            continue
        series = found.get((r.name, segment_key(r.segment)), ())
        if r.period is not None and series:
            note.trend, note.trend_unit = series, r.unit


@dataclass
class _Line:
    name: str
    segment: str  # History's Segment cell
    results: list[RuleResult]
    summary: RuleSummary | None


def dashboard_plan(raw: RawTable | None, history: History, history_tab: TabPlan,
                   results: list[RuleResult], restated: list[RuleResult], summaries: list[RuleSummary],
                   *, native_charts: bool, title: str = DASHBOARD_TAB) -> TabPlan | None:
    """The Dashboard's cells after this run's History write; None when a tab of that name
    exists and is not ours (it is left alone, and the run says so)."""
    from kpirules.writeback.history import HISTORY_COLUMNS
    from kpirules.writeback.layout import locate

    if raw is not None and not _ours(raw):
        from kpirules.i18n import _

        log.warning("%s", _("the {tab} tab is not the one kpirules keeps (its first header is not Rule): "
                            "it was left alone").format(tab=raw.sheet or title))
        return None
    tab = TabPlan(title=raw.sheet if raw is not None and raw.sheet else title, header_row=1,
                  create=raw is None, freeze_header=raw is None, charts=[] if native_charts else None)
    try:
        sheet = quoted_tab(history.title)
    except UnsafeTabName as why:
        from kpirules.i18n import _

        refused = _("No Dashboard: the History tab's name cannot be used in a formula ({why}). "
                    "Rename the tab and the history_tab setting.").format(why=why.said())
        tab.set(1, 0, Out(refused, Style(bold=True, color="#990000")))
        _clear(tab, raw, keep_rows=1)
        tab.counts = {"refused": 1}
        return tab
    value_col = locate(history.raw, HISTORY_COLUMNS)["Value"]
    points = _Points(history, history_tab, value_col, results, restated, shift=native_charts)
    from kpirules.i18n import _, header

    for col, (label, width) in enumerate(zip(COLUMNS, WIDTHS)):
        tab.set(1, col, Out(header(label), HEADER, note=_(NOTE) if col == 0 else None))
        if raw is None:  # widths once, on a new tab (Sheets grows an existing grid for them)
            tab.widths[col] = width
    tab.set(1, FIRST_VALUE_COL, Out(header("History values, oldest first \u2192"), HEADER))
    row = 2
    for line in _lines(results, summaries):
        keys, rows, values = points.last(line.name, line.segment)
        _write_line(tab, row, line, keys, rows, values, value_col, sheet, native_charts)
        row += 1
    if native_charts:
        _charts(tab, results, summaries)
    _clear(tab, raw, keep_rows=row - 1)
    tab.counts = {"rows": row - 2}
    return tab


def _ours(raw: RawTable) -> bool:
    """An empty tab, or one whose first header is ours (Rule, or the refusal message)."""
    first = next((h for h in raw.headers if h not in (None, "")), None)
    if first is None:
        return not any(any(c not in (None, "") for c in r) for r in raw.rows)
    from kpirules.i18n import header_keys
    from kpirules.names import normalise

    text = str(first).strip()
    return normalise(text) in header_keys("Rule") or text.startswith("No Dashboard:")


class _Points:
    """Each rule x segment's History keys once this run's History write is done, with their
    sheet rows and values: only the lines' own rows are looked at (History's rows by rule x
    segment, ``History.of``), never all of History."""

    def __init__(self, history: History, plan: TabPlan, value_col: int, results: list[RuleResult],
                 restated: list[RuleResult], *, shift: bool):
        from kpirules.report.model import as_number
        from kpirules.writeback.history import key_of

        self.history, self.value_col, self.as_number = history, value_col, as_number
        self.deleted = set(plan.deletes)
        # openpyxl does not move references when rows are deleted (Google Sheets does, the
        # deletes coming last in the batch): on xlsx, point where the rows will have moved.
        self.gone = sorted(self.deleted) if shift else []
        self.now = {key: r.value for r in [*restated, *results] if (key := key_of(r)) is not None}
        self.appended: dict[tuple[str, str], list[tuple[Key, int]]] = {}
        for key, row in _appended_rows(history, plan).items():
            self.appended.setdefault(key[:2], []).append((key, row))

    def last(self, name: str, segment: str, periods: int = PERIODS
             ) -> tuple[list[Key], dict[Key, int], dict[Key, float | None]]:
        """The last ``periods`` keys (oldest first), their rows and their values."""
        import bisect

        history, raw = self.history, self.history.raw
        found: dict[Key, HistoryRow] = {}
        for r in reversed(history.in_order(name, segment) if raw is not None else ()):
            if len(found) == periods:  # the last few kept rows: the appended can only push them out
                break
            if r.row not in self.deleted:
                found[r.key] = r
        rows = {key: r.row for key, r in found.items()}
        rows.update(self.appended.get((name, segment), ()))
        keys = sorted(rows, key=lambda k: (k[2], k[3]))[-periods:]
        if self.gone:
            rows = {k: rows[k] - bisect.bisect_left(self.gone, rows[k]) for k in keys}
        values = {k: self.now[k] if k in self.now else
                  _value(found[k], raw, self.value_col, self.as_number) if k in found else None for k in keys}
        return keys, rows, values


def _appended_rows(history: History, plan: TabPlan) -> dict[Key, int]:
    """The keys this run appends to History -> their sheet rows (below the last row with
    anything, in the order appended)."""
    from kpirules.writeback.history import HISTORY_COLUMNS
    from kpirules.writeback.layout import cell_text, locate

    rows: dict[Key, int] = {}
    if not plan.appends:
        return rows
    raw = history.raw
    last = raw.header_row if raw is not None else plan.header_row
    if raw is not None:
        for i in range(len(raw.rows) - 1, -1, -1):  # the last row with anything, from the end
            if any(c not in (None, "") for c in raw.rows[i]):
                last = raw.header_row + 1 + i
                break
    cols = locate(raw, HISTORY_COLUMNS)
    for i, cells in enumerate(plan.appends):
        def get(label: str, cells: dict = cells) -> str:
            out = cells.get(cols[label])
            return cell_text(out.value) if out is not None else ""

        rows[(get("Rule"), get("Segment"), get("Period start"), get("Period end"))] = last + 1 + i
    return rows


def _lines(results: list[RuleResult], summaries: list[RuleSummary]) -> list[_Line]:
    from kpirules.writeback.summary import segment_key

    lines = []
    for s in summaries:
        if s.status == "OFF":
            continue
        segmented = [r for r in s.results if r.segment]
        if not segmented:
            lines.append(_Line(s.entry.name, "", s.results, s))
            continue
        for r in sorted(segmented, key=lambda r: segment_key(r.segment)):
            lines.append(_Line(s.entry.name, segment_key(r.segment), [r], s))
    return lines


def _write_line(tab: TabPlan, row: int, line: _Line, keys: list[Key], rows: dict[Key, int],
                values: dict[Key, float | None], value_col: int, sheet: str, native: bool) -> None:
    from kpirules.connectors.base import a1, column_letter
    from kpirules.format import sparkline
    from kpirules.format import period_text
    from kpirules.writeback.layout import number_out

    result = line.results[0] if line.results else None
    unit = result.unit if result is not None else None
    status = line.summary.status if not line.segment and line.summary else (
        result.status.value if result is not None else "ERROR")
    series = [values.get(k) for k in keys]
    for i in range(PERIODS):
        col = FIRST_VALUE_COL + i
        if i < len(keys):
            base = number_out(series[i], unit)
            ref = Formula(f"={sheet}!{a1(None, rows[keys[i]], value_col)}", series[i])
            tab.set(row, col, Out(ref, base.style))
        else:
            tab.set(row, col, Out(None))
    if not keys:
        trend: Out = Out(None)
    elif native:
        trend = Out(sparkline(series), Style(monospace=True))
    else:
        first, last = column_letter(FIRST_VALUE_COL), column_letter(FIRST_VALUE_COL + len(keys) - 1)
        trend = Out(Formula(f"=SPARKLINE({first}{row}:{last}{row})"))
    present = [v for v in series if v is not None]
    change = present[-1] - present[-2] if len(present) >= 2 and series[-1] is not None else None
    cells = [
        Out(line.name),
        Out(line.segment or None),
        trend,
        number_out(result.value if result is not None else None, unit),
        Out(line.summary.target or None if line.summary else None, Style(align="center")),
        number_out(change, unit),
        Out(status, status_style(status)),
        Out(period_text(result.period) if result is not None else None),
    ]
    for col, out in enumerate(cells):
        tab.set(row, col, out)


def _charts(tab: TabPlan, results: list[RuleResult], summaries: list[RuleSummary]) -> None:
    """One native chart per rule (xlsx), its rows (segments) as series, stacked beside the table."""
    from kpirules.connectors.base import column_letter

    by_rule: dict[str, list[int]] = {}
    for (row, col), out in tab.cells.items():
        if row > 1 and col == 0 and isinstance(out.value, str):
            by_rule.setdefault(out.value, []).append(row)
    anchor_col = column_letter(FIRST_VALUE_COL + PERIODS + 1)
    charts = []
    for i, (name, rows) in enumerate(by_rule.items()):
        filled = [c for r in rows for (rr, c), out in tab.cells.items()
                  if rr == r and c >= FIRST_VALUE_COL and out.value is not None]
        if not filled:
            continue
        labels = tuple(str(tab.cells[(r, 1)].value or name) for r in rows)
        style = tab.cells[(rows[0], FIRST_VALUE_COL)].style
        charts.append(Chart(title=name, row=min(rows), first_col=FIRST_VALUE_COL, last_col=max(filled),
                            anchor=f"{anchor_col}{2 + i * 9}", number_format=style.number_format,
                            last_row=max(rows), labels=labels))
    tab.charts = charts


def _clear(tab: TabPlan, raw: RawTable | None, *, keep_rows: int) -> None:
    """Empty what an earlier run left below the rows written now (a rule since removed)."""
    if raw is None:
        return
    width = max(FIRST_VALUE_COL + PERIODS, max((len(r) for r in raw.rows), default=0))
    for i, cells in enumerate(raw.rows):
        row = raw.header_row + 1 + i
        if row > keep_rows and any(c not in (None, "") for c in cells):
            for col in range(width):
                tab.set(row, col, Out(None))
    if keep_rows == 1:  # refused: the header row too, past the message
        for col in range(1, max(width, len(raw.headers))):
            tab.set(1, col, Out(None))
