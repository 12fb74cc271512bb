"""What a run (or ``init``) will write, independent of where it goes.

The layout, history and alerts modules decide *what* to write and build a ``WritePlan``;
``xlsx.py`` and ``sheets.py`` only carry a plan out. Keeping the decision in one place means a
workbook and a Google Sheet get the same cells, and ``--dry-run`` can print exactly what a
real run would do.

Text in a plan is always text: a writer must store a ``str`` as a string cell, never as a
formula, whatever it starts with (segment names and messages come from data and users).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kpirules.connectors.base import a1

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


@dataclass(frozen=True)
class Out:
    """One cell to write: a value (text stays text), its style, and an optional note."""

    value: str | int | float | bool | None
    style: Style = PLAIN
    note: str | None = None

    def __post_init__(self) -> None:
        if self.value is not None and not isinstance(self.value, (str, int, float, bool)):
            raise TypeError(f"a plan cell holds text, a number or a bool, not {type(self.value).__name__}")


@dataclass(frozen=True)
class Validation:
    """A dropdown on one column below the header (``init``'s Enabled column)."""

    column: int  # 0-based
    first_row: int  # 1-based
    last_row: int
    values: tuple[str, ...]


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
    freeze_header: bool = False
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
                    or self.validations)


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
            head = f"{tab.title}: " + ("new tab; " if tab.create else "")
            head += ", ".join(f"{n} {k}" for k, n in tab.counts.items() if n) or "cells"
            lines.append(head)
            for (row, col), out in sorted(tab.cells.items()):
                lines.append(f"  {a1(None, row, col):<6} {_shown(out)}")
            for (row, col), note in sorted(tab.notes.items()):
                lines.append(f"  {a1(None, row, col):<6} note: {note[:60]}...")
            for row in tab.appends:
                lines.append("  + " + " | ".join(_shown(row[c]) for c in sorted(row)))
            for row in sorted(tab.deletes, reverse=True):
                lines.append(f"  - row {row} (duplicate)")
            for v in tab.validations:
                lines.append(f"  dropdown {a1(None, v.first_row, v.column)}:{a1(None, v.last_row, v.column)}"
                             f" ({', '.join(v.values)})")
        return lines


def _shown(out: Out) -> str:
    if out.value is None:
        return "(empty)"
    text = out.value if isinstance(out.value, str) else repr(out.value)
    text = text.replace("\n", " \u21b5 ")
    return text if len(text) <= 120 else text[:117] + "..."
