"""Raw cells -> a table the engine can aggregate (spec/semantics.md, "The data table").

Conversion is lazy and shared by every source: ``load_table`` only finds the columns and
reads the date column (it must, to know which rows a period holds); metric and dimension
cells are converted by ``DataTable.frame`` for just the columns the rules name and just the
rows inside the dates the plan needs. A year of rows the rules never look at costs nothing.

Nothing is guessed. A cell that is not what its column needs (text in a metric column, a
date we cannot read) becomes a ``Problem`` naming the cell, ``Data!C17``; the engine turns a
result that depends on such a cell into an ERROR that says which cell to fix.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kpirules.connectors.base import RawTable, a1
from kpirules.errors import DATA, Problem, SourceError
from kpirules.names import normalise

_SERIAL_EPOCH = dt.date(1899, 12, 30).toordinal()  # Sheets/Excel day 0 (1900 leap bug included)
_ISO_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[ T])")
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_date(value: Any) -> int | None:
    """A date cell as a proleptic ordinal, or None when it is not a date we can read."""
    if isinstance(value, dt.datetime):
        return value.date().toordinal()
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        # A spreadsheet serial: its whole part is the day (the fraction is the time of day).
        if 1 <= value < 2958466:
            return _SERIAL_EPOCH + int(math.floor(value))
        return None
    if isinstance(value, str):
        m = _ISO_DATE.match(value)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3])).toordinal()
            except ValueError:
                return None
    return None


def parse_number(value: Any) -> float | None | object:
    """A metric cell as a float; None when blank; ``BAD`` when the cell holds something
    that is not a plain number (text, a bool, a date, NaN)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BAD
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else BAD
    if isinstance(value, str):
        if not value.strip():
            return None
        if _NUMBER.match(value):
            return float(value)
    return BAD


BAD = object()  # parse_number's answer for a cell that is not a number


def dimension_text(value: Any) -> str:
    """A dimension cell as the text filters and segments compare (``where d = "v"``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _describe(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def index_headers(headers: list[str], *, sheet: str | None, header_row: int,
                  rows: list[list[Any]]) -> tuple[dict[str, int], dict[str, list[str]], list[Problem]]:
    """Columns by normalised header, the headers that appear more than once (with their
    cells; such a column is never guessed at), and the problems: duplicates, and a blank
    header over values in ``rows`` (the first rows of the tab)."""
    from kpirules.connectors.base import column_letter

    seen: dict[str, int] = {}
    ambiguous: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for col, header in enumerate(headers):
        name = normalise(header)
        ref = a1(sheet, header_row, col)
        if not name:
            if any(col < len(r) and not _is_blank(r[col]) for r in rows):
                problems.append(Problem(DATA, f"column {column_letter(col)} has values but no header",
                                        cell=ref, suggestion="give the column a header, or delete it"))
            continue
        if name in seen:
            ambiguous.setdefault(name, [a1(sheet, header_row, seen[name])]).append(ref)
            continue
        seen[name] = col
    for name, refs in ambiguous.items():
        problems.append(Problem(
            DATA, f"header `{name}` appears {len(refs)} times ({', '.join(refs)})",
            cell=refs[1], suggestion="rename one of the columns; rules that use it cannot be evaluated"))
        seen.pop(name, None)
    return seen, ambiguous, problems


@dataclass
class Frame:
    """The rows between two dates, sorted by date, with the columns a plan needs converted.

    Positions (0..len-1) index every list here; ``bad[column]`` maps a position to the
    problem of that cell."""

    dates: list[int]
    row_ids: list[int]
    metrics: dict[str, list[float | None]] = field(default_factory=dict)
    dims: dict[str, list[str]] = field(default_factory=dict)
    bad: dict[str, dict[int, Problem]] = field(default_factory=dict)

    def positions(self, start: dt.date, end: dt.date) -> range:
        lo = bisect.bisect_left(self.dates, start.toordinal())
        hi = bisect.bisect_right(self.dates, end.toordinal())
        return range(lo, hi)


class DataTable:
    """A data tab: its columns by normalised name, and its rows indexed by date."""

    def __init__(self, raw: RawTable, *, date_column: str = "date"):
        self.raw = raw
        self.sheet = raw.sheet or "Data"
        self.headers = [("" if h is None else str(h)) for h in raw.headers]
        self.problems: list[Problem] = []
        self.columns: dict[str, int] = {}  # normalised name -> index in each row
        self.ambiguous: dict[str, list[str]] = {}  # name -> header cells, for duplicates
        self._index_headers()
        self.date_column = normalise(date_column)
        if self.date_column not in self.columns:
            where = "the data" if raw.sheet is None else f"the {raw.sheet} tab"
            raise SourceError(
                f"{where} has no `{date_column}` column (headers: "
                f"{', '.join(h for h in self.headers if h) or 'none'})",
                hint="name the column that holds each row's date `date`",
            )
        self._index_dates()

    # ------------------------------------------------------------------ headers

    def _index_headers(self) -> None:
        self.columns, self.ambiguous, problems = index_headers(
            self.headers, sheet=self.raw.sheet, header_row=self.raw.header_row, rows=self.raw.rows[:1000])
        self.problems.extend(problems)

    def _index_dates(self) -> None:
        col = self.columns[self.date_column]
        cache: dict[Any, int | None] = {}
        dated: list[tuple[int, int]] = []
        undated_data: list[tuple[str, Any]] = []  # unreadable dates in rows that hold numbers
        filled = 0
        for i, row in enumerate(self.raw.rows):
            value = row[col] if col < len(row) else None
            try:
                ordinal = cache[value]
            except KeyError:
                ordinal = cache[value] = parse_date(value)
            except TypeError:  # unhashable cell from a plugin: parse without the cache
                ordinal = parse_date(value)
            if ordinal is not None:
                dated.append((ordinal, i))
                filled += 1
            elif not all(_is_blank(v) for v in row):
                filled += 1
                ref = self.raw.cell_ref(i, col)
                if _is_blank(value):
                    msg = f"{ref} is empty, so the row has no date; the row is left out"
                else:
                    if holds_numbers(row, col):
                        undated_data.append((ref, value))
                    msg = f"{ref} holds {_describe(value)}, which is not a date; the row is left out"
                self.problems.append(Problem(DATA, msg, cell=ref,
                                             suggestion="write dates as 2026-11-16 or use a date cell"))
        if undated_data:
            raise undated_rows_error(undated_data)
        if not filled:
            where = "the data" if self.raw.sheet is None else f"the {self.raw.sheet} tab"
            raise SourceError(f"{where} has no rows below its headers",
                              hint="check that the export that fills it ran, and that --data-tab (or "
                                   "data_tab in the settings) names the right tab")
        if any(dated[k][0] > dated[k + 1][0] for k in range(len(dated) - 1)):
            dated.sort()
        self._sorted_dates = [d for d, _ in dated]
        self._sorted_rows = [i for _, i in dated]

    # --------------------------------------------------------------------- rows

    @property
    def row_count(self) -> int:
        return len(self._sorted_rows)

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        if not self._sorted_dates:
            return None
        return dt.date.fromordinal(self._sorted_dates[0]), dt.date.fromordinal(self._sorted_dates[-1])

    def names(self) -> list[str]:
        """Every column a rule may name (normalised), the date column excluded."""
        return [n for n in self.columns if n != self.date_column]

    def frame(self, start: dt.date, end: dt.date, metrics: Iterable[str] = (),
              dims: Iterable[str] = ()) -> Frame:
        """The rows dated ``start``..``end`` with ``metrics`` and ``dims`` converted."""
        lo = bisect.bisect_left(self._sorted_dates, start.toordinal())
        hi = bisect.bisect_right(self._sorted_dates, end.toordinal())
        row_ids = self._sorted_rows[lo:hi]
        frame = Frame(dates=self._sorted_dates[lo:hi], row_ids=row_ids)
        rows = self.raw.rows
        for name in metrics:
            col = self.columns[name]
            cells = [r[col] if col < len(r) else None for r in (rows[i] for i in row_ids)]
            frame.metrics[name], bad = self._convert_metric(cells)
            frame.bad[name] = {
                pos: Problem(DATA, f"{self.raw.cell_ref(row_ids[pos], col)} holds "
                                   f"{_describe(cells[pos])}, not a number",
                             cell=self.raw.cell_ref(row_ids[pos], col),
                             suggestion="write a plain number such as 1234.5 (no thousands "
                                        "separators or units), or clear the cell if it is missing")
                for pos in bad
            }
        for name in dims:
            col = self.columns[name]
            frame.dims[name] = [dimension_text(r[col] if col < len(r) else None)
                                for r in (rows[i] for i in row_ids)]
        return frame

    def extents(self, columns: Iterable[str], last_day: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
        """Each column's data start and end (spec/semantics.md, "Complete periods"): the
        earliest and latest date up to ``last_day`` of a row with a non-blank cell in it,
        whether or not the cell reads as a number. Columns with no such cell are absent.
        Rows are in date order, so each end is found by walking in from that end."""
        hi = bisect.bisect_right(self._sorted_dates, last_day.toordinal())
        rows, ids, dates = self.raw.rows, self._sorted_rows, self._sorted_dates
        out: dict[str, tuple[dt.date, dt.date]] = {}
        for name in columns:
            col = self.columns[name]

            def filled(p: int) -> bool:
                row = rows[ids[p]]
                return col < len(row) and not _is_blank(row[col])

            first = next((p for p in range(hi) if filled(p)), None)
            if first is None:
                continue
            last = next(p for p in range(hi - 1, first - 1, -1) if filled(p))
            out[name] = (dt.date.fromordinal(dates[first]), dt.date.fromordinal(dates[last]))
        return out

    def groups(self, plan) -> dict:
        """Every scan of ``plan`` computed: one frame over the plan's date hull holding just
        the columns it names, then one pass per scan (``kpirules.aggregate``)."""
        from kpirules.aggregate import compute

        hull = plan.hull
        if hull is None:
            return {}
        frame = self.frame(hull[0], hull[1], metrics=plan.metrics, dims=plan.dims)
        return {scan: compute(frame, scan, needed) for scan, needed in plan.scans.items()}

    @staticmethod
    def _convert_metric(cells: list[Any]) -> tuple[list[float | None], list[int]]:
        # Fast path: a clean column (CSV text or sheet numbers, blanks as "" or None)
        # converts in one comprehension. float() also takes True, "nan" and "inf", none of
        # which is a number we accept, so the fast result is only trusted when none of
        # those came in; anything else goes cell by cell.
        # float() also takes "1_000", which parse_number does not: one C-level join finds it.
        try:
            values = [None if c is None or c == "" else float(c) for c in cells]
            if math.isfinite(math.fsum(v for v in values if v is not None)) and \
                    not any(c is True or c is False for c in cells) and \
                    "_" not in "".join(c for c in cells if type(c) is str):
                return values, []
        except (TypeError, ValueError, OverflowError):
            pass
        out: list[float | None] = []
        bad: list[int] = []
        for pos, cell in enumerate(cells):
            v = parse_number(cell)
            if v is BAD:
                bad.append(pos)
                out.append(None)
            else:
                out.append(v)  # type: ignore[arg-type]
        return out, bad


def holds_numbers(row: list[Any], date_col: int) -> bool:
    """True when a cell of ``row`` other than its date reads as a number: a data row."""
    return any(k != date_col and type(parse_number(v)) is float for k, v in enumerate(row))


def undated_rows_error(found: list[tuple[str, Any]]) -> SourceError:
    """The source error for data rows (numbers in them) whose date cell holds something
    that is not a date: left out silently, they would make every verdict on their period
    wrong. ``found``: (cell, value) of each, in row order. (A blank date cell stays a
    warning: totals and notes rows have none.)"""
    cells = [c for c, _ in found]
    more = f" (and {len(cells) - 1} more such row{'s' if len(cells) > 2 else ''}: {', '.join(cells[1:4])}{'...' if len(cells) > 4 else ''})" \
        if len(cells) > 1 else ""
    return SourceError(f"{cells[0]} holds {_describe(found[0][1])}, which is not a date, in a row of "
                       f"numbers{more}: the data cannot be read",
                       hint="write dates as 2026-11-16 (or use date cells), or clear the row if it "
                            "is not data")


def load_table(raw: RawTable, *, date_column: str = "date") -> DataTable:
    """Index a raw data tab. Raises ``SourceError`` when it has no date column."""
    from kpirules.bulk import gc_paused

    with gc_paused():
        return DataTable(raw, date_column=date_column)
