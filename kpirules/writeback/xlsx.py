"""A ``WritePlan`` carried out on an .xlsx workbook, atomically.

The workbook is loaded with openpyxl (full mode: formulas, styles, notes, validations),
changed in memory, saved to a temporary file in the same folder and moved over the original
with ``os.replace``, which is atomic on one file system: a crash or a failed save leaves the
original untouched, and readers never see half a file.

Two things openpyxl would lose are handled here:

* Cached formula results. openpyxl writes formulas without the value Excel last computed,
  and kpirules reads workbooks ``data_only`` (it cannot compute formulas): after a plain
  openpyxl save, every formula cell of the Data tab would read as empty on the next run.
  The values are read before the save and put back into the saved file.
* Parts openpyxl cannot keep (shapes, slicers, form controls, threaded comments...): a
  workbook holding them is refused with a clear error instead of being silently damaged.

Text is stored as text (``data_type = "s"``): a segment named ``=IMPORTXML(...)`` must never
become a formula.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import zipfile
from typing import Any

from kpirules.errors import SourceError
from kpirules.i18n import _
from kpirules.writeback.plan import Chart, Formula, Out, Style, WritePlan

log = logging.getLogger("kpirules.run")

MONOSPACE = "Courier New"  # everywhere, or metric-compatible Liberation Mono
MAX_CELL_TEXT = 32767  # Excel's limit for one cell


def cell_text(value: str) -> str:
    """``value`` as text an xlsx part can hold: XML 1.0 cannot hold most C0 controls, not
    even escaped (openpyxl refuses them, and a chart title with one leaves a file no program
    opens), so each is written as its escape (``\\x07``, as the terminal shows it) rather than
    dropped; tab, newline and carriage return stay. Cut to what one cell holds."""
    from kpirules.errors import xml_text

    return xml_text(value)[:MAX_CELL_TEXT]


def load(path: str, package: Any = None):
    """The workbook for writing (full mode), or SourceError. ``package``: what to load
    instead of the file at ``path`` (``xlsx_rows``' stub of it)."""
    from openpyxl import load_workbook

    from kpirules.writeback.xlsx_package import check_lossless

    check_lossless(path)
    try:
        return load_workbook(package or path, keep_vba=path.lower().endswith(".xlsm"), keep_links=True)
    except FileNotFoundError:
        raise SourceError(_("no such file: {path}").format(path=path)) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(_("{path} is not a readable .xlsx workbook ({reason})").format(path=path, reason=exc)) from None


def find_sheet(wb, title: str):
    """The worksheet called ``title``, ignoring case and spaces, as the connector finds it."""
    from kpirules.connectors.xlsx_file import find_tab

    found = find_tab(wb.sheetnames, title)
    return wb[found] if found is not None else None


def apply(wb, plan: WritePlan) -> None:
    """Carry ``plan`` out on the loaded workbook ``wb`` (in memory)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    styles = _Styles(wb)
    for tab in plan.tabs:
        if tab.empty:
            continue
        ws = find_sheet(wb, tab.title)
        if ws is None:
            ws = wb.create_sheet(tab.title)
        for (row, col), out in tab.cells.items():
            _put(ws.cell(row=row, column=col + 1), out, styles)
        for (row, col), note in tab.notes.items():
            ws.cell(row=row, column=col + 1).comment = _comment(note)
        if tab.appends:
            row = last_used_row(ws) + 1
            for values in tab.appends:
                for col, out in values.items():
                    _put(ws.cell(row=row, column=col + 1), out, styles)
                row += 1
        delete_rows(ws, set(tab.deletes))
        for col, chars in tab.widths.items():
            ws.column_dimensions[get_column_letter(col + 1)].width = chars
        for v in tab.validations:
            first = f"{get_column_letter(v.column + 1)}{v.first_row}"
            if any(first in dv.sqref for dv in ws.data_validations.dataValidation):
                continue  # already there (init run again): one dropdown is enough
            dv = DataValidation(type="list", formula1='"' + ",".join(v.values) + '"', allow_blank=True,
                                showDropDown=False)  # (sic) False shows the in-cell arrow
            dv.add(f"{get_column_letter(v.column + 1)}{v.first_row}:{get_column_letter(v.column + 1)}{v.last_row}")
            ws.add_data_validation(dv)
        if tab.charts is not None:
            draw_charts(ws, tab.charts)
        if (tab.freeze_header or tab.freeze_existing) and ws.freeze_panes is None:
            ws.freeze_panes = f"A{tab.header_row + 1}"
        if tab.status_colours is not None and not has_status_colours(ws, tab.status_colours):
            add_status_colours(ws, tab.status_colours)
        # tab.protected and tab.retyped are Google Sheets' (a warning-only protected range,
        # checkboxes): Excel has neither, so the workbook keeps its Enabled dropdown.


def _status_range(where) -> str:
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(where.column + 1)
    return f"{letter}{where.first_row}:{letter}{where.last_row}"


def has_status_colours(ws, where) -> bool:
    """Whether the Status column already has kpirules' conditional formatting."""
    wanted = _status_range(where)
    for cf in ws.conditional_formatting:
        if str(cf.sqref) == wanted and any('"PASS"' in (rule.formula or []) for rule in cf.rules):
            return True
    return False


def add_status_colours(ws, where) -> None:
    """Colour the Status column by its text (conditional formatting), as on Google Sheets."""
    from openpyxl.formatting.rule import CellIsRule, FormulaRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from kpirules.writeback.plan import STATUS_STYLE_COLOURS

    cells = _status_range(where)
    first = f"{get_column_letter(where.column + 1)}{where.first_row}"
    for status, (fill, ink) in STATUS_STYLE_COLOURS.items():
        look = dict(fill=PatternFill("solid", bgColor="FF" + fill.lstrip("#")),
                    font=Font(bold=True, color="FF" + ink.lstrip("#")))
        if status == "ERROR":  # also "ERROR at column 11: ..." from instant validation
            rule = FormulaRule(formula=[f'LEFT({first},5)="ERROR"'], **look)
        else:
            rule = CellIsRule(operator="equal", formula=[f'"{status}"'], **look)
        ws.conditional_formatting.add(cells, rule)


def draw_charts(ws, charts: list[Chart]) -> None:
    """Replace the tab's charts with ``charts`` (openpyxl keeps the ones it read: a tab
    redrawn every run would pile them up otherwise)."""
    from openpyxl.chart import LineChart, Reference
    from openpyxl.chart.series import SeriesLabel

    ws._charts = []
    for spec in charts:
        chart = LineChart()
        chart.title = cell_text(spec.title)  # a rule's name, its segments' below: the data's text
        chart.height, chart.width = 4.4, 12.0  # cm
        if spec.number_format:
            chart.y_axis.number_format = spec.number_format
        chart.add_data(Reference(ws, min_col=spec.first_col + 1, max_col=spec.last_col + 1, min_row=spec.row,
                                 max_row=spec.last_row or spec.row), from_rows=True, titles_from_data=False)
        for series, label in zip(chart.series, spec.labels):
            series.tx = SeriesLabel(v=cell_text(label))
        if len(chart.series) < 2:
            chart.legend = None
        ws.add_chart(chart, spec.anchor)


def plan_formula_values(wb, plan: WritePlan) -> dict[str, dict[str, Any]]:
    """Sheet title -> {coordinate: value} for the plan's formulas, to store as their cached
    results (programs that do not recalculate on open show these)."""
    from openpyxl.utils import get_column_letter

    out: dict[str, dict[str, Any]] = {}
    for tab in plan.tabs:
        ws = find_sheet(wb, tab.title)
        for (row, col), cell in tab.cells.items():
            if ws is not None and isinstance(cell.value, Formula) and cell.value.value is not None:
                out.setdefault(ws.title, {})[f"{get_column_letter(col + 1)}{row}"] = cell.value.value
    return out


def delete_rows(ws, rows: set[int]) -> None:
    """Remove ``rows`` in one pass over the cells (openpyxl's ``delete_rows`` moves every
    cell below once per call: thousands of duplicates took minutes)."""
    import bisect

    if not rows:
        return
    gone = sorted(rows)
    moved = {}
    for (row, col), cell in ws._cells.items():
        if row in rows:
            continue
        shift = bisect.bisect_left(gone, row)
        if shift:
            cell.row = row - shift
        moved[(row - shift, col)] = cell
    ws._cells = moved


def prune_existing(wb, plan: WritePlan) -> None:
    """Drop the notes and dropdowns a workbook already has (``init`` run again then
    changes nothing)."""
    for tab in plan.tabs:
        ws = find_sheet(wb, tab.title)
        if ws is None:
            continue
        for (row, col), note in list(tab.notes.items()):
            comment = ws.cell(row=row, column=col + 1).comment
            if comment is not None and comment.text == note:
                del tab.notes[(row, col)]
        kept = []
        for v in tab.validations:
            from openpyxl.utils import get_column_letter

            first = f"{get_column_letter(v.column + 1)}{v.first_row}"
            if not any(first in dv.sqref for dv in ws.data_validations.dataValidation):
                kept.append(v)
        tab.validations = kept
        if tab.status_colours is not None and has_status_colours(ws, tab.status_colours):
            tab.status_colours = None
        if ws.freeze_panes is not None:
            tab.freeze_existing = False


def last_used_row(ws) -> int:
    """The last row holding a value (formatting alone does not count)."""
    for row in range(ws.max_row, 0, -1):
        if any(c.value not in (None, "") for c in ws[row]):
            return row
    return 0


class _Styles:
    """openpyxl style objects for plan styles, built once per workbook."""

    def __init__(self, wb):
        fonts = getattr(wb, "_fonts", None)
        self.base = fonts[0] if fonts else None
        self.cache: dict[Style, tuple] = {}

    def get(self, style: Style) -> tuple:
        if style not in self.cache:
            from openpyxl.styles import Alignment, Font, PatternFill

            base = self.base
            font = Font(name=MONOSPACE if style.monospace else (base.name if base else "Calibri"),
                        sz=base.sz if base else 11, family=None if style.monospace else (base.family if base else None),
                        scheme=None if style.monospace else (base.scheme if base else None),
                        bold=style.bold, italic=style.italic,
                        color=("FF" + style.color.lstrip("#").upper()) if style.color else None)
            fill = (PatternFill("solid", fgColor="FF" + style.fill.lstrip("#").upper())
                    if style.fill else PatternFill(fill_type=None))
            align = Alignment(horizontal=style.align, vertical={"middle": "center"}.get(style.valign, style.valign),
                              wrap_text=style.wrap or None)
            self.cache[style] = (font, fill, align, style.number_format or "General")
        return self.cache[style]


def _put(cell, out: Out, styles: _Styles) -> None:
    value = out.value
    if isinstance(value, Formula):  # the Dashboard's, built from cell references only
        cell.value = value.text
        cell.data_type = "f"
    elif isinstance(value, str):
        cell.value = cell_text(value)
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
    else:
        cell.value = value
    cell.font, cell.fill, cell.alignment, cell.number_format = styles.get(out.style)
    if out.note is not None:  # "" clears the note an earlier run left
        cell.comment = _comment(out.note) if out.note else None


def _comment(text: str):
    from openpyxl.comments import Comment

    comment = Comment(cell_text(text), "kpirules")
    comment.width, comment.height = 320, 130
    return comment


# ------------------------------------------------------------------- cached formula values

def formula_values(path: str, wb) -> dict[str, dict[str, Any]]:
    """Sheet title -> {coordinate: the value Excel last computed} for every formula cell."""
    wanted: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        # The cells the sheet holds (iter_rows would make every empty cell of its rectangle).
        coords = {c.coordinate for c in ws._cells.values() if c.data_type == "f"}
        if coords:
            wanted[ws.title] = coords
    if not wanted:
        return {}
    from openpyxl import load_workbook

    values = load_workbook(path, read_only=True, data_only=True)
    try:
        out: dict[str, dict[str, Any]] = {}
        for title, coords in wanted.items():
            got = {}
            for row in values[title].iter_rows():
                for c in row:
                    if getattr(c, "coordinate", None) in coords and c.value is not None:
                        got[c.coordinate] = c.value
            out[title] = got
        return out
    finally:
        values.close()


_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)>(<f[^>]*>[^<]*</f>|<f[^>]*/>)<v\s*/></c>')


def _cached_xml(value: Any) -> tuple[str, str] | None:
    """(type attribute, <v> text) for a cached value, as SpreadsheetML stores it."""
    from xml.sax.saxutils import escape

    if isinstance(value, bool):
        return ' t="b"', "1" if value else "0"
    if isinstance(value, (int, float)):
        return "", repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if value.startswith("#") and value.upper() in {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"}:
            return ' t="e"', escape(value)
        return ' t="str"', escape(value)
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        from openpyxl.utils.datetime import to_excel

        return "", repr(float(to_excel(value)))  # the cell's date format shows it as a date
    return None


def restore_formula_values(path: str, cached: dict[str, dict[str, Any]]) -> None:
    """Put cached formula results back into the file openpyxl just saved at ``path``."""
    if not any(cached.values()):
        return
    from kpirules.writeback.xlsx_package import sheet_parts

    tmp = path + ".v"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        parts = {part: title for title, (part, _) in sheet_parts(src).items()}
        for info in src.infolist():
            data = src.read(info.filename)
            title = parts.get(info.filename)
            if title in cached and cached[title]:
                data = fill_formula_values(data, cached[title])
            dst.writestr(info, data)
    os.replace(tmp, path)


def fill_formula_values(data: bytes, values: dict[str, Any]) -> bytes:
    """A saved sheet's XML with ``values`` (coordinate -> value) as its formulas' results."""
    def fill(m: re.Match) -> str:
        found = _cached_xml(values.get(m.group(1)))
        if found is None or ' t="' in m.group(2):
            return m.group(0)
        kind, text = found
        return f'<c r="{m.group(1)}"{m.group(2)}{kind}>{m.group(3)}<v>{text}</v></c>'

    return _FORMULA_CELL.sub(fill, data.decode("utf-8")).encode("utf-8")


# ------------------------------------------------------------------------- the write

def save_atomic(wb, path: str, cached: dict[str, dict[str, Any]] | None = None,
                finish: dict[Any, Any] | None = None) -> None:
    """Save ``wb`` over ``path`` through a temporary file in the same folder. On any
    failure the original is left as it was and the temporary file is removed.
    ``finish``: worksheet -> what changes its XML on the way into the file."""
    # A symbolic link is written through, not replaced by a file of its own: the workbook
    # it leads to gets the results (and the next run, by either path, reads them).
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.exists(target) and not _writable(target):
        # Replacing the file through a rename would succeed all the same (it needs only the
        # folder): a workbook its owner made read-only would be rewritten behind their back.
        raise SourceError(_("could not write {path}: {reason}; the file was left as it was").format(
            path=path, reason=_("the file is read-only")),
            hint=_("make the file writable, or write into a copy with --out COPY.xlsx"))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    os.close(fd)
    try:
        _save(wb, tmp, cached or {}, finish or {})
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except OSError:
            pass  # keeping the mode is a courtesy; the data is what matters
        os.replace(tmp, target)
    except BaseException as exc:
        for leftover in (tmp, tmp + ".v"):
            try:
                os.unlink(leftover)
            except OSError:
                pass
        if isinstance(exc, Exception):
            raise SourceError(_("could not write {path}: {reason}; the file was left as it was").format(
                path=path, reason=exc), hint=_("check the disk space and that the file is not open read-only")) from exc
        raise
    _fsync_dir(folder)


def _writable(path: str) -> bool:
    """Whether the file itself may be written: by the OS's leave (``os.access``), and with a
    write permission bit at all (``access`` says yes to the superuser whatever the bits)."""
    import stat

    return os.access(path, os.W_OK) and bool(os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _save(wb, tmp: str, cached: dict[str, dict[str, Any]], finish: dict[Any, Any]) -> None:
    """``wb.save(tmp)``, with each sheet's XML changed as it is written: cached formula
    values put back, rows carried past openpyxl put in (``xlsx_rows``)."""
    import datetime as dt

    from openpyxl.writer.excel import ExcelWriter

    from kpirules.writeback.xlsx_rows import PatchingZip

    changes = dict(finish)
    for ws in wb.worksheets:
        values = cached.get(ws.title)
        if values:
            before = changes.get(ws)
            changes[ws] = (lambda data, v=values, f=before: fill_formula_values(f(data) if f else data, v))
    wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)  # as wb.save
    ExcelWriter(wb, PatchingZip(tmp, changes)).save()


def _fsync_dir(folder: str) -> None:
    # The rename is durable only once the folder is flushed (POSIX); not possible everywhere.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write(path: str, plan: WritePlan) -> None:
    """Load ``path``, apply ``plan``, save atomically (keeping cached formula values).
    Sheets of plain rows are carried past openpyxl (``xlsx_rows``): it loads and saves
    only their header rows."""
    from kpirules.writeback import xlsx_rows

    stub = xlsx_rows.prepare(path, plan)
    wb = load(path, stub.package if stub is not None else None)
    cached = formula_values(path, wb)
    apply(wb, stub.plan if stub is not None else plan)
    finish = {}
    if stub is not None:
        xlsx_rows.add_carriers(wb, stub.sheets, _Styles(wb).get)
        finish = xlsx_rows.finishers(wb, stub.sheets)
    for title, values in plan_formula_values(wb, plan).items():
        cached.setdefault(title, {}).update(values)
    save_atomic(wb, path, cached, finish)
