"""The plan's aggregate query, compiled with sqlglot (one expression tree, many dialects).

``aggregate_query(scans, metrics, dims)`` turns every scan of a plan into one SELECT over the
typed rows (a table ``base``: ``d`` the date, ``m<i>`` the metric values, ``m<i>_in`` whether
the cell is filled, ``g<i>`` the dimension texts, ``nn`` the filled metric cells of a row in
the hull) and joins them with UNION ALL. Each row of the answer is
``(scan, seg, n, days, vals)``: the scan's index, the segment's texts, its rows, its distinct
dates and the aggregates ``Slots`` placed in ``vals``. Two more rows: ``scan = -1`` counts
the cells SQL left for Python to judge, ``scan = -2`` holds each metric's data start and
end (days since 1970; spec/semantics.md "Complete periods").

What each function computes in SQL is its ``parts`` (kpirules.aggregate_functions), each
part kind's SQL is ``KINDS`` (and the window of ``last``/``first`` in ``Slots``); both paths
must give the same numbers on every conformance case (tests/test_backend_duckdb.py). DuckDB
is the first dialect; the tree is dialect-free except for the functions named in ``KINDS``.
"""

from __future__ import annotations

import functools
from typing import Callable

from sqlglot import exp

from kpirules.aggregate import AggValue, Group
from kpirules.aggregate_functions import AGGREGATES
from kpirules.errors import Problem
from kpirules.plan import AggKey, Scan

DIALECT = "duckdb"
EPOCH = "1970-01-01"


@functools.cache
def _type(name: str) -> exp.DataType:
    return exp.DataType.build(name, dialect=DIALECT)  # parsed once, copied into each use


def _cast(expression: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=expression, to=_type(to).copy())


def _as(expression: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(expression, name, copy=False)


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _date(day) -> exp.Expression:
    return _cast(exp.Literal.string(day.isoformat() if hasattr(day, "isoformat") else day), "DATE")


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _filtered(aggregate: exp.Expression, condition: exp.Expression) -> exp.Expression:
    return exp.Filter(this=aggregate, expression=exp.Where(this=condition))


def _array(items: list[exp.Expression], element: str) -> exp.Expression:
    return _cast(exp.Array(expressions=items), f"{element}[]")


def _number(value: int) -> exp.Expression:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


# How each kind of part (kpirules.aggregate_functions.Part) is computed over a scan's rows.
# Sums use DuckDB's fsum: compensated summation, like math.fsum.
KINDS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    "sum": lambda v: _call("fsum", v),
    "min": lambda v: exp.Min(this=v),
    "max": lambda v: exp.Max(this=v),
}


def _cells(m: exp.Expression) -> exp.Expression:
    return _cast(exp.Count(this=m), "DOUBLE")


class Slots:
    """Where each part of each aggregate of one scan sits in the ``vals`` list its query
    returns.

    Every column gets its count of non-blank cells (``AggValue.cells``); each function's
    parts (kpirules.aggregate_functions) are shared by the functions that name them (sum
    and avg share one fsum); an ``edge`` function's parts are taken over the rows of the
    latest/earliest date with a value, found by a window over the scan's rows."""

    def __init__(self, needed: set[AggKey], metrics: dict[str, str]):
        self.needed = sorted(needed)
        self.exprs: list[exp.Expression] = []
        self.windows: list[tuple[str, exp.Expression]] = []  # (alias, aggregate to window)
        self.at: dict[tuple[str, str, str | None], int] = {}
        for func, column in self.needed:
            fn = AGGREGATES[func]
            m = _col(metrics[column])
            self._slot(("cells", column, None), _cells(m))
            on_day = None
            if fn.edge:
                edge = f"{metrics[column]}_{fn.edge}"
                dated = exp.case().when(exp.Not(this=exp.Is(this=m.copy(), expression=exp.Null())), _col("d"))
                pick = exp.Max(this=dated) if fn.edge == "last" else exp.Min(this=dated)
                if all(alias != edge for alias, _ in self.windows):
                    self.windows.append((edge, pick))
                on_day = exp.EQ(this=_col("d"), expression=_col(edge))
            for name, part in fn.parts.items():
                expr = KINDS[part.kind](part.value(m.copy()))
                self._slot((name, column, fn.edge), expr if on_day is None else _filtered(expr, on_day.copy()))

    def _slot(self, key: tuple[str, str, str | None], expr: exp.Expression) -> None:
        if key not in self.at:
            self.at[key] = len(self.exprs)
            self.exprs.append(expr)

    def group(self, n: int, days: int, vals: list, bad: dict[str, list[Problem]]) -> Group:
        group = Group(rows=n, days=days)
        for func, column in self.needed:
            fn = AGGREGATES[func]
            cells = int(vals[self.at[("cells", column, None)]])
            parts = {name: vals[self.at[(name, column, fn.edge)]] for name in fn.parts}
            group.values[(func, column)] = AggValue(fn.of_parts(parts, cells), cells,
                                                    tuple(bad.get(column, ())))
        return group


def _accepts(flt, column: exp.Expression) -> exp.Expression:
    # Filter.accepts: values compare as text, with the cell as dimension_text gives it.
    values = [exp.Literal.string(v) for v in flt.values]
    if flt.op == "!=":
        return exp.NEQ(this=column, expression=values[0])
    return exp.In(this=column, expressions=values)


def scan_select(index: int, scan: Scan, slots: Slots, dims: dict[str, str]) -> exp.Select:
    """One scan: its rows' segments, counts, distinct dates and aggregates."""
    groups = [_col(dims[d]) for d in scan.dims]
    where = exp.and_(
        exp.Between(this=_col("d"), low=_date(scan.period.start), high=_date(scan.period.end)),
        *(_accepts(f, _col(dims[f.column.name])) for f in scan.filters), copy=False)
    rows: exp.Expression | str = "base"
    if slots.windows:
        over = [g.copy() for g in groups]
        windows = [_as(exp.Window(this=agg, partition_by=[g.copy() for g in over] or None), alias)
                   for alias, agg in slots.windows]
        rows = exp.select("*", *windows, copy=False).from_("base", copy=False).where(where, copy=False).subquery(
            copy=False)
    # Distinct dates as the bits set over the period: cheaper than count(DISTINCT d).
    span = (scan.period.end - scan.period.start).days
    days = _call("bit_count", _call(
        "bitstring_agg", _cast(exp.Sub(this=_col("d"), expression=_date(scan.period.start)), "INTEGER"),
        _number(0), _number(span)))
    select = exp.select(
        _as(_number(index), "scan"),
        _as(_array([g.copy() for g in groups], "VARCHAR"), "seg"),
        _as(exp.Count(this=exp.Star()), "n"),
        _as(days, "days"),
        _as(_array(slots.exprs, "DOUBLE"), "vals"),
        copy=False).from_(rows, copy=False)
    if not slots.windows:
        select = select.where(where, copy=False)
    return select.group_by(*groups, copy=False) if groups else select


def suspects_select(metrics: dict[str, str]) -> exp.Select:
    """``scan = -1``: rows without a date plus metric cells in the hull that SQL did not
    take (filled, ``nn``, minus cast, ``count(m<i>)``): what Python must look at."""
    total: exp.Expression = exp.Add(
        this=_filtered(exp.Count(this=exp.Star()), exp.Is(this=_col("d"), expression=exp.Null())),
        expression=exp.Coalesce(this=exp.Sum(this=_col("nn")), expressions=[_number(0)]))
    for m in metrics.values():
        total = exp.Sub(this=total, expression=exp.Count(this=_col(m)))
    return exp.select(
        _as(_number(-1), "scan"), _as(_array([], "VARCHAR"), "seg"),
        _as(_cast(exp.Paren(this=total), "BIGINT"), "n"), _as(_number(0), "days"),
        _as(_array([], "DOUBLE"), "vals"), copy=False).from_("base", copy=False)


def extents_select(metrics: dict[str, str]) -> exp.Select:
    """``scan = -2``: each metric's data start and end, in days since 1970, over every row
    of ``base`` (all rows up to A-1)."""
    ends: list[exp.Expression] = []
    for m in metrics.values():
        for edge in (exp.Min, exp.Max):
            day = _filtered(edge(this=_col("d")), _col(f"{m}_in"))
            ends.append(_cast(exp.Paren(this=exp.Sub(this=day, expression=_date(EPOCH))), "DOUBLE"))
    return exp.select(
        _as(_number(-2), "scan"), _as(_array([], "VARCHAR"), "seg"),
        _as(_cast(_number(0), "BIGINT"), "n"), _as(_number(0), "days"),
        _as(_array(ends, "DOUBLE"), "vals"), copy=False).from_("base", copy=False)


def aggregate_query(scans: list[tuple[Scan, Slots]], metrics: dict[str, str], dims: dict[str, str]) -> str:
    """Every scan, then the suspects row, then (with metrics) the extents row, as one
    UNION ALL in DuckDB's SQL."""
    selects: list[exp.Select] = [scan_select(i, scan, slots, dims) for i, (scan, slots) in enumerate(scans)]
    selects.append(suspects_select(metrics))
    if metrics:
        selects.append(extents_select(metrics))
    # One UNION ALL node per branch, built without copying (sqlglot's builders copy their
    # arguments by default: quadratic over a thousand scans).
    query = functools.reduce(lambda a, b: exp.union(a, b, distinct=False, copy=False), selects)
    return query.sql(dialect=DIALECT)
