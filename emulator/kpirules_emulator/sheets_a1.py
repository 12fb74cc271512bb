"""A1 notation as the Sheets API v4 reads and writes it.

Parsing turns ``'My Sheet'!A1:B``, ``Sheet1``, ``A:A``, ``2:5``, ``R1C1:R2C2`` into a
:class:`A1Range` (sheet title or None, 0-based half-open bounds, ``None`` = open end).
Formatting produces the normalised form Google puts in answers: the title quoted only when
it has to be (``Sheet1!A1:D5`` but ``'My Sheet'!A1`` and ``'D3'!A1``), a 1x1 range written
as one cell, open ends resolved against the grid (``Sheet1!A1:Z1000``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Sheets' widest column is ZZZ; anything longer is not a cell reference (so ``Sheet1`` is
#: a sheet title, not column SHEET row 1).
MAX_COLUMN_LETTERS = 3

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})?\$?([0-9]+)?$")
_R1C1 = re.compile(r"^[Rr]([0-9]+)?[Cc]([0-9]+)?$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}[0-9]+$|^[Rr][0-9]*[Cc][0-9]*$")


class A1Error(ValueError):
    """The text is not a range Sheets can parse."""


def column_letters(index: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA).

    The emulator keeps its own copy of this arithmetic rather than importing the
    connector's (``kpirules.connectors.base.column_letter``): it stands in for Google, so a
    bug in the code under test must not also shape the emulator's answers."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """Letters -> 0-based column index (A -> 0, AA -> 26)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """A sheet title as it appears in an A1 range Google returns.

    Google leaves plain identifiers bare (``Sheet1``, ``Data``) and quotes anything with
    spaces, punctuation or symbols, and titles that could be read as a cell (``D3``,
    ``tab01``, ``R1C1``), doubling embedded quotes."""
    plain = bool(title) and all(ch.isalnum() or ch == "_" for ch in title) \
        and not title[0].isdigit()
    if plain and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class A1Range:
    """A parsed range. Bounds are 0-based, end-exclusive; None means open (to the grid
    edge for ends, from the first row/column for starts)."""

    sheet: str | None
    row0: int | None = None
    row1: int | None = None
    col0: int | None = None
    col1: int | None = None

    @property
    def whole_sheet(self) -> bool:
        return self.row0 is None and self.row1 is None and self.col0 is None \
            and self.col1 is None

    @property
    def single_cell(self) -> bool:
        """A bare ``A1``: writes treat it as an anchor and grow from it."""
        return (self.row0 is not None and self.row1 == self.row0 + 1
                and self.col0 is not None and self.col1 == self.col0 + 1)

    def bounds(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        """(row0, row1, col0, col1) with open ends resolved against a grid size."""
        return (self.row0 or 0, rows if self.row1 is None else self.row1,
                self.col0 or 0, cols if self.col1 is None else self.col1)


def _split_sheet(text: str) -> tuple[str | None, str | None]:
    """``'It''s'!A1`` -> ("It's", "A1"); ``'It''s'`` -> ("It's", None);
    ``Sheet1`` -> (None, "Sheet1"); ``Sheet1!`` -> ("Sheet1", "") (an error later)."""
    if text.startswith("'"):
        i, title = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if text[i + 1:i + 2] == "'":
                    title.append("'")
                    i += 2
                    continue
                rest = text[i + 1:]
                if rest == "":
                    return "".join(title), None
                if rest.startswith("!"):
                    return "".join(title), rest[1:]
                raise A1Error(text)
            title.append(ch)
            i += 1
        raise A1Error(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def _parse_point(part: str) -> tuple[int | None, int | None]:
    """``B7`` -> (6, 1); ``B`` -> (None, 1); ``7`` -> (6, None); R1C1 too."""
    m = _CELL.match(part)
    if m and (m.group(1) or m.group(2)):
        col = column_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        if row is not None and row < 0:
            raise A1Error(part)
        return row, col
    m = _R1C1.match(part)
    if m and part not in ("R", "r", "C", "c"):
        row = int(m.group(1)) - 1 if m.group(1) else None
        col = int(m.group(2)) - 1 if m.group(2) else None
        if (row is not None and row < 0) or (col is not None and col < 0):
            raise A1Error(part)
        return row, col
    raise A1Error(part)


def parse_cells(cells: str, sheet: str | None) -> A1Range:
    """The part after ``!``: ``A1``, ``A1:B2``, ``A:C``, ``3:5``, ``A5:A``."""
    first, sep, second = cells.partition(":")
    r0, c0 = _parse_point(first)
    if not sep:
        if r0 is None or c0 is None:
            raise A1Error(cells)  # a bare column or row ("A", "5") is not a range
        return A1Range(sheet, r0, r0 + 1, c0, c0 + 1)
    r1, c1 = _parse_point(second)
    # A column on one side and a row on the other ("A:5") makes no rectangle.
    if (c0 is None) != (c1 is None) and (r0 is None) == (r1 is None) and r0 is None:
        raise A1Error(cells)
    if c0 is None and c1 is not None and r0 is not None:
        c0 = 0  # "1:B5" is not valid A1, but be lenient the way Sheets is with "A1:5"
    if c0 is not None and c1 is not None and c1 < c0:
        c0, c1 = c1, c0
    if r0 is not None and r1 is not None and r1 < r0:
        r0, r1 = r1, r0
    if c0 is None and c1 is None:  # rows only: 3:5
        if r0 is None or r1 is None:
            raise A1Error(cells)
        return A1Range(sheet, r0, r1 + 1, None, None)
    if r0 is None and r1 is None:  # columns only: A:C
        return A1Range(sheet, None, None, c0, c1 + 1)
    if r0 is None:  # "A:B5" -> from row 1
        r0 = 0
    return A1Range(sheet, r0, None if r1 is None else r1 + 1,
                   c0, None if c1 is None else c1 + 1)


def parse(text: str, sheet_titles: list[str]) -> A1Range:
    """Parse a range the way Sheets does, given the spreadsheet's sheet titles.

    Without ``!`` the text is a sheet title if one matches (Sheets checks titles first,
    so a sheet named ``A1`` wins), else cells on the first visible sheet (sheet=None)."""
    text = text.strip()
    if not text:
        raise A1Error(text)
    title, cells = _split_sheet(text)
    if title is None:
        if cells in sheet_titles:
            return A1Range(cells)
        return parse_cells(cells, None)
    if title not in sheet_titles or cells == "":
        raise A1Error(text)
    if cells is None:
        return A1Range(title)
    return parse_cells(cells, title)


def format_range(title: str, row0: int, row1: int, col0: int, col1: int) -> str:
    """Normalised A1 as Google answers it: ``Sheet1!A1:D4``, one cell as ``Sheet1!B3``."""
    start = f"{column_letters(col0)}{row0 + 1}"
    if row1 - row0 == 1 and col1 - col0 == 1:
        return f"{quote_title(title)}!{start}"
    return f"{quote_title(title)}!{start}:{column_letters(col1 - 1)}{row1}"


def format_requested(title: str, rng: A1Range) -> str:
    """The range as asked (open ends kept), for error messages such as
    ``Range ('Lighthouse Results'!A1001) exceeds grid limits``."""
    if rng.whole_sheet:
        return quote_title(title)

    def point(r: int | None, c: int | None) -> str:
        return (column_letters(c) if c is not None else "") + \
            (str(r + 1) if r is not None else "")

    start = point(rng.row0, rng.col0)
    if rng.single_cell:
        return f"{quote_title(title)}!{start}"
    end = point(None if rng.row1 is None else rng.row1 - 1,
                None if rng.col1 is None else rng.col1 - 1)
    return f"{quote_title(title)}!{start}:{end}"
