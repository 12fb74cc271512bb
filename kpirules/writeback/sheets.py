"""A ``WritePlan`` as the requests of ONE ``spreadsheets.batchUpdate``.

Google applies a batchUpdate all or nothing, so a run's writes (status cells, colours,
History upserts, Alerts rows, new tabs) either all land or none do, and the sheet is never
left half-written. Inside the batch the requests run in order, which the builder relies on:

1. ``addSheet`` for missing tabs, with sheetIds chosen here, so that later requests in the
   same batch can name the new tabs;
2. ``appendDimension`` where the engine adds columns (a cell past the grid is an error);
3. ``updateCells`` for cells at known positions (engine columns, header cells, History rows
   being updated), one request per block of adjacent cells (rows of the same columns, one
   under the other, are one block);
4. ``appendCells`` for new History and Alerts rows: Google puts them below the last row
   with data at the time it applies the batch, so a run that raced ours loses nothing;
5. ``deleteDimension`` for duplicate History rows, bottom first, last of all so that it
   moves no row another request points at.

Every text goes in as ``userEnteredValue.stringValue``: Sheets stores it as text, exactly,
never parsing it as a formula, number or date (a campaign named ``=IMPORTXML(...)`` stays
that text). Only numbers the engine computed are ``numberValue`` (dates too, as serial days
with a DATE format); the only ``formulaValue``s are the Dashboard's, built from references.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any

from kpirules.errors import SourceError
from kpirules.i18n import _
from kpirules.writeback.plan import STATUS_STYLE_COLOURS, Formula, Out, StatusColours, Style, TabPlan, WritePlan

log = logging.getLogger("kpirules.run")

# New tabs get sheetIds from here up (any unused non-negative int32 is allowed).
FIRST_NEW_SHEET_ID = 1_700_000_001
VALUE_FIELDS = "userEnteredValue,userEnteredFormat"
PIXELS_PER_CHAR = 7
SERIAL_EPOCH = dt.date(1899, 12, 30)  # Sheets' day 0: date cells are days since then


def build_requests(plan: WritePlan, sheet_ids: dict[str, int],
                   created: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The batchUpdate requests that carry ``plan`` out, in the order described above.
    ``created`` receives the title and sheetId of every tab the requests add."""
    ids = {t.casefold(): i for t, i in sheet_ids.items()}
    used = set(sheet_ids.values())
    next_id = FIRST_NEW_SHEET_ID
    adds: list[dict] = []
    dims: list[dict] = []
    updates: list[dict] = []
    appends: list[dict] = []
    deletes: list[dict] = []
    for tab in plan.tabs:
        if tab.empty:
            continue
        sid = ids.get(tab.title.casefold())
        if tab.create or sid is None:
            while next_id in used:
                next_id += 1
            sid = next_id
            used.add(sid)
            ids[tab.title.casefold()] = sid
            if created is not None:
                created[tab.title] = sid
            adds.append(_add_sheet(tab, sid))
        elif tab.widths:
            # Columns the engine adds to an existing tab: make room first. The new columns
            # sit just right of the used ones, so growing by their number always suffices.
            dims.append({"appendDimension": {"sheetId": sid, "dimension": "COLUMNS",
                                             "length": len(tab.widths)}})
        for col, chars in sorted(tab.widths.items()):
            dims.append({"updateDimensionProperties": {
                "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": col, "endIndex": col + 1},
                "properties": {"pixelSize": int(chars * PIXELS_PER_CHAR + 12)},
                "fields": "pixelSize"}})
        updates += _update_cells(tab, sid)
        for (row, col), note in sorted(tab.notes.items()):
            updates.append({"updateCells": {
                "start": {"sheetId": sid, "rowIndex": row - 1, "columnIndex": col},
                "rows": [{"values": [{"note": note}]}], "fields": "note"}})
        for (row, col), value in sorted(tab.retyped.items()):
            # The value only: the user's formatting of the cell stays.
            updates.append({"updateCells": {
                "start": {"sheetId": sid, "rowIndex": row - 1, "columnIndex": col},
                "rows": [{"values": [{"userEnteredValue": {"boolValue": value}}]}], "fields": "userEnteredValue"}})
        for v in tab.validations:
            condition = ({"type": "BOOLEAN"} if v.checkbox else
                         {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": x} for x in v.values]})
            updates.append({"setDataValidation": {
                "range": {"sheetId": sid, "startRowIndex": v.first_row - 1, "endRowIndex": v.last_row,
                          "startColumnIndex": v.column, "endColumnIndex": v.column + 1},
                "rule": {"condition": condition, **({} if v.checkbox else {"showCustomUi": True}),
                         "strict": True}}})
        updates += _set_up(tab, sid)
        if tab.appends:
            width = max((max(r) + 1 for r in tab.appends if r), default=0)
            appends.append({"appendCells": {
                "sheetId": sid,
                "rows": [{"values": [cell_data(r[c]) if c in r else {} for c in range(width)]}
                         for r in tab.appends],
                "fields": VALUE_FIELDS}})
        for first, last in _runs(sorted(set(tab.deletes), reverse=True)):
            deletes.append({"deleteDimension": {"range": {
                "sheetId": sid, "dimension": "ROWS", "startIndex": first - 1, "endIndex": last}}})
    return adds + dims + updates + appends + deletes


def _set_up(tab: TabPlan, sid: int) -> list[dict]:
    """Frozen headers, Status colours (conditional formatting) and warning-only protection
    of the engine's columns: what ``init`` installs once."""
    out: list[dict] = []
    if tab.freeze_existing:
        out.append({"updateSheetProperties": {
            "properties": {"sheetId": sid, "gridProperties": {"frozenRowCount": tab.header_row}},
            "fields": "gridProperties.frozenRowCount"}})
    if tab.status_colours is not None:
        out += status_colour_rules(tab.status_colours, sid)
    for col, description in sorted(tab.protected.items()):
        out.append({"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": sid, "startRowIndex": tab.header_row - 1, "startColumnIndex": col,
                      "endColumnIndex": col + 1},
            "description": description, "warningOnly": True}}})
    return out


def status_colour_rules(where: StatusColours, sid: int) -> list[dict]:
    """One conditional format rule per status, in the colours ``run`` paints cells with.
    ERROR matches by its start, so that instant validation's "ERROR at column 11: ..." is
    red too."""
    grid = {"sheetId": sid, "startRowIndex": where.first_row - 1, "endRowIndex": where.last_row,
            "startColumnIndex": where.column, "endColumnIndex": where.column + 1}
    rules = []
    for index, (status, (fill, ink)) in enumerate(STATUS_STYLE_COLOURS.items()):
        condition = {"type": "TEXT_STARTS_WITH" if status == "ERROR" else "TEXT_EQ",
                     "values": [{"userEnteredValue": status}]}
        rules.append({"addConditionalFormatRule": {"index": index, "rule": {
            "ranges": [grid], "booleanRule": {"condition": condition, "format": {
                "backgroundColor": rgb(fill), "textFormat": {"foregroundColor": rgb(ink), "bold": True}}}}}})
    return rules


def _runs(rows_bottom_first: list[int]) -> list[tuple[int, int]]:
    """Adjacent rows as (first, last) ranges, bottom range first: one deleteDimension each."""
    out: list[tuple[int, int]] = []
    for row in rows_bottom_first:
        if out and out[-1][0] == row + 1:
            out[-1] = (row, out[-1][1])
        else:
            out.append((row, row))
    return out


def _add_sheet(tab: TabPlan, sid: int) -> dict:
    # A new tab's grid holds every cell written into it (a cell past the grid is an error:
    # a Dashboard of 1,000 rules goes below row 1,000); appended rows extend it themselves.
    rows = max((row for row, _ in tab.cells), default=0)
    grid: dict[str, Any] = {"rowCount": max(1000, rows), "columnCount": max(26, tab.columns)}
    if tab.freeze_header:
        grid["frozenRowCount"] = tab.header_row
    return {"addSheet": {"properties": {"sheetId": sid, "title": tab.title, "gridProperties": grid}}}


def _update_cells(tab: TabPlan, sid: int) -> list[dict]:
    """The cells at known positions as few updateCells as it takes: a run of adjacent
    cells in a row that take the same fields is one block, and a run just below a block of
    the same columns and fields joins it as one more row. A run's History upserts (rows of
    the same columns, one under the other) and its Dashboard are then a few requests, not
    one a row: thousands fewer for the client to build and send and for Google to apply."""
    out: list[dict] = []
    by_row: dict[int, list[tuple[int, Out]]] = {}
    for (row, col), cell in tab.cells.items():
        by_row.setdefault(row, []).append((col, cell))
    # (first column, width, fields) -> (the last row of the open block, its request)
    blocks: dict[tuple[int, int, str], tuple[int, dict]] = {}
    for row in sorted(by_row):
        for run in _row_runs(sorted(by_row[row], key=lambda x: x[0])):
            key = (run[0][0], len(run), _fields(run[0][1]))
            block = blocks.get(key)
            if block is not None and block[0] == row - 1:
                block[1]["updateCells"]["rows"].append({"values": [cell_data(c) for _, c in run]})
                blocks[key] = (row, block[1])
                continue
            request = _request(sid, row, run)
            out.append(request)
            blocks[key] = (row, request)
    return out


def _row_runs(cells: list[tuple[int, Out]]) -> list[list[tuple[int, Out]]]:
    """A row's cells (by column) as runs of adjacent cells that take the same fields."""
    runs: list[list[tuple[int, Out]]] = []
    for col, cell in cells:
        if runs and col == runs[-1][-1][0] + 1 and _fields(cell) == _fields(runs[-1][-1][1]):
            runs[-1].append((col, cell))
        else:
            runs.append([(col, cell)])
    return runs


def _fields(cell: Out) -> str:
    # A header cell carries its note; other engine cells leave whatever note is there.
    return VALUE_FIELDS + ",note" if cell.note is not None else VALUE_FIELDS


def _request(sid: int, row: int, run: list[tuple[int, Out]]) -> dict:
    return {"updateCells": {
        "start": {"sheetId": sid, "rowIndex": row - 1, "columnIndex": run[0][0]},
        "rows": [{"values": [cell_data(c) for _, c in run]}],
        "fields": _fields(run[0][1])}}


def cell_data(cell: Out) -> dict[str, Any]:
    """The CellData for one plan cell: text as stringValue, always."""
    data: dict[str, Any] = {}
    value = cell.value
    if isinstance(value, Formula):
        data["userEnteredValue"] = {"formulaValue": value.text}  # built from references only
    elif isinstance(value, dt.date):
        data["userEnteredValue"] = {"numberValue": (value - SERIAL_EPOCH).days}
    elif isinstance(value, bool):
        data["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, (int, float)):
        data["userEnteredValue"] = {"numberValue": value}
    elif isinstance(value, str):
        data["userEnteredValue"] = {"stringValue": value}
    fmt = cell_format(cell.style)
    if fmt:
        data["userEnteredFormat"] = fmt
    if cell.note:  # "" (with "note" in the fields) clears the note an earlier run left
        data["note"] = cell.note
    return data


def rgb(hex_colour: str) -> dict[str, float]:
    h = hex_colour.lstrip("#")
    return {k: round(int(h[i:i + 2], 16) / 255, 4) for k, i in (("red", 0), ("green", 2), ("blue", 4))}


@functools.lru_cache(maxsize=256)
def cell_format(style: Style) -> dict[str, Any]:
    """A Style as CellFormat. Cached: a run has a few dozen styles over 100,000 cells (the
    dicts are shared by the cells that use them, and only ever serialised)."""
    fmt: dict[str, Any] = {}
    if style.fill:
        fmt["backgroundColor"] = rgb(style.fill)
    text: dict[str, Any] = {}
    if style.color:
        text["foregroundColor"] = rgb(style.color)
    if style.bold:
        text["bold"] = True
    if style.italic:
        text["italic"] = True
    if style.monospace:
        text["fontFamily"] = "Roboto Mono"
    if text:
        fmt["textFormat"] = text
    if style.wrap:
        fmt["wrapStrategy"] = "WRAP"
    if style.align:
        fmt["horizontalAlignment"] = style.align.upper()
    if style.valign:
        fmt["verticalAlignment"] = {"top": "TOP", "bottom": "BOTTOM", "middle": "MIDDLE"}[style.valign]
    if style.number_format:
        pattern = style.number_format
        kind = "PERCENT" if pattern.endswith("%") else "DATE" if "yy" in pattern else "NUMBER"
        fmt["numberFormat"] = {"type": kind, "pattern": style.number_format}
    return fmt


def write(connector: Any, plan: WritePlan) -> dict | None:
    """Carry ``plan`` out on a Google Sheet in one batchUpdate (none when there is nothing
    to write). Not idempotent (appendCells), so a write that may have landed is not retried."""
    requests = build_requests(plan, connector.sheet_ids)
    if not requests:
        return None
    return connector.batch_update(requests, idempotent=False)


# ------------------------------------------------- a run's two writes (one: nothing to send)

@dataclass
class Held:
    """What the first write left for the last one: the lease and every tab's sheetId."""

    run_id: str
    lease_id: int
    sheet_ids: dict[str, int]


def write_with_lease(connector: Any, plan: WritePlan, now: Any, read: Any, *, last: bool = False) -> Held:
    """The run's first write: the lease (kpirules.writeback.lease) replacing the one
    ``read`` saw, and ``plan``, in one batchUpdate; ``last``: the run's only write (it
    sends nothing), which leaves the lease free. Raises ``LeaseHeld`` (nothing written)
    when another run holds the sheet or wrote it since this run read it, ``SourceError``
    when nothing was written for another reason. An ambiguous answer is resolved by reading
    the lease back: the write landed exactly when it names this run."""
    from kpirules.connectors.gsheets import WriteRejected, WriteUnknown
    from kpirules.writeback import lease

    if read is not None and read.blocks(lease.utc(now)):
        raise lease.LeaseHeld(read.since_text)
    run_id = lease.new_run_id()
    created: dict[str, int] = {}
    body = build_requests(plan, {t: i for t, i in connector.sheet_ids.items()
                                 if t.casefold() != lease.LEASE_TAB.casefold()}, created)
    lease_id = lease.new_sheet_id()
    requests = lease.take_requests(run_id, lease_id, now, read=read, free=last) + body
    try:
        connector.batch_update(requests, idempotent=False)
    except WriteRejected as exc:
        if not lease.lease_refused(exc):
            raise
        current = lease.probe(connector)
        raise lease.LeaseHeld(current.since_text if current is not None and current.held else None) from None
    except WriteUnknown as exc:
        found = _read_lease(connector, exc, lambda lease_now: lease_now is not None and lease_now.run_id == run_id)
        if found is None or found.run_id != run_id:
            raise SourceError(_("{message}; read back: the results were NOT written").format(message=exc.message),
                              hint=_("nothing was written or sent; the next run writes them")) from None
        log.warning("%s", _("{message}; read back: the results were written").format(message=exc.message))
    ids = {**connector.sheet_ids, **created, lease.LEASE_TAB: lease_id}
    return Held(run_id, lease_id, ids)


def release(connector: Any, plan: WritePlan, held: Held, now: Any) -> None:
    """The run's last write: ``plan`` (the delivery states) and the lease marked free. An
    ambiguous answer is read back; a write found not applied is sent once more (it only
    sets cells to fixed values: nothing can land twice)."""
    from kpirules.connectors.gsheets import WriteUnknown
    from kpirules.writeback import lease

    def released(found: Any) -> bool:
        return found is not None and found.run_id == held.run_id and not found.held

    requests = build_requests(plan, held.sheet_ids) + lease.release_requests(held.run_id, held.lease_id, now)
    for attempt in range(2):
        try:
            connector.batch_update(requests, idempotent=False)
            return
        except WriteUnknown as exc:
            found = _read_lease(connector, exc, released)
            if released(found):
                log.warning("%s", _("{message}; read back: the delivery states were written").format(
                    message=exc.message))
                return
            still_ours = found is not None and found.run_id == held.run_id
            if attempt or not still_ours:
                raise SourceError(
                    _("{message}; read back: the delivery states were NOT written").format(message=exc.message),
                    hint=_("the alerts stay owed and the next run sends them again "
                           "(receivers can drop repeats by their key)")) from None


def write_timeout(connector: Any) -> float:
    """How long the connector waits for a write's answer: the `timeout` setting of a
    connector that declares ``read-timeout`` (a ``TimedSource``; Google Sheets), else 0."""
    from kpirules.connectors.base import READ_TIMEOUT, TimedSource, capabilities

    if READ_TIMEOUT in capabilities(connector) and isinstance(connector, TimedSource):
        return float(connector.timeout)
    return 0.0


def _read_lease(connector: Any, exc: Any, landed: Any):
    """The lease as it is now. After a timeout the write may still be under way at
    Google: when ``landed(lease)`` is not true yet, look once more after one more read
    timeout before deciding."""
    import time

    from kpirules.writeback import lease

    try:
        found = lease.probe(connector)
        if getattr(exc, "timed_out", False) and not landed(found):
            time.sleep(min(write_timeout(connector), 30.0))
            found = lease.probe(connector)
        return found
    except SourceError as again:
        raise SourceError(_("{message}; whether it was applied is not known: reading the sheet back failed "
                            "too ({reason})").format(message=getattr(exc, "message", exc), reason=again.message),
                          hint=_("look at the sheet's History tab; the next run repairs it")) from None
