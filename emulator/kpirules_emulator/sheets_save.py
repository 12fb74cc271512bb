"""Writing a served spreadsheet back to the xlsx workbook it was loaded from (``--save``),
so that what a client such as ``kpirules run`` wrote can be opened and looked at.

The workbook is loaded again and only its cells' values change (and, for cells the
emulator formatted, the number format, bold, background and wrapping), so the file's own
styles, column widths and charts stay. Tabs are matched by title: a tab added through
the API is added, one deleted through the API is deleted (a renamed tab counts as both).
The file is replaced atomically: a reader sees the old workbook or the new one, never
half of it.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

from kpirules_emulator.sheets_format import from_serial
from kpirules_emulator.sheets_model import Cell, Formula, Spreadsheet


def save_xlsx(book: Spreadsheet, path: str | os.PathLike) -> None:
    import openpyxl

    path = Path(path)
    wb = openpyxl.load_workbook(path)
    titles = [s.title for s in book.sheets]
    for ws in list(wb.worksheets):
        if ws.title not in titles:
            wb.remove(ws)
    for index, sheet in enumerate(book.sheets):
        if sheet.title in wb.sheetnames:
            ws = wb[sheet.title]
        else:
            ws = wb.create_sheet(sheet.title, index)
        ws.sheet_state = "hidden" if sheet.props.get("hidden") else "visible"
        written = set()
        for r, c, cell in sheet.iter_cells():
            _write(ws.cell(row=r + 1, column=c + 1), cell)
            written.add((r + 1, c + 1))
        for row in ws.iter_rows():
            for xl in row:
                if (xl.row, xl.column) not in written and (xl.value is not None or xl.comment):
                    xl.value, xl.comment = None, None
    if wb.worksheets and all(ws.sheet_state != "visible" for ws in wb.worksheets):
        wb.worksheets[0].sheet_state = "visible"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o7777)  # mkstemp's 0600 is not the file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(xl: Any, cell: Cell) -> None:
    from openpyxl.comments import Comment

    number_format = ((cell.fmt or {}).get("numberFormat") or {})
    kind, pattern = number_format.get("type"), number_format.get("pattern")
    value = cell.value
    if isinstance(value, Formula):
        value = value.text
    elif isinstance(value, float):
        if kind in ("DATE", "DATE_TIME", "TIME"):
            moment = from_serial(value)
            value = moment.date() if kind == "DATE" else moment.time() if kind == "TIME" \
                else moment
            pattern = pattern or {"DATE": "yyyy-mm-dd", "TIME": "hh:mm:ss"}.get(
                kind, "yyyy-mm-dd hh:mm:ss")
        elif value.is_integer():
            value = int(value)
    xl.value = value
    if pattern:
        xl.number_format = pattern
    elif isinstance(value, (dt.date, dt.time)):
        xl.number_format = "yyyy-mm-dd"
    _style(xl, cell.fmt or {})
    if cell.note:
        xl.comment = Comment(cell.note, "kpirules")
    elif xl.comment is not None:
        xl.comment = None


def _style(xl: Any, fmt: dict) -> None:
    from openpyxl.styles import PatternFill

    bold = (fmt.get("textFormat") or {}).get("bold")
    if bold is not None and bool(xl.font.b) != bool(bold):
        font = copy.copy(xl.font)  # cell styles are shared: change a copy
        font.b = bool(bold)
        xl.font = font
    color = fmt.get("backgroundColor")
    if color:
        rgb = "".join(f"{round(255 * float(color.get(k, 0))):02X}" for k in ("red", "green", "blue"))
        xl.fill = PatternFill("solid", fgColor="FF" + rgb)
    wrap = fmt.get("wrapStrategy")
    if wrap:
        alignment = copy.copy(xl.alignment)
        alignment.wrap_text = wrap == "WRAP"
        xl.alignment = alignment
