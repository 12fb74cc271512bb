"""Building spreadsheets to serve: from Python rows (tests) and from xlsx workbooks (the
command line), the way Google imports them: values as values, dates as serial numbers
with a date number format, formulas kept as formulas (with Excel's cached value as a
fallback for functions the emulator does not evaluate)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

from kpirules_emulator.sheets_format import Locale, SheetError, locale_for, to_serial
from kpirules_emulator.sheets_model import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Cell,
    Formula,
    Spreadsheet,
    from_extended_value,
    normalize,
)

_XL_ERRORS = {"#DIV/0!": "DIVIDE_BY_ZERO", "#N/A": "N_A", "#NAME?": "NAME", "#NULL!":
              "NULL_VALUE", "#NUM!": "NUM", "#REF!": "REF", "#VALUE!": "VALUE"}


def _date_format(value, loc: Locale, pattern: str | None = None) -> dict:
    if isinstance(value, dt.datetime):
        return {"type": "DATE_TIME", "pattern": pattern or f"{loc.date} {loc.time}"}
    if isinstance(value, dt.date):
        return {"type": "DATE", "pattern": pattern or loc.date}
    return {"type": "TIME", "pattern": pattern or loc.time}


def seed_cell(value: Any, loc: Locale) -> Cell | None:
    """A Python value as a cell: None/"" empty, bool, number, text (``=...`` is a
    formula), date/datetime/time (serial + date format), or a CellData-like dict with
    userEnteredValue / userEnteredFormat / note / dataValidation."""
    if value is None or value == "":
        return None
    if isinstance(value, Cell):
        return value
    if isinstance(value, dict):
        fmt = normalize(value["userEnteredFormat"]) if value.get("userEnteredFormat") else None
        cell = Cell(from_extended_value(value.get("userEnteredValue")), fmt,
                    value.get("note"), value.get("dataValidation"))
        return None if cell.empty() else cell
    if isinstance(value, bool):
        return Cell(value)
    if isinstance(value, (int, float)):
        return Cell(float(value))
    if isinstance(value, (dt.date, dt.time)):
        return Cell(to_serial(value), {"numberFormat": _date_format(value, loc)})
    text = str(value)
    if text.startswith("=") and len(text) > 1:
        return Cell(Formula(text))
    return Cell(text)


def build_spreadsheet(key: str, tabs: dict[str, Iterable[Iterable[Any]]], *,
                      title: str | None = None, locale: str = "en_US",
                      time_zone: str = "Etc/GMT", rows: int | None = None,
                      cols: int | None = None) -> Spreadsheet:
    """A spreadsheet whose first sheet has id 0, like a new Google spreadsheet. Grids are
    at least 1000x26 (a new sheet's size) and grow to fit the data, unless ``rows`` /
    ``cols`` say otherwise."""
    book = Spreadsheet(key, title or key, locale, time_zone)
    loc = locale_for(locale)
    for i, (name, data) in enumerate((tabs or {"Sheet1": []}).items()):
        grid_rows = [list(r) for r in data]
        width = max((len(r) for r in grid_rows), default=0)
        props = {"sheetId": 0 if i == 0 else book.new_sheet_id(), "title": name, "index": i,
                 "sheetType": "GRID",
                 "gridProperties": {"rowCount": rows or max(DEFAULT_ROWS, len(grid_rows)),
                                    "columnCount": cols or max(DEFAULT_COLS, width)}}
        sheet = book.add_sheet(props)
        for r, row in enumerate(grid_rows):
            for c, value in enumerate(row):
                cell = seed_cell(value, loc)
                if cell is not None:
                    sheet.put(r, c, cell)
    return book


# --- xlsx ---------------------------------------------------------------------------

def _excel_pattern(fmt: str | None) -> str | None:
    if not fmt or fmt == "General":
        return None
    return fmt.replace("\\", "").replace("[$-409]", "").replace("[$-415]", "")


def _xlsx_cell(cell, cached, loc: Locale) -> Cell | None:
    value = cell.value
    if value is None or value == "":
        return None
    pattern = _excel_pattern(getattr(cell, "number_format", None))
    # Only a cell stored as a formula is one: a text cell that starts with "=" (a campaign
    # named "=IMPORTXML(...)", kept as text by kpirules) stays text, as in Sheets.
    if getattr(cell, "data_type", None) == "f":
        text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
        if not str(text).startswith("="):
            text = "=" + str(text)
        out = Cell(Formula(str(text)), cached=_cached_value(cached))
        if isinstance(cached, (dt.date, dt.time)):
            # A formula that yields a date shows as one (Sheets infers the format too).
            out = out.replace(fmt={"numberFormat": _date_format(cached, loc)})
        return out
    if isinstance(value, (dt.date, dt.time)):
        # Excel's built-in date format (14, "mm-dd-yy") means "the locale's short date".
        keep = pattern if pattern and pattern not in ("mm-dd-yy", "m/d/yy") else None
        fmt = _date_format(value, loc, keep)
        # xlsx stores every date as a datetime; the format says whether time matters.
        has_time = any(ch in (keep or "").lower() for ch in "hs")
        if isinstance(value, dt.datetime) and not has_time and (
                keep or value.time() == dt.time()):
            fmt = {"type": "DATE", "pattern": keep or loc.date}
        return Cell(to_serial(value), {"numberFormat": fmt})
    if isinstance(value, dt.timedelta):
        return Cell(value.total_seconds() / 86400,
                    {"numberFormat": {"type": "TIME", "pattern": "[h]:mm:ss"}})
    if isinstance(value, bool):
        return Cell(value)
    if isinstance(value, (int, float)):
        if pattern:
            kind = "PERCENT" if "%" in pattern else "CURRENCY" if any(
                s in pattern for s in ("$", "€", "£", "zł", "[$")) else "NUMBER"
            return Cell(float(value), {"numberFormat": {"type": kind, "pattern": pattern}})
        return Cell(float(value))
    return Cell(str(value))


def _cached_value(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (dt.date, dt.time)):
        return to_serial(value)
    if isinstance(value, str) and value in _XL_ERRORS:
        return SheetError(_XL_ERRORS[value], f"Excel error {value}")
    return str(value)


def spreadsheet_from_xlsx(path: str | Path, key: str | None = None, *,
                          locale: str = "en_US", time_zone: str = "Etc/GMT") -> Spreadsheet:
    """Every worksheet of an xlsx file as a sheet; the key defaults to the file stem."""
    import openpyxl

    path = Path(path)
    formulas = openpyxl.load_workbook(path, data_only=False)
    cached = openpyxl.load_workbook(path, data_only=True)
    loc = locale_for(locale)
    book = Spreadsheet(key or path.stem, path.stem, locale, time_zone)
    for i, ws in enumerate(formulas.worksheets):
        values_ws = cached[ws.title]
        props = {"sheetId": 0 if i == 0 else book.new_sheet_id(), "title": ws.title,
                 "index": i, "sheetType": "GRID",
                 "gridProperties": {"rowCount": max(DEFAULT_ROWS, ws.max_row),
                                    "columnCount": max(DEFAULT_COLS, ws.max_column)}}
        if ws.sheet_state != "visible":
            props["hidden"] = True
        sheet = book.add_sheet(props)
        for row, cached_row in zip(ws.iter_rows(), values_ws.iter_rows(values_only=True)):
            for cell, cached_value in zip(row, cached_row):
                seeded = _xlsx_cell(cell, cached_value, loc)
                if seeded is not None:
                    sheet.put(cell.row - 1, cell.column - 1, seeded)
                comment = getattr(cell, "comment", None)
                if comment is not None and comment.text:
                    old = sheet.cell(cell.row - 1, cell.column - 1) or Cell()
                    sheet.put(cell.row - 1, cell.column - 1, old.replace(note=comment.text))
    if all(s.props.get("hidden") for s in book.sheets):
        book.sheets[0].props.pop("hidden", None)
    return book
