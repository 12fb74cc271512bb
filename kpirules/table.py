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
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from kpirules.dataclass_fast import dataclass, field
from kpirules.aggregate import ROWS
from kpirules.connectors.base import CellError, RawTable, UnsavedFormula, a1  # noqa: F401  (re-exported)
from kpirules.errors import DATA, Problem, SourceError
from kpirules.i18n import _
from kpirules.names import normalise, number_text
from kpirules.read import numbers
from kpirules.read.dates import text_date, typed as typed_date
from kpirules.read.numbers import read_text
from kpirules.read.recipe import no_data_error

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.aggregate import Group, Segment
    from kpirules.plan import Plan, Scan


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_date(value: Any, order: str | None = None) -> int | None:
    """A date cell as a proleptic ordinal, or None when it is not a date we can read.
    ``order`` (``kpirules.read.dates.DAY_FIRST``/``MONTH_FIRST``) reads ``1/2/2026``; a
    column's order is decided by ``DateReader.for_column``."""
    if isinstance(value, str):
        return text_date(value, order)
    return typed_date(value)


def parse_number(value: Any, mark: str | None = None) -> float | None | object:
    """A metric cell as a float; None when blank (or ``--``, ``-``, ``N/A``); ``BAD`` when
    the cell holds something that is not a number (text, a bool, a date, NaN, infinity, a
    number too large for a float, or ``1,234`` with no decimal ``mark`` to say which)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BAD
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else BAD
    if isinstance(value, str):
        if isinstance(value, (CellError, UnsavedFormula)):
            return BAD
        read = read_text(value, mark)
        return read if read is None or type(read) is float else BAD
    return BAD


BAD = object()  # parse_number's answer for a cell that is not a number


MARK_SAMPLE = 1000  # rows at each end of a column that decide its decimal mark


def metric_problem(ref: str, value: Any, mark: str | None, header: str) -> Problem:
    """The problem of a metric cell that is not a number, saying why and how to fix it."""
    if isinstance(value, UnsavedFormula):
        return Problem(DATA, _("{cell} holds the formula {formula} saved without its value").format(
                           cell=ref, formula=value), cell=ref,
                       suggestion=_("open the file in Excel or LibreOffice and save it, so that the "
                                    "formulas' values are stored with them"))
    reason = read_text(value, mark) if isinstance(value, str) else numbers.NOT_A_NUMBER
    shown = _describe(value)
    if reason is numbers.AMBIGUOUS:
        return Problem(DATA, _("{cell} holds {value}, which is a thousand-something or a decimal depending on "
                               "the convention, and nothing in column `{header}` says which").format(
                           cell=ref, value=shown, header=header),
                       cell=ref, suggestion=_('set `locale` in the settings ("en_US" reads 1,234.56, '
                                              '"pl_PL" reads 1 234,56)'))
    if reason is numbers.TOO_BIG or (isinstance(value, float) and math.isinf(value)):
        return Problem(DATA, _("{cell} holds {value}, too large to be a number").format(cell=ref, value=shown),
                       cell=ref, suggestion=_("fix the cell: it holds no real value"))
    if isinstance(value, float) and math.isnan(value):
        return Problem(DATA, _("{cell} holds NaN, not a number").format(cell=ref), cell=ref,
                       suggestion=_("fix the cell, or clear it if the value is missing"))
    return Problem(DATA, _("{cell} holds {value}, not a number").format(cell=ref, value=shown), cell=ref,
                   suggestion=_("write a number such as 1234.5 or 1 234,5, or clear the cell if it is missing"))


def undated_problem(ref: str, col: int, row: list[Any], value: Any) -> Problem:
    """A row without a readable date (``value`` in column ``col``): a note left out (the
    problem returned), or a ``SourceError`` when it holds numbers: a data row whose numbers
    would silently be left out."""
    if any(numbers.looks_numeric(v) for j, v in enumerate(row) if j != col):
        what = (_("{cell} is empty, but its row holds numbers") if _is_blank(value) else
                _("{cell} holds {value}, which is not a date, but its row holds numbers"))
        raise SourceError(what.format(cell=ref, value=_describe(value)),
                          hint=_("write the date (as 2026-11-16, or as the column's other dates), "
                                 "or set `date_format` for dates written another way"))
    if _is_blank(value):
        msg = _("{cell} is empty, so the row has no date; the row is left out").format(cell=ref)
    else:
        msg = _("{cell} holds {value}, which is not a date; the row is left out").format(
            cell=ref, value=_describe(value))
    return Problem(DATA, msg, cell=ref, suggestion=_("write dates as 2026-11-16 or use a date cell"))


def dimension_text(value: Any) -> str:
    """A dimension cell as the text filters and segments compare (``where d = "v"``): a
    typed cell in the one text every engine gives it (spec "Segments and filters")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dt.datetime):
        # Fractional seconds without trailing zeros (10:00:00.5), as databases write them.
        if value.time() == dt.time():
            return value.date().isoformat()
        text = value.isoformat(" ")
        return text.rstrip("0") if value.microsecond and value.tzinfo is None else text
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
                problems.append(Problem(DATA, _("column {letter} has values but no header").format(
                    letter=column_letter(col)), cell=ref, suggestion=_("give the column a header, or delete it")))
            continue
        if name in seen:
            ambiguous.setdefault(name, [a1(sheet, header_row, seen[name])]).append(ref)
            continue
        seen[name] = col
    for name, refs in ambiguous.items():
        problems.append(Problem(
            DATA, _("header `{name}` appears {n} times ({cells})").format(name=name, n=len(refs), cells=", ".join(refs)),
            cell=refs[1], suggestion=_("rename one of the columns; rules that use it cannot be evaluated")))
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
    """A data tab: its columns by normalised name, and its rows indexed by date.

    The raw table is first shaped by its read recipe (``kpirules.read.recipe``): the header
    found below any preamble, totals left out, the date column and its format decided."""

    backend = "python"
    capabilities: ClassVar[frozenset[str]] = frozenset({ROWS})
    complete_lag_days: int | None = None

    def __init__(self, raw: RawTable, *, date_column: str | None = None, settings: Any = None,
                 options: Any = None):
        from kpirules.read.recipe import ReadOptions, shape

        if options is None:
            options = ReadOptions.of(settings, raw, date_column)
        self.raw, self.recipe = shape(raw, options)
        raw = self.raw
        self.sheet = raw.sheet or "Data"
        self.headers = [("" if h is None else str(h)) for h in raw.headers]
        self.problems: list[Problem] = []
        self.warnings: list[str] = list(self.recipe.warnings)  # said once (Report.warnings)
        self.columns: dict[str, int] = {}  # normalised name -> index in each row
        self.ambiguous: dict[str, list[str]] = {}  # name -> header cells, for duplicates
        self._marks: dict[str, str | None] = {}  # column -> decimal mark, decided when first read
        self._index_headers()
        self.date_column = normalise(self.headers[self.recipe.date_index])
        if self.date_column not in self.columns:  # its header appears twice
            raise SourceError(
                _("the date column `{header}` of {sheet} appears more than once ({cells})").format(
                    header=self.headers[self.recipe.date_index], sheet=self.sheet,
                    cells=", ".join(self.ambiguous.get(self.date_column, []))),
                hint=_("rename one of the columns, or set `date_column`"))
        self._index_dates()

    # ------------------------------------------------------------------ headers

    def _index_headers(self) -> None:
        self.columns, self.ambiguous, problems = index_headers(
            self.headers, sheet=self.raw.sheet, header_row=self.raw.header_row, rows=self.raw.rows[:1000])
        self.problems.extend(problems)

    def _index_dates(self) -> None:
        col = self.columns[self.date_column]
        cells = [row[col] if col < len(row) else None for row in self.raw.rows]
        try:
            distinct = set(cells)
        except TypeError:  # unhashable cells from a plugin: no cache
            distinct = {c for c in cells if isinstance(c, str)}
            cache: dict[Any, int | None] = {}
        else:
            cache = {}
        # Each distinct date read once, by the reader decided from all of them.
        self.recipe.decide_dates(distinct)
        read = self.recipe.dates
        dated: list[tuple[int, int]] = []
        filled = 0
        for i, value in enumerate(cells):
            try:
                ordinal = cache[value]
            except KeyError:
                ordinal = cache[value] = read(value)
            except TypeError:
                ordinal = read(value)
            if ordinal is not None:
                dated.append((ordinal, i))
                filled += 1
            elif not all(_is_blank(v) for v in self.raw.rows[i]):
                filled += 1
                self._undated(i, col, self.raw.rows[i], value)
        if not filled:
            where = "the data" if self.raw.sheet is None else f"the {self.raw.sheet} tab"
            raise no_data_error(where)
        if any(dated[k][0] > dated[k + 1][0] for k in range(len(dated) - 1)):
            dated.sort()
        self._sorted_dates = [d for d, _ in dated]
        self._sorted_rows = [i for _, i in dated]

    def _undated(self, i: int, col: int, row: list[Any], value: Any) -> None:
        self.problems.append(undated_problem(self.raw.cell_ref(i, col), col, row, value))

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
            # A column that may be written with decimal commas has its mark decided first:
            # there "1.500" is 1500, not what float() makes of it.
            mark = self.mark(name) if self.recipe.comma_possible else (lambda n=name: self.mark(n))
            frame.metrics[name], bad = self._convert_metric(cells, mark)
            frame.bad[name] = {
                pos: metric_problem(self.raw.cell_ref(row_ids[pos], col), cells[pos], self.mark(name),
                                    self.headers[col])
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
        whether or not the cell reads as a number (blank: empty, or a placeholder such as
        `--` or `n/a`, ``numbers.holds_no_value``). Columns with no such cell are absent.
        Rows are in date order, so each end is found by walking in from that end."""
        hi = bisect.bisect_right(self._sorted_dates, last_day.toordinal())
        rows, ids, dates = self.raw.rows, self._sorted_rows, self._sorted_dates
        out: dict[str, tuple[dt.date, dt.date]] = {}
        for name in columns:
            col = self.columns[name]

            def filled(p: int) -> bool:
                # `--` or `n/a` is no value to the aggregates, so it covers no day either.
                row = rows[ids[p]]
                return col < len(row) and not numbers.holds_no_value(row[col])

            first = next((p for p in range(hi) if filled(p)), None)
            if first is None:
                continue
            last = next(p for p in range(hi - 1, first - 1, -1) if filled(p))
            out[name] = (dt.date.fromordinal(dates[first]), dt.date.fromordinal(dates[last]))
        return out

    def groups(self, plan: Plan) -> dict[Scan, dict[Segment, Group]]:
        """Every scan of ``plan`` computed: one frame over the plan's date hull holding just
        the columns it names, then one pass per scan (``kpirules.aggregate``)."""
        from kpirules.aggregate import compute

        hull = plan.hull
        if hull is None:
            return {}
        frame = self.frame(hull[0], hull[1], metrics=plan.metrics, dims=plan.dims)
        return {scan: compute(frame, scan, needed) for scan, needed in plan.scans.items()}

    def mark(self, name: str) -> str | None:
        """The decimal mark of metric column ``name``, decided once from the cells of its
        first and last ``MARK_SAMPLE`` rows (the DuckDB path samples the same rows)."""
        if name not in self._marks:
            col = self.columns[name]
            rows = self.raw.rows
            sample = rows[:MARK_SAMPLE] + rows[max(MARK_SAMPLE, len(rows) - MARK_SAMPLE):]
            self._marks[name] = self.recipe.decimal_for(
                r[col] for r in sample if col < len(r) and type(r[col]) is str)
        return self._marks[name]

    @staticmethod
    def _convert_metric(cells: list[Any], mark: Any = None) -> tuple[list[float | None], list[int]]:
        """(values, positions of bad cells). ``mark``: the column's decimal mark, or a
        function giving it (asked only when some cell is not a plain number)."""
        if mark == numbers.COMMA:
            return DataTable._convert_cells(cells, mark)
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
        return DataTable._convert_cells(cells, mark() if callable(mark) else mark)

    @staticmethod
    def _convert_cells(cells: list[Any], mark: str | None) -> tuple[list[float | None], list[int]]:
        out: list[float | None] = []
        bad: list[int] = []
        for pos, cell in enumerate(cells):
            v = parse_number(cell, mark)
            if v is BAD:
                bad.append(pos)
                out.append(None)
            else:
                out.append(v)  # type: ignore[arg-type]
        return out, bad


def load_table(raw: RawTable, *, date_column: str | None = None, settings: Any = None,
               options: Any = None) -> DataTable:
    """Index a raw data tab, read with ``settings`` (``date_column``, ``date_format``,
    ``locale``; ``date_column=`` wins). Raises ``SourceError`` when it has no date column,
    or a data row has no readable date."""
    from kpirules.bulk import gc_paused

    with gc_paused():
        return DataTable(raw, date_column=date_column, settings=settings, options=options)
