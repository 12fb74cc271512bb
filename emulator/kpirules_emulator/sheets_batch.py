"""``spreadsheets.batchUpdate``: one handler per request kind, run against a clone of the
spreadsheet; the caller swaps the clone in only when every request succeeded, so one bad
request applies none (Google's all-or-nothing).

This module holds the dispatcher, the shared helpers (GridRanges, field masks) and the
cell writers (updateCells, repeatCell, appendCells, setDataValidation);
``sheets_batch_sheets`` the structural kinds.

Errors read like Google's: ``Invalid requests[0].updateSheetProperties: You can't hide
all the sheets in a document.``
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from kpirules_emulator import sheets_a1 as a1
from kpirules_emulator import sheets_fields as fields
from kpirules_emulator.sheets_errors import bad_request
from kpirules_emulator.sheets_model import (
    CELL_LIMIT,
    Cell,
    Formula,
    Sheet,
    Spreadsheet,
    extended_value,
    from_extended_value,
    normalize,
)
from kpirules_emulator.sheets_schema import schemas


class RequestError(Exception):
    """A request-level problem; becomes ``Invalid requests[i].kind: message``."""


Handler = Callable[[Spreadsheet, dict, "Context"], "dict | None"]
HANDLERS: dict[str, Handler] = {}


class Context:
    def __init__(self, account: str | None):
        self.account = account


def handler(kind: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn
    return register


def apply_batch(book: Spreadsheet, body: dict, account: str | None) -> list[dict]:
    """Run every request against ``book`` (a clone the caller owns); the replies."""
    requests = body.get("requests") or []
    if not requests:
        raise bad_request("Must specify at least one request.")
    ctx = Context(account)
    replies = []
    for i, request in enumerate(requests):
        kinds = [k for k, v in (request or {}).items() if v is not None]
        if len(kinds) != 1:
            raise bad_request(f"Invalid requests[{i}]: exactly one kind of request must be "
                              f"set, got {len(kinds)}.")
        kind = kinds[0]
        fn = HANDLERS.get(kind)
        if fn is None:
            raise bad_request(f"Invalid requests[{i}].{kind}: this request kind is not "
                              f"emulated by the kpirules Sheets emulator.")
        try:
            reply = fn(book, request[kind], ctx)
        except RequestError as err:
            raise bad_request(f"Invalid requests[{i}].{kind}: {err}") from None
        replies.append(reply or {})
        if book.cell_total() > CELL_LIMIT:
            raise bad_request(f"Invalid requests[{i}].{kind}: This action would increase the "
                              f"number of cells in the workbook above the limit of "
                              f"{CELL_LIMIT} cells.")
    return replies


# --- helpers ------------------------------------------------------------------------

_TWINS = {"backgroundColor": "backgroundColorStyle", "foregroundColor": "foregroundColorStyle",
          "color": "colorStyle", "tabColor": "tabColorStyle"}
_TWINS.update({v: k for k, v in list(_TWINS.items())})


def field_mask(text: str | None, schema: str | None = None) -> dict:
    if not text:
        raise RequestError("At least one field must be specified in 'fields'.")
    try:
        tree = fields.parse(text)
    except fields.MaskError:
        raise RequestError(f"Invalid field mask: {text}") from None
    if schema:
        bad = fields.unknown_paths(tree, schema, schemas())
        if bad:
            raise RequestError(f"Invalid field mask path: '{bad[0]}'")
    return _with_twins(tree)


def _with_twins(tree: dict) -> dict:
    """A color and its *Style twin are one setting: masking one updates both."""
    out = {}
    for name, sub in tree.items():
        out[name] = sub if sub is True else _with_twins(sub)
        if name in _TWINS and _TWINS[name] not in tree:
            out[_TWINS[name]] = True
    return out


def sheet_by_id(book: Spreadsheet, sheet_id: int | None) -> Sheet:
    sheet = book.by_id(int(sheet_id or 0))
    if sheet is None:
        raise RequestError(f"No grid with id: {int(sheet_id or 0)}")
    return sheet


def grid_bounds(book: Spreadsheet, rng: dict | None) -> tuple[Sheet, int, int, int, int]:
    """A GridRange -> (sheet, r0, r1, c0, c1), open ends at the grid edge."""
    rng = rng or {}
    sheet = sheet_by_id(book, rng.get("sheetId"))
    r0 = int(rng.get("startRowIndex") or 0)
    c0 = int(rng.get("startColumnIndex") or 0)
    r1 = sheet.row_count if rng.get("endRowIndex") is None else int(rng["endRowIndex"])
    c1 = sheet.col_count if rng.get("endColumnIndex") is None else int(rng["endColumnIndex"])
    if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
        raise RequestError("Invalid range: start index must be less than or equal to end "
                           "index and not negative.")
    if r1 > sheet.row_count or c1 > sheet.col_count:
        raise RequestError(f"Range ({a1.format_range(sheet.title, r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))}"
                           f") exceeds grid limits. Max rows: {sheet.row_count}, max "
                           f"columns: {sheet.col_count}")
    return sheet, r0, r1, c0, c1


_READ_ONLY_CELL = {"effectiveValue", "formattedValue", "effectiveFormat", "hyperlink",
                   "dataSourceFormula"}


def _cell_dict(cell: Cell | None) -> dict:
    if cell is None:
        return {}
    out: dict[str, Any] = {}
    if cell.value is not None:
        out["userEnteredValue"] = extended_value(cell.value)
    if cell.fmt:
        out["userEnteredFormat"] = cell.fmt
    if cell.note:
        out["note"] = cell.note
    if cell.dv:
        out["dataValidation"] = cell.dv
    if cell.extra:
        out.update(cell.extra)
    return out


def _from_dict(data: dict, old: Cell | None) -> Cell | None:
    value = from_extended_value(data.get("userEnteredValue"))
    fmt = normalize(data["userEnteredFormat"]) if data.get("userEnteredFormat") else None
    extra = {k: v for k, v in data.items() if k not in
             ("userEnteredValue", "userEnteredFormat", "note", "dataValidation")}
    keep_cache = old is not None and old.value == value and isinstance(value, Formula)
    cell = Cell(value, fmt or None, data.get("note") or None,
                data.get("dataValidation") or None, extra or None,
                old.cached if keep_cache else None)
    return None if cell.empty() else cell


def write_cell(sheet: Sheet, r: int, c: int, source: dict, mask: dict) -> None:
    source = {k: v for k, v in source.items() if k not in _READ_ONLY_CELL}
    if source.get("userEnteredFormat"):
        source["userEnteredFormat"] = normalize(source["userEnteredFormat"])
    old = sheet.cell(r, c)
    data = fields.apply_update(_cell_dict(old), source, mask)
    sheet.put(r, c, _from_dict(data, old))


def _cell_mask(text: str | None) -> dict:
    mask = field_mask(text, "CellData")
    return {k: v for k, v in mask.items() if k not in _READ_ONLY_CELL}


# --- cells --------------------------------------------------------------------------

@handler("updateCells")
def update_cells(book, req, ctx):
    mask = _cell_mask(req.get("fields"))
    rows = req.get("rows") or []
    if req.get("range") is not None:
        sheet, r0, r1, c0, c1 = grid_bounds(book, req["range"])
        clear_rest = True
    else:
        start = req.get("start") or {}
        sheet = sheet_by_id(book, start.get("sheetId"))
        r0, c0 = int(start.get("rowIndex") or 0), int(start.get("columnIndex") or 0)
        r1 = r0 + len(rows)
        c1 = c0 + max((len(row.get("values") or []) for row in rows), default=0)
        if r1 > sheet.row_count or c1 > sheet.col_count:
            raise RequestError(f"Range ({a1.format_range(sheet.title, r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))}) "
                               f"exceeds grid limits. Max rows: {sheet.row_count}, max "
                               f"columns: {sheet.col_count}")
        clear_rest = False
    for i, r in enumerate(range(r0, r1)):
        values = (rows[i].get("values") or []) if i < len(rows) else []
        if i >= len(rows) and not clear_rest:
            break
        for j, c in enumerate(range(c0, c1)):
            if j < len(values):
                write_cell(sheet, r, c, values[j] or {}, mask)
            elif clear_rest:
                write_cell(sheet, r, c, {}, mask)  # uncovered cells: masked fields cleared


@handler("repeatCell")
def repeat_cell(book, req, ctx):
    mask = _cell_mask(req.get("fields"))
    sheet, r0, r1, c0, c1 = grid_bounds(book, req.get("range"))
    cell = req.get("cell") or {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            write_cell(sheet, r, c, cell, mask)


@handler("appendCells")
def append_cells(book, req, ctx):
    mask = _cell_mask(req.get("fields"))
    sheet = sheet_by_id(book, req.get("sheetId"))
    rows = req.get("rows") or []
    start = len(sheet.rows)  # after the last row with data
    width = max((len(row.get("values") or []) for row in rows), default=0)
    if width > sheet.col_count:
        raise RequestError(f"Range ({a1.format_range(sheet.title, start, start + 1, 0, width)})"
                           f" exceeds grid limits. Max rows: {sheet.row_count}, max "
                           f"columns: {sheet.col_count}")
    if start + len(rows) > sheet.row_count:
        sheet.grid["rowCount"] = start + len(rows)
    for i, row in enumerate(rows):
        for j, value in enumerate(row.get("values") or []):
            write_cell(sheet, start + i, j, value or {}, mask)


@handler("setDataValidation")
def set_data_validation(book, req, ctx):
    sheet, r0, r1, c0, c1 = grid_bounds(book, req.get("range"))
    rule = req.get("rule")
    if rule is not None and not (rule.get("condition") or {}).get("type"):
        raise RequestError("Invalid DataValidationRule: a condition type is required.")
    rule = normalize(rule) if rule else None
    for r in range(r0, r1):
        for c in range(c0, c1):
            old = sheet.cell(r, c)
            sheet.put(r, c, (old or Cell()).replace(dv=copy.deepcopy(rule)))


def supported_kinds() -> list[str]:
    return sorted(HANDLERS)


# The handlers for sheets, dimensions, rules, protection, names and merges live in their
# own module; importing it registers them.
from kpirules_emulator import sheets_batch_sheets  # noqa: E402,F401
