"""Sheet rows carried through an xlsx write without openpyxl reading them.

openpyxl turns every cell of a workbook into an object on load and writes every one back
on save, so a run cost grew with its History (tens of thousands of rows after a year of
daily runs) and with a Data tab it never changes. Here the rows below a sheet's header are
kept out of openpyxl: it loads a copy of the package in which they are cut out (the header
rows stay, plus one *carrier row*, below), does every other write as before, and while it
saves, the cut rows are put back from the original XML: unchanged rows as they were, this
write's cells rendered in place, deleted rows dropped and the rows below moved up, appended
rows below the last row holding a value (what ``xlsx.apply`` does on a whole sheet).

Style ids: a cell's ``s`` is an index into the workbook's cell formats, which openpyxl may
renumber on save. The carrier row holds one cell for each format the cut rows use and one
for each ``Style`` this write gives them; openpyxl saves those with their ids in the saved
workbook, which are read back from the carrier row (then dropped) and used for the rows.

Only sheets whose rows are plain values are carried (``_plain``): no formulas (their cached
values), no shared strings (a workbook saved by Excel: openpyxl rewrites its strings inline,
so the first run after Excel takes the long way, the next ones this one), no comments,
hyperlinks or merged cells (openpyxl ties those to cell objects), no namespaced markup.
Any other sheet goes through openpyxl as before.

Text is written as inline strings, which are never formulas (``xlsx._put``'s rule too).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

from kpirules.writeback.plan import Formula, Out, Style, TabPlan, WritePlan
from kpirules.writeback.xlsx_package import comment_rows, shared_strings, sheet_parts
from kpirules.writeback.xlsx_package import formats as count_formats

_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>.*?</c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+)[0-9]+"')
_CELL_STYLE = re.compile(rb'\bs="([0-9]+)"')
_HAS_VALUE = re.compile(rb"<v>[^<]|<t\b[^>]*>[^<]")
_SPANS = re.compile(rb'\sspans="[^"]*"')
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+[0-9]+(?::([A-Z]+)[0-9]+)?"\s*/>')
# Every row and cell of a carried sheet gives its address first (``_plain``), so a row is
# renumbered by rewriting those, and its cells' formats found after them.
_STYLE_ATTR = re.compile(rb' s="([0-9]+)"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]+)')
_TAG_STYLE = re.compile(rb'(<(?:c|row) r="[A-Z]*[0-9]+"[^>]*? s=")([0-9]+)"')
_FORMULA = re.compile(rb"<f[\s>/]")
# Namespaced names (a prefix the root declares, which openpyxl's root will not).
_PREFIXED = re.compile(rb"</?[A-Za-z_][\w.-]*:|<(?:c|row) [^>]*? [A-Za-z_][\w.-]*:[\w.-]+=")
_EXTENSION = re.compile(rb'(<(?:c|row) [^>]*?) [A-Za-z_][\w.-]*:[\w.-]+="[^"]*"')
_SHARED = re.compile(rb'(<c r="[A-Z]+[0-9]+"(?: s="[0-9]+")?) t="s"((?: [a-zA-Z]+="[^"]*")*)><v>([0-9]+)</v></c>')
_TIED = (b"<hyperlinks", b"<mergeCells", b"<legacyDrawingHF")
_UNADDRESSED = re.compile(rb'<(?:c|row)(?! r=")')


@dataclass
class Carried:
    """One sheet whose rows below ``head`` are written here, not by openpyxl."""

    title: str
    head: int  # rows up to this one stay with openpyxl (the header rows)
    head_rows: bytes  # the rows openpyxl keeps, as they were
    body: bytes  # the rows below ``head``, as they were
    styles: list[int]  # the format ids the rows may use: carrier columns 1..n
    max_col: int  # the widest of the original dimension and this write's cells
    edits: dict[int, dict[int, Out]] = field(default_factory=dict)  # row -> 0-based col -> cell
    deletes: list[int] = field(default_factory=list)  # sorted
    new_styles: list[Style] = field(default_factory=list)  # carrier columns n+1..

    _split: tuple[list[int], list[bytes]] | None = field(default=None, repr=False)

    @property
    def split(self) -> tuple[list[int], list[bytes]]:
        """The rows below ``head``: their numbers, and their XML without the leading
        ``<row `` (``b"<row " + b"<row ".join(pieces)`` is the body again), in order."""
        if self._split is None:
            pieces = self.body.split(b"<row ")[1:]
            self._split = [int(p[3:p.index(b'"', 3)]) for p in pieces], pieces
        return self._split

    @property
    def last_used(self) -> int:
        """The last row holding a value (``xlsx.last_used_row``)."""
        numbers, pieces = self.split
        for i in range(len(pieces) - 1, -1, -1):
            if _HAS_VALUE.search(pieces[i]):
                return numbers[i]
        for p in reversed(self.head_rows.split(b"<row ")[1:]):
            if _HAS_VALUE.search(p):
                return int(p[3:p.index(b'"', 3)])
        return 0

    @property
    def carrier_row(self) -> int:
        return self.head + 1


@dataclass
class Stub:
    """The package openpyxl loads, the plan it carries out, and the sheets written here."""

    package: io.BytesIO
    plan: WritePlan
    sheets: list[Carried]


def prepare(path: str, plan: WritePlan) -> Stub | None:
    """The stub package for ``plan`` on ``path``; None when no sheet can be carried."""
    from kpirules.connectors.xlsx_file import find_tab

    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return None  # xlsx.load says what is wrong with it
    with zf:
        parts = sheet_parts(zf)
        formats = count_formats(zf)
        strings = shared_strings(zf)
        planned = {}
        for tab in plan.tabs:
            found = find_tab(list(parts), tab.title)
            if found is not None and not tab.empty:
                planned[found] = tab
        carried: dict[str, tuple[Carried, bytes]] = {}
        taken: dict[int, int] = {}  # id(plan tab) of a carried sheet -> its head
        for title, (part, comments) in parts.items():
            tab = planned.get(title)
            # Rows with notes stay with openpyxl, which keeps notes on its cell objects.
            head = max([tab.header_row if tab is not None else 0, *comment_rows(zf, comments)])
            if tab is not None and (tab.create or tab.charts is not None or not _body_plain(tab, head)):
                continue
            try:
                data = zf.read(part)
            except KeyError:
                continue
            sheet = _carry(title, data, head, formats, strings)
            if sheet is None or (tab is not None and not _take_edits(sheet[0], tab)):
                continue
            if tab is not None:
                taken[id(tab)] = head
            carried[part] = sheet
        if not carried:
            return None
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
            for info in zf.infolist():
                data = carried[info.filename][1] if info.filename in carried else zf.read(info.filename)
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.external_attr = info.external_attr
                out.writestr(copy, data)
    package.seek(0)
    tabs = [_head_only(t, taken[id(t)]) if id(t) in taken else t for t in plan.tabs]
    return Stub(package, dataclasses.replace(plan, tabs=tabs), [c for c, _ in carried.values()])


def _head_only(tab: TabPlan, head: int) -> TabPlan:
    """What openpyxl still does on a carried sheet: its header rows and sheet settings."""
    return dataclasses.replace(tab, cells={k: v for k, v in tab.cells.items() if k[0] <= head},
                               appends=[], deletes=[])


def _body_plain(tab: TabPlan, head: int) -> bool:
    """No note or formula below ``head`` (openpyxl ties notes to its cell objects), no
    row deleted above it."""
    if any(row > head for row, _ in tab.notes) or any(row <= head for row in tab.deletes):
        return False
    outs = [o for (row, _), o in tab.cells.items() if row > head]
    outs += [o for values in tab.appends for o in values.values()]
    return not any(o.note is not None or isinstance(o.value, Formula) for o in outs)


def _carry(title: str, data: bytes, head: int, formats: int,
           strings: list[bytes] | None) -> tuple[Carried, bytes] | None:
    """The sheet's rows below ``head`` and its stub XML, or None if it must stay whole.
    ``formats``: how many cell formats the workbook has; ``strings``: its shared strings."""
    opened = re.search(rb"<sheetData\s*(/?)>", data)
    if opened is None:
        return None
    if opened[1]:  # <sheetData/>: no rows at all
        body_start = body_end = opened.end()
        before, after = data[:opened.start()] + b"<sheetData>", b"</sheetData>" + data[opened.end():]
    else:
        body_end = data.find(b"</sheetData>", opened.end())
        if body_end == -1:
            return None
        body_start = opened.end()
        before, after = data[:body_start], data[body_end:]
    if any(t in after for t in _TIED):
        return None
    # Searched in place, sliced once: a year of History is megabytes.
    if _UNADDRESSED.search(data, body_start, body_end):
        return None  # a row or cell not giving its address first
    cut = data.find(b"<row ", body_start, body_end)
    if data[body_start:cut if cut != -1 else body_end].strip():
        return None  # something before the first row
    while cut != -1 and int(data[cut + 8:data.index(b'"', cut + 8)]) <= head:
        cut = data.find(b"<row ", cut + 5, body_end)  # the header rows, one by one (a few)
    if cut == -1:
        cut = body_end
    head_rows, body = data[body_start:cut], data[cut:body_end]  # openpyxl reads the head rows as ever
    prefixes = b"xmlns:" in data[:data.find(b">", data.find(b"<worksheet")) + 1]
    if prefixes:  # saved by Excel: its row and cell extensions (x14ac:dyDescent) are ignorable
        body = _without_extensions(body)
    shared = b't="s"' in body
    if shared:
        body = _inline(body, strings)
        prefixes = True  # and check what the shared strings brought
    if body is None or not _plain(body, prefixes=prefixes, shared=shared):
        return None
    # The ids the rows use (a text that looks like one costs an unused carrier cell), with
    # the default format always among them, so that the carrier row is never empty.
    styles = sorted({0, *(i for i in map(int, _style_ids(body)) if i < formats)})
    dim = _DIMENSION.search(data)
    if dim is not None and dim[1]:
        max_col = _column(dim[1])
    else:  # no dimension to keep: the widest row (readers size rows by it)
        max_col = max(map(_column, set(_CELL_COLUMN.findall(data, body_start, body_end))), default=1)
    sheet = Carried(title=title, head=head, head_rows=head_rows, body=body, styles=styles, max_col=max_col)
    carriers = b"".join(b'<c r="%s%d" s="%d"><v>0</v></c>' % (_letter(i + 1), sheet.carrier_row, s)
                        for i, s in enumerate(styles))
    stub = before + head_rows + b'<row r="%d">%s</row>' % (sheet.carrier_row, carriers) + after
    return sheet, stub


def _style_ids(body: bytes) -> list[bytes]:
    """The distinct ``s="..."`` values in ``body``: each search looks for an id not found
    yet, from where the last one was (rows use a handful: no list of every cell's)."""
    found: list[bytes] = []
    at = 0
    while True:
        unseen = re.compile(rb' s="(?!(?:%s)")([0-9]+)"' % b"|".join(found)) if found else _STYLE_ATTR
        m = unseen.search(body, at)
        if m is None:
            return found
        found.append(m[1])
        at = m.start()


def _plain(body: bytes, *, prefixes: bool, shared: bool = True) -> bool:
    """Rows of values only: no formula, no shared string left (``shared``: there were
    some), and no namespaced name when the root declares prefixes (openpyxl's root will not)."""
    if (shared and b't="s"' in body) or (b"<f" in body and _FORMULA.search(body)):
        return False
    return not (prefixes and _PREFIXED.search(body))


def _without_extensions(body: bytes) -> bytes:
    """Rows and cells without their namespaced attributes (Excel's ``x14ac:dyDescent``, in a
    namespace Excel declares ignorable): openpyxl drops them too."""
    while True:
        changed = _EXTENSION.sub(rb"\1", body)
        if changed == body:
            return body
        body = changed


def _inline(body: bytes, strings: list[bytes] | None) -> bytes | None:
    """Cells of shared strings as inline strings, as openpyxl rewrites them (it writes no
    shared strings part); None when one cannot be (no such string)."""
    if strings is None:
        return None

    def inline(m: re.Match) -> bytes:
        return m[1] + b' t="inlineStr"' + m[2] + b"><is>" + strings[int(m[3])] + b"</is></c>"

    try:
        return _SHARED.sub(inline, body)
    except IndexError:
        return None


def _take_edits(sheet: Carried, tab: TabPlan) -> bool:
    """The plan's cells, appends and deletes below the header, as ``xlsx.apply`` places
    them; False when appends would land among the rows openpyxl keeps."""
    for (row, col), out in tab.cells.items():
        if row > sheet.head:
            sheet.edits.setdefault(row, {})[col] = out
    # Below the last row holding a value once the plan's cells are in (xlsx.last_used_row).
    filled = [row for (row, _), out in tab.cells.items() if out.value not in (None, "")]
    first = max([sheet.last_used if tab.appends else 0, *filled]) + 1
    if tab.appends and first <= sheet.head:
        return False
    for i, values in enumerate(tab.appends):
        sheet.edits.setdefault(first + i, {}).update(values)
    sheet.deletes = sorted(set(tab.deletes))
    styles = {out.style for cells in sheet.edits.values() for out in cells.values()}
    sheet.new_styles = sorted(styles, key=repr)
    sheet.max_col = max([sheet.max_col, *(c + 1 for _, c in tab.cells),
                         *(c + 1 for cells in sheet.edits.values() for c in cells)])
    return True


def add_carriers(wb: Any, sheets: list[Carried], styled: Callable[[Style], tuple]) -> None:
    """The carrier cells of this write's styles, once openpyxl has loaded the stub."""
    from kpirules.writeback.xlsx import find_sheet

    for sheet in sheets:
        ws = find_sheet(wb, sheet.title)
        for i, style in enumerate(sheet.new_styles, start=len(sheet.styles) + 1):
            cell = ws.cell(row=sheet.carrier_row, column=i, value=0)
            cell.font, cell.fill, cell.alignment, cell.number_format = styled(style)


def finishers(wb: Any, sheets: list[Carried]) -> dict[Any, Callable[[bytes], bytes]]:
    """Worksheet -> what turns openpyxl's saved stub into the whole sheet."""
    from kpirules.writeback.xlsx import find_sheet

    epoch = wb.epoch
    return {find_sheet(wb, s.title): (lambda saved, s=s: render(saved, s, epoch)) for s in sheets}


def render(saved: bytes, sheet: Carried, epoch: Any) -> bytes:
    """The saved stub with the carrier row replaced by the sheet's rows."""
    carrier = re.search(rb'<row\b[^>]*\br="%d"[^>]*>(.*?)</row>' % sheet.carrier_row, saved, re.S)
    if carrier is None or not saved[carrier.end():].lstrip().startswith(b"</sheetData>"):
        raise RuntimeError(f"the saved {sheet.title} sheet has no carrier row last")
    ids: dict[int, int] = {}
    for attrs in _CELL.findall(carrier[1]):
        ref, s = _CELL_REF.search(attrs), _CELL_STYLE.search(attrs)
        if ref is not None:
            ids[_column(ref[1])] = int(s[1]) if s else 0
    old = {s: ids[i] for i, s in enumerate(sheet.styles, start=1)}
    new = {style: ids[i] for i, style in enumerate(sheet.new_styles, start=len(sheet.styles) + 1)}
    if sheet.edits or sheet.deletes or any(k != v for k, v in old.items()):
        body, last = _rows(sheet, old, new, epoch)
    else:  # nothing changed: the rows as they were (a Data tab)
        body, last = sheet.body, _last_row(sheet.body) or sheet.head
    width = _letter(max(sheet.max_col, 1))
    last = max(last, sheet.head, 1)
    # The dimension comes before the rows: set it there, then one copy of the whole.
    head = _DIMENSION.sub(lambda m: b'<dimension ref="A1:%s%d" />' % (width, last), saved[:carrier.start()], count=1)
    return b"".join((head, body, saved[carrier.end():]))


def _last_row(body: bytes) -> int:
    at = body.rfind(b'<row r="')
    return int(body[at + 8:body.index(b'"', at + 8)]) if at != -1 else 0


def _rows(sheet: Carried, old: dict[int, int], new: dict[Style, int], epoch: Any) -> tuple[bytes, int]:
    """The rows below the header after this write, and the last row's number. Between two
    rows this write edits or deletes, every row moves by the same count: such a run of rows
    is copied as one slice when it stays, renumbered row by row when it moves."""
    numbers, pieces = sheet.split
    gone = sheet.deletes
    dropped = set(gone)
    remap = {k: v for k, v in old.items() if k != v}
    out: list[bytes] = []  # rows without their leading "<row "
    last = 0
    i = 0

    def copy(a: int, b: int) -> None:  # rows a..b-1 of the body, none edited or deleted
        nonlocal last
        if a >= b:
            return
        shift = bisect.bisect_left(gone, numbers[a])
        if shift == 0 and not remap:
            out.append(b"<row ".join(pieces[a:b]))
        else:
            out.extend(_renumbered(pieces[k], numbers[k], numbers[k] - shift, remap) for k in range(a, b))
        last = numbers[b - 1] - shift

    for r in sorted(dropped.union(sheet.edits)):
        k = bisect.bisect_left(numbers, r, i)
        copy(i, k)
        i = k
        text = None
        if i < len(numbers) and numbers[i] == r:
            text, i = b"<row " + pieces[i], i + 1
        if r in dropped:
            continue
        moved = r - bisect.bisect_left(gone, r)
        out.append(_edited(text, moved, sheet.edits[r], remap, new, epoch)[5:])
        last = moved
    copy(i, len(numbers))
    return (b"<row ".join([b"", *out]) if out else b""), last


def _renumbered(piece: bytes, number: int, row: int, remap: dict[int, int]) -> bytes:
    """A row without its leading ``<row `` (``r="7" ...``), renumbered from ``number`` to
    ``row``, formats remapped. The number ends the row's address and each cell's (``_plain``
    saw to it that they come first): when it occurs nowhere else in the row, one replace
    renumbers them all."""
    if not remap and number != row:
        key = b'%d"' % number
        if piece.count(key) == piece.count(b'<c r="') + 1:
            return piece.replace(key, b'%d"' % row)
    return _moved(b"<row " + piece, row, remap)[5:]


def _moved(text: bytes, row: int, remap: dict[int, int]) -> bytes:
    """A row as it was (``<row r="..."`` first), renumbered to ``row``, formats remapped."""
    number = b"%d" % row
    cells = text.split(b'<c r="')  # each after the first starts with the cell's address
    out = [b'<row r="' + number + cells[0][cells[0].index(b'"', 8):]]
    for cell in cells[1:]:
        end = cell.index(b'"')
        out.append(cell[:end].rstrip(b"0123456789") + number + cell[end:])
    text = b'<c r="'.join(out)
    if remap:
        text = _TAG_STYLE.sub(lambda m: m[1] + b"%d" % remap.get(int(m[2]), int(m[2])) + b'"', text)
    return text


def _edited(text: bytes | None, row: int, edits: dict[int, Out], remap: dict[int, int],
            new: dict[Style, int], epoch: Any) -> bytes:
    """A row with this write's cells put in (the row's other cells kept)."""
    cells: dict[int, bytes] = {}
    head = b'<row r="%d">' % row
    if text is not None:
        moved = _moved(text, row, remap)
        tag_end = moved.index(b">") + 1
        head = _SPANS.sub(b"", moved[:tag_end])
        if head.endswith(b"/>"):
            head = head[:-2].rstrip() + b">"
        for m in _CELL.finditer(moved, tag_end):
            ref = _CELL_REF.search(m[1])
            if ref is not None:
                cells[_column(ref[1]) - 1] = m[0]
    for col, out in edits.items():
        cells[col] = cell_xml(b"%s%d" % (_letter(col + 1), row), out, new[out.style], epoch)
    return head + b"".join(cells[c] for c in sorted(cells)) + b"</row>"


def cell_xml(ref: bytes, out: Out, style: int, epoch: Any) -> bytes:
    """One cell as openpyxl writes what ``xlsx._put`` sets: text always an inline string."""
    from xml.sax.saxutils import escape

    from kpirules.writeback.xlsx import cell_text

    s = b' s="%d"' % style if style else b""
    value = out.value
    if isinstance(value, Formula):
        raise TypeError("formulas are written by openpyxl")  # _body_plain keeps them there
    if isinstance(value, str):
        value = cell_text(value)
        if not value:
            return b'<c r="%s"%s/>' % (ref, s)
        space = b' xml:space="preserve"' if value.strip() != value else b""
        text = escape(value).encode("utf-8")
        return b'<c r="%s"%s t="inlineStr"><is><t%s>%s</t></is></c>' % (ref, s, space, text)
    if isinstance(value, bool):
        return b'<c r="%s"%s t="b"><v>%d</v></c>' % (ref, s, value)
    if isinstance(value, dt.date):
        from openpyxl.utils.datetime import to_excel

        value = to_excel(value, epoch)
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return b'<c r="%s"%s/>' % (ref, s)  # openpyxl writes no number for these either
        return b'<c r="%s"%s t="n"><v>%s</v></c>' % (ref, s, (b"%.16g" % value))
    return b'<c r="%s"%s/>' % (ref, s)


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _letter(col: int) -> bytes:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col).encode()


# zlib's level for the carried sheets (the big parts: History, the Data tab). Level 6, the
# default, spent ~60% more CPU than 5 on a year of History for a part ~6% smaller (4: half
# the time, ~13% larger). Every reader inflates any level alike.
CARRIED_LEVEL = 5


class PatchingZip(zipfile.ZipFile):
    """The zip openpyxl saves into: a worksheet with a finisher is changed on its way in."""

    def __init__(self, file: str, finish: dict[Any, Callable[[bytes], bytes]]):
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._finish = finish

    def write(self, filename, arcname=None, *args, **kwargs):  # type: ignore[override]
        change = next((f for ws, f in self._finish.items() if ws.path[1:] == arcname), None)
        if change is None:
            return super().write(filename, arcname, *args, **kwargs)
        with open(filename, "rb") as fh:
            data = fh.read()
        self.writestr(arcname, change(data), compresslevel=CARRIED_LEVEL)
