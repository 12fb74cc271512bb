"""The rows of a CSV file that SQL did not take, judged by the Python path's own functions,
for the DuckDB backend (``kpirules.backends.duckdb_table``): rows without a readable date
and metric cells in the plan's hull that SQL left NULL, read again with their row numbers,
so that each becomes the very Problem the Python path makes, at the same cell."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from kpirules.backends.duck_sample import has_blank_lines
from kpirules.connectors.base import a1
from kpirules.errors import Problem
from kpirules.plan import AggKey, Scan
from kpirules.read.dates import looks_like_date
from kpirules.table import BAD, _is_blank, metric_problem, parse_number, undated_problem

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.aggregate import Segment
    from kpirules.backends.duckdb_table import DuckTable
    from kpirules.backends.sql_plan import Slots


class UsePython(Exception):
    """Something in the file only the Python path reads right."""


def problem_rows(table: DuckTable, con, hull: tuple[dt.date, dt.date] | None, metrics: dict[str, str],
                 dims: dict[str, str], marks: dict[str, str | None]):
    """Rows without a date, and rows in the hull with a metric cell SQL did not take,
    read again with their row numbers and judged by the Python path's own functions.

    Returns (date problems, bad rows as (date, row, {dim: text}, {metric: Problem}))."""
    if has_blank_lines(table._csv_path, after_lines=table._skip + 1):
        # DuckDB skips empty lines, csv counts them: row numbers would not match.
        raise UsePython("empty lines inside the file")
    columns = table.columns
    date = f"c{columns[table.date_column]}"
    cells = ", ".join(f"c{i}" for i in range(len(table.headers)))
    blank_row = " AND ".join(f"c{i} IS NULL" for i in range(len(table.headers)))
    flags = [f"(NOT coalesce(isfinite({table._cast(m, marks)}), false) AND "
             f"kp_text(c{columns[m]}) <> '')" for m in metrics]
    texts = [f"kp_text(c{columns[d]})" for d in dims]
    where = f"(d IS NULL AND NOT ({blank_row}))"
    if hull is not None and flags:
        where += (f" OR (d BETWEEN DATE '{hull[0].isoformat()}' AND DATE '{hull[1].isoformat()}'"
                  f" AND ({' OR '.join(flags)}))")
    select = ", ".join(["ordinality", "d", cells, *(f"{f} AS f{i}" for i, f in enumerate(flags)),
                        *(f"{t} AS t{i}" for i, t in enumerate(texts))])
    sql = (f"SELECT {select} FROM (SELECT ordinality, kp_date({date}) AS d, {cells} "
           f"FROM {table._source(ordinality=True)}) WHERE {where} ORDER BY ordinality")
    date_col = columns[table.date_column]
    n = len(table.headers)
    date_problems: list[Problem] = []
    bad_rows: list[tuple] = []
    records = con.execute(sql).fetchall()
    last = None  # records after this ordinality are the recipe's bottom rows
    if table._bottom and records and records[-1][1] is None:
        last = con.execute(f"SELECT count(*) FROM {table._source()}").fetchone()[0] - table._bottom
    for record in records:
        index, day, row = record[0] - 1, record[1], list(record[2:2 + n])
        flagged = record[2 + n:2 + n + len(flags)]
        texts_of = dict(zip(dims, record[2 + n + len(flags):]))
        if day is None:
            if record[0] <= table._top or (last is not None and record[0] > last):
                continue  # totals (and notes) the recipe leaves out
            value = row[date_col]
            # A date SQL does not read, in either order: 13/05/2026 past the sampled rows
            # proves the column day first, and 05/10/2026 may make it ambiguous; the Python
            # path decides the order from every row of the column (DateReader.for_column).
            if table.recipe.dates(value) is not None or looks_like_date(value):
                raise UsePython(f"a date only Python reads: {value!r}")
            if all(_is_blank(v) for v in row):
                continue
            ref = a1(table.sheet, table.header_row + 1 + index, date_col)
            date_problems.append(undated_problem(ref, date_col, ["" if v is None else v for v in row],
                                                 value if value is not None else ""))
            continue
        bad: dict[str, Problem] = {}
        for name, flag in zip(metrics, flagged):
            if not flag:
                continue
            col = columns[name]
            mark = marks.get(name) if marks else table._mark(name)
            read = parse_number(row[col], mark)
            if read is None:
                continue  # a blank word (`--`, `n/a`): blank, as in Python
            if read is not BAD:
                raise UsePython(f"a number only Python reads: {row[col]!r}")
            ref = a1(table.sheet, table.header_row + 1 + index, col)
            bad[name] = metric_problem(ref, row[col], mark, table.headers[col])
        if bad:
            bad_rows.append((day, index, texts_of, bad))
    bad_rows.sort(key=lambda r: (r[0], r[1]))
    return date_problems, bad_rows


def bad_cells(scans: list[tuple[Scan, set[AggKey], Slots]], bad_rows: list[tuple]
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
