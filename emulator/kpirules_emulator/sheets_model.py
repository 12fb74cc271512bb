"""The emulator's state: spreadsheets, sheets and cells.

Cells are immutable values (a write replaces the Cell object), so cloning a spreadsheet
for an all-or-nothing batch only copies the row lists, not the cells: a 50,000-row sheet
clones in milliseconds and a failed batch leaves the original untouched.
"""

from __future__ import annotations

import copy
import random
import struct
from typing import Any, Iterator

from kpirules_emulator.sheets_format import SheetError, num_out

# Recorded from a new spreadsheet (tests/cassettes): what Google answers for
# properties.defaultFormat and properties.spreadsheetTheme.
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {"foregroundColor": {}, "fontFamily": "arial,sans,sans-serif",
                   "fontSize": 10, "bold": False, "italic": False, "strikethrough": False,
                   "underline": False, "foregroundColorStyle": {"rgbColor": {}}},
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme_color(kind: str, red=0.0, green=0.0, blue=0.0) -> dict:
    rgb = {k: v for k, v in (("red", red), ("green", green), ("blue", blue)) if v}
    return {"colorType": kind, "color": {"rgbColor": rgb}}


DEFAULT_THEME: dict[str, Any] = {"primaryFontFamily": "Arial", "themeColors": [
    _theme_color("TEXT"), _theme_color("BACKGROUND", 1, 1, 1),
    _theme_color("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
    _theme_color("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
    _theme_color("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
    _theme_color("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
    _theme_color("ACCENT5", 1, 0.42745098, 0.003921569),
    _theme_color("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
    _theme_color("LINK", 0.06666667, 0.33333334, 0.8)]}

DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
ROW_PIXELS, COL_PIXELS = 21, 100
CELL_LIMIT = 10_000_000


class Formula:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Formula) and other.text == self.text

    def __repr__(self):
        return f"Formula({self.text!r})"


class Cell:
    """One cell: user-entered value (None/float/str/bool/Formula), userEnteredFormat,
    note, dataValidation, other CellData fields, and for formulas seeded from xlsx the
    value Excel cached (used when a function is beyond the small evaluator)."""

    __slots__ = ("value", "fmt", "note", "dv", "extra", "cached")

    def __init__(self, value=None, fmt=None, note=None, dv=None, extra=None, cached=None):
        self.value, self.fmt, self.note, self.dv = value, fmt, note, dv
        self.extra, self.cached = extra, cached

    def replace(self, **changes) -> Cell | None:
        fields = {k: getattr(self, k) for k in Cell.__slots__}
        fields.update(changes)
        cell = Cell(**fields)
        return None if cell.empty() else cell

    def empty(self) -> bool:
        return self.value is None and not self.fmt and not self.note and not self.dv \
            and not self.extra


# --- JSON <-> values ----------------------------------------------------------------

def extended_value(value) -> dict | None:
    """A value as an ExtendedValue object."""
    kind = type(value)
    if kind is float:
        return {"numberValue": num_out(value)}
    if kind is str:
        return {"stringValue": value}
    if value is None:
        return None
    if kind is bool:
        return {"boolValue": value}
    if isinstance(value, Formula):
        return {"formulaValue": value.text}
    if isinstance(value, SheetError):
        return {"errorValue": {"type": value.type, "message": value.message}}
    return {"stringValue": value}


def from_extended_value(ev: dict | None):
    if not ev:
        return None
    if ev.get("numberValue") is not None:
        return float(ev["numberValue"])
    if ev.get("boolValue") is not None:
        return bool(ev["boolValue"])
    if ev.get("formulaValue") is not None:
        return Formula(ev["formulaValue"])
    if ev.get("stringValue") is not None:
        return ev["stringValue"]
    return None


def float32(x: float) -> float:
    """Colors are proto floats: Google answers 0.4980392156862745 as 0.49803922."""
    f = struct.unpack("f", struct.pack("f", x))[0]
    for digits in range(1, 10):
        shorter = float(f"{f:.{digits}g}")
        if struct.unpack("f", struct.pack("f", shorter))[0] == f:
            return shorter
    return f


_COLOR_KEYS = {"red", "green", "blue", "alpha"}
_MIRRORED = (("backgroundColor", "backgroundColorStyle"), ("foregroundColor",
             "foregroundColorStyle"), ("color", "colorStyle"), ("tabColor", "tabColorStyle"))


_PROTO3_DEFAULTS = {"hidden": False, "rightToLeft": False, "hideGridlines": False,
                    "rowGroupControlAfter": False, "columnGroupControlAfter": False,
                    "frozenRowCount": 0, "frozenColumnCount": 0}


def drop_defaults(props: dict) -> dict:
    """SheetProperties as Google echoes them: plain proto3 fields at their default
    (``hidden: false``, ``frozenRowCount: 0``) are left out."""
    out = {k: v for k, v in props.items()
           if not (k in _PROTO3_DEFAULTS and v == _PROTO3_DEFAULTS[k] and type(v) is
                   type(_PROTO3_DEFAULTS[k]))}
    if isinstance(out.get("gridProperties"), dict):
        out["gridProperties"] = drop_defaults(out["gridProperties"])
    return out


def normalize(obj):
    """Stored formats/properties the way Google echoes them: colors as float32 with zero
    channels dropped, integral numbers as ints, each color mirrored to its *Style twin
    (``backgroundColor`` <-> ``backgroundColorStyle.rgbColor``)."""
    if isinstance(obj, list):
        return [normalize(x) for x in obj]
    if not isinstance(obj, dict):
        return num_out(obj) if isinstance(obj, float) else obj
    if obj and set(obj) <= _COLOR_KEYS and all(isinstance(v, (int, float))
                                                and not isinstance(v, bool)
                                                for v in obj.values()):
        return {k: num_out(float32(float(v))) for k, v in obj.items()
                if k == "alpha" or v != 0}
    out = {k: normalize(v) for k, v in obj.items()}
    for plain, style in _MIRRORED:
        # Only a Color mirrors; ThemeColorPair.color is already a ColorStyle.
        if plain in out and style not in out and isinstance(out[plain], dict) and \
                set(out[plain]) <= _COLOR_KEYS:
            out[style] = {"rgbColor": copy.deepcopy(out[plain])}
        elif style in out and plain not in out and "rgbColor" in out[style]:
            out[plain] = copy.deepcopy(out[style]["rgbColor"])
    return out


# --- sheets -------------------------------------------------------------------------

class Sheet:
    def __init__(self, props: dict):
        self.props = props
        self.rows: list[list[Cell | None]] = []
        self.row_meta: dict[int, dict] = {}
        self.col_meta: dict[int, dict] = {}
        self.conditional: list[dict] = []
        self.protected: list[dict] = []
        self.merges: list[dict] = []
        self.extra: dict[str, Any] = {}  # basicFilter, bandedRanges...: stored, echoed
        self.has_formulas = False  # conservative: set on any formula write

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def grid(self) -> dict:
        return self.props.setdefault("gridProperties", {})

    @property
    def row_count(self) -> int:
        return self.grid.get("rowCount", 0)

    @property
    def col_count(self) -> int:
        return self.grid.get("columnCount", 0)

    def cell(self, r: int, c: int) -> Cell | None:
        if r < len(self.rows):
            row = self.rows[r]
            if c < len(row):
                return row[c]
        return None

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        if cell is not None and cell.empty():
            cell = None
        if cell is None and self.cell(r, c) is None:
            return
        while len(self.rows) <= r:
            self.rows.append([])
        row = self.rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = cell
        if cell is not None and isinstance(cell.value, Formula):
            self.has_formulas = True
        if cell is None:
            while row and row[-1] is None:
                row.pop()
            while self.rows and not self.rows[-1]:
                self.rows.pop()

    def iter_cells(self) -> Iterator[tuple[int, int, Cell]]:
        for r, row in enumerate(self.rows):
            for c, cell in enumerate(row):
                if cell is not None:
                    yield r, c, cell

    def used_extent(self) -> tuple[int, int]:
        return len(self.rows), max((len(row) for row in self.rows), default=0)

    def clone(self) -> Sheet:
        other = Sheet(copy.deepcopy(self.props))
        other.rows = [list(row) for row in self.rows]
        other.row_meta = copy.deepcopy(self.row_meta)
        other.col_meta = copy.deepcopy(self.col_meta)
        other.conditional = copy.deepcopy(self.conditional)
        other.protected = copy.deepcopy(self.protected)
        other.merges = copy.deepcopy(self.merges)
        other.extra = copy.deepcopy(self.extra)
        other.has_formulas = self.has_formulas
        return other

    def crop(self) -> None:
        """Drop cells outside the grid after it shrank."""
        del self.rows[self.row_count:]
        for row in self.rows:
            del row[self.col_count:]
        while self.rows and not any(c is not None for c in self.rows[-1]):
            self.rows.pop()
        for i in range(len(self.rows)):
            while self.rows[i] and self.rows[i][-1] is None:
                self.rows[i].pop()

    # --- dimensions ---
    def insert(self, dimension: str, start: int, count: int, inherit_before: bool) -> None:
        """Insert empty rows/columns at ``start``; they take the formats of the row or
        column before (inheritFromBefore) or after them, as Sheets does."""
        source = start - 1 if inherit_before else start

        def formats_only(cell: Cell | None) -> Cell | None:
            return Cell(fmt=cell.fmt) if cell is not None and cell.fmt else None

        if dimension == "ROWS":
            template = [formats_only(c) for c in
                        (self.rows[source] if 0 <= source < len(self.rows) else [])]
            if not any(template):
                template = []
            if start < len(self.rows):
                self.rows[start:start] = [list(template) for _ in range(count)]
            self.grid["rowCount"] = self.row_count + count
            self.row_meta = _shift_meta(self.row_meta, start, count)
        else:
            for row in self.rows:
                if start < len(row):
                    fill = formats_only(row[source] if 0 <= source < len(row) else None)
                    row[start:start] = [fill] * count
            self.grid["columnCount"] = self.col_count + count
            self.col_meta = _shift_meta(self.col_meta, start, count)
        for rng in self._ranges():
            _shift_range(rng, dimension, start, count)

    def delete(self, dimension: str, start: int, end: int) -> None:
        count = end - start
        if dimension == "ROWS":
            del self.rows[start:end]
            self.grid["rowCount"] = self.row_count - count
            self.row_meta = _shift_meta(self.row_meta, start, -count)
        else:
            for row in self.rows:
                del row[start:end]
            self.grid["columnCount"] = self.col_count - count
            self.col_meta = _shift_meta(self.col_meta, start, -count)
        self.crop()
        for rng in self._ranges():
            _shift_range(rng, dimension, start, -count)

    def _ranges(self) -> Iterator[dict]:
        for rule in self.conditional:
            yield from rule.get("ranges", [])
        for pr in self.protected:
            if "range" in pr:
                yield pr["range"]
        yield from self.merges


def _shift_meta(meta: dict[int, dict], start: int, delta: int) -> dict[int, dict]:
    out = {}
    for i, m in meta.items():
        if i < start:
            out[i] = m
        elif delta < 0 and i < start - delta:
            continue
        else:
            out[i + delta] = m
    return out


def _shift_range(rng: dict, dimension: str, start: int, delta: int) -> None:
    """Move a GridRange's bounds after rows/columns were inserted (delta > 0) at
    ``start`` or deleted (delta < 0) from ``start``: a range grows when the insertion is
    inside it, and shrinks (or collapses to ``start``) with a deletion."""
    lo, hi = ("startRowIndex", "endRowIndex") if dimension == "ROWS" else \
        ("startColumnIndex", "endColumnIndex")
    for key in (lo, hi):
        v = rng.get(key)
        if v is None:
            continue
        if delta > 0:
            if v > start or (key == lo and v == start):
                rng[key] = v + delta
        elif v > start:
            rng[key] = max(start, v + delta)


# --- spreadsheets -------------------------------------------------------------------

class Spreadsheet:
    def __init__(self, key: str, title: str, locale: str = "en_US",
                 time_zone: str = "Etc/GMT"):
        self.id = key
        self.props: dict[str, Any] = {
            "title": title, "locale": locale, "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone, "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME)}
        self.sheets: list[Sheet] = []
        self.named_ranges: list[dict] = []
        self.extra: dict[str, Any] = {}  # developerMetadata, dataSources...
        self.shared_with: set[str] | None = None  # None: anyone may read and write
        self.readers: set[str] = set()
        # Sheet ids are random 31-bit numbers like Google's, but reproducible per key.
        self.rng = random.Random(key)

    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.id}/edit"

    def titles(self) -> list[str]:
        return [s.title for s in self.sheets]

    def by_title(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def first_visible(self) -> Sheet:
        return next((s for s in self.sheets if not s.props.get("hidden")), self.sheets[0])

    def new_sheet_id(self) -> int:
        used = {s.sheet_id for s in self.sheets}
        while True:
            candidate = self.rng.randrange(1, 2 ** 31 - 1)
            if candidate not in used:
                return candidate

    def add_sheet(self, props: dict, index: int | None = None) -> Sheet:
        sheet = Sheet(props)
        if index is None or index > len(self.sheets):
            index = len(self.sheets)
        self.sheets.insert(index, sheet)
        self.reindex()
        return sheet

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def cell_total(self) -> int:
        return sum(s.row_count * s.col_count for s in self.sheets)

    def clone(self) -> Spreadsheet:
        other = Spreadsheet.__new__(Spreadsheet)
        other.id = self.id
        other.props = copy.deepcopy(self.props)
        other.sheets = [s.clone() for s in self.sheets]
        other.named_ranges = copy.deepcopy(self.named_ranges)
        other.extra = copy.deepcopy(self.extra)
        other.shared_with = None if self.shared_with is None else set(self.shared_with)
        other.readers = set(self.readers)
        other.rng = random.Random()
        other.rng.setstate(self.rng.getstate())
        return other

    def may_read(self, account: str | None) -> bool:
        return self.shared_with is None or account in self.shared_with or \
            account in self.readers

    def may_write(self, account: str | None) -> bool:
        return self.shared_with is None or account in self.shared_with
