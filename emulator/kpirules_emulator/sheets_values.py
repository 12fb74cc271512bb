"""``spreadsheets.values.*``: get, batchGet, update, batchUpdate, append, clear,
batchClear, on a Spreadsheet (the caller handles locking and all-or-nothing commits).

Shapes follow the recorded traffic: ranges answered in normalised A1 (``Sheet1!A1:D4``
for ``'Sheet1'``, ``Sheet1!A1:Z1`` for ``A1:1``), trailing empty cells and rows left out,
RAW storing text as text, USER_ENTERED parsing formulas, numbers and dates like a user
typing them, ``""`` clearing a cell and ``null`` leaving it alone.
"""

from __future__ import annotations

import json
from typing import Any

from kpirules_emulator import sheets_a1 as a1
from kpirules_emulator.sheets_errors import ApiError, bad_request, unable_to_parse
from kpirules_emulator.sheets_format import locale_for, parse_user_entered
from kpirules_emulator.sheets_model import Cell, Formula, Sheet, Spreadsheet
from kpirules_emulator.sheets_render import Renderer

RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")


def resolve(book: Spreadsheet, text: str) -> tuple[Sheet, a1.A1Range]:
    """A range string -> (sheet, parsed range); ``Unable to parse range`` otherwise."""
    named = next((n for n in book.named_ranges if n.get("name") == text), None)
    if named is not None:
        g = named.get("range", {})
        sheet = book.by_id(g.get("sheetId", 0))
        if sheet is not None:
            return sheet, a1.A1Range(sheet.title, g.get("startRowIndex"),
                                     g.get("endRowIndex"), g.get("startColumnIndex"),
                                     g.get("endColumnIndex"))
    try:
        rng = a1.parse(text, book.titles())
    except a1.A1Error:
        raise unable_to_parse(text) from None
    sheet = book.by_title(rng.sheet) if rng.sheet is not None else book.first_visible()
    return sheet, rng


def exceeds(sheet: Sheet, shown: str) -> ApiError:
    return bad_request(f"Range ({shown}) exceeds grid limits. Max rows: {sheet.row_count}, "
                       f"max columns: {sheet.col_count}")


def read_bounds(sheet: Sheet, rng: a1.A1Range) -> tuple[int, int, int, int]:
    """Bounds of a range being read: open ends and overhangs clipped to the grid, but a
    range that starts outside the grid is an error, as in Google."""
    r0, r1, c0, c1 = rng.bounds(sheet.row_count, sheet.col_count)
    if r0 >= sheet.row_count or c0 >= sheet.col_count:
        raise exceeds(sheet, a1.format_requested(sheet.title, rng))
    return r0, min(r1, sheet.row_count), c0, min(c1, sheet.col_count)


def _options(query: dict[str, list[str]], name: str, default: str) -> str:
    value = (query.get(name) or [default])[-1]
    return default if value in ("", "DIMENSION_UNSPECIFIED") else value


def value_range(book: Spreadsheet, renderer: Renderer, text: str, render: str,
                dt_render: str, major: str) -> dict:
    sheet, rng = resolve(book, text)
    r0, r1, c0, c1 = read_bounds(sheet, rng)
    out: dict[str, Any] = {"range": a1.format_range(sheet.title, r0, r1, c0, c1),
                           "majorDimension": major}
    values = renderer.values(sheet, r0, r1, c0, c1, render, dt_render, major)
    if values:
        out["values"] = values
    return out


def values_get(book: Spreadsheet, rng: str, query: dict) -> dict:
    return value_range(book, Renderer(book), rng,
                       _options(query, "valueRenderOption", "FORMATTED_VALUE"),
                       _options(query, "dateTimeRenderOption", "SERIAL_NUMBER"),
                       _options(query, "majorDimension", "ROWS"))


def values_batch_get(book: Spreadsheet, query: dict) -> dict:
    renderer = Renderer(book)
    out: dict[str, Any] = {"spreadsheetId": book.id}
    ranges = query.get("ranges") or []
    if ranges:
        out["valueRanges"] = [
            value_range(book, renderer, text,
                        _options(query, "valueRenderOption", "FORMATTED_VALUE"),
                        _options(query, "dateTimeRenderOption", "SERIAL_NUMBER"),
                        _options(query, "majorDimension", "ROWS")) for text in ranges]
    return out


# --- writing ------------------------------------------------------------------------

def _proto_text(value: Any, indent: int = 0) -> str:
    """A JSON value the way Google prints a rejected google.protobuf.Value."""
    pad = "  " * indent
    if isinstance(value, dict):
        inner = "".join(f"{pad}  fields {{\n{pad}    key: {json.dumps(k)}\n"
                        f"{pad}    value {{\n{_proto_text(v, indent + 3)}{pad}    }}\n"
                        f"{pad}  }}\n" for k, v in value.items())
        return f"{pad}struct_value {{\n{inner}{pad}}}\n"
    if isinstance(value, list):
        inner = "".join(f"{pad}  values {{\n{_proto_text(v, indent + 2)}{pad}  }}\n"
                        for v in value)
        return f"{pad}list_value {{\n{inner}{pad}}}\n"
    if isinstance(value, bool):
        return f"{pad}bool_value: {str(value).lower()}\n"
    if isinstance(value, (int, float)):
        return f"{pad}number_value: {value}\n"
    if value is None:
        return f"{pad}null_value: NULL_VALUE\n"
    return f"{pad}string_value: {json.dumps(value, ensure_ascii=False)}\n"


def _check_cells(rows: list[list]) -> None:
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if isinstance(v, (dict, list)):
                raise bad_request(f"Invalid values[{i}][{j}]: {_proto_text(v)}")


def _cell_after_write(old: Cell | None, raw: Any, user_entered: bool, loc) -> Cell | None:
    """The cell once ``raw`` (a JSON value) is written into it."""
    if raw == "":
        return None if old is None else old.replace(value=None)
    if isinstance(raw, bool):
        value, fmt = raw, None
    elif isinstance(raw, (int, float)):
        value, fmt = float(raw), None
    elif not user_entered:
        value, fmt = str(raw), None
    elif raw.startswith("=") and len(raw) > 1:
        value, fmt = Formula(raw), None
    else:
        value, fmt = parse_user_entered(raw, loc)
    base = old or Cell()
    new_fmt = base.fmt
    if fmt is not None and not (base.fmt and base.fmt.get("numberFormat")):
        new_fmt = dict(base.fmt or {})
        new_fmt["numberFormat"] = fmt
    return base.replace(value=value, fmt=new_fmt)


def write_grid(book: Spreadsheet, sheet: Sheet, rng: a1.A1Range, values: Any,
               major: str, input_option: str, *, grow_rows: bool = False,
               start: tuple[int, int] | None = None) -> dict:
    """Write a values array at a range; returns the UpdateValuesResponse counts."""
    rows = values if isinstance(values, list) else []
    _check_cells(rows)
    if major == "COLUMNS":
        height = max((len(col) for col in rows), default=0)
        rows = [[col[r] if r < len(col) else None for col in rows] for r in range(height)]
    r0, c0 = start if start else (rng.row0 or 0, rng.col0 or 0)
    height = len(rows)
    width = max((len(row) for row in rows), default=0)
    shown = a1.format_requested(sheet.title, rng)
    if start is None and not rng.single_cell and not rng.whole_sheet:
        if rng.row1 is not None and r0 + height > rng.row1:
            raise bad_request(f"Requested writing within range [{shown}], but tried writing "
                              f"to row [{rng.row1 + 1}]")
        if rng.col1 is not None and c0 + width > rng.col1:
            raise bad_request(f"Requested writing within range [{shown}], but tried writing "
                              f"to column [{a1.column_letters(rng.col1)}]")
    if r0 >= sheet.row_count and not grow_rows or c0 >= sheet.col_count:
        raise bad_request(f"Range ({shown}) exceeds grid limits. Max rows: "
                          f"{sheet.row_count}, max columns: {sheet.col_count}")
    if c0 + width > sheet.col_count or (r0 + height > sheet.row_count and not grow_rows):
        raise bad_request(
            f"Range ({a1.format_range(sheet.title, r0, r0 + max(height, 1), c0, c0 + max(width, 1))}"
            f") exceeds grid limits. Max rows: {sheet.row_count}, max columns: "
            f"{sheet.col_count}")
    if grow_rows and r0 + height > sheet.row_count:
        sheet.grid["rowCount"] = r0 + height
    user_entered = input_option == "USER_ENTERED"
    loc = locale_for(book.props.get("locale"))
    cells = 0
    for i, row in enumerate(rows):
        for j, raw in enumerate(row):
            if raw is None:
                continue  # null: leave the cell as it is
            cells += 1
            r, c = r0 + i, c0 + j
            sheet.put(r, c, _cell_after_write(sheet.cell(r, c), raw, user_entered, loc))
    out: dict[str, Any] = {"spreadsheetId": book.id}
    if height and width:
        out.update({"updatedRange": a1.format_range(sheet.title, r0, r0 + height, c0,
                                                    c0 + width),
                    "updatedRows": height, "updatedColumns": width, "updatedCells": cells})
        out["_bounds"] = (sheet, r0, r0 + height, c0, c0 + width)
    else:
        out["updatedRange"] = a1.format_range(sheet.title, *read_bounds(sheet, rng))
    return out


def _finish(book: Spreadsheet, out: dict, include: bool, options: dict[str, str]) -> dict:
    """Drop the internal bounds; add ``updatedData`` when includeValuesInResponse."""
    bounds = out.pop("_bounds", None)
    if include and bounds:
        sheet, r0, r1, c0, c1 = bounds
        data = {"range": a1.format_range(sheet.title, r0, r1, c0, c1),
                "majorDimension": "ROWS"}
        vals = Renderer(book).values(
            sheet, r0, r1, c0, c1,
            options.get("responseValueRenderOption") or "FORMATTED_VALUE",
            options.get("responseDateTimeRenderOption") or "SERIAL_NUMBER")
        if vals:
            data["values"] = vals
        out["updatedData"] = data
    return out


def _input_option(value: str | None) -> str:
    if not value or value == "INPUT_VALUE_OPTION_UNSPECIFIED":
        raise bad_request("'valueInputOption' is required but not specified")
    return value


def values_update(book: Spreadsheet, text: str, query: dict, body: dict) -> dict:
    option = _input_option((query.get("valueInputOption") or [None])[-1])
    sheet, rng = resolve(book, text)
    if body.get("range"):
        other_sheet, other = resolve(book, body["range"])
        if (other_sheet.sheet_id, other) != (sheet.sheet_id, rng) and \
                a1.format_requested(other_sheet.title, other) != \
                a1.format_requested(sheet.title, rng):
            raise bad_request(f"Requested update range [{text}] does not match value's "
                              f"range [{body['range']}]")
    out = write_grid(book, sheet, rng, body.get("values"), body.get("majorDimension") or
                     "ROWS", option)
    return _finish(book, out, _include(query), _last(query))


def _include(query: dict[str, list[str]]) -> bool:
    return (query.get("includeValuesInResponse") or ["false"])[-1].lower() == "true"


def _last(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in query.items() if v}


def values_batch_update(book: Spreadsheet, body: dict) -> dict:
    option = _input_option(body.get("valueInputOption"))
    responses, sheets = [], set()
    totals = {"totalUpdatedRows": 0, "totalUpdatedColumns": 0, "totalUpdatedCells": 0}
    for i, vr in enumerate(body.get("data") or []):
        try:
            sheet, rng = resolve(book, vr.get("range", ""))
            out = write_grid(book, sheet, rng, vr.get("values"),
                             vr.get("majorDimension") or "ROWS", option)
        except ApiError as err:
            raise bad_request(f"Invalid data[{i}]: {err.message}") from None
        out = _finish(book, out, bool(body.get("includeValuesInResponse")), body)
        if "updatedRows" in out:
            sheets.add(sheet.sheet_id)
            totals["totalUpdatedRows"] += out["updatedRows"]
            totals["totalUpdatedColumns"] = max(totals["totalUpdatedColumns"],
                                                out["updatedColumns"])
            totals["totalUpdatedCells"] += out["updatedCells"]
        responses.append(out)
    result: dict[str, Any] = {"spreadsheetId": book.id}
    if responses:
        result.update(totals)
        result["totalUpdatedSheets"] = len(sheets)
        result["responses"] = responses
    return result


# --- append -------------------------------------------------------------------------

def find_table(sheet: Sheet, r0: int, r1: int, c0: int, c1: int):
    """The "table" values.append appends to: of the blocks of adjacent non-empty cells
    touching the search range, the last one (lowest, then rightmost). Gaps split blocks,
    which is why Google appends ``A1, "", C1`` data after C1 (recorded)."""
    def filled(r, c):
        cell = sheet.cell(r, c)
        return cell is not None and cell.value is not None

    seen: set[tuple[int, int]] = set()
    best = None
    for r in range(r0, min(r1, len(sheet.rows))):
        for c in range(c0, min(c1, len(sheet.rows[r]))):
            if (r, c) in seen or not filled(r, c):
                continue
            stack, block = [(r, c)], []
            seen.add((r, c))
            while stack:
                y, x = stack.pop()
                block.append((y, x))
                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if ny >= 0 and nx >= 0 and (ny, nx) not in seen and filled(ny, nx):
                        seen.add((ny, nx))
                        stack.append((ny, nx))
            top = min(y for y, _ in block)
            bottom = max(y for y, _ in block) + 1
            left = min(x for _, x in block)
            right = max(x for _, x in block) + 1
            key = (bottom, left)
            if best is None or key > best[0]:
                best = (key, (top, bottom, left, right))
    return best[1] if best else None


def values_append(book: Spreadsheet, text: str, query: dict, body: dict) -> dict:
    option = _input_option((query.get("valueInputOption") or [None])[-1])
    insert = (query.get("insertDataOption") or ["OVERWRITE"])[-1] == "INSERT_ROWS"
    sheet, rng = resolve(book, text)
    r0, r1, c0, c1 = rng.bounds(sheet.row_count, sheet.col_count)
    if r0 >= sheet.row_count or c0 >= sheet.col_count:
        raise exceeds(sheet, a1.format_requested(sheet.title, rng))
    table = find_table(sheet, r0, r1, c0, c1)
    out: dict[str, Any] = {"spreadsheetId": book.id}
    if table:
        top, bottom, left, right = table
        out["tableRange"] = a1.format_range(sheet.title, top, bottom, left, right)
        start = (bottom, left)
    else:
        start = (r0, c0)
    values = body.get("values")
    major = body.get("majorDimension") or "ROWS"
    if insert and isinstance(values, list) and values:
        height = len(values) if major != "COLUMNS" else max(len(v) for v in values)
        sheet.insert("ROWS", start[0], height, inherit_before=start[0] > 0)
    updates = write_grid(book, sheet, rng, values, major, option, grow_rows=True,
                         start=start)
    out["updates"] = _finish(book, updates, _include(query), _last(query))
    return out


# --- clear --------------------------------------------------------------------------

def clear_range(book: Spreadsheet, text: str) -> str:
    sheet, rng = resolve(book, text)
    r0, r1, c0, c1 = read_bounds(sheet, rng)
    for r in range(r0, min(r1, len(sheet.rows))):
        row = sheet.rows[r]
        for c in range(c0, min(c1, len(row))):
            cell = row[c]
            if cell is not None and cell.value is not None:
                sheet.put(r, c, cell.replace(value=None, cached=None))
    return a1.format_range(sheet.title, r0, r1, c0, c1)


def values_clear(book: Spreadsheet, text: str) -> dict:
    return {"spreadsheetId": book.id, "clearedRange": clear_range(book, text)}


def values_batch_clear(book: Spreadsheet, body: dict) -> dict:
    cleared = [clear_range(book, text) for text in body.get("ranges") or []]
    out: dict[str, Any] = {"spreadsheetId": book.id}
    if cleared:
        out["clearedRanges"] = cleared
    return out
