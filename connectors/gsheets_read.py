"""How a big data tab of a Google Sheet is read: the head first, then only the columns the
rules need, in pages of bounded size, each with a timeout that grows with what it asks for.

The first call of a read (``connectors/gsheets.py``) asks for the data tab's first
``HEAD_ROWS`` rows only (with the other tabs whole, and every tab's grid size). That is
the whole tab for most sheets (a new Google Sheet has 1,000 rows). When the head is full
and the grid has more rows, the caller says which columns it needs from the head (the
header, the date column, the rules' columns: ``kpirules.source.needed_columns``), and the
rest of the tab is read in pages: one ``spreadsheets.get`` per page, a range per run of
adjacent needed columns, at most ``PAGE_CELLS`` cells a page. One page's answer, parsed,
is what bounds the memory a read needs (about 1 KB per cell while parsed, 60-100 bytes
once kept), whatever the sheet's size; columns no rule uses are never sent.

Calls: 1 for a data tab within ``HEAD_ROWS`` rows, else ``1 + ceil(cells / PAGE_CELLS)``,
where ``cells`` is (rows below the head) x (needed columns): a 100,000 x 20 sheet whose
rules use 5 columns costs 1 + 3 calls (docs/running.md, "What a run costs").
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from kpirules.connectors.base import column_letter

HEAD_ROWS = 1000  # data-tab rows in the first call: the recipe's head, and a default sheet
PAGE_CELLS = 200_000  # cells per page call: ~17 MB of JSON with our field mask
# Google reads 20k-100k cells/s with our mask (the emulator about as fast); a page's read
# timeout is the `timeout` setting plus the time for its cells at the slow end of that.
CELLS_PER_SECOND = 20_000


def head_range(tab: str) -> str:
    """The data tab's first ``HEAD_ROWS`` rows, every column."""
    return f"{tab}!1:{HEAD_ROWS}"


def read_timeout(base: float, cells: int) -> float:
    """The read timeout for a call asking for ``cells`` cells."""
    return float(base) + cells / CELLS_PER_SECOND


def column_runs(columns: Iterable[int]) -> list[tuple[int, int]]:
    """0-based columns as runs of adjacent ones, (first, last) inclusive."""
    runs: list[tuple[int, int]] = []
    for c in sorted(set(columns)):
        if runs and c == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs


def pages(tab: str, first_row: int, last_row: int, columns: Iterable[int],
          page_cells: int = PAGE_CELLS) -> list[tuple[list[str], int]]:
    """(ranges, cells) of each page call reading sheet rows ``first_row..last_row`` (1-based,
    inclusive) of ``columns``: a range per run of adjacent columns, row windows sized so
    that a page asks for at most ``page_cells`` cells."""
    runs = column_runs(columns)
    width = sum(b - a + 1 for a, b in runs)
    if not runs or last_row < first_row:
        return []
    step = max(1, page_cells // width)
    out = []
    for top in range(first_row, last_row + 1, step):
        bottom = min(last_row, top + step - 1)
        ranges = [f"{tab}!{column_letter(a)}{top}:{column_letter(b)}{bottom}" for a, b in runs]
        out.append((ranges, (bottom - top + 1) * width))
    return out


def page_count(rows: int, columns: int, page_cells: int = PAGE_CELLS) -> int:
    return 0 if rows <= 0 or columns <= 0 else math.ceil(rows / max(1, page_cells // columns))


def cell_hook(convert: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """A ``json.loads`` object hook that turns each CellData of a page into its value as
    the JSON is parsed (``convert``: ``gsheets.cell_value``), so that a page never holds
    four dicts per cell at once: what keeps a big read's peak memory low."""
    def hook(obj: dict) -> Any:
        if "effectiveValue" in obj or "effectiveFormat" in obj:
            return convert(obj)
        return obj  # an empty cell ({}) stays a dict: merge_page reads it as blank
    return hook


def merge_page(rows: list[list[Any]], offset: int, grid: dict) -> None:
    """Put one range of a page (a GridData whose cells ``cell_hook`` already converted)
    into ``rows`` in place: sheet row ``r`` goes into ``rows[r - offset]``; a range's
    empty cells never overwrite another range's values."""
    first = int(grid.get("startRow", 0)) + 1 - offset
    col0 = int(grid.get("startColumn", 0))
    for i, row in enumerate(grid.get("rowData") or ()):
        values = [None if type(v) is dict else v for v in row.get("values") or ()]
        if not any(v is not None for v in values):
            continue
        while len(rows) <= first + i:
            rows.append([])
        target = rows[first + i]
        end = col0 + len(values)
        if len(target) < end:
            target.extend([None] * (end - len(target)))
        for c, v in enumerate(values, col0):
            if v is not None:
                target[c] = v


def after_missing(wanted: list[str], named: str, quote: Callable[[str], str], required: int, *,
                  guess: bool) -> tuple[list[str], tuple[str, ...]] | None:
    """The tabs to ask for again after Google's 400 named the range ``named`` (a tab that
    is not there), and the tabs assumed missing; None when only the tab list can say.

    Google parses the ranges in order and names the first it cannot: the tabs before it
    are there. Only an optional tab (after the ``required`` data and rules tabs) is dropped. The last
    one: ask again without it, certain. Another, with ``guess`` (``run``, whose first
    write creates the tabs it did not read, and is refused whole if one exists after all:
    the runner then reads again with the tab list): the ones after it are assumed missing
    too, since kpirules creates its tabs together (init: Settings, History, Alerts; the
    first run: the Dashboard and the lease). A first run then reads twice, not three times."""
    index = next((i for i, t in enumerate(wanted) if named in (quote(t), t)), None)
    if index is None or index < required:
        return None
    if index == len(wanted) - 1:
        return wanted[:index], ()
    if not guess:
        return None
    return wanted[:index], tuple(wanted[index + 1:])



FORMATTING_FIELDS = ("sheets(properties(sheetId,title,index,gridProperties(frozenRowCount)),"
                     "conditionalFormats,protectedRanges)")


def formatting_query(header_rows: dict[str, int] | None, quote: Callable[[str], str]) -> dict:
    """The ``fields`` (and ``ranges``) of ``sheet_formatting``'s one call: every tab's
    set-up; with ``header_rows``, only those tabs, with the header row and the row below."""
    if not header_rows:
        return {"fields": FORMATTING_FIELDS}
    return {"fields": FORMATTING_FIELDS[:-1] + ",data(startColumn,rowData(values(note,dataValidation))))",
            "ranges": [f"{quote(title)}!{row}:{row + 1}" for title, row in header_rows.items()]}


def formatting(doc: dict) -> dict[str, dict]:
    """Per tab title of a metadata answer: its frozen rows, conditional format rules,
    protected ranges and, when the answer has cells (a header row and the row below), the
    header's notes and the columns validated below it, by 0-based column
    (``GoogleSheetsConnector.sheet_formatting``)."""
    out = {}
    for sheet in doc.get("sheets", ()):
        props = sheet.get("properties", {})
        found: dict[str, dict] = {}
        for grid in sheet.get("data") or ():
            rows = grid.get("rowData") or ()
            for key, row in zip(("notes", "validations"), rows):
                for col, cell in enumerate(row.get("values") or (), grid.get("startColumn", 0)):
                    value = cell.get("note" if key == "notes" else "dataValidation")
                    if value:
                        found.setdefault(key, {})[col] = value
        out[props.get("title", "")] = {
            "frozen_rows": int((props.get("gridProperties") or {}).get("frozenRowCount", 0)),
            "conditional_formats": sheet.get("conditionalFormats") or [],
            "protected_ranges": sheet.get("protectedRanges") or [],
            **({key: found.get(key, {}) for key in ("notes", "validations")} if "data" in sheet else {})}
    return out
