"""A CSV file aggregated by DuckDB, with the face ``kpirules.engine.evaluate`` needs.

``DuckTable`` answers ``names()``, ``ambiguous``, ``date_column``, ``problems`` and
``groups(plan)`` exactly as ``kpirules.table.DataTable`` does for the same file, but reads
the file once in DuckDB instead of in Python: one pass groups the rows up to the day before
the as-of date into a small daily cube (date x the dimensions the plan uses, in a temporary
table), and one query, written from the plan by ``kpirules.backends.sql_plan``, computes
every scan's aggregates and each metric's data start and end from the cube.

How it stays identical to the Python path:

- The same read recipe (``kpirules.read.recipe``), decided from the head and the tail of
  the file (``duck_sample``): a file that is not UTF-8 is transcoded first; DuckDB skips the
  rows above the header; the totals below the header and at the bottom are left out of the
  problems; each metric column's decimal mark comes from the rows ``DataTable.mark``
  samples. Every column is read as text, with the csv module's dialect; first, the plan's
  metric columns as DOUBLE, kept only when DuckDB's reader took every cell as kpirules
  does (``_cube_builder``).
- SQL accepts a cell only where the Python path accepts it with the same value (``duck_sql``:
  numbers with grouped thousands, decimal commas, percents and currencies under the column's
  mark; ISO, YYYYMMDD and D.M.YYYY dates). Every other non-blank cell goes to the reader's
  own functions: a bad cell becomes the very Problem the Python path makes, and a cell
  Python would accept that SQL did not (Arabic-Indic digits, ``$`` with a tab) hands the
  whole table to the Python path. A file with dates SQL does not read (``1/10/2026``), a
  ``date_format`` setting or rows spanning days goes to the Python path at once.
- A file DuckDB reads differently or not at all (extra cells, stray quotes, invalid UTF-8
  past the part the recipe sampled) goes to the Python path as well: slow, but right.

Sums use DuckDB's ``fsum`` (compensated summation), per cube cell and again over the cells:
it agrees with ``math.fsum`` within far less than the 1e-9 the spec allows, though not
always to the last bit (64876.41 against 64876.409999999996: the cube rounds each day's
sum once before adding the days).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import weakref
from typing import ClassVar

from kpirules.aggregate import IN_DATABASE, Group, Segment
from kpirules.backends.duck_problems import UsePython, bad_cells, problem_rows
from kpirules.backends.duck_sample import Sample
from kpirules.backends.duck_sql import SQL_DATE, filled_sql, macros, maybe_blank_sql, sql_str
from kpirules.backends.odd_scan import OddScan
from kpirules.connectors.base import RawTable
from kpirules.errors import Problem, SourceError
from kpirules.names import normalise
from kpirules.plan import Scan
from kpirules.read.numbers import COMMA, DOT
from kpirules.table import MARK_SAMPLE, DataTable, index_headers, load_table

_EPOCH = dt.date(1970, 1, 1)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class Unsupported(Exception):
    """The file cannot be read by this backend at all (not found, not UTF-8, a dialect
    DuckDB has no switch for); the Python path reads it and reports why."""


class DuckTable:
    """The data table of the CSV file at ``path``, computed by DuckDB.

    Raises ``SourceError`` like ``DataTable`` when there is no date column, and
    ``Unsupported`` when the Python path must read the file."""

    backend = "duckdb"
    capabilities: ClassVar[frozenset[str]] = frozenset({IN_DATABASE})
    complete_lag_days: int | None = None

    def __init__(self, path: str | os.PathLike, *, date_column: str | None = None, settings=None):
        from kpirules.read.recipe import NeedsAllRows, ReadOptions, shape

        self.path = os.fspath(path)
        self.sheet = os.path.basename(self.path)
        self._settings = settings
        self._date_column_arg = date_column
        try:
            sample = Sample(self.path, getattr(settings, "encoding", None))
        except (OSError, UnicodeDecodeError, csv.Error, SourceError) as exc:
            raise Unsupported(f"{self.path}: {exc!r}") from None
        self._csv_path = sample.csv_path  # UTF-8: the file itself, or its transcoded copy
        if sample.skipinitialspace:
            raise Unsupported("a CSV dialect DuckDB cannot be told")
        self._delimiter = sample.delimiter
        self._quote = '"'
        # Python's csv without doublequote reads "a""b" as a"b"; no DuckDB escape does that,
        # so without an escape DuckDB stops on such a field and the Python path reads it.
        self._escape = '"'
        self._parallel = True
        self._sample = sample
        raw = RawTable(headers=sample.rows[0], rows=sample.rows[1:] + sample.tail, sheet=self.sheet,
                       delimiter=sample.delimiter)
        options = ReadOptions.of(settings, raw, date_column)
        try:
            shaped, self.recipe = shape(raw, options, partial=not sample.whole)
            col = self.recipe.date_index
            self.recipe.decide_dates({r[col] for r in shaped.rows if col < len(r)})
        except NeedsAllRows as exc:
            raise Unsupported(str(exc)) from None
        except SourceError:
            if sample.whole:
                raise  # the whole file was seen: the Python path says the same
            raise Unsupported("the recipe needs every row (the Python path reads them)") from None
        if not sample.whole and self.recipe.span_index is not None:
            raise Unsupported("rows spanning several days are checked row by row in Python")
        h = self.recipe.header_index
        if sample.line_ends[h] != h + 1:
            raise Unsupported("a line break inside a quoted cell above the header")
        self._skip = h
        self.header_row = shaped.header_row
        self.headers = [("" if v is None else str(v)) for v in shaped.headers]
        self.warnings = list(self.recipe.warnings)
        self._sample_rows = shaped.rows if sample.whole else None  # else read when needed
        # Records DuckDB reads that the recipe leaves out: totals right below the header (the
        # first records) and totals, notes and blanks at the bottom (the last records).
        # DuckDB skips empty lines but reads a line of delimiters (`,,,,`, as Excel ends a
        # CSV) as a record: the csv module's rows count as records when they have a field.
        below = raw.rows[h:] if h else raw.rows
        self._top = sum(1 for r in below[:self.recipe.top_rows] if r)
        bottom = raw.rows[len(raw.rows) - self.recipe.bottom_rows:] if self.recipe.bottom_rows else []
        self._bottom = sum(1 for r in bottom if r)
        self._records: int | None = None
        self._marks: dict[str, str | None] = {}
        self._mark_rows: list[list[str]] | None = None
        self._check_dates(shaped.rows)
        # As DataTable: a blank header over values in the first 1000 rows is a problem.
        blank = any(not normalise(x) for x in self.headers)
        self._index_headers(self._rows(1000) if blank else [])
        self.date_column = normalise(self.headers[self.recipe.date_index])
        if self.date_column not in self.columns:
            raise Unsupported("the date column's header appears twice")
        self._date_problems: list[Problem] | None = None
        self._extents: dict[str, tuple[dt.date, dt.date]] = {}
        self._python: DataTable | None = None
        self.fallback_reason: str | None = None
        date = self.recipe.date_index
        self._lean_blank = all(date < len(r) and r[date].strip() for r in sample.rows[h + 1:] + sample.tail)
        # Last: only a table that is kept starts its look for `1_000` (odd_scan).
        self._odd_scan = OddScan(self._csv_path)
        weakref.finalize(self, self._odd_scan.stop)

    def _check_dates(self, rows: list[list[str]]) -> None:
        """SQL reads ISO dates and GA4's 20261001; a file with others goes to Python."""
        col = self.recipe.date_index
        if self.recipe.dates.fmt is not None:
            raise Unsupported("a date_format setting")
        self._iso_dates = True  # every sampled date is YYYY-MM-DD: the cube is keyed by its text
        self._quick = True  # the quick cube first (DuckTable._cube_builder)
        self._typed = True  # and before it, the typed one
        self.cube_read: str | None = None  # how the last cube was read: typed, quick or exact
        self._unmarked: set[str] = set()  # columns without a decimal mark read cell by cell (kp_unmarked)
        for row in rows:
            value = row[col] if col < len(row) else ""
            if value.strip() and not SQL_DATE.match(value) and self.recipe.dates(value) is not None:
                raise Unsupported(f"dates such as {value!r} are read by the Python path")
            if value and not _ISO_DAY.match(value):
                self._iso_dates = False

    def _rows(self, n: int) -> list[list[str]]:
        """The first ``n`` rows below the header, totals right below it blanked, as
        ``DataTable`` holds them."""
        if self._sample_rows is not None:
            return self._sample_rows[:n]
        h = self.recipe.header_index
        rows = self._sample.records(h + 1 + n)[h + 1:]
        top = self.recipe.top_totals
        for i, row in enumerate(rows):
            if not top:
                break
            if any(v.strip() for v in row):
                rows[i], top = [], top - 1
        return rows

    def _mark_sample(self) -> list[list[str]]:
        """The rows ``DataTable.mark`` samples: the first and the last ``MARK_SAMPLE``."""
        if self._sample_rows is not None:
            rows = self._sample_rows
            return rows[:MARK_SAMPLE] + rows[max(MARK_SAMPLE, len(rows) - MARK_SAMPLE):]
        bottom = self.recipe.bottom_rows
        rows = self._rows(2 * MARK_SAMPLE + bottom + 1)
        if len(rows) <= 2 * MARK_SAMPLE + bottom:  # the whole file: as DataTable
            rows = rows[:len(rows) - bottom] if bottom else rows
            return rows[:MARK_SAMPLE] + rows[max(MARK_SAMPLE, len(rows) - MARK_SAMPLE):]
        tail = self._sample.last(MARK_SAMPLE + bottom)
        return rows[:MARK_SAMPLE] + (tail[:len(tail) - bottom] if bottom else tail)

    def _mark(self, name: str) -> str | None:
        """The column's decimal mark, from the same rows ``DataTable.mark`` samples."""
        if name not in self._marks:
            col = self.columns[name]
            if self._mark_rows is None:
                self._mark_rows = self._mark_sample()
            sample = self._mark_rows
            self._marks[name] = self.recipe.decimal_for(r[col] for r in sample if col < len(r))
        return self._marks[name]

    # ------------------------------------------------------------------ headers

    def _index_headers(self, head_rows: list[list[str]]) -> None:
        self.columns, self.ambiguous, self._header_problems = index_headers(
            self.headers, sheet=self.sheet, header_row=self.header_row, rows=head_rows)

    def names(self) -> list[str]:
        """Every column a rule may name (normalised), the date column excluded."""
        return [n for n in self.columns if n != self.date_column]

    @property
    def problems(self) -> list[Problem]:
        """Header problems, then every row without a readable date, in file order."""
        if self._python is not None:
            return self._python.problems
        if self._date_problems is None:
            self._guarded(lambda: self._run(None))
            if self._python is not None:
                return self._python.problems
        return self._header_problems + (self._date_problems or [])

    def extents(self, columns, last_day: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
        """Each column's data start and end up to ``last_day`` (``DataTable.extents``):
        computed by the query of ``groups``, which runs first (``evaluate`` asks after it)."""
        if self._python is not None:
            return self._python.extents(columns, last_day)
        return {c: self._extents[c] for c in columns if c in self._extents}

    # ----------------------------------------------------------------- groups

    def groups(self, plan) -> dict[Scan, dict[Segment, Group]]:
        """Every scan of ``plan`` computed, as ``DataTable.groups`` computes it."""
        if self._python is not None:
            return self._python.groups(plan)
        if plan.hull is None:
            return {}
        out = self._guarded(lambda: self._run(plan))
        return self._python.groups(plan) if self._python is not None else out

    def _guarded(self, job):
        import duckdb

        try:
            return job()
        except (duckdb.Error, UsePython) as exc:
            # The Python path reads the file again and decides; it raises the SourceError
            # the csv connector gives for a file that cannot be read.
            from kpirules.connectors.csv_file import CsvConnector

            self.fallback_reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._odd_scan.stop()
            conn = CsvConnector(self.path, encoding=getattr(self._settings, "encoding", None))
            self._python = load_table(conn.read().data, date_column=self._date_column_arg,
                                      settings=self._settings)
            self.backend = "python"
            return None

    def _source(self, *, ordinality: bool = False, doubles: frozenset[int] = frozenset()) -> str:
        """The file as DuckDB reads it: column c<i> as text, or as DOUBLE for ``doubles``."""
        cols = ", ".join(f"'c{i}': '{'DOUBLE' if i in doubles else 'VARCHAR'}'" for i in range(len(self.headers)))
        options = (f"header=true, auto_detect=false, columns={{{cols}}}, skip={self._skip}, "
                   f"delim={sql_str(self._delimiter)}, quote={sql_str(self._quote)}, "
                   f"escape={sql_str(self._escape)}, null_padding=true")
        if not self._parallel:
            options += ", parallel=false"
        return f"read_csv({sql_str(self._csv_path)}, {options})" + (" WITH ORDINALITY" if ordinality else "")

    def _run(self, plan) -> dict[Scan, dict[Segment, Group]] | None:
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            for sql in macros():
                con.execute(sql)
            try:
                return self._compute(con, plan)
            except duckdb.Error as exc:
                # The parallel reader refuses short rows in a file with quoted line breaks.
                if not self._parallel or "parallel" not in str(exc):
                    raise
                self._parallel = False
                return self._compute(con, plan)
        finally:
            con.close()

    def _compute(self, con, plan) -> dict[Scan, dict[Segment, Group]] | None:
        if plan is None:
            # Only the rows without a date are wanted (problems asked for before groups).
            self._date_problems = problem_rows(self, con, None, {}, {}, {})[0]
            return None
        metrics = {name: f"m{i}" for i, name in enumerate(sorted(plan.metrics))}
        dims = {name: f"g{i}" for i, name in enumerate(sorted(plan.dims))}
        from kpirules.backends.sql_plan import Slots, aggregate_query, column_parts

        scans = [(scan, needed, Slots(needed, metrics)) for scan, needed in plan.scans.items()]
        parts = column_parts(scans)
        # The rows grouped once into a small cube; every scan's aggregates, the cells left
        # for Python and the extents from the cube: one query.
        query = aggregate_query([(s, slots) for s, _, slots in scans], metrics, dims, parts)
        last_day = plan.as_of - dt.timedelta(days=1)
        # Plain numbers first (the common file: one pass); the columns' decimal marks only
        # when a cell was not plain, or when decimal commas are possible ("1.500" is 1500).
        marks = {n: self._mark(n) for n in metrics} if self.recipe.comma_possible else {}
        cube = self._cube_builder(con, plan.hull, last_day, metrics, dims, parts)
        cube(marks)
        rows = con.execute(query).fetchall()
        suspects = next(r[2] for r in rows if r[0] == -1)
        # A column with a cell float() does not take is read cell by cell by the Python
        # path, with its decimal mark: without one, "1.500" is ambiguous there (kp_unmarked).
        unclean = [] if self.cube_read == "typed" else self._unclean(con, metrics)
        if unclean:
            known = marks or {n: self._mark(n) for n in metrics}
            self._unmarked = {n for n in unclean if known[n] is None}
            if self._unmarked or (suspects and not marks and any(m is not None for m in known.values())):
                cube(known)
                rows = con.execute(query).fetchall()
                suspects = next(r[2] for r in rows if r[0] == -1)
            marks = known
        self._extents = {}
        for vals in (r[4] for r in rows if r[0] == -2):
            for k, name in enumerate(metrics):
                first, last = vals[2 * k], vals[2 * k + 1]
                if first is not None:
                    self._extents[name] = (_EPOCH + dt.timedelta(days=int(first)),
                                           _EPOCH + dt.timedelta(days=int(last)))
        bad_rows: list[tuple] = []
        self._date_problems = []
        if suspects:
            self._date_problems, bad_rows = problem_rows(self, con, plan.hull, metrics, dims, marks)
        bad = bad_cells(scans, bad_rows)
        out: dict[Scan, dict[Segment, Group]] = {scan: {} for scan, _, _ in scans}
        for index, seg, n, days, vals in rows:
            if index < 0 or not n:  # a scan without dims still returns one row, of 0 rows
                continue
            scan, needed, slots = scans[index]
            segment = tuple(seg)
            out[scan][segment] = slots.group(n, days, vals, bad.get((index, segment), {}))
        return out

    def _cube_builder(self, con, hull, last_day: dt.date, metrics: dict[str, str], dims: dict[str, str], parts):
        """A function building ``kp_cube`` with the given decimal marks: first the typed way
        (the metric columns read as DOUBLE by DuckDB's CSV reader), then the quick way (keyed
        by the date text when the dates are plain ISO ones, blanks taken as NULLs), each
        checked on the cube (``cube_doubts``); else again the exact way.

        Typed: a cell DuckDB's reader refuses (``$5``, ``1,5``, ``--``, a blank of spaces)
        fails the read; one it takes that the reader of ``kpirules.read`` does not is either
        not finite (counted on the cube) or has a ``_`` between digits or ``+-`` (DuckDB
        reads ``1_000`` and ``+-1``), which ``odd_scan`` looks for in the file's bytes
        meanwhile. Every other cell it takes, float() takes with the same value, and so does
        the Python path's read of a column of plain numbers (``DataTable._convert_metric``)."""
        import duckdb

        from kpirules.backends.sql_plan import cube_doubts, cube_sql

        col = self.columns
        doubles = frozenset(col[n] for n in metrics) - {col[n] for n in dims} - {col[self.date_column]}

        def build(marks: dict[str, str | None]) -> None:
            # With a decimal comma, "1.5" is not a number and "1.500" is 1500: text only.
            typed = self._typed and bool(doubles) and COMMA not in marks.values()
            if not typed:
                self._odd_scan.stop()  # its answer is not wanted
            for read in ("typed",) * typed + ("quick",) * self._quick + ("exact",):
                quick = read != "exact"
                by_text = quick and self._iso_dates
                as_double = doubles if read == "typed" else frozenset()
                # By text, DOUBLE values are grouped as they come (sql_plan.cube_sql).
                unfiltered = frozenset(a for n, a in metrics.items() if by_text and col[n] in as_double)
                flags = quick and any(col[n] not in as_double for n in metrics)  # w: maybe_blank_sql
                sql = cube_sql(self._typed_sql(hull, last_day, metrics, dims, marks, by_text, quick, as_double,
                                               unfiltered),
                               metrics, dims, parts, by_text=(hull, last_day) if by_text else None,
                               quick_blanks=quick, flags=flags, unfiltered=unfiltered)
                if read == "typed":
                    try:
                        con.execute(sql)
                    except duckdb.Error as exc:
                        if self._parallel and "parallel" in str(exc):
                            raise  # DuckTable._run reads again without the parallel reader
                        self._typed = False  # a cell the DOUBLE reader refuses
                        self._odd_scan.stop()
                        continue
                    if self._odd_scan.answer():
                        self._typed = False
                        continue
                else:
                    con.execute(sql)
                doubts = cube_doubts(metrics, by_text=by_text, flags=flags, typed=read == "typed",
                                     unfiltered=unfiltered)
                if doubts is None or not con.execute(doubts).fetchone()[0]:
                    self.cube_read = read
                    return
                # typed: a number that is not finite; a date written otherwise in the hull,
                # or a blank-looking cell
                if read == "typed":
                    self._typed = False
                else:
                    self._quick = False

        return build

    def _unclean(self, con, metrics: dict[str, str]) -> list[str]:
        """The metric columns with a cell in the hull that SQL did not take (``unclean_sql``)."""
        from kpirules.backends.sql_plan import unclean_sql

        if not metrics:
            return []
        return [n for n, k in zip(metrics, con.execute(unclean_sql(metrics)).fetchone()) if k]

    def _cast(self, name: str, marks: dict[str, str | None]) -> str:
        """The SQL reading metric column ``name`` as kpirules.read.numbers does."""
        mark = marks.get(name)
        plain = "kp_unmarked" if name in self._unmarked else "kp_cast"
        macro = {DOT: "kp_dot", COMMA: "kp_comma"}.get(mark, plain)  # type: ignore[arg-type]
        return f"{macro}(c{self.columns[name]})"

    def _typed_sql(self, hull, last_day: dt.date, metrics: dict[str, str], dims: dict[str, str],
                   marks: dict[str, str | None], by_text: bool = False, quick_blanks: bool = False,
                   doubles: frozenset[int] = frozenset(), unfiltered: frozenset[str] = frozenset()) -> str:
        """The rows up to ``last_day`` (A-1) and the rows without a date (for their
        problems), typed: d DATE, m<i> DOUBLE (NULL when blank, not taken, or outside the
        hull), m<i>_in whether the cell is non-blank (for the column's data start and end:
        any row up to A-1 counts), g<i> the dimension cell as read (in the hull; the cube
        trims it, ``kp_text``, once per distinct cell), and nn the number
        of the row's metric cells in the hull that are not empty (so that nn minus the m<i>
        that are not NULL counts the cells SQL left for Python to judge).

        ``by_text`` (ISO dates): every row, with its date cell as written (t) instead of d,
        the hull judged on that text and whether the row is blank; the cube reads each
        distinct text as a date once and filters (``sql_plan.cube_sql``). Reading every
        row's date in SQL cost a third of the whole query. ``quick_blanks``: m<i>_in is
        the cell itself (the cube counts it when not NULL) and w flags a row with a cell that
        may be whitespace only (the cube counts them; the exact test cost a fifth).
        ``doubles``: the columns DuckDB's reader reads as DOUBLE (no cast, no w: the read
        fails on a blank of spaces or a placeholder); ``unfiltered``: the metrics whose m<i> is
        that value in every row (``sql_plan.cube_sql`` picks the hull's).

        By text, ``blank`` looks only at the columns the plan reads when the sampled rows
        all have a date (``_lean_blank``): a row without a date is then kept, whatever its
        other cells hold, and ``problem_rows`` reads it again and tells a blank row from
        one with a note in an unread column. Reading that column (a campaign name, say)
        only for this test cost a twentieth of the read."""
        col = self.columns
        date = f"c{col[self.date_column]}"
        blank_row = " AND ".join(f"c{i} IS NULL" for i in range(len(self.headers)))
        if by_text:
            blank_row = "false" if self._lean_blank else blank_row
            after = (hull[1] + dt.timedelta(days=1)).isoformat()  # '2026-11-25 10:00' < '2026-11-26'
            flagged = (f"SELECT {date} AS t, ({date} >= '{hull[0].isoformat()}' AND {date} < '{after}') AS h, "
                       f"({blank_row}) AS blank, * FROM {self._source(doubles=doubles)}")
            keys = ["t", "h", "blank"]
        else:
            inner = f"SELECT kp_date({date}) AS d, * FROM {self._source(doubles=doubles)}"
            # DuckDB inlines d into the filter, so it must appear there once; NULL for no date.
            kept = (f"SELECT * FROM ({inner}) WHERE coalesce(d <= DATE '{last_day.isoformat()}', "
                    f"NOT ({blank_row}))")
            # In the hull: |2(d - start) - span| <= span (d once); the rows without a date too.
            span = (hull[1] - hull[0]).days
            flagged = (f"SELECT coalesce(abs(2 * (d - DATE '{hull[0].isoformat()}') - {span}) <= {span}, true) "
                       f"AS h, * FROM ({kept})")
            keys = ["d"]
        # DuckDB's cast takes surrounding whitespace as float() does (a cell it does not
        # take, blank or bad, is judged in Python).
        nn = ("CASE WHEN h THEN " + " + ".join(f"(c{col[n]} IS NOT NULL)::INTEGER" for n in metrics) +
              " ELSE 0 END AS nn" if metrics else "0 AS nn")
        texts = [n for n in metrics if col[n] not in doubles]
        raw = [] if by_text else [f"CASE WHEN h THEN c{col[n]} END AS {a}_r" for n, a in metrics.items()]
        casts = ", ".join([
            *keys, *(f"c{col[n]} AS x{a[1:]}" if a in unfiltered else
                     f"CASE WHEN h THEN {f'c{col[n]}' if col[n] in doubles else self._cast(n, marks)} END "
                     f"AS x{a[1:]}" for n, a in metrics.items()),
            *([] if by_text else [nn]),  # by text, the cube counts them (sql_plan.cube_sql)
            *(f"c{col[n]} AS {a}_in" if quick_blanks else f"{filled_sql(f'c{col[n]}')} AS {a}_in"
              for n, a in metrics.items()),
            *([" OR ".join(maybe_blank_sql(f"c{col[n]}") for n in texts) + " AS w"] if quick_blanks and texts else []),
            *raw, *(f"CASE WHEN h THEN c{col[n]} END AS {a}" for n, a in dims.items())])
        typed = ", ".join([*keys, *(f"x{a[1:]} AS {a}" if a in unfiltered else
                                    f"CASE WHEN isfinite(x{a[1:]}) THEN x{a[1:]} END AS {a}" for a in metrics.values()),
                           *([] if by_text else ["nn"]),
                           *(f"{a}_in" for a in metrics.values()), *(["w"] if quick_blanks and texts else []),
                           *([] if by_text else [f"{a}_r" for a in metrics.values()]), *dims.values()])
        return f"SELECT {typed} FROM (SELECT {casts} FROM ({flagged}))"
