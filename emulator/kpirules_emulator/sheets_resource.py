"""The Spreadsheet resource: ``spreadsheets.get`` (ranges, includeGridData, field masks)
and ``spreadsheets.create``.

With a field mask only what it selects is built: ``sheets(data(rowData(values(
effectiveValue))))`` over 50,000 rows builds just those values. As in Google, a mask that
reaches ``sheets.data`` brings grid data whatever includeGridData says, and ``ranges``
limits the answer to the sheets they name.
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from kpirules_emulator import sheets_fields as fields
from kpirules_emulator.sheets_errors import bad_request
from kpirules_emulator.sheets_model import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Spreadsheet, normalize
from kpirules_emulator.sheets_render import Renderer
from kpirules_emulator.sheets_schema import as_bool, schemas
from kpirules_emulator.sheets_values import read_bounds, resolve


def parse_fields(query: dict[str, list[str]], schema: str) -> dict | None:
    text = (query.get("fields") or [None])[-1]
    if not text:
        return None
    try:
        tree = fields.parse(text)
    except fields.MaskError:
        raise bad_request(f"Invalid field selection {text}") from None
    bad = fields.unknown_paths(tree, schema, schemas())
    if bad:
        message = (f"Error expanding 'fields' parameter. Cannot find matching fields for "
                   f"path '{bad[0]}'.")
        raise bad_request(message, [("fields", message)])
    return tree


def _sheet_resource(sheet: Sheet) -> dict:
    out: dict[str, Any] = {"properties": sheet.props}
    if sheet.merges:
        out["merges"] = sheet.merges
    if sheet.conditional:
        out["conditionalFormats"] = sheet.conditional
    if sheet.protected:
        out["protectedRanges"] = sheet.protected
    out.update(sheet.extra)
    return out


def spreadsheet_resource(book: Spreadsheet, query: dict[str, list[str]],
                         mask: dict | None) -> dict:
    ranges = query.get("ranges") or []
    sheets_mask = None if mask is None else mask.get("sheets", mask.get("*"))
    if mask is not None:
        want_data = "*" in mask or sheets_mask is True or (
            isinstance(sheets_mask, dict) and ("data" in sheets_mask or "*" in sheets_mask))
    else:
        want_data = as_bool((query.get("includeGridData") or [None])[-1])
    data_mask = None
    if isinstance(sheets_mask, dict) and isinstance(sheets_mask.get("data"), dict):
        data_mask = sheets_mask["data"]

    resolved = []
    for text in ranges:
        sheet, rng = resolve(book, text)
        resolved.append((sheet, read_bounds(sheet, rng)))
    renderer = Renderer(book) if want_data else None

    # Grid data is built already cut to the mask; the partial-response filter runs on it
    # only when the mask reaches inside cells (values(userEnteredFormat(bold))), since
    # filtering 300,000 cells again would double the cost of a big read.
    nested = data_mask is not None and _reaches_inside_cells(data_mask)
    outer_mask = None
    if mask is not None:
        outer_mask = dict(mask)
        if isinstance(sheets_mask, dict):
            outer_mask["sheets"] = {k: v for k, v in sheets_mask.items() if k != "data"}
    out_sheets, grids = [], []
    for sheet in book.sheets:
        mine = [b for s, b in resolved if s is sheet]
        if ranges and not mine:
            continue
        out_sheets.append(_sheet_resource(sheet))
        if want_data:
            bounds = mine or [(0, sheet.row_count, 0, sheet.col_count)]
            grid = [renderer.grid_data(sheet, r0, r1, c0, c1, data_mask)
                    for r0, r1, c0, c1 in bounds]
            grids.append(fields.filter_response(grid, data_mask) if nested else grid)
        else:
            grids.append(None)

    out: dict[str, Any] = {"spreadsheetId": book.id, "properties": book.props,
                           "sheets": out_sheets}
    if book.named_ranges:
        out["namedRanges"] = book.named_ranges
    out.update(book.extra)
    out["spreadsheetUrl"] = book.url()
    if outer_mask is not None:
        out = fields.filter_response(out, outer_mask)
    for res, grid in zip(out.get("sheets", []), grids):
        if grid is not None:
            res["data"] = grid
    return out


def _reaches_inside_cells(data_mask: dict) -> bool:
    row_data = data_mask.get("rowData")
    if not isinstance(row_data, dict):
        return False
    values = row_data.get("values")
    return isinstance(values, dict) and any(v is not True for v in values.values())


def new_spreadsheet_id() -> str:
    """44 characters from the alphabet Google's ids use."""
    alphabet = string.ascii_letters + string.digits + "-_"
    return "1" + "".join(secrets.choice(alphabet) for _ in range(43))


def create_spreadsheet(body: dict, key: str | None = None) -> Spreadsheet:
    """A new spreadsheet from a (possibly empty) Spreadsheet body; grid data in the body
    is written cell by cell."""
    from kpirules_emulator.sheets_batch import write_cell

    props = body.get("properties") or {}
    book = Spreadsheet(key or new_spreadsheet_id(), props.get("title") or
                       "Untitled spreadsheet", props.get("locale") or "en_US",
                       props.get("timeZone") or "Etc/GMT")
    for k, v in props.items():
        if k not in ("title", "locale", "timeZone"):
            book.props[k] = normalize(copy.deepcopy(v))
    for i, given in enumerate(body.get("sheets") or [{"properties": {}}]):
        sp = copy.deepcopy(given.get("properties") or {})
        grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS}
        grid.update(sp.pop("gridProperties", None) or {})
        sheet_props = {"sheetId": sp.pop("sheetId", 0 if i == 0 else book.new_sheet_id()),
                       "title": sp.pop("title", f"Sheet{i + 1}"), "index": i,
                       "sheetType": sp.pop("sheetType", "GRID"), "gridProperties": grid}
        sp.pop("index", None)
        sheet_props.update(sp)
        sheet = book.add_sheet(normalize(sheet_props))
        for data in given.get("data") or []:
            r0, c0 = data.get("startRow") or 0, data.get("startColumn") or 0
            for i_row, row in enumerate(data.get("rowData") or []):
                for j, cell in enumerate(row.get("values") or []):
                    write_cell(sheet, r0 + i_row, c0 + j, cell or {}, {"*": True})
    return book
