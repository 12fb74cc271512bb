"""The plan as one SQL query, in any dialect sqlglot speaks.

``compile_plan`` turns a ``kpirules.plan.Plan`` into a single ``SELECT`` over a typed table
(a date column, metric columns of a numeric type, dimension columns of any type) that
computes every scan's groups and every metric's data start and end;
``kpirules.backends.sql_table.decode`` turns its rows back into what
``kpirules.table.DataTable.groups`` returns. (This package sits below the connectors and
imports nothing of the engine's.) The engine evaluates
the rules on those aggregates exactly as it does for the Python path, so the two cannot
disagree on the meaning of a rule; they can only disagree on arithmetic, within the 1e-9
the spec allows (SQL sums doubles in the engine's own order).

Why the query has this shape:

- Periods are computed by kpirules (``kpirules.periods``) and arrive as date parameters:
  the engine's own week start, time zone or calendar never enter.
- Every value from a rule (filter values, dates) is a *parameter* (sqlglot renders the
  dialect's placeholder: ``%(p1)s``, ``$p1``, ``@p1``, ``:p1``); identifiers are the
  table's own column names, checked against its columns before they reach this module
  and quoted by sqlglot. No rule text is ever pasted into SQL.
- The table is read once: a *cube* CTE groups the plan's date hull by date and every
  dimension the plan uses (segments and filter columns) with the row count and each
  metric's sum, count, min and max. Every scan reads the cube (at most days x dimension
  combinations rows) instead of the table: a thousand rules over a hundred million rows
  are one pass over the rows and many small passes over the cube, where one query per
  rule would be a thousand passes. A scan groups its cube rows by (segment, date), which
  gives its number of distinct days, then by segment. ``last``/``first`` ("the value on
  the latest date where x is non-blank") are a window over those days. CTEs and window
  functions are in every dialect we target (DuckDB, PostgreSQL, Spark, BigQuery,
  Snowflake).
- All scans are one ``UNION ALL`` of equally shaped branches: scan number, dimension
  values (as text, a blank as ``''``: spec "values compare as text"), row count, day count,
  then one slot per aggregate (NULL-padded), so one round trip brings back everything and
  only aggregates cross the wire.
- Data extents are one more branch (scan -1): per metric the first and last date with a
  non-blank value up to as_of - 1, as day numbers since 1970-01-01.
- An engine that inlines CTEs (Spark: it copies the cube into every branch and pushes each
  branch's period and filters into its copy, so no two copies are alike and none is
  reused: 82 scans were 166 reads of the table) asks for the cube apart
  (``cube_relation``): ``Compiled.cube_sql`` is the cube alone, to be materialised under
  that name, and the query reads the cube from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlglot import exp

from kpirules.aggregate_functions import AGGREGATES, Part

EPOCH = dt.date(1970, 1, 1)


@dataclass
class Compiled:
    """The query, its parameters, and what each output column means."""

    sql: str
    params: dict[str, Any]
    width: int  # number of dimension slots
    slots: list[list[tuple[str, str, str]]]  # per scan: (func, column, part) per value slot
    scans: list[Any]  # the plan's scans, in branch order
    metrics: list[str] = field(default_factory=list)  # extents branch order
    # With cube_relation: the cube alone, to be materialised under that name first.
    cube_sql: str | None = None
    cube_params: dict[str, Any] = field(default_factory=dict)
    cube_relation: str | None = None


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> exp.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return exp.Placeholder(this=name)


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_ident(name), table=_ident(table) if table else None)


# Nodes are built with their constructors, not sqlglot's string-parsing helpers
# (exp.func, exp.cast with a type name): a plan of a thousand rules builds thousands of
# nodes, and parsing each name again costs more than the query takes to run.
_AGG = {"SUM": exp.Sum, "COUNT": exp.Count, "MIN": exp.Min, "MAX": exp.Max}
# A part of a function (kpirules.aggregate_functions.Part) by its kind: per day in the
# cube, then the same kind again over the days of a scan. The count of non-blank cells
# ("cells", every function's) is a COUNT per day, then a SUM.
_KIND = {"sum": "SUM", "min": "MIN", "max": "MAX"}


def _parts(needed: Iterable[tuple[str, str]]) -> dict[str, dict[str, Part]]:
    """column -> the parts its functions need, by name."""
    out: dict[str, dict[str, Part]] = {}
    for func, column in needed:
        out.setdefault(column, {}).update(AGGREGATES[func].parts)
    return out


def _agg(name: str, expr: exp.Expression) -> Any:  # an exp.AggFunc
    return _AGG[name](this=expr)


def _as(expr: exp.Expression, name: str) -> exp.Alias:
    """``expr AS name`` without the copy sqlglot's ``as_`` makes."""
    return exp.Alias(this=expr, alias=exp.to_identifier(name))


def _cast_text(expr: exp.Expression) -> exp.Expression:
    return exp.Cast(this=expr, to=exp.DataType(this=exp.DataType.Type.TEXT))


def _text(expr: exp.Expression) -> exp.Expression:
    """A dimension value as text, blank as ''."""
    return exp.Coalesce(this=_cast_text(expr), expressions=[exp.Literal.string("")])


def _double(expr: exp.Expression) -> exp.Expression:
    return exp.Cast(this=expr, to=exp.DataType(this=exp.DataType.Type.DOUBLE))


def _days(expr: exp.Expression) -> exp.Expression:
    """Days since 1970-01-01 of a date expression, as a double."""
    epoch = exp.Cast(this=exp.Literal.string(EPOCH.isoformat()), to=exp.DataType(this=exp.DataType.Type.DATE))
    return _double(exp.DateDiff(this=expr, expression=epoch, unit=exp.var("DAY")))


def _filter(flt, cube_dims: dict[str, str], params: _Params) -> exp.Expression:
    cell = exp.column(cube_dims[flt.column.name])
    if flt.op == "!=":
        return exp.NEQ(this=cell, expression=params.add(flt.values[0]))
    if flt.op == "=" or len(flt.values) == 1:
        return exp.EQ(this=cell, expression=params.add(flt.values[0]))
    return exp.In(this=cell, expressions=[params.add(v) for v in flt.values])


def _cube(plan, *, table: exp.Expression, date: str, columns: dict[str, str], params: _Params
          ) -> tuple[exp.Select, dict[str, str], dict[str, int]]:
    """The one pass over the table: per date and every dimension the plan uses (segments and
    filters, as text, blank as ''), the row count and each metric's non-blank cells and the
    parts its functions need, over the plan's date hull. Every scan then reads this cube, which holds at most
    days x dimension combinations rows, instead of the table."""
    dims = sorted(plan.dims)
    metrics = sorted(plan.metrics)
    parts = _parts(key for needed in plan.scans.values() for key in needed)
    cube_dims = {d: f"k{i}" for i, d in enumerate(dims)}
    cube_metrics = {m: i for i, m in enumerate(metrics)}
    dim_exprs = [_text(_col(columns[d])) for d in dims]
    cols: list[exp.Expression] = [_as(e, cube_dims[d]) for e, d in zip(dim_exprs, dims)]
    cols += [_as(_col(date), "d"), _as(exp.Count(this=exp.Star()), "r")]
    for m, i in cube_metrics.items():
        cols.append(_as(exp.Count(this=_col(columns[m])), f"cells{i}"))
        cols += [_as(_agg(_KIND[part.kind], part.value(_col(columns[m]))), f"{name}{i}")
                 for name, part in sorted(parts.get(m, {}).items())]
    start, end = plan.hull
    cube = (exp.select(*cols, copy=False).from_(table.copy(), copy=False)
            .where(exp.Between(this=_col(date), low=params.add(start), high=params.add(end)), copy=False)
            .group_by(*[e.copy() for e in dim_exprs], _col(date), copy=False))
    return cube, cube_dims, cube_metrics


def _scan_branch(index: int, scan, needed: Iterable[tuple[str, str]], *, cube_dims: dict[str, str],
                 cube_metrics: dict[str, int], width: int, n_slots: int, params: _Params,
                 cube_name: str = "kp_cube"
                 ) -> tuple[exp.Select, list[tuple[str, exp.Select]], list[tuple[str, str, str]]]:
    """One scan: its days from the cube (period, filters, grouped by segment and date), then
    one row per segment. ``first``/``last`` add a window over the days (the segment's
    latest/earliest day where the column is non-blank)."""
    needed = sorted(needed)
    metrics = sorted({column for _, column in needed})
    dims = [f"g{i}" for i in range(len(scan.dims))]
    seg = [exp.column(cube_dims[d]) for d in scan.dims]
    where: list[exp.Expression] = [
        exp.Between(this=exp.column("d"), low=params.add(scan.period.start), high=params.add(scan.period.end))]
    where += [_filter(flt, cube_dims, params) for flt in scan.filters]
    daily_name = f"s{index}_day"
    daily_cols: list[exp.Expression] = [_as(e, g) for e, g in zip(seg, dims)]
    daily_cols += [exp.column("d"), _as(_agg("SUM", exp.column("r")), "r")]
    parts = _parts(needed)
    for i, column in enumerate(metrics):
        c = cube_metrics[column]
        daily_cols.append(_as(_agg("SUM", exp.column(f"cells{c}")), f"cells{i}"))
        daily_cols += [_as(_agg(_KIND[part.kind], exp.column(f"{name}{c}")), f"{name}{i}")
                       for name, part in sorted(parts[column].items())]
    daily = (exp.select(*daily_cols, copy=False).from_(exp.to_table(cube_name), copy=False)
             .where(exp.and_(*where, copy=False), copy=False)
             .group_by(*[e.copy() for e in seg], exp.column("d"), copy=False))
    ctes = [(daily_name, daily)]
    source = daily_name
    edges = sorted({(AGGREGATES[func].edge, column) for func, column in needed if AGGREGATES[func].edge})
    if edges:
        edge_cols: list[exp.Expression] = [exp.Star()]
        partition = [exp.column(g) for g in dims]
        for name, column in edges:
            i = metrics.index(column)
            has = exp.If(this=exp.GT(this=exp.column(f"cells{i}"), expression=exp.Literal.number(0)),
                         true=exp.column("d"))
            edge_cols.append(_as(exp.Window(this=_agg("MAX" if name == "last" else "MIN", exp.Case(ifs=[has])),
                                        partition_by=[p.copy() for p in partition] or None), f"{name}_d{i}"))
        source = f"s{index}_edge"
        ctes.append((source, exp.select(*edge_cols, copy=False).from_(daily_name, copy=False)))
    out: list[exp.Expression] = [_as(exp.Literal.number(index), "scan")]
    for slot in range(width):
        # Only the first branch's columns need types (a UNION takes them from it); an untyped
        # NULL pads the others, which keeps a thousand-scan query short.
        value = exp.column(dims[slot]) if slot < len(dims) else exp.Null()
        out.append(_as(_cast_text(value) if slot < len(dims) or index == 0 else value, f"g{slot}"))
    out += [_as(_double(_agg("SUM", exp.column("r"))), "n"), _as(_double(exp.Count(this=exp.Star())), "days")]
    slots: list[tuple[str, str, str]] = []
    values: list[exp.Expression] = []
    for func, column in needed:
        i = metrics.index(column)
        fn = AGGREGATES[func]
        for name, part in fn.parts.items():
            part_sql: exp.Expression = exp.column(f"{name}{i}")
            if fn.edge:  # the part on the segment's latest/earliest non-blank day
                on_day = exp.EQ(this=exp.column("d"), expression=exp.column(f"{fn.edge}_d{i}"))
                part_sql = exp.Case(ifs=[exp.If(this=on_day, true=part_sql)])
            values.append(_agg(_KIND[part.kind], part_sql))
            slots.append((func, column, name))
        values.append(_agg("SUM", exp.column(f"cells{i}")))
        slots.append((func, column, "cells"))
    out += [_as(_double(v), f"v{k}") for k, v in enumerate(values)]
    out += [_as(_double(exp.Null()) if index == 0 else exp.Null(), f"v{k}") for k in range(len(values), n_slots)]
    branch = exp.select(*out, copy=False).from_(source, copy=False)
    if dims:
        branch = branch.group_by(*[exp.column(g) for g in dims], copy=False)
    return branch, ctes, slots


def compile_plan(plan, *, table: exp.Expression, date: str, columns: dict[str, str],
                 dialect: str, extents: Iterable[str] = (), param_style: str | None = None,
                 cube_relation: str | None = None) -> Compiled:
    """``plan``'s scans (and the data extents of ``extents``' metrics) as one query on
    ``table``. ``columns`` maps each normalised name the plan uses to the table's real
    column name; ``date`` is the real name of the date column. ``cube_relation``: read the
    cube from that relation (a plain name the caller made) and return it as ``cube_sql``,
    with its own parameters, for the caller to materialise first."""
    params = _Params()
    cube_sql, cube_params = None, {}
    scans = list(plan.scans.items())
    width = max((len(scan.dims) for scan, _ in scans), default=0)
    extents = sorted(extents)
    n_slots = max([sum(len(AGGREGATES[func].parts) + 1 for func, _ in needed) for _, needed in scans]
                  + [2 * len(extents), 1])
    ctes: list[tuple[str, exp.Select]] = []
    branches: list[exp.Select] = []
    all_slots = []
    if scans:
        cube, cube_dims, cube_metrics = _cube(plan, table=table, date=date, columns=columns, params=params)
        if cube_relation:
            cube_sql, cube_params = _render(cube, dialect, param_style), params.values
            params = _Params()
        else:
            ctes.append(("kp_cube", cube))
        for index, (scan, needed) in enumerate(scans):
            branch, scan_ctes, slots = _scan_branch(index, scan, needed, cube_dims=cube_dims,
                                                    cube_metrics=cube_metrics, width=width,
                                                    n_slots=n_slots, params=params,
                                                    cube_name=cube_relation or "kp_cube")
            ctes += scan_ctes
            branches.append(branch)
            all_slots.append(slots)
    if extents or not branches:
        out: list[exp.Expression] = [_as(exp.Literal.number(-1), "scan")]
        out += [_as(_cast_text(exp.Null()), f"g{i}") for i in range(width)]
        out += [_as(_double(exp.Count(this=exp.Star())), "n"), _as(_double(exp.Literal.number(0)), "days")]
        values: list[exp.Expression] = []
        for metric in extents:
            m = _col(columns[metric])
            present = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=m, expression=exp.Null())),
                                           true=_col(date))])
            values += [_days(_agg("MIN", present)), _days(_agg("MAX", present.copy()))]
        values += [exp.Null()] * (n_slots - len(values))
        out += [_as(_double(v), f"v{k}") for k, v in enumerate(values)]
        last_day = plan.as_of - dt.timedelta(days=1)
        branches.append(exp.select(*out, copy=False).from_(table.copy(), copy=False)
                        .where(exp.LTE(this=_col(date), expression=params.add(last_day)), copy=False))
    # Built as nodes: sqlglot's union() helper copies its left side each time, which is
    # quadratic in the number of scans.
    query: exp.Expression = branches[0]
    for branch in branches[1:]:
        query = exp.Union(this=query, expression=branch, distinct=False)
    # The WITH clause set as a node: the with_() helper deep-copies every CTE it is given.
    with_key = "with_" if "with_" in type(query).arg_types else "with"
    if ctes:
        query.set(with_key, exp.With(expressions=[exp.CTE(this=cte, alias=exp.TableAlias(this=_ident(name)))
                                                  for name, cte in ctes]))
    return Compiled(sql=_render(query, dialect, param_style), params=params.values, width=width,
                    slots=all_slots, scans=[scan for scan, _ in scans], metrics=extents,
                    cube_sql=cube_sql, cube_params=cube_params, cube_relation=cube_relation)


def _render(query: exp.Expression, dialect: str, param_style: str | None) -> str:
    if param_style == "pyformat":  # drivers that bind on the client (Snowflake's)
        query = query.transform(lambda node: exp.var(f"%({node.this})s")
                                if isinstance(node, exp.Placeholder) else node, copy=False)
    return query.sql(dialect=dialect)
