"""Formula references follow the rows and columns they point at, as in Google Sheets.

When rows (or columns) are inserted or deleted, every formula of the spreadsheet that
refers to that sheet is rewritten, on that sheet (bare references) and on the others
(``'History'!F17``):

- a reference below the change moves with its row: a deletion of rows 2-4 turns ``F17``
  into ``F14``, an insertion of 3 rows above it into ``F20``; ``$`` marks move too;
- a reference to a deleted cell becomes ``#REF!`` (the sheet name goes with it), as does a
  range whose every row was deleted;
- a range loses the rows deleted inside it and grows by the rows inserted inside it;
  inserting right below its last row leaves it as it is;
- whole-column references (``A:C``) do not change with rows, nor whole-row ones with
  columns.

The formula is tokenised with the evaluator's own tokens, so text inside quotes is never
touched; a formula the tokens cannot read is left as written (Sheets shows it as an error
either way).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kpirules_emulator.sheets_a1 import column_index, column_letters
from kpirules_emulator.sheets_formula import TOKEN
from kpirules_emulator.sheets_model import Formula

if TYPE_CHECKING:
    from kpirules_emulator.sheets_model import Sheet, Spreadsheet

_POINT = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)(\d+)|(\$?)([A-Za-z]{1,3})")
REF_ERROR = "#REF!"


def shift_references(book: Spreadsheet, target: Sheet, dimension: str, start: int, delta: int) -> None:
    """Rewrite every formula referring to ``target`` after ``delta`` rows/columns were
    inserted (> 0) at 0-based ``start`` or deleted (< 0) from it."""
    for sheet in book.sheets:
        if not sheet.has_formulas:
            continue
        for r, c, cell in list(sheet.iter_cells()):
            if isinstance(cell.value, Formula):
                text = _shift_formula(cell.value.text, sheet is target, target.title, dimension, start, delta)
                if text != cell.value.text:
                    sheet.put(r, c, cell.replace(value=Formula(text)))


def _shift_formula(text: str, own: bool, title: str, dimension: str, start: int, delta: int) -> str:
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return text  # not a formula the tokens read: as written
        piece = m.group(0)
        if m.lastgroup == "ref":
            piece = piece[:m.start("ref") - pos] + _shift_ref(m.group("ref"), own, title, dimension, start, delta)
        out.append(piece)
        pos = m.end()
    return "".join(out)


def _shift_ref(ref: str, own: bool, title: str, dimension: str, start: int, delta: int) -> str:
    sheet, bang, cells = ref.rpartition("!")
    if bang:
        name = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
        if name != title:
            return ref
    elif not own:
        return ref
    points = cells.split(":")
    parsed = [_POINT.fullmatch(p) for p in points]
    if any(p is None for p in parsed):
        return ref
    rows = dimension == "ROWS"
    # each point as (index on the moving axis, or None for a whole column/row)
    indexes = [(int(p[4]) - 1 if p[4] else None) if rows else column_index(p[2] or p[6]) for p in parsed]
    if any(i is None for i in indexes):
        return ref  # a whole-column reference: rows do not move it
    lo, hi = indexes[0], indexes[-1]
    new = _shift_span(min(lo, hi), max(lo, hi), start, delta)
    if new is None:
        return REF_ERROR
    moved = [new[0]] if len(parsed) == 1 else ([new[0], new[1]] if lo <= hi else [new[1], new[0]])
    return sheet + bang + ":".join(_with_index(p, i, rows) for p, i in zip(parsed, moved))


def _shift_span(lo: int, hi: int, start: int, delta: int) -> tuple[int, int] | None:
    """The inclusive span [lo, hi] after the change; None when every index of it went."""
    if delta > 0:
        return (lo + delta if lo >= start else lo), (hi + delta if hi >= start else hi)
    end = start - delta  # deleted: [start, end)
    if start <= lo and hi < end:
        return None
    new_lo = lo if lo < start else (start if lo < end else lo + delta)
    new_hi = hi if hi < start else (start - 1 if hi < end else hi + delta)
    return new_lo, new_hi


def _with_index(point: re.Match, index: int, rows: bool) -> str:
    if point[2] is None:  # a whole column (A:C) moved along the columns
        return point[5] + column_letters(index)
    if rows:
        return point[1] + point[2] + point[3] + str(index + 1)
    return point[1] + column_letters(index) + point[3] + point[4]
