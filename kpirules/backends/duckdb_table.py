"""A CSV file aggregated by DuckDB, with the face ``kpirules.engine.evaluate`` needs.

``DuckTable`` answers ``names()``, ``ambiguous``, ``date_column``, ``problems`` and
``groups(plan)`` exactly as ``kpirules.table.DataTable`` does for the same file, but reads
the file once in DuckDB instead of in Python: one pass keeps the rows inside the plan's
date hull (typed, in a temporary table), and one query computes every scan's aggregates.

How it stays identical to the Python path:

- Nothing is guessed. Every column is read as text; the header row and the dialect come
  from the csv module with the csv connector's own sniffing, and DuckDB is told both.
- SQL accepts a cell only where the Python path accepts it with the same value: plain ASCII
  numbers (DuckDB's cast, minus the spellings ``parse_number`` rejects) and ISO dates. Every
  other non-blank cell goes to ``parse_number``/``parse_date`` themselves: a bad cell becomes
  the very Problem the Python path makes, and a cell Python would accept that SQL did not
  (Arabic-Indic digits, ``1e400``) hands the whole table to the Python path.
- A file DuckDB reads differently or not at all (extra cells, stray quotes, invalid UTF-8)
  goes to the Python path as well: slow, but right.

Sums use DuckDB's ``fsum`` (compensated summation): it agrees with ``math.fsum`` to the
last bit on real data and within far less than the 1e-9 the spec allows on contrived data.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from itertools import islice

from kpirules.aggregate import AggValue, Group, Segment
from kpirules.connectors.base import a1
from kpirules.errors import DATA, Problem, SourceError
from kpirules.names import normalise
from kpirules.plan import AggKey, Scan
from kpirules.table import (BAD, DataTable, _describe, _is_blank, holds_numbers, index_headers, load_table,
                            parse_date, parse_number, undated_rows_error)

# Python's str.isspace() characters: dimension_text and parse_number strip exactly these.
_WS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
       "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# parse_date's ISO pattern, ASCII only (anything else is re-checked by parse_date itself).
# Python's `$` also matches before a final newline.
_ISO = r"^[ \t\n\r\f\v]*([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:\n?$|[ T])"
_EPOCH = dt.date(1970, 1, 1)
_METRIC_SUGGESTION = ("write a plain number such as 1234.5 (no thousands separators or units), "
                      "or clear the cell if it is missing")


class Unsupported(Exception):
    """The file cannot be read by this backend at all (not found, not UTF-8, a dialect
    DuckDB has no switch for); the Python path reads it and reports why."""


class _UsePython(Exception):
    """Something in the file only the Python path reads right."""


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _macros() -> list[str]:
    ws = _sql_str(_WS)
    iso = _sql_str(_ISO)
    return [
        # dimension_text: the cell stripped, '' when empty. The guard keeps the slow trim
        # with a character set off the common cell that starts and ends with a letter.
        "CREATE OR REPLACE TEMP MACRO kp_text(c) AS CASE WHEN c IS NULL THEN '' "
        "WHEN ord(c[1]) <= 32 OR ord(c[-1]) <= 32 OR ord(c[1]) >= 133 OR ord(c[-1]) >= 133 "
        f"THEN trim(c, {ws}) ELSE c END",
        # DuckDB's cast also takes 1_000 and +-1, which parse_number does not.
        "CREATE OR REPLACE TEMP MACRO kp_cast(t) AS CASE WHEN strpos(t, '_') = 0 AND "
        "strpos(t, '+-') = 0 THEN try_cast(t AS DOUBLE) END",
        # The plain YYYY-MM-DD text first (cheap); the cast alone would also take
        # 'infinity', ' 2026-01-01' and year 0, so the pattern always gates it.
        "CREATE OR REPLACE TEMP MACRO kp_date(c) AS CASE "
        "WHEN c GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN "
        "  CASE WHEN NOT starts_with(c, '0000') THEN try_cast(c AS DATE) END "
        f"WHEN regexp_matches(c, {iso}) AND regexp_extract(c, {iso}, 1) <> '0000' THEN "
        f"  try_cast(regexp_extract(c, {iso}, 1) || '-' || regexp_extract(c, {iso}, 2) || '-' "
        f"  || regexp_extract(c, {iso}, 3) AS DATE) END",
    ]


class DuckTable:
    """The data table of the CSV file at ``path``, computed by DuckDB.

    Raises ``SourceError`` like ``DataTable`` when there is no date column, and
    ``Unsupported`` when the Python path must read the file."""

    backend = "duckdb"

    def __init__(self, path: str | os.PathLike, *, date_column: str = "date"):
        from kpirules.connectors.csv_file import CsvConnector

        self.path = os.fspath(path)
        self.sheet = os.path.basename(self.path)
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as fh:
                dialect = CsvConnector._dialect(fh.read(8192))
                fh.seek(0)
                reader = csv.reader(fh, dialect=dialect)
                headers = next(reader)
                self.headers = [("" if h is None else str(h)) for h in headers]
                # The header check looks at the first 1000 rows, but only for blank headers.
                blank = any(not normalise(h) for h in self.headers)
                head_rows = list(islice(reader, 1000)) if blank else []
        except (OSError, UnicodeDecodeError, StopIteration, csv.Error) as exc:
            raise Unsupported(f"{self.path}: {exc!r}") from None
        if dialect.skipinitialspace or dialect.escapechar or len(dialect.quotechar or "") != 1:
            raise Unsupported("a CSV dialect DuckDB cannot be told")
        self._delimiter = dialect.delimiter
        self._quote = dialect.quotechar
        # Python's csv without doublequote reads "a""b" as a"b"; no DuckDB escape does that,
        # so without an escape DuckDB stops on such a field and the Python path reads it.
        self._escape = dialect.quotechar if dialect.doublequote else ""
        self._parallel = True
        self._index_headers(head_rows)
        self._date_column_arg = date_column
        self.date_column = normalise(date_column)
        if self.date_column not in self.columns:
            raise SourceError(
                f"the {self.sheet} tab has no `{date_column}` column (headers: "
                f"{', '.join(h for h in self.headers if h) or 'none'})",
                hint="name the column that holds each row's date `date`",
            )
        self._date_problems: list[Problem] | None = None
        self._extents: dict[str, tuple[dt.date, dt.date]] = {}
        self._python: DataTable | None = None
        self.fallback_reason: str | None = None

    # ------------------------------------------------------------------ headers

    def _index_headers(self, head_rows: list[list[str]]) -> None:
        self.columns, self.ambiguous, self._header_problems = index_headers(
            self.headers, sheet=self.sheet, header_row=1, rows=head_rows)

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
        except (duckdb.Error, _UsePython) as exc:
            # The Python path reads the file again and decides; it raises the SourceError
            # the csv connector gives for a file that cannot be read.
            from kpirules.connectors.csv_file import CsvConnector

            self.fallback_reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raw = CsvConnector(self.path).read().data
            self._python = load_table(raw, date_column=self._date_column_arg)
            self.backend = "python"
            return None

    def _source(self, *, ordinality: bool = False) -> str:
        cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.headers)))
        options = (f"header=true, auto_detect=false, columns={{{cols}}}, "
                   f"delim={_sql_str(self._delimiter)}, quote={_sql_str(self._quote)}, "
                   f"escape={_sql_str(self._escape)}, null_padding=true")
        if not self._parallel:
            options += ", parallel=false"
        return f"read_csv({_sql_str(self.path)}, {options})" + (" WITH ORDINALITY" if ordinality else "")

    def _run(self, plan) -> dict[Scan, dict[Segment, Group]] | None:
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            for sql in _macros():
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
            self._date_problems = self._problem_rows(con, None, {}, {})[0]
            return None
        metrics = {name: f"m{i}" for i, name in enumerate(sorted(plan.metrics))}
        dims = {name: f"g{i}" for i, name in enumerate(sorted(plan.dims))}
        con.execute(self._base_sql(plan.hull, plan.as_of - dt.timedelta(days=1), metrics, dims))
        scans = [(scan, needed, _Slots(needed, metrics)) for scan, needed in plan.scans.items()]
        branches = [_scan_sql(i, scan, slots, dims) for i, (scan, _, slots) in enumerate(scans)]
        # One more row: how many rows Python must look at (no date, or a cell SQL left).
        taken = "".join(f" - count({m})" for m in metrics.values())
        branches.append(f"SELECT -1 AS scan, []::VARCHAR[] AS seg, (count(*) FILTER (WHERE d IS NULL) "
                        f"+ coalesce(sum(nn), 0){taken})::BIGINT AS n, 0 AS days, []::DOUBLE[] AS vals FROM base")
        # And one more: each metric's data start and end (days since 1970), over every row
        # up to A-1 (complete periods; the rows outside the hull are kept for this alone).
        if metrics:
            ends = ", ".join(f"(min(d) FILTER (WHERE {m}_in) - DATE '1970-01-01')::DOUBLE, "
                             f"(max(d) FILTER (WHERE {m}_in) - DATE '1970-01-01')::DOUBLE"
                             for m in metrics.values())
            branches.append(f"SELECT -2 AS scan, []::VARCHAR[] AS seg, 0::BIGINT AS n, 0 AS days, "
                            f"[{ends}]::DOUBLE[] AS vals FROM base")
        rows = con.execute("\nUNION ALL\n".join(branches)).fetchall()
        suspects = next(r[2] for r in rows if r[0] == -1)
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
            self._date_problems, bad_rows = self._problem_rows(con, plan.hull, metrics, dims)
        bad = _bad_cells(scans, bad_rows)
        out: dict[Scan, dict[Segment, Group]] = {scan: {} for scan, _, _ in scans}
        for index, seg, n, days, vals in rows:
            if index < 0 or not n:  # a scan without dims still returns one row, of 0 rows
                continue
            scan, needed, slots = scans[index]
            segment = tuple(seg)
            out[scan][segment] = slots.group(n, days, vals, bad.get((index, segment), {}))
        return out

    def _base_sql(self, hull, last_day: dt.date, metrics: dict[str, str], dims: dict[str, str]) -> str:
        """The rows up to ``last_day`` (A-1) and the rows without a date (for their
        problems), typed: d DATE, m<i> DOUBLE (NULL when blank, not taken, or outside the
        hull), m<i>_in whether the cell is non-blank (for the column's data start and end:
        any row up to A-1 counts), g<i> the dimension text (in the hull), and nn the number
        of the row's metric cells in the hull that are not empty (so that nn minus the m<i>
        that are not NULL counts the cells SQL left for Python to judge)."""
        col = self.columns
        blank_row = " AND ".join(f"c{i} IS NULL" for i in range(len(self.headers)))
        inner = f"SELECT kp_date(c{col[self.date_column]}) AS d, * FROM {self._source()}"
        # DuckDB inlines d into the filter, so it must appear there once; NULL for no date.
        kept = (f"SELECT * FROM ({inner}) WHERE coalesce(d <= DATE '{last_day.isoformat()}', "
                f"NOT ({blank_row}))")
        # In the hull: |2(d - start) - span| <= span (d once); the rows without a date too.
        span = (hull[1] - hull[0]).days
        flagged = (f"SELECT coalesce(abs(2 * (d - DATE '{hull[0].isoformat()}') - {span}) <= {span}, true) "
                   f"AS h, * FROM ({kept})")
        # DuckDB's cast takes surrounding whitespace as float() does (a cell it does not
        # take, blank or bad, is judged in Python).
        casts = ", ".join([
            "d", *(f"CASE WHEN h THEN kp_cast(c{col[n]}) END AS x{a[1:]}" for n, a in metrics.items()),
            "CASE WHEN h THEN " + " + ".join(f"(c{col[n]} IS NOT NULL)::INTEGER" for n in metrics) +
            " ELSE 0 END AS nn" if metrics else "0 AS nn",
            *(f"{_filled(f'c{col[n]}')} AS {a}_in" for n, a in metrics.items()),
            *(f"CASE WHEN h THEN kp_text(c{col[n]}) END AS {a}" for n, a in dims.items())])
        typed = ", ".join(["d", *(f"CASE WHEN isfinite(x{i}) THEN x{i} END AS m{i}"
                                  for i in (a[1:] for a in metrics.values())), "nn",
                           *(f"{a}_in" for a in metrics.values()), *dims.values()])
        return (f"CREATE OR REPLACE TEMP TABLE base AS SELECT {typed} FROM "
                f"(SELECT {casts} FROM ({flagged}))")

    # --------------------------------------------------------------- problems

    def _problem_rows(self, con, hull, metrics: dict[str, str], dims: dict[str, str]):
        """Rows without a date, and rows in the hull with a metric cell SQL did not take,
        read again with their row numbers and judged by the Python path's own functions.

        Returns (date problems, bad rows as (date, row, {dim: text}, {metric: Problem}))."""
        if _has_blank_lines(self.path):
            # DuckDB skips empty lines, csv counts them: row numbers would not match.
            raise _UsePython("empty lines inside the file")
        date = f"c{self.columns[self.date_column]}"
        cells = ", ".join(f"c{i}" for i in range(len(self.headers)))
        blank_row = " AND ".join(f"c{i} IS NULL" for i in range(len(self.headers)))
        flags = [f"(NOT coalesce(isfinite(kp_cast(c{self.columns[m]})), false) AND "
                 f"kp_text(c{self.columns[m]}) <> '')" for m in metrics]
        texts = [f"kp_text(c{self.columns[d]})" for d in dims]
        where = f"(d IS NULL AND NOT ({blank_row}))"
        if hull is not None and flags:
            where += (f" OR (d BETWEEN DATE '{hull[0].isoformat()}' AND DATE '{hull[1].isoformat()}'"
                      f" AND ({' OR '.join(flags)}))")
        select = ", ".join(["ordinality", "d", cells, *(f"{f} AS f{i}" for i, f in enumerate(flags)),
                            *(f"{t} AS t{i}" for i, t in enumerate(texts))])
        sql = (f"SELECT {select} FROM (SELECT ordinality, kp_date({date}) AS d, {cells} "
               f"FROM {self._source(ordinality=True)}) WHERE {where} ORDER BY ordinality")
        date_col = self.columns[self.date_column]
        n = len(self.headers)
        date_problems: list[Problem] = []
        bad_rows: list[tuple] = []
        undated_data: list[tuple[str, str]] = []
        for record in con.execute(sql).fetchall():
            index, day, row = record[0] - 1, record[1], list(record[2:2 + n])
            flagged = record[2 + n:2 + n + len(flags)]
            texts_of = dict(zip(dims, record[2 + n + len(flags):]))
            if day is None:
                value = row[date_col]
                if parse_date(value) is not None:
                    raise _UsePython(f"a date only Python reads: {value!r}")
                if all(_is_blank(v) for v in row):
                    continue
                ref = a1(self.sheet, index + 2, date_col)
                if _is_blank(value):
                    msg = f"{ref} is empty, so the row has no date; the row is left out"
                else:
                    if holds_numbers(row, date_col):
                        undated_data.append((ref, value))
                    msg = f"{ref} holds {_describe(value)}, which is not a date; the row is left out"
                date_problems.append(Problem(DATA, msg, cell=ref,
                                             suggestion="write dates as 2026-11-16 or use a date cell"))
                continue
            bad: dict[str, Problem] = {}
            for name, flag in zip(metrics, flagged):
                if not flag:
                    continue
                col = self.columns[name]
                if parse_number(row[col]) is not BAD:
                    raise _UsePython(f"a number only Python reads: {row[col]!r}")
                ref = a1(self.sheet, index + 2, col)
                bad[name] = Problem(DATA, f"{ref} holds {_describe(row[col])}, not a number",
                                    cell=ref, suggestion=_METRIC_SUGGESTION)
            if bad:
                bad_rows.append((day, index, texts_of, bad))
        if undated_data:  # as DataTable: the data cannot be read
            raise undated_rows_error(undated_data)
        bad_rows.sort(key=lambda r: (r[0], r[1]))
        return date_problems, bad_rows


def _filled(cell: str) -> str:
    """SQL: the cell is not blank (``_is_blank``: None or whitespace only). A cell whose first
    character is printable ASCII ('!' <= c < U+0080, bytewise) is filled: the common case,
    decided without stripping."""
    return (f"CASE WHEN {cell} >= '!' AND {cell} < '{chr(128)}' THEN true WHEN {cell} IS NULL THEN false "
            f"ELSE kp_text({cell}) <> '' END")


def _has_blank_lines(path: str) -> bool:
    """True when an empty line sits between two rows (empty lines at the end do not count)."""
    pending = False  # an empty line seen, with only line breaks after it so far
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if pending and chunk.strip(b"\r\n"):
                return True
            data = tail + chunk  # a pattern may straddle two chunks
            for pattern in (b"\n\n", b"\r\r", b"\n\r\n"):
                at = data.find(pattern)
                if at != -1:
                    if data[at:].strip(b"\r\n"):
                        return True
                    pending = True
            tail = data[-2:]
    return False


# ------------------------------------------------------------------ aggregates


class _Slots:
    """Where each aggregate of one scan sits in the ``vals`` list its query returns.

    Every column gets its count of non-blank cells (``AggValue.cells``); sum and avg share
    one fsum; last/first are the fsum of the rows on the latest/earliest date with a value,
    found by a window over the scan's rows."""

    def __init__(self, needed: set[AggKey], metrics: dict[str, str]):
        self.needed = sorted(needed)
        self.exprs: list[str] = []
        self.windows: list[str] = []
        self.at: dict[tuple[str, str], int] = {}
        for func, column in self.needed:
            m = metrics[column]
            self._slot("count", column, f"count({m})::DOUBLE")
            if func in ("sum", "avg"):
                self._slot("sum", column, f"fsum({m})")
            elif func in ("min", "max"):
                self._slot(func, column, f"{func}({m})")
            elif func in ("last", "first"):
                edge = f"{m}_{func}"
                pick = "max" if func == "last" else "min"
                self.windows.append(f"{pick}(CASE WHEN {m} IS NOT NULL THEN d END) OVER (%s) AS {edge}")
                self._slot(func, column, f"fsum({m}) FILTER (WHERE d = {edge})")

    def _slot(self, what: str, column: str, expr: str) -> None:
        if (what, column) not in self.at:
            self.at[(what, column)] = len(self.exprs)
            self.exprs.append(expr)

    def group(self, n: int, days: int, vals: list, bad: dict[str, list[Problem]]) -> Group:
        group = Group(rows=n, days=days)
        for func, column in self.needed:
            cells = int(vals[self.at[("count", column)]])
            if func == "count":
                value: float | None = float(cells)
            elif not cells:
                value = None
            elif func == "avg":
                value = vals[self.at[("sum", column)]] / cells  # as the Python path: fsum / n
            else:
                value = vals[self.at[("sum" if func == "sum" else func, column)]]
            group.values[(func, column)] = AggValue(value, cells, tuple(bad.get(column, ())))
        return group


def _filter_sql(flt, alias: str) -> str:
    # Filter.accepts: values compare as text, with the cell as dimension_text gives it.
    values = [_sql_str(v) for v in flt.values]
    if flt.op == "!=":
        return f"{alias} <> {values[0]}"
    return f"{alias} IN ({', '.join(values)})"


def _scan_sql(index: int, scan: Scan, slots: _Slots, dims: dict[str, str]) -> str:
    groups = [dims[d] for d in scan.dims]
    where = " AND ".join([f"d BETWEEN DATE '{scan.period.start.isoformat()}' AND "
                          f"DATE '{scan.period.end.isoformat()}'",
                          *(_filter_sql(f, dims[f.column.name]) for f in scan.filters)])
    rows = f"base WHERE {where}"
    if slots.windows:
        over = f"PARTITION BY {', '.join(groups)}" if groups else ""
        rows = f"(SELECT *, {', '.join(w % over for w in slots.windows)} FROM base WHERE {where})"
    seg = f"[{', '.join(groups)}]::VARCHAR[]" if groups else "[]::VARCHAR[]"
    vals = f"[{', '.join(slots.exprs)}]::DOUBLE[]" if slots.exprs else "[]::DOUBLE[]"
    group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
    # Distinct dates as the bits set over the period: cheaper than count(DISTINCT d).
    days = (f"bit_count(bitstring_agg((d - DATE '{scan.period.start.isoformat()}')::INTEGER, 0, "
            f"{(scan.period.end - scan.period.start).days}))")
    return (f"SELECT {index} AS scan, {seg} AS seg, count(*) AS n, {days} AS days, "
            f"{vals} AS vals FROM {rows}{group_by}")


def _bad_cells(scans: list[tuple[Scan, set[AggKey], _Slots]], bad_rows: list[tuple]
               ) -> dict[tuple[int, Segment], dict[str, list[Problem]]]:
    """The bad cells of each scan x segment x column, in the Python path's order (rows by
    date, then by row number: ``bad_rows`` comes sorted so)."""
    out: dict[tuple[int, Segment], dict[str, list[Problem]]] = {}
    for day, _, texts, bad in bad_rows:
        for index, (scan, needed, _) in enumerate(scans):
            if not scan.period.start <= day <= scan.period.end:
                continue
            if not all(f.accepts(texts[f.column.name]) for f in scan.filters):
                continue
            columns = {c for _, c in needed}
            segment = tuple(texts[d] for d in scan.dims)
            for name, problem in bad.items():
                if name in columns:
                    out.setdefault((index, segment), {}).setdefault(name, []).append(problem)
    return out
