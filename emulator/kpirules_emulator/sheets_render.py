"""Reading state out as the API answers it: effective values (formulas evaluated once per
answer), formatted values in the spreadsheet locale, ``values`` arrays with trailing
empties dropped, and CellData / GridData objects built only for the fields asked for
(so a 50,000-row ``spreadsheets.get`` with a narrow field mask stays cheap)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

from kpirules_emulator.sheets_format import DATE_TYPES, SheetError, format_value, locale_for, num_out
from kpirules_emulator.sheets_formula import Evaluator
from kpirules_emulator.sheets_model import COL_PIXELS, ROW_PIXELS, Cell, Formula, Sheet, Spreadsheet, extended_value

CIRCULAR = SheetError("REF", "Circular dependency detected. To resolve with iterative "
                             "calculation, see File > Settings.")

CELL_FIELDS = ("userEnteredValue", "effectiveValue", "formattedValue", "userEnteredFormat",
               "effectiveFormat", "note", "dataValidation")


def _now_in(zone: str) -> dt.datetime:
    try:
        from zoneinfo import ZoneInfo
        return dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    except Exception:  # unknown zone name: Sheets would have refused it; use UTC
        return dt.datetime.utcnow()


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else copy.deepcopy(v)
    return out


class Renderer:
    """Effective and formatted values of one spreadsheet for the duration of one answer."""

    def __init__(self, book: Spreadsheet):
        self.book = book
        self.loc = locale_for(book.props.get("locale"))
        self._cache: dict[tuple[int, int, int], Any] = {}
        self._active: set[tuple[int, int, int]] = set()
        self._stack: list[Sheet] = []
        self._now: dt.datetime | None = None
        self._eff_formats: dict[int, dict] = {}

    # --- effective values (and the evaluator's Context) ---
    def effective(self, sheet: Sheet, r: int, c: int, cell: Cell | None = None):
        if cell is None:
            cell = sheet.cell(r, c)
            if cell is None:
                return None
        value = cell.value
        if not isinstance(value, Formula):
            return value
        key = (sheet.sheet_id, r, c)
        if key in self._cache:
            return self._cache[key]
        if key in self._active:
            return CIRCULAR
        self._active.add(key)
        self._stack.append(sheet)
        try:
            result = Evaluator(self).run(value.text)
        finally:
            self._active.discard(key)
            self._stack.pop()
        if isinstance(result, SheetError) and result.type == "NAME" and \
                cell.cached is not None:
            result = cell.cached  # a function we do not emulate: trust Excel's value
        self._cache[key] = result
        return result

    def _sheet(self, title: str | None) -> Sheet | None:
        return self._stack[-1] if title is None else self.book.by_title(title)

    def cell(self, title, r, c):
        sheet = self._sheet(title)
        if sheet is None:
            return SheetError("REF", f"Unresolved sheet name '{title}'.")
        return self.effective(sheet, r, c)

    def grid(self, title, r0, r1, c0, c1):
        sheet = self._sheet(title)
        if sheet is None:
            return [[SheetError("REF", f"Unresolved sheet name '{title}'.")]]
        r0 = r0 or 0
        r1 = min(len(sheet.rows), sheet.row_count if r1 is None else r1)
        return [[self.effective(sheet, r, c) for c in range(c0, min(c1, len(sheet.rows[r])))]
                for r in range(r0, r1)]

    def now(self) -> dt.datetime:
        if self._now is None:
            self._now = _now_in(self.book.props.get("timeZone", "Etc/GMT"))
        return self._now

    # --- single values ---
    @staticmethod
    def number_format(cell: Cell | None) -> dict | None:
        return cell.fmt.get("numberFormat") if cell is not None and cell.fmt else None

    def formatted(self, eff, cell: Cell | None) -> str:
        return format_value(eff, self.number_format(cell), self.loc)

    def value_for(self, sheet: Sheet, r: int, c: int, cell: Cell | None, render: str,
                  dt_render: str):
        """One entry of a ValueRange; None for an empty cell."""
        if cell is None:
            return None
        if render == "FORMULA" and isinstance(cell.value, Formula):
            return cell.value.text
        eff = self.effective(sheet, r, c, cell)
        if eff is None or eff == "":
            return None
        if render == "FORMATTED_VALUE":
            return self.formatted(eff, cell)
        if isinstance(eff, bool) or isinstance(eff, str):
            return eff
        if isinstance(eff, SheetError):
            return eff.text
        nf = self.number_format(cell)
        if dt_render == "FORMATTED_STRING" and nf and nf.get("type") in DATE_TYPES:
            return format_value(eff, nf, self.loc)
        return num_out(eff)

    def values(self, sheet: Sheet, r0: int, r1: int, c0: int, c1: int, render: str,
               dt_render: str, major: str = "ROWS") -> list[list]:
        """The ``values`` of a ValueRange: empty cells as "", trailing empties and empty
        trailing rows (or columns, for COLUMNS) left out, as Google does."""
        grid: list[list] = []
        for r in range(r0, min(r1, len(sheet.rows))):
            row = sheet.rows[r]
            grid.append([self.value_for(sheet, r, c, row[c], render, dt_render)
                         for c in range(c0, min(c1, len(row)))])
        if major == "COLUMNS":
            width = max((len(row) for row in grid), default=0)
            grid = [[row[c] if c < len(row) else None for row in grid] for c in range(width)]
        out: list[list] = []
        for row in grid:
            while row and row[-1] is None:
                row.pop()
            out.append(["" if v is None else v for v in row])
        while out and not out[-1]:
            out.pop()
        return out

    # --- CellData / GridData ---
    def effective_format(self, cell: Cell) -> dict:
        key = id(cell.fmt) if cell.fmt else 0
        if key not in self._eff_formats:
            base = dict(self.book.props.get("defaultFormat") or {})
            base = _merge(base, cell.fmt) if cell.fmt else base
            base["hyperlinkDisplayType"] = "PLAIN_TEXT"
            self._eff_formats[key] = base
        return self._eff_formats[key]

    def cell_data(self, sheet: Sheet, r: int, c: int, cell: Cell | None,
                  want: set[str] | None = None) -> dict:
        """CellData for one cell; ``want`` limits it to those top-level fields."""
        if cell is None:
            return {}
        return self._cell(sheet, r, c, cell, _plan(want))

    def _cell(self, sheet: Sheet, r: int, c: int, cell: Cell, plan: tuple) -> dict:
        uev, eff_v, fmt_v, uef, ef, note, dv, want = plan
        out: dict[str, Any] = {}
        value = cell.value
        if value is not None:
            if uev:
                out["userEnteredValue"] = extended_value(value)
            if eff_v or fmt_v:
                eff = self.effective(sheet, r, c, cell) if type(value) is Formula else value
                if eff is not None and eff != "":
                    if eff_v:
                        out["effectiveValue"] = extended_value(eff)
                    if fmt_v:
                        nf = cell.fmt.get("numberFormat") if cell.fmt else None
                        out["formattedValue"] = format_value(eff, nf, self.loc)
        if cell.fmt and uef:
            out["userEnteredFormat"] = cell.fmt
        if ef and (value is not None or cell.fmt):
            out["effectiveFormat"] = self.effective_format(cell)
        if note and cell.note:
            out["note"] = cell.note
        if dv and cell.dv:
            out["dataValidation"] = cell.dv
        if cell.extra:
            for k, v in cell.extra.items():
                if want is None or k in want:
                    out[k] = v
        return out

    def grid_data(self, sheet: Sheet, r0: int, r1: int, c0: int, c1: int,
                  mask: dict | None) -> dict:
        """A GridData for rows r0..r1, columns c0..c1 (clamped to the grid). ``mask`` is
        the parsed field mask below ``data`` (None: everything)."""
        r1, c1 = min(r1, sheet.row_count), min(c1, sheet.col_count)
        out: dict[str, Any] = {}

        def wanted(name: str):
            if mask is None:
                return True, None
            if name not in mask and "*" not in mask:
                return False, None
            sub = mask.get(name, True)
            return True, (None if sub is True else sub)

        if r0 and wanted("startRow")[0]:
            out["startRow"] = r0
        if c0 and wanted("startColumn")[0]:
            out["startColumn"] = c0
        take, sub = wanted("rowData")
        if take:
            cell_mask = None
            if sub is not None:
                vals = sub.get("values", sub.get("*"))
                cell_mask = None if vals in (None, True) else vals
                if "values" not in sub and "*" not in sub:
                    cell_mask = {}
            plan = _plan(None if cell_mask is None else (
                None if "*" in cell_mask else set(cell_mask)))
            rows = []
            make = self._cell
            for r in range(r0, min(r1, len(sheet.rows))):
                row = sheet.rows[r]
                cells = [{} if row[c] is None else make(sheet, r, c, row[c], plan)
                         for c in range(c0, min(c1, len(row)))]
                while cells and not cells[-1]:
                    cells.pop()
                rows.append({"values": cells} if cells else {})
            while rows and not rows[-1]:
                rows.pop()
            if rows:
                out["rowData"] = rows
        if wanted("rowMetadata")[0]:
            out["rowMetadata"] = [_dimension(sheet.row_meta.get(i), ROW_PIXELS)
                                  for i in range(r0, r1)]
        if wanted("columnMetadata")[0]:
            out["columnMetadata"] = [_dimension(sheet.col_meta.get(i), COL_PIXELS)
                                     for i in range(c0, c1)]
        return out


def _plan(want: set[str] | None) -> tuple:
    """Which CellData fields to build, decided once per answer rather than per cell."""
    if want is None:
        return (True,) * 7 + (None,)
    return tuple(name in want for name in CELL_FIELDS) + (frozenset(want),)


def _dimension(meta: dict | None, pixels: int) -> dict:
    if not meta:
        return {"pixelSize": pixels}
    out = {"pixelSize": pixels}
    out.update(meta)
    return out


def state_dict(book: Spreadsheet) -> dict:
    """Everything stored for a spreadsheet, in a canonical shape (for snapshots)."""
    def cell_state(cell: Cell) -> dict:
        v = cell.value
        return {"value": extended_value(v), "format": cell.fmt, "note": cell.note,
                "dataValidation": cell.dv, "extra": cell.extra}

    return {
        "spreadsheetId": book.id, "properties": book.props,
        "namedRanges": book.named_ranges, "extra": book.extra,
        "sharedWith": None if book.shared_with is None else sorted(book.shared_with),
        "readers": sorted(book.readers),
        "sheets": [{
            "properties": s.props,
            "cells": [[r, c, cell_state(cell)] for r, c, cell in s.iter_cells()],
            "rowMetadata": {str(k): v for k, v in sorted(s.row_meta.items())},
            "columnMetadata": {str(k): v for k, v in sorted(s.col_meta.items())},
            "conditionalFormats": s.conditional, "protectedRanges": s.protected,
            "merges": s.merges, "extra": s.extra} for s in book.sheets]}


def snapshot_bytes(book: Spreadsheet) -> bytes:
    return json.dumps(state_dict(book), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()
