"""The plan's aggregate queries for the DuckDB backend, as DuckDB SQL text.

Two statements over the typed rows of the CSV file (``DuckTable._typed_sql``: ``d`` the
date, ``m<i>`` the metric values, ``m<i>_in`` whether the cell is filled, ``g<i>`` the
dimension cells as read, ``nn`` the filled metric cells of a row in the hull):

- ``cube_sql`` groups them once, by date and every dimension the plan uses, into a small
  temporary table ``kp_cube``: the row count, each metric's non-blank cells, filled cells,
  and the parts its functions need (kpirules.aggregate_functions). The dimension texts
  are trimmed (``kp_text``) after the rows are grouped, on the cube's few rows rather than
  on every row, and grouped again.
- ``aggregate_query`` answers every scan from the cube (the scans with the same segments
  in one branch: the cube joined to their periods and filters), as one UNION ALL whose rows are
  ``(scan, seg, n, days, vals)``: the scan's index, the segment's texts, its rows, its
  distinct dates and the aggregates ``Slots`` placed in ``vals``. Two more rows:
  ``scan = -1`` counts the cells SQL left for Python to judge, ``scan = -2`` holds each
  metric's data start and end (days since 1970; spec/semantics.md "Complete periods").

Every part of a function combines over the days of a scan with its own kind (a sum of
sums, a min of mins), which is what lets the cube stand for the rows; sums are DuckDB's
``fsum`` (compensated) at both levels. Both paths must give the same numbers on every
conformance case (tests/test_backend_duckdb.py).

The SQL is written as text, not built with sqlglot: importing sqlglot and building a tree
of a thousand scans cost about as much as DuckDB's whole run on a 100,000-row file. A part's
value (``Part.of``, written for sqlglot expressions) is rendered through ``SqlText``, which
speaks the arithmetic the built-in functions use; anything else falls back to sqlglot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpirules.aggregate import Group, finite
from kpirules.aggregate_functions import AGGREGATES, Part
from kpirules.backends.duck_sql import sql_str
from kpirules.errors import Problem
from kpirules.names import bool_word
from kpirules.plan import AggKey, Scan

EPOCH = "1970-01-01"
# How each kind of part is computed over rows, and again over the cube's rows.
KINDS = {"sum": "fsum", "min": "min", "max": "max"}


class SqlText:
    """A SQL expression as text, with the operators ``Part.of`` applies to sqlglot nodes."""

    def __init__(self, sql: str):
        self.sql = sql

    def copy(self) -> SqlText:
        return self

    def _op(self, op: str, other: Any, swap: bool = False) -> SqlText:
        rhs = other.sql if isinstance(other, SqlText) else repr(float(other))
        return SqlText(f"({rhs} {op} {self.sql})" if swap else f"({self.sql} {op} {rhs})")

    def __mul__(self, other: Any) -> SqlText:
        return self._op("*", other)

    def __add__(self, other: Any) -> SqlText:
        return self._op("+", other)

    def __sub__(self, other: Any) -> SqlText:
        return self._op("-", other)

    def __truediv__(self, other: Any) -> SqlText:
        return self._op("/", other)

    __rmul__ = __mul__
    __radd__ = __add__

    def __rsub__(self, other: Any) -> SqlText:
        return self._op("-", other, swap=True)


def part_sql(part: Part, column: str) -> str:
    """The SQL of ``part``'s value of ``column``."""
    if part.of is None:
        return column
    try:
        value = part.value(SqlText(column))
        if isinstance(value, SqlText):
            return value.sql
    except (AttributeError, TypeError):
        pass
    from sqlglot import exp  # a plugin's part written with sqlglot's own functions

    return part.value(exp.column(column)).sql(dialect="duckdb")


def _date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def column_parts(scans) -> dict[str, dict[str, Part]]:
    """column -> every part the scans' functions need of it, by name."""
    out: dict[str, dict[str, Part]] = {}
    for _, needed, _ in scans:
        for func, column in needed:
            out.setdefault(column, {}).update(AGGREGATES[func].parts)
    return out


class Slots:
    """Where each part of each aggregate of one scan sits in the ``vals`` list its query
    returns, and the SQL of each slot over the cube.

    Every column gets its count of non-blank cells (``AggValue.cells``); each function's
    parts are shared by the functions that name them (sum and avg share one fsum); an
    ``edge`` function's parts are taken over the cube rows of the latest/earliest date
    with a value, found by a window over the scan's cube rows."""

    def __init__(self, needed: set[AggKey], metrics: dict[str, str]):
        self.needed = sorted(needed)
        self.exprs: list[str] = []
        self.windows: list[tuple[str, str]] = []  # (alias, aggregate to window)
        self.at: dict[tuple[str, str, str | None], int] = {}
        self._reads: list | None = None
        for func, column in self.needed:
            fn = AGGREGATES[func]
            m = metrics[column]
            self._slot(("cells", column, None), f"sum({m}_c)::DOUBLE")
            on_day = None
            if fn.edge:
                edge = f"{m}_{fn.edge}"
                pick = "max" if fn.edge == "last" else "min"
                if all(alias != edge for alias, _ in self.windows):
                    self.windows.append((edge, f"{pick}(CASE WHEN {m}_c > 0 THEN d END)"))
                on_day = f"d = {edge}"
            for name, part in fn.parts.items():
                expr = f"{KINDS[part.kind]}({m}_{name})"
                self._slot((name, column, fn.edge), expr if on_day is None else f"{expr} FILTER (WHERE {on_day})")

    def _slot(self, key: tuple[str, str, str | None], expr: str) -> None:
        if key not in self.at:
            self.at[key] = len(self.exprs)
            self.exprs.append(expr)

    def place(self, layout: dict[tuple[str, str], int]) -> None:
        """The scan is answered by a branch shared with other scans, whose ``vals`` hold
        ``layout``'s aggregates: (part name or "cells", column) -> position."""
        self.at = {key: layout[key[:2]] for key in self.at}
        self._reads = None

    def group(self, n: int, days: int, vals: list, bad: dict[str, list[Problem]]) -> Group:
        if self._reads is None:  # where each aggregate's numbers are, worked out once
            self._reads = [((func, column), AGGREGATES[func], self.at[("cells", column, None)],
                            [(name, self.at[(name, column, AGGREGATES[func].edge)])
                             for name in AGGREGATES[func].parts], column)
                           for func, column in self.needed]
        group = Group(rows=n, days=days)
        values = group.values
        for key, fn, cells_at, parts_at, column in self._reads:
            cells = int(vals[cells_at])
            value = fn.of_parts({name: vals[i] for name, i in parts_at}, cells)
            values[key] = finite(fn, column, value, cells, tuple(bad[column]) if bad and column in bad else ())
        return group


def cube_sql(typed: str, metrics: dict[str, str], dims: dict[str, str], parts: dict[str, dict[str, Part]],
             *, by_text: tuple[tuple[dt.date, dt.date], dt.date] | None = None, quick_blanks: bool = False,
             flags: bool | None = None, unfiltered: frozenset[str] = frozenset()) -> str:
    """``kp_cube``: the typed rows grouped by date and dimensions (as read), then by date
    and the dimensions' trimmed texts.

    ``by_text`` = (hull, last day): the rows come keyed by their date cell as written
    (``t``), with ``h`` saying whether that text lies in the hull as ISO text and ``blank``
    whether the whole row is empty (``DuckTable._typed_sql``); each distinct text is read
    as a date here, once, and the rows after the last day (A-1) and blank rows without a
    date are left out here. ``hx`` counts texts whose date is in the hull although the text
    comparison said otherwise: any makes the caller build the cube the exact way.

    ``quick_blanks``: ``m<i>_in`` is the cell (counted when not NULL), and ``w`` counts the
    rows with a metric cell that may be whitespace only (its first character is not
    printable ASCII): any makes the caller build the cube again with the exact test.
    ``flags``: whether the rows carry ``w`` (quick, with a metric column read as text;
    the default: ``quick_blanks`` with metrics).

    ``unfiltered`` (by text): the metrics whose ``m<i>`` are DuckDB's DOUBLE values of every row,
    not only the hull's and finite ones: the rows are grouped as they come and the hull's
    groups (``h``, a key) are picked afterwards, on the grouped rows: two CASEs a cell
    fewer on the file's every row. A value that is not finite makes the hull's sums not
    finite, which ``m<i>_nf`` counts (``cube_doubts``)."""
    if flags is None:
        flags = quick_blanks and bool(metrics)
    keys = ["t", "h", "blank"] if by_text else ["d"]
    # By text, h is a key: a group's filled cells in the hull are its m<i>_f when h holds.
    inner = [*keys, *dims.values(), "count(*) AS r", *([] if by_text else ["sum(nn) AS nn"])]
    filled = " + ".join(f"{m}_f" for m in metrics.values()) or "0"
    outer = ["d", *(f"kp_text({g}) AS {g}" for g in dims.values()), "sum(r) AS r",
             f"sum(CASE WHEN h THEN {filled} ELSE 0 END) AS nn" if by_text else "sum(nn) AS nn"]
    for name, m in metrics.items():
        if m in unfiltered:
            over_rows, over_groups = _unfiltered_metric(m, parts.get(name, {}))
            inner += over_rows
            outer += over_groups
            continue
        # quick: m<i>_in is the cell itself (count: not NULL); else whether it is filled
        inner += [f"count({m}) AS {m}_c", f"count({m}_in) AS {m}_f" if quick_blanks else f"count_if({m}_in) AS {m}_f"]
        outer += [f"sum({m}_c) AS {m}_c", f"sum({m}_f) AS {m}_f"]
        # m<i>_r: the cells in the hull that are not NULL, blank-looking or not (unclean_sql)
        if by_text:  # quick: m<i>_f counts them, and h is a key
            outer.append(f"sum(CASE WHEN h THEN {m}_f ELSE 0 END) AS {m}_r")
        else:
            inner.append(f"count({m}_r) AS {m}_r")
            outer.append(f"sum({m}_r) AS {m}_r")
        for part_name, part in sorted(parts.get(name, {}).items()):
            kind = KINDS[part.kind]
            inner.append(f"{kind}({part_sql(part, m)}) AS {m}_{part_name}")
            outer.append(f"{kind}({m}_{part_name}) AS {m}_{part_name}")
    if flags:
        inner.append("count_if(w) AS w")
        outer.append("sum(w) AS w")
    grouped = f"SELECT {', '.join(inner)} FROM ({typed}) GROUP BY {', '.join([*keys, *dims.values()])}"
    if by_text:
        (start, end), last_day = by_text
        outer.append(f"count_if(NOT coalesce(h, false) AND d BETWEEN {_date(start)} AND {_date(end)}) AS hx")
        grouped = (f"SELECT * FROM (SELECT kp_date(t) AS d, * FROM ({grouped})) "
                   f"WHERE coalesce(d <= {_date(last_day)}, NOT blank)")
    trimmed = ", ".join(["d", *(f"kp_text({g})" for g in dims.values())])
    return f"CREATE OR REPLACE TEMP TABLE kp_cube AS SELECT {', '.join(outer)} FROM ({grouped}) GROUP BY {trimmed}"


def _unfiltered_metric(m: str, parts: dict[str, Part]) -> tuple[list[str], list[str]]:
    """An ``unfiltered`` metric's aggregates over the rows, and over the grouped rows of the hull:
    its filled cells, its parts and ``m<i>_nf``, the hull's groups whose plain sum is not
    finite (a plain sum part's, else a sum of its own)."""
    inner = [f"count({m}) AS {m}_f"]
    in_hull = f"CASE WHEN h THEN {m}_f ELSE 0 END"
    outer = [f"sum({in_hull}) AS {m}_c", f"sum({m}_f) AS {m}_f", f"sum({in_hull}) AS {m}_r"]
    check = f"{m}_chk"
    for part_name, part in sorted(parts.items()):
        kind = KINDS[part.kind]
        inner.append(f"{kind}({part_sql(part, m)}) AS {m}_{part_name}")
        outer.append(f"{kind}(CASE WHEN h THEN {m}_{part_name} END) AS {m}_{part_name}")
        if part.kind == "sum" and part.of is None:
            check = f"{m}_{part_name}"
    if check == f"{m}_chk":
        inner.append(f"fsum({m}) AS {check}")
    outer.append(f"count_if(h AND NOT isfinite({check})) AS {m}_nf")
    return inner, outer


def cube_doubts(metrics: dict[str, str], *, by_text: bool, flags: bool, typed: bool = False,
                unfiltered: frozenset[str] = frozenset()) -> str | None:
    """The query counting what the quick cube may have got wrong (``cube_sql``), or None.
    ``typed`` (metric columns read as DOUBLE): also the cells in the hull that are not
    finite (filled, ``nn``, minus taken, ``m<i>_c``; ``m<i>_nf`` for ``unfiltered`` ones):
    with one, the Python path reads the column cell by cell, and with its decimal mark."""
    doubts = (["coalesce(sum(hx), 0)"] if by_text else []) + (["coalesce(sum(w), 0)"] if flags else [])
    if typed and metrics:
        doubts.append("coalesce(sum(nn), 0)" + "".join(f" - coalesce(sum({m}_c), 0)" for m in metrics.values()))
        doubts += [f"coalesce(sum({m}_nf), 0)" for m in metrics.values() if m in unfiltered]
    return f"SELECT {' + '.join(doubts)} FROM kp_cube" if doubts else None


def unclean_sql(metrics: dict[str, str]) -> str:
    """The query counting, per metric column, the cells in the hull that are not NULL and
    that SQL did not take (``m<i>_r`` minus ``m<i>_c``). With the plain cast (``kp_cast``),
    such a cell is one that float() does not take (or not finite): the Python path then
    reads the whole column cell by cell with its decimal mark (DataTable._convert_metric)."""
    counts = ", ".join(f"coalesce(sum({m}_r), 0) - coalesce(sum({m}_c), 0)" for m in metrics.values())
    return f"SELECT {counts} FROM kp_cube"


def _accepts(flt, column: str) -> str:
    # Filter.accepts: values compare as text, with the cell as dimension_text gives it;
    # TRUE and FALSE in any case (a cube text is never NULL: NOT is safe).
    words = sorted({w for v in flt.values if (w := bool_word(v))})
    match = f"{column} IN ({', '.join(sql_str(v) for v in flt.values)})"
    if words:
        match = f"({match} OR upper({column}) IN ({', '.join(sql_str(w) for w in words)}))"
    return f"NOT {match}" if flt.op == "!=" else match


def scan_select(index: int, scan: Scan, slots: Slots, dims: dict[str, str]) -> str:
    """One scan: its segments, rows, distinct dates and aggregates, from the cube."""
    groups = [dims[d] for d in scan.dims]
    where = " AND ".join([f"d BETWEEN {_date(scan.period.start)} AND {_date(scan.period.end)}",
                          *(_accepts(f, dims[f.column.name]) for f in scan.filters)])
    rows = f"kp_cube WHERE {where}"
    if slots.windows:
        over = f"PARTITION BY {', '.join(groups)}" if groups else ""
        windows = ", ".join(f"{agg} OVER ({over}) AS {alias}" for alias, agg in slots.windows)
        rows = f"(SELECT *, {windows} FROM {rows})"
    seg = f"[{', '.join(groups)}]::VARCHAR[]"
    select = (f"SELECT {index} AS scan, {seg} AS seg, sum(r)::BIGINT AS n, count(DISTINCT d) AS days, "
              f"[{', '.join(slots.exprs)}]::DOUBLE[] AS vals FROM {rows}")
    return select + (f" GROUP BY {', '.join(groups)}" if groups else "")


def suspects_select(metrics: dict[str, str]) -> str:
    """``scan = -1``: rows without a date plus metric cells in the hull that SQL did not
    take (filled, ``nn``, minus cast, the cube's ``m<i>_c``): what Python must look at."""
    total = "coalesce(sum(r) FILTER (WHERE d IS NULL), 0) + coalesce(sum(nn), 0)"
    total += "".join(f" - coalesce(sum({m}_c), 0)" for m in metrics.values())
    return (f"SELECT -1 AS scan, []::VARCHAR[] AS seg, ({total})::BIGINT AS n, 0 AS days, "
            f"[]::DOUBLE[] AS vals FROM kp_cube")


def extents_select(metrics: dict[str, str]) -> str:
    """``scan = -2``: each metric's data start and end, in days since 1970, over every
    row up to A-1 (the cube holds them all)."""
    ends = [f"(({edge}(d) FILTER (WHERE {m}_f > 0)) - DATE '{EPOCH}')::DOUBLE"
            for m in metrics.values() for edge in ("min", "max")]
    return (f"SELECT -2 AS scan, []::VARCHAR[] AS seg, 0::BIGINT AS n, 0 AS days, "
            f"[{', '.join(ends)}]::DOUBLE[] AS vals FROM kp_cube")


def shared_select(branch: list[tuple[int, Scan, Slots]], metrics: dict[str, str], dims: dict[str, str],
                  parts: dict[str, dict[str, Part]]) -> str:
    """Scans with the same segments and no window, in one pass over the cube: the cube
    joined to the list of the scans' periods and filters, grouped by scan and segment.
    Their ``vals`` hold every aggregate any of them needs (``Slots.place``)."""
    groups = [dims[d] for d in branch[0][1].dims]
    columns = sorted({column for _, _, slots in branch for _, column in slots.needed})
    layout: dict[tuple[str, str], int] = {}
    exprs: list[str] = []
    for column in columns:
        m = metrics[column]
        layout[("cells", column)] = len(exprs)
        exprs.append(f"sum({m}_c)::DOUBLE")
        for name, part in sorted(parts[column].items()):
            layout[(name, column)] = len(exprs)
            exprs.append(f"{KINDS[part.kind]}({m}_{name})")
    filter_sets: dict[tuple, int] = {(): 0}
    values = []
    for index, scan, slots in branch:
        slots.place(layout)
        f = filter_sets.setdefault(scan.filters, len(filter_sets))
        values.append(f"({index}, {_date(scan.period.start)}, {_date(scan.period.end)}, {f})")
    cases = " ".join(f"WHEN {i} THEN " + " AND ".join(_accepts(flt, dims[flt.column.name]) for flt in filters)
                     for filters, i in filter_sets.items() if filters)
    accepted = f" AND CASE s_f WHEN 0 THEN true {cases} END" if cases else ""
    seg = f"[{', '.join(groups)}]::VARCHAR[]"
    return (f"SELECT s_i AS scan, {seg} AS seg, sum(r)::BIGINT AS n, count(DISTINCT d) AS days, "
            f"[{', '.join(exprs)}]::DOUBLE[] AS vals FROM kp_cube JOIN (VALUES {', '.join(values)}) "
            f"AS s(s_i, s_lo, s_hi, s_f) ON d BETWEEN s_lo AND s_hi{accepted} "
            f"GROUP BY {', '.join(['s_i', *groups])}")


def aggregate_query(scans: list[tuple[Scan, Slots]], metrics: dict[str, str], dims: dict[str, str],
                    parts: dict[str, dict[str, Part]]) -> str:
    """Every scan, then the suspects row, then (with metrics) the extents row, as one
    UNION ALL over ``kp_cube``. Scans with the same segments share a branch (one branch
    per scan costs DuckDB milliseconds each to plan: most of the query at a thousand
    rules); a scan with ``last``/``first`` has a branch of its own (its window)."""
    shared: dict[tuple[str, ...], list[tuple[int, Scan, Slots]]] = {}
    selects = []
    for i, (scan, slots) in enumerate(scans):
        if slots.windows:
            selects.append(scan_select(i, scan, slots, dims))
        else:
            shared.setdefault(scan.dims, []).append((i, scan, slots))
    selects += [shared_select(branch, metrics, dims, parts) for branch in shared.values()]
    selects.append(suspects_select(metrics))
    if metrics:
        selects.append(extents_select(metrics))
    return "\nUNION ALL ".join(selects)
