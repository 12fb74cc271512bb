"""What a run (or ``init``) will write, independent of where it goes.

The layout, history and alerts modules decide *what* to write and build a ``WritePlan``;
``xlsx.py`` and ``sheets.py`` only carry a plan out. Keeping the decision in one place means a
workbook and a Google Sheet get the same cells, and ``--dry-run`` can print exactly what a
real run would do.

Text in a plan is always text: a writer must store a ``str`` as a string cell, never as a
formula, whatever it starts with (segment names and messages come from data and users). The
only formulas are ``Formula`` values, which ``kpirules.writeback.dashboard`` builds from cell
references and nothing else. Dates are ``datetime.date`` values: real date cells.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kpirules.connectors.base import a1
from kpirules.i18n import _, ngettext

# Status cell colours: light fills that read on screen and in print, dark text for contrast.
STATUS_STYLE_COLOURS: dict[str, tuple[str, str]] = {
    "PASS": ("#D9EAD3", "#274E13"),
    "WARN": ("#FFE599", "#7F6000"),
    "FAIL": ("#F4CCCC", "#990000"),
    "NO_DATA": ("#E0E0E0", "#434343"),
    "INCONCLUSIVE": ("#CFE2F3", "#1C4587"),  # data, but too few to judge: calm blue
    "ERROR": ("#CC0000", "#FFFFFF"),
    "OFF": ("#F3F3F3", "#999999"),
}
HEADER_FILL = "#EFEFEF"


@dataclass(frozen=True)
class Style:
    """The formatting of one engine-owned cell. Every engine cell gets a full style on every
    write, so a cell that was red yesterday and passes today is green, not red-and-green."""

    fill: str | None = None  # "#RRGGBB"
    color: str | None = None  # font colour
    bold: bool = False
    italic: bool = False
    monospace: bool = False  # for the caret under an error
    wrap: bool = False
    align: str | None = None  # "center", "left", "right"
    valign: str = "top"
    number_format: str | None = None  # Excel/Sheets pattern, e.g. "0.00%"


PLAIN = Style()
HEADER = Style(fill=HEADER_FILL, bold=True, valign="bottom")


def status_style(status: str) -> Style:
    fill, color = STATUS_STYLE_COLOURS.get(status, (None, None))
    return Style(fill=fill, color=color, bold=True, align="center")


DATE_FORMAT = "yyyy-mm-dd"  # History's period dates: real dates that sort and chart


@dataclass(frozen=True)
class Formula:
    """A formula cell. Only ``kpirules.writeback.dashboard`` makes them, from references to
    cells (a quoted tab name, a column letter, a row number) and fixed function names, so
    nothing read from data or settings is ever parsed by the spreadsheet as formula text.
    ``value`` is what it evaluates to when the plan is made (the xlsx writer stores it as the
    cached result, so programs that do not recalculate on open still show it)."""

    text: str
    value: float | str | None = None

    def __post_init__(self) -> None:
        if not self.text.startswith("="):
            raise ValueError("a formula starts with =")


@dataclass(frozen=True)
class Chart:
    """A native line chart (xlsx): one series per row of cells, anchored at a cell."""

    title: str
    row: int  # 1-based first row holding values
    first_col: int  # 0-based, inclusive
    last_col: int
    anchor: str  # top-left cell, e.g. "W2"
    number_format: str | None = None
    last_row: int | None = None  # inclusive; None: just ``row``
    labels: tuple[str, ...] = ()  # series names, one per row


@dataclass(frozen=True)
class Out:
    """One cell to write: a value (text stays text), its style, and an optional note."""

    value: str | int | float | bool | dt.date | Formula | None
    style: Style = PLAIN
    note: str | None = None

    def __post_init__(self) -> None:
        if self.value is not None and not isinstance(self.value, (str, int, float, bool, dt.date, Formula)):
            raise TypeError(f"a plan cell holds text, a number, a bool, a date or a Formula, "
                            f"not {type(self.value).__name__}")
        if isinstance(self.value, dt.datetime):
            raise TypeError("a plan cell holds a date, not a datetime")


@dataclass(frozen=True)
class Validation:
    """A dropdown on one column below the header (``init``'s Enabled column); with
    ``checkbox``, a checkbox on Google Sheets (TRUE/FALSE) and still the ``values`` dropdown
    on xlsx, which has no checkbox cells."""

    column: int  # 0-based
    first_row: int  # 1-based
    last_row: int
    values: tuple[str, ...]
    checkbox: bool = False


@dataclass(frozen=True)
class StatusColours:
    """Conditional formatting that colours a Status column by its text (PASS green, FAIL
    red...), installed once by ``init`` so that the cells need no paint of their own."""

    column: int  # 0-based
    first_row: int  # 1-based
    last_row: int


@dataclass
class TabPlan:
    """The writes into one tab.

    Positions are 1-based sheet rows and 0-based columns, as in ``RawTable``. ``cells`` are
    overwritten where they are (found by header); ``appends`` go below the last row that has
    anything, in column order; ``deletes`` are rows to remove (duplicate History rows left
    by two runs racing on a Google Sheet), applied last, bottom first."""

    title: str
    create: bool = False  # the tab does not exist yet
    header_row: int = 1
    cells: dict[tuple[int, int], Out] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # a note only, value kept
    appends: list[dict[int, Out]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)  # new columns: width in characters
    validations: list[Validation] = field(default_factory=list)
    # xlsx only: native charts replacing the tab's charts (None: leave them); Sheets has
    # SPARKLINE formulas instead.
    charts: list[Chart] | None = None
    freeze_header: bool = False
    # Set-up of an existing tab (``init``): freeze its header rows, colour its Status
    # column, protect the engine's columns with a warning (0-based column -> description),
    # and retype cells in place keeping their format (yes/no -> checkbox TRUE/FALSE).
    freeze_existing: bool = False
    status_colours: StatusColours | None = None
    protected: dict[int, str] = field(default_factory=dict)
    retyped: dict[tuple[int, int], bool] = field(default_factory=dict)
    # Columns the tab will have after the write (for grid sizes on Sheets).
    columns: int = 0
    # Summary counters for logs and --dry-run ("3 updated, 8 new").
    counts: dict[str, int] = field(default_factory=dict)

    def set(self, row: int, col: int, out: Out) -> None:
        self.cells[(row, col)] = out
        self.columns = max(self.columns, col + 1)

    def append(self, row: dict[int, Out]) -> None:
        self.appends.append(row)
        if row:
            self.columns = max(self.columns, max(row) + 1)

    @property
    def empty(self) -> bool:
        return not (self.create or self.cells or self.notes or self.appends or self.deletes
                    or self.validations or self.freeze_existing or self.status_colours or self.protected
                    or self.retyped)


@dataclass
class WritePlan:
    tabs: list[TabPlan] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)  # kpirules.writeback.alerts.AlertRecord

    def tab(self, title: str) -> TabPlan | None:
        return next((t for t in self.tabs if t.title == title), None)

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tabs)

    def describe(self) -> list[str]:
        """What would be written, one line a cell or row, for ``--dry-run``."""
        lines: list[str] = []
        for tab in self.tabs:
            if tab.empty:
                continue
            head = f"{tab.title}: " + (_("new tab") + "; " if tab.create else "")
            head += counts_text(tab.counts) or _("cells")
            lines.append(head)
            for (row, col), out in sorted(tab.cells.items()):
                lines.append(f"  {a1(None, row, col):<6} {_shown(out)}")
            for (row, col), note in sorted(tab.notes.items()):
                lines.append(f"  {a1(None, row, col):<6} " + _("note: {text}...").format(text=note[:60]))
            for row in tab.appends:
                lines.append("  + " + " | ".join(_shown(row[c]) for c in sorted(row)))
            for row in sorted(tab.deletes, reverse=True):
                lines.append("  - " + _("row {row} (duplicate)").format(row=row))
            for v in tab.validations:
                cells = f"{a1(None, v.first_row, v.column)}:{a1(None, v.last_row, v.column)}"
                lines.append("  " + (_("checkbox {cells} ({values})") if v.checkbox else
                                     _("dropdown {cells} ({values})")).format(cells=cells, values=", ".join(v.values)))
            if tab.freeze_existing:
                lines.append("  " + (_("freeze the header rows") if tab.header_row > 1 else _("freeze the header row")))
            if tab.status_colours:
                c = tab.status_colours
                lines.append("  " + _("status colours {cells}").format(
                    cells=f"{a1(None, c.first_row, c.column)}:{a1(None, c.last_row, c.column)}"))
            for col, description in sorted(tab.protected.items()):
                lines.append("  " + _("protect column {column} with a warning ({description})").format(
                    column=a1(None, tab.header_row, col)[:-len(str(tab.header_row))], description=description))
            for (row, col), value in sorted(tab.retyped.items()):
                lines.append(f"  {a1(None, row, col):<6} " + _("{value} (checkbox)").format(value="TRUE" if value else "FALSE"))
        return lines


# What a tab's ``counts`` count, said with the number in the form it asks for ("1 note",
# "2 notes"; "2 notatki", "5 notatek"). A key missing here is shown as is.
_COUNTED = {
    "new": lambda n: ngettext("{n} new", "{n} new", n),
    "updated": lambda n: ngettext("{n} updated", "{n} updated", n),
    "restated": lambda n: ngettext("{n} restated", "{n} restated", n),
    "duplicates removed": lambda n: ngettext("{n} duplicate removed", "{n} duplicates removed", n),
    "dates retyped": lambda n: ngettext("{n} date retyped", "{n} dates retyped", n),
    "older than history_keep removed": lambda n: ngettext("{n} older than history_keep removed",
                                                          "{n} older than history_keep removed", n),
    "delivery states": lambda n: ngettext("{n} delivery state", "{n} delivery states", n),
    "refused": lambda n: ngettext("{n} refused", "{n} refused", n),
    "rows": lambda n: ngettext("{n} row", "{n} rows", n),
    "rules": lambda n: ngettext("{n} rule", "{n} rules", n),
    "cleared rows": lambda n: ngettext("{n} cleared row", "{n} cleared rows", n),
    "new columns": lambda n: ngettext("{n} new column", "{n} new columns", n),
    "example rows": lambda n: ngettext("{n} example row", "{n} example rows", n),
    "example rules": lambda n: ngettext("{n} example rule", "{n} example rules", n),
    "notes": lambda n: ngettext("{n} note", "{n} notes", n),
    "headers": lambda n: ngettext("{n} header", "{n} headers", n),
}


def count_of(key: str, n: int) -> str:
    """``n`` of a tab's count ``key`` in words: "20 new" ("20 nowych", "24 nowe")."""
    return _COUNTED[key](n).format(n=n) if key in _COUNTED else f"{n} {key}"


def counts_text(counts: dict[str, int]) -> str:
    """A tab's non-zero ``counts`` in words: "20 new, 3 updated" (``init``, ``--dry-run``)."""
    return ", ".join(count_of(k, n) for k, n in counts.items() if n)


def _shown(out: Out) -> str:
    if out.value is None:
        return _("(empty)")
    if isinstance(out.value, Formula):
        text = out.value.text
    elif isinstance(out.value, dt.date):
        text = out.value.isoformat()
    else:
        text = out.value if isinstance(out.value, str) else repr(out.value)
    text = text.replace("\n", " \u21b5 ")
    return text if len(text) <= 120 else text[:117] + "..."
