"""batchUpdate handlers that change a spreadsheet's structure: sheets (add, delete,
properties), the spreadsheet's properties, rows and columns (insert, append, delete,
sizes), conditional formats, protected ranges, named ranges, merges and basic filters.
Registered into ``sheets_batch.HANDLERS`` on import."""

from __future__ import annotations

import copy
from typing import Any

from kpirules_emulator import sheets_fields as fields
from kpirules_emulator.sheets_batch import RequestError, field_mask, grid_bounds, handler, sheet_by_id
from kpirules_emulator.sheets_model import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Spreadsheet, drop_defaults, normalize
from kpirules_emulator.sheets_refs import shift_references

# --- sheets -------------------------------------------------------------------------

def _check_title(book: Spreadsheet, title: str, own: Sheet | None = None) -> None:
    if not title or not title.strip():
        raise RequestError("Sheet title must not be empty.")
    for other in book.sheets:
        if other is not own and other.title.lower() == title.lower():
            raise RequestError(f'A sheet with the name "{title}" already exists. Please '
                               f"enter another name.")


def _check_grid(sheet: Sheet) -> None:
    grid = sheet.grid
    for key in ("rowCount", "columnCount"):
        if int(grid.get(key) or 0) < 1 and sheet.props.get("sheetType", "GRID") == "GRID":
            raise RequestError(f"Invalid gridProperties.{key}: it must be at least 1.")
    if int(grid.get("frozenRowCount") or 0) >= grid["rowCount"]:
        raise RequestError("You can't freeze all visible rows on the sheet.")
    if int(grid.get("frozenColumnCount") or 0) >= grid["columnCount"]:
        raise RequestError("You can't freeze all visible columns on the sheet.")


@handler("addSheet")
def add_sheet(book, req, ctx):
    given = copy.deepcopy(req.get("properties") or {})
    sheet_id = given.pop("sheetId", None)
    if sheet_id is not None:
        if book.by_id(int(sheet_id)) is not None:
            raise RequestError(f"Sheet with id {sheet_id} already exists.")
        if int(sheet_id) < 0:
            raise RequestError("Sheet id must be a non-negative number.")
    title = given.pop("title", None)
    if title is None:
        n = len(book.sheets) + 1
        while book.by_title(f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    _check_title(book, title)
    index = given.pop("index", None)
    grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS}
    grid.update(given.pop("gridProperties", None) or {})
    props = {"sheetId": int(sheet_id) if sheet_id is not None else book.new_sheet_id(),
             "title": title, "index": 0, "sheetType": given.pop("sheetType", None) or "GRID",
             "gridProperties": grid}
    props.update(given)
    props = drop_defaults(normalize(props))
    sheet = book.add_sheet(props, None if index is None else int(index))
    _check_grid(sheet)
    if props.get("hidden") and all(s.props.get("hidden") for s in book.sheets):
        raise RequestError("You can't hide all the sheets in a document.")
    return {"addSheet": {"properties": copy.deepcopy(sheet.props)}}


@handler("deleteSheet")
def delete_sheet(book, req, ctx):
    sheet_id = int(req.get("sheetId") or 0)
    sheet = book.by_id(sheet_id)
    if sheet is None:
        raise RequestError(f"No sheet with id: {sheet_id}")
    if len(book.sheets) == 1:
        raise RequestError("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    if all(s.props.get("hidden") for s in book.sheets):
        raise RequestError("You can't remove all the visible sheets in a document.")
    book.reindex()


@handler("updateSheetProperties")
def update_sheet_properties(book, req, ctx):
    mask = field_mask(req.get("fields"), "SheetProperties")
    source = normalize(req.get("properties") or {})
    sheet = book.by_id(int(source.get("sheetId") or 0))
    if sheet is None:
        raise RequestError(f"No grid with id: {int(source.get('sheetId') or 0)}")
    old_index = sheet.props.get("index", 0)
    mask.pop("sheetId", None)
    props = fields.apply_update(copy.deepcopy(sheet.props), source, mask)
    props["sheetId"] = sheet.sheet_id
    props.setdefault("sheetType", "GRID")
    props.setdefault("title", sheet.title)
    grid = props.setdefault("gridProperties", {})
    grid.setdefault("rowCount", sheet.row_count)
    grid.setdefault("columnCount", sheet.col_count)
    _check_title(book, props["title"], own=sheet)
    sheet.props = drop_defaults(normalize(props))
    _check_grid(sheet)
    if all(s.props.get("hidden") for s in book.sheets):
        raise RequestError("You can't hide all the sheets in a document.")
    sheet.crop()
    new_index = sheet.props.get("index", old_index)
    if new_index != old_index:
        book.sheets.remove(sheet)
        # Google's index counts positions before the move, as in a drag and drop.
        target = int(new_index) - (1 if int(new_index) > old_index else 0)
        book.sheets.insert(max(0, min(target, len(book.sheets))), sheet)
    book.reindex()


@handler("updateSpreadsheetProperties")
def update_spreadsheet_properties(book, req, ctx):
    mask = field_mask(req.get("fields"), "SpreadsheetProperties")
    props = fields.apply_update(copy.deepcopy(book.props),
                                normalize(req.get("properties") or {}), mask)
    if not props.get("title"):
        raise RequestError("Spreadsheet title must not be empty.")
    book.props = normalize(props)


# --- dimensions ---------------------------------------------------------------------

def _dimension_range(book: Spreadsheet, rng: dict | None) -> tuple[Sheet, str, int, int]:
    rng = rng or {}
    sheet = sheet_by_id(book, rng.get("sheetId"))
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise RequestError("A dimension (ROWS or COLUMNS) must be specified.")
    size = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start = int(rng.get("startIndex") or 0)
    end = size if rng.get("endIndex") is None else int(rng["endIndex"])
    if start < 0 or end < start:
        raise RequestError("Invalid dimension range: startIndex must be less than or "
                           "equal to endIndex.")
    return sheet, dimension, start, end


@handler("insertDimension")
def insert_dimension(book, req, ctx):
    sheet, dimension, start, end = _dimension_range(book, req.get("range"))
    size = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if start > size:
        raise RequestError(f"Cannot insert at index {start}: the sheet has only {size} "
                           f"{dimension.lower()}.")
    if req.get("inheritFromBefore") and start == 0:
        raise RequestError("Cannot inherit properties from before when inserting at index 0.")
    if end > start:
        sheet.insert(dimension, start, end - start, bool(req.get("inheritFromBefore")))
        shift_references(book, sheet, dimension, start, end - start)


@handler("appendDimension")
def append_dimension(book, req, ctx):
    sheet = sheet_by_id(book, req.get("sheetId"))
    length = int(req.get("length") or 0)
    if length < 1:
        raise RequestError("length must be at least 1.")
    if req.get("dimension") == "ROWS":
        sheet.grid["rowCount"] = sheet.row_count + length
    elif req.get("dimension") == "COLUMNS":
        sheet.grid["columnCount"] = sheet.col_count + length
    else:
        raise RequestError("A dimension (ROWS or COLUMNS) must be specified.")


@handler("deleteDimension")
def delete_dimension(book, req, ctx):
    sheet, dimension, start, end = _dimension_range(book, req.get("range"))
    size = sheet.row_count if dimension == "ROWS" else sheet.col_count
    end = min(end, size)
    if start == 0 and end >= size:
        raise RequestError(f"You can't delete all the {dimension.lower()} on the sheet.")
    if end > start:
        sheet.delete(dimension, start, end)
        shift_references(book, sheet, dimension, start, start - end)


@handler("updateDimensionProperties")
def update_dimension_properties(book, req, ctx):
    mask = field_mask(req.get("fields"), "DimensionProperties")
    sheet, dimension, start, end = _dimension_range(book, req.get("range"))
    size = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if end > size:
        raise RequestError(f"Dimension range ends at {end} but the sheet has only {size} "
                           f"{dimension.lower()}.")
    meta = sheet.row_meta if dimension == "ROWS" else sheet.col_meta
    source = req.get("properties") or {}
    for i in range(start, end):
        updated = fields.apply_update(copy.deepcopy(meta.get(i, {})), source, mask)
        if updated:
            meta[i] = updated
        else:
            meta.pop(i, None)


@handler("autoResizeDimensions")
def auto_resize_dimensions(book, req, ctx):
    """Accepted and checked; there are no pixels to measure in an emulator."""
    _dimension_range(book, req.get("dimensions"))


# --- rules, protection, names, merges -----------------------------------------------

def _rule_sheet(book: Spreadsheet, rule: dict) -> Sheet:
    ranges = rule.get("ranges") or []
    if not ranges:
        raise RequestError("Conditional format rule must have at least one range.")
    sheets = {grid_bounds(book, r)[0].sheet_id for r in ranges}
    if len(sheets) != 1:
        raise RequestError("All ranges of a conditional format rule must be on one sheet.")
    if ("booleanRule" in rule) == ("gradientRule" in rule):
        raise RequestError("Conditional format rule must have exactly one of booleanRule or "
                           "gradientRule.")
    return book.by_id(sheets.pop())


@handler("addConditionalFormatRule")
def add_conditional_format_rule(book, req, ctx):
    rule = normalize(req.get("rule") or {})
    sheet = _rule_sheet(book, rule)
    index = int(req.get("index") or 0)
    if index > len(sheet.conditional):
        raise RequestError(f"Invalid index {index}: the sheet has {len(sheet.conditional)} "
                           f"conditional format rules.")
    sheet.conditional.insert(index, rule)


@handler("updateConditionalFormatRule")
def update_conditional_format_rule(book, req, ctx):
    sheet = sheet_by_id(book, req.get("sheetId"))
    index = int(req.get("index") or 0)
    if index >= len(sheet.conditional):
        raise RequestError(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    if req.get("rule") is not None:
        rule = normalize(req["rule"])
        _rule_sheet(book, rule)
        sheet.conditional[index] = rule
    elif req.get("newIndex") is not None:
        rule = sheet.conditional.pop(index)
        sheet.conditional.insert(int(req["newIndex"]), rule)


@handler("deleteConditionalFormatRule")
def delete_conditional_format_rule(book, req, ctx):
    sheet = sheet_by_id(book, req.get("sheetId"))
    index = int(req.get("index") or 0)
    if index >= len(sheet.conditional):
        raise RequestError(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    return {"deleteConditionalFormatRule": {"rule": sheet.conditional.pop(index)}}


@handler("addProtectedRange")
def add_protected_range(book, req, ctx):
    given = copy.deepcopy(req.get("protectedRange") or {})
    if not given.get("range") and not given.get("namedRangeId"):
        raise RequestError("A protected range must have a range or a named range.")
    sheet = grid_bounds(book, given["range"])[0] if given.get("range") else book.sheets[0]
    used = {p["protectedRangeId"] for s in book.sheets for p in s.protected}
    pid = given.pop("protectedRangeId", None)
    if pid is None:
        pid = book.rng.randrange(1, 2 ** 31 - 1)
    elif pid in used:
        raise RequestError(f"A protected range with ID {pid} already exists.")
    stored: dict[str, Any] = {"protectedRangeId": pid}
    for key in ("range", "namedRangeId", "description", "warningOnly", "unprotectedRanges"):
        if given.get(key) not in (None, "", False):
            stored[key] = given[key]
    stored["requestingUserCanEdit"] = True
    if not given.get("warningOnly"):
        editors = given.get("editors") or {}
        users = list(editors.get("users") or [])
        if ctx.account and ctx.account not in users:
            users.insert(0, ctx.account)
        stored["editors"] = {**editors, **({"users": users} if users else {})}
    sheet.protected.append(stored)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(stored)}}


@handler("deleteProtectedRange")
def delete_protected_range(book, req, ctx):
    pid = req.get("protectedRangeId")
    for sheet in book.sheets:
        for p in sheet.protected:
            if p["protectedRangeId"] == pid:
                sheet.protected.remove(p)
                return None
    raise RequestError(f"No protected range with id: {pid}")


@handler("addNamedRange")
def add_named_range(book, req, ctx):
    named = copy.deepcopy(req.get("namedRange") or {})
    name = named.get("name") or ""
    if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
        raise RequestError(f"Invalid name: '{name}'.")
    if any(n["name"].lower() == name.lower() for n in book.named_ranges):
        raise RequestError(f"Named range with name {name} already exists.")
    grid_bounds(book, named.get("range"))
    named.setdefault("namedRangeId", f"{book.rng.getrandbits(48):x}")
    book.named_ranges.append(named)
    return {"addNamedRange": {"namedRange": copy.deepcopy(named)}}


@handler("deleteNamedRange")
def delete_named_range(book, req, ctx):
    before = len(book.named_ranges)
    book.named_ranges[:] = [n for n in book.named_ranges
                            if n.get("namedRangeId") != req.get("namedRangeId")]
    if len(book.named_ranges) == before:
        raise RequestError(f"No named range with id: {req.get('namedRangeId')}")


@handler("mergeCells")
def merge_cells(book, req, ctx):
    sheet, r0, r1, c0, c1 = grid_bounds(book, req.get("range"))
    kind = req.get("mergeType") or "MERGE_ALL"
    if kind == "MERGE_ALL":
        pieces = [(r0, r1, c0, c1)]
    elif kind == "MERGE_ROWS":
        pieces = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    else:
        pieces = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    for pr0, pr1, pc0, pc1 in pieces:
        for m in sheet.merges:
            if m["startRowIndex"] < pr1 and pr0 < m["endRowIndex"] and \
                    m["startColumnIndex"] < pc1 and pc0 < m["endColumnIndex"]:
                raise RequestError("You can't merge cells that overlap an existing merge.")
        sheet.merges.append({"sheetId": sheet.sheet_id, "startRowIndex": pr0,
                             "endRowIndex": pr1, "startColumnIndex": pc0,
                             "endColumnIndex": pc1})


@handler("unmergeCells")
def unmerge_cells(book, req, ctx):
    sheet, r0, r1, c0, c1 = grid_bounds(book, req.get("range"))
    sheet.merges[:] = [m for m in sheet.merges if not (
        m["startRowIndex"] < r1 and r0 < m["endRowIndex"] and
        m["startColumnIndex"] < c1 and c0 < m["endColumnIndex"])]


@handler("setBasicFilter")
def set_basic_filter(book, req, ctx):
    flt = copy.deepcopy(req.get("filter") or {})
    sheet = grid_bounds(book, flt.get("range"))[0]
    sheet.extra["basicFilter"] = normalize(flt)


@handler("clearBasicFilter")
def clear_basic_filter(book, req, ctx):
    sheet_by_id(book, req.get("sheetId")).extra.pop("basicFilter", None)
