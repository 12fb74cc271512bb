"""What python-calamine reads as an empty cell but is not: error cells (``#DIV/0!``) and
formulas saved without their value (a workbook written by a program that does not compute
formulas, such as openpyxl, until Excel or LibreOffice saves it again).

calamine gives both as ``""``, so a sum would silently skip them. A streaming pass over
the sheet's XML finds them, and the cells are put back as ``CellError`` / ``UnsavedFormula``
text that the reader reports with their address (kpirules.table).

The pass costs what decompressing the sheet costs: a fifth of calamine's own read, too much
to pay on every large sheet of plain data. So it reads the whole sheet when formulas are
possible: the workbook has a calculation chain (Excel writes one when it holds formulas), or
the sheet is small (``FULL_SCAN_BYTES``), or its first ``SAMPLE_BYTES`` hold a formula or an
error cell (a computed column fills its rows from the top). A large sheet of plain data whose
first megabytes hold neither is taken to hold none: one formula typed in far down such a
sheet, in a workbook never saved by Excel, is not seen.
"""

from __future__ import annotations

import html
import re
import zipfile

from kpirules.connectors.base import CellError, UnsavedFormula

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
# One cell element; its attributes, then its content up to </c> (or a self-closed <c/>).
_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_FORMULA = re.compile(rb'<f\b[^>]*?(?:/>|>(.*?)</f>)', re.S)
_VALUE = re.compile(rb'<v>([^<]*)</v>')
MAX_FOUND = 10_000  # enough to report; a sheet of errors does not need them all
FULL_SCAN_BYTES = 8 << 20  # sheets up to this size (uncompressed XML) are always read whole
SAMPLE_BYTES = 4 << 20  # otherwise, this much of the top decides whether to go on
CHUNK_BYTES = 1 << 20


def sheet_part(zf: zipfile.ZipFile, name: str) -> str | None:
    """The zip member holding the sheet called ``name``."""
    book = zf.read("xl/workbook.xml")
    rels = zf.read("xl/_rels/workbook.xml.rels")
    ids = {html.unescape(n.decode()): r for n, r in _SHEET.findall(book)}
    ids.update({html.unescape(n.decode()): r for r, n in _SHEET_ALT.findall(book)})
    targets = dict(_REL.findall(rels))
    targets.update({i: t for t, i in _REL_ALT.findall(rels)})
    target = targets.get(ids.get(name, b""))
    if target is None:
        return None
    target = target.decode()
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def hidden_cells(path: str, sheet: str) -> dict[tuple[int, int], object]:
    """(0-based row, column) -> ``CellError``/``UnsavedFormula`` for the cells of ``sheet``
    that calamine reads as empty but that hold an error or a formula without a value."""
    found: dict[tuple[int, int], object] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            part = sheet_part(zf, sheet)
            if part is None:
                return found
            names = set(zf.namelist())
            whole = "xl/calcChain.xml" in names or zf.getinfo(part).file_size <= FULL_SCAN_BYTES
            with zf.open(part) as fh:
                rest, read, marked = b"", 0, False
                while chunk := fh.read(CHUNK_BYTES):
                    read += len(chunk)
                    data = rest + chunk
                    cut = data.rfind(b"</c>")
                    cut = len(data) if cut == -1 else cut + 4
                    # Only a chunk with an error type or a formula is worth the regex.
                    if b't="e"' in data[:cut] or b"<f" in data[:cut]:
                        marked = True
                        _scan(data[:cut], found)
                    rest = data[cut:]
                    if len(found) >= MAX_FOUND or (not whole and not marked and read >= SAMPLE_BYTES):
                        break  # enough found, or a large sheet of plain data (module docstring)
                else:
                    if rest:
                        _scan(rest, found)
    except (OSError, KeyError, zipfile.BadZipFile):
        return found  # calamine has read the sheet; a second look that fails adds nothing
    return found


def _scan(data: bytes, found: dict) -> None:
    for attrs, body in _CELL.findall(data):
        body = body or b""
        is_error = b't="e"' in attrs
        formula = _FORMULA.search(body) if b"<f" in body else None
        if not is_error and formula is None:
            continue
        ref = _REF.search(attrs)
        if ref is None:
            continue
        at = (int(ref[2]) - 1, _column(ref[1]))
        value = _VALUE.search(body)
        if is_error:
            found[at] = CellError(html.unescape(value[1].decode()) if value else "#ERROR!")
        elif value is None or not value[1]:
            text = html.unescape((formula[1] or b"").decode()) if formula else ""
            found[at] = UnsavedFormula("=" + text if text else "=(a shared formula)")
