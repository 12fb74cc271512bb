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
  are one pass over the rows, where one query per rule would be a thousand passes.
- Every scan is answered by *one aggregation* over the cube, not one branch per scan
  (82 branches for 1,000 rules were the query's fixed cost: sqlglot building and
  rendering them, the engine parsing and planning them, ~250 small stages on Spark). The
  cube is joined to the list of the scans (``VALUES``: scan number, first and last day as
  date parameters, the number of its set of filters, a 0/1 flag per dimension saying
  whether it groups by it); the filters are one ``CASE`` on the filter set's number;
  a dimension the scan does not group by is NULL in its rows. The joined rows are grouped
  by (scan, segment, date), which gives each segment's number of distinct days, then by
  (scan, segment). ``last``/``first`` ("the value on the latest date where x is
  non-blank") are a window over those days per (scan, segment). The same idea as the
  DuckDB CSV path's shared branches (``kpirules.backends.sql_plan.shared_select``), taken
  to every scan. CTEs, ``VALUES`` (BigQuery: an ``UNNEST`` of ``STRUCT``s, sqlglot's
  rewrite) and window functions are in every dialect we target (DuckDB, PostgreSQL,
  Spark, BigQuery, Snowflake).
- A row is: scan number, one text per dimension of the plan (a blank as ``''``: spec
  "values compare as text"; NULL where the scan does not group by it), row count, day
  count, then the aggregates every scan may need (``_layout``: each column's non-blank
  cells and its functions' parts), so one round trip brings back everything and only
  aggregates cross the wire. ``Compiled.slots`` says which of them each scan reads.
- Data extents are one more branch (scan -1), the query's one ``UNION ALL``: per metric
  the first and last date with a non-blank value up to as_of - 1, as day numbers since
  1970-01-01.
- An engine that inlines CTEs or plans every query from scratch (Spark) asks for the
  cube apart (``cube_relation``): ``Compiled.cube_sql`` is the cube alone, to be
  materialised under that name, and the query reads the cube from it. (When each scan
  was a branch, Spark copied the cube into every branch: 82 scans were 166 reads of the
  table.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlglot import exp

from kpirules.aggregate_functions import AGGREGATES, Part
from kpirules.names import WHOLE_LIMIT, bool_word

EPOCH = dt.date(1970, 1, 1)


@dataclass
class Compiled:
    """The query, its parameters, and what each output column means."""

    sql: str
    params: dict[str, Any]
    width: int  # number of dimension slots: the plan's dimensions, sorted
    # per scan: (func, column, part or "cells", position among the row's values)
    slots: list[list[tuple[str, str, str, int]]]
    scans: list[Any]  # the plan's scans; a row's scan is its index here
    metrics: list[str] = field(default_factory=list)  # extents row order
    segments: list[tuple[int, ...]] = field(default_factory=list)  # per scan: its dims' slots
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
    """A dimension value as text, trimmed, blank as '' (``kpirules.table.dimension_text``:
    ``" web "`` is the segment ``web``, as in a sheet or a CSV file). Only the ASCII
    spaces are trimmed: a literal of the others would make a PostgreSQL database in a
    legacy encoding (LATIN1...) refuse the whole query."""
    from kpirules.names import WHITESPACE

    ascii_spaces = "".join(c for c in WHITESPACE if c < "\x80")
    trimmed = exp.Trim(this=_cast_text(expr), expression=exp.Literal.string(ascii_spaces))
    return exp.Coalesce(this=trimmed, expressions=[exp.Literal.string("")])


# Type names (lower case, without arguments) whose values are written as below; any other
# type (text, uuid, interval...) is cast to text by the engine and trimmed (_text).
WHOLE_TYPES = frozenset({"integer", "int", "int2", "int4", "int8", "int64", "bigint", "smallint", "tinyint",
                          "hugeint", "ubigint", "uinteger", "usmallint", "utinyint", "uhugeint"})
_REAL_TYPES = ("double", "float", "real", "numeric", "decimal", "number", "bignumeric")


def _dimension_text(expr: exp.Expression, kind: str) -> exp.Expression:
    """A typed dimension value as the one text every engine gives it (spec "Segments and
    filters"; ``kpirules.table.dimension_text`` for a sheet's typed cells): booleans TRUE
    and FALSE, integral numbers below 1e16 without ``.0`` (the engines' own text writes
    2.0 on DuckDB, 2 on PostgreSQL), other numbers as the engine writes a double (the
    shortest form that reads back on DuckDB and PostgreSQL: 2.5, 1e-05, 1e+16), dates
    ISO, a timestamp at midnight as its date; NULL as ''."""
    text = exp.DataType(this=exp.DataType.Type.TEXT)
    blank = exp.Literal.string("")
    base = kind.split("(")[0].strip()
    if base.startswith("bool"):
        return exp.Case(ifs=[exp.If(this=expr, true=exp.Literal.string("TRUE")),
                             exp.If(this=exp.Not(this=expr.copy()), true=exp.Literal.string("FALSE"))],
                        default=blank)
    if base in WHOLE_TYPES or base == "date":
        return exp.Coalesce(this=exp.Cast(this=expr, to=text), expressions=[blank])
    if base.startswith(_REAL_TYPES):
        x = _double(expr)
        whole = exp.and_(exp.EQ(this=x.copy(), expression=exp.Floor(this=x.copy())),
                         exp.LT(this=exp.Abs(this=x.copy()), expression=exp.Literal.number(repr(WHOLE_LIMIT))))
        bigint = exp.DataType(this=exp.DataType.Type.BIGINT)
        return exp.Case(ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=blank),
                             exp.If(this=whole, true=exp.Cast(this=exp.Cast(this=x.copy(), to=bigint), to=text))],
                        default=exp.Cast(this=x, to=text))
    if base.startswith(("timestamp", "datetime")):
        timestamp = exp.DataType(this=exp.DataType.Type.TIMESTAMP)
        day = _date(expr.copy())
        midnight = exp.EQ(this=exp.Cast(this=day.copy(), to=timestamp),
                          expression=exp.Cast(this=expr.copy(), to=timestamp))
        return exp.Case(ifs=[exp.If(this=midnight, true=exp.Cast(this=day, to=text))],
                        default=exp.Coalesce(this=exp.Cast(this=expr, to=text), expressions=[blank]))
    return _text(expr)


def _double(expr: exp.Expression) -> exp.Expression:
    return exp.Cast(this=expr, to=exp.DataType(this=exp.DataType.Type.DOUBLE))


def _date(expr: exp.Expression) -> exp.Expression:
    # Typed where it stands: a driver that binds on the client (Snowflake's) sends text.
    return exp.Cast(this=expr, to=exp.DataType(this=exp.DataType.Type.DATE))


def _days(expr: exp.Expression) -> exp.Expression:
    """Days since 1970-01-01 of a date expression, as a double."""
    epoch = exp.Cast(this=exp.Literal.string(EPOCH.isoformat()), to=exp.DataType(this=exp.DataType.Type.DATE))
    return _double(exp.DateDiff(this=expr, expression=epoch, unit=exp.var("DAY")))


def _filter(flt, cube_dims: dict[str, str], params: _Params) -> exp.Expression:
    # Filter.accepts: values compare as text; TRUE and FALSE in any case.
    cell = exp.column(cube_dims[flt.column.name])
    words = sorted({w for v in flt.values if (w := bool_word(v))})
    if flt.op == "!=" and not words:
        return exp.NEQ(this=cell, expression=params.add(flt.values[0]))
    match: exp.Expression = (exp.EQ(this=cell, expression=params.add(flt.values[0])) if len(flt.values) == 1
                             else exp.In(this=cell, expressions=[params.add(v) for v in flt.values]))
    if words:
        upper = exp.Upper(this=cell.copy())
        match = exp.Paren(this=exp.or_(match, exp.In(this=upper, expressions=[params.add(w) for w in words])))
    # A cube text is never NULL (a blank is ''): NOT is the complement.
    return exp.Not(this=match) if flt.op == "!=" else match


def _cube(plan, *, table: exp.Expression, date: str, columns: dict[str, str], kinds: dict[str, str],
          extents: list[str], params: _Params) -> tuple[exp.Select, dict[str, str], dict[str, int]]:
    """The one pass over the table: per date and every dimension the plan uses (segments and
    filters, as text, blank as ''), the row count and each metric's non-blank cells and the
    parts its functions need. Every scan then reads this cube, which holds at most days x
    dimension combinations rows, instead of the table.

    It spans every day up to the later of the plan's last day and as_of - 1, so that the
    data extents come from it too (one pass over the table, not two); outside the plan's
    hull, where no scan reads, the dimensions are NULL: those days are one row each."""
    dims = sorted(plan.dims)
    metrics = sorted(set(plan.metrics) | set(extents))
    parts = _parts(key for needed in plan.scans.values() for key in needed)
    cube_dims = {d: f"k{i}" for i, d in enumerate(dims)}
    cube_metrics = {m: i for i, m in enumerate(metrics)}
    last_day = plan.as_of - dt.timedelta(days=1)
    start, end = plan.hull or (last_day, last_day)
    # The day of each row: a timestamp column's rows are counted on their date (else every
    # instant were a day of its own, and a period's last day, compared with a timestamp
    # past its midnight, would lose its rows). A DATE column's cast is a no-op.
    day = _date(_col(date))
    # (Parameters only where the query uses them, with dimensions: DuckDB refuses unused ones.)
    in_hull = exp.Between(this=day.copy(), low=params.add(start), high=params.add(end)) if dims else exp.false()
    # The rows, as the columns the cube groups (k<i>: a dimension's text in the hull,
    # d) and aggregates (m<i>): grouping by plain columns, not by expressions holding
    # parameters, which engines need not see as the same expression twice.
    row_cols: list[exp.Expression] = [
        _as(exp.Case(ifs=[exp.If(this=in_hull.copy(), true=_dimension_text(_col(columns[d]), kinds.get(d, "")))]),
            cube_dims[d]) for d in dims]
    row_cols.append(_as(day.copy(), "d"))
    row_cols += [_as(_col(columns[m]), f"m{i}") for m, i in cube_metrics.items()]
    upper = exp.LTE(this=day, expression=params.add(max(end, last_day)))
    rows = (exp.select(*row_cols, copy=False).from_(table.copy(), copy=False).where(upper, copy=False)
            .subquery("kp_rows", copy=False))
    cols: list[exp.Expression] = [exp.column(k) for k in cube_dims.values()]
    cols += [exp.column("d"), _as(exp.Count(this=exp.Star()), "r")]
    for m, i in cube_metrics.items():
        cols.append(_as(exp.Count(this=exp.column(f"m{i}")), f"cells{i}"))
        cols += [_as(_agg(_KIND[part.kind], part.value(exp.column(f"m{i}"))), f"{name}{i}")
                 for name, part in sorted(parts.get(m, {}).items())]
    cube = (exp.select(*cols, copy=False).from_(rows, copy=False)
            .group_by(*[exp.column(k) for k in cube_dims.values()], exp.column("d"), copy=False))
    return cube, cube_dims, cube_metrics


def _layout(scans: list[tuple[Any, set[tuple[str, str]]]]) -> dict[tuple[str, str, str | None], int]:
    """Where each aggregate of the scans' shared row sits among its values: (part name or
    "cells", column, edge or None) -> position. Every function of a column shares the
    column's non-blank cells; functions that name the same part share it (sum and avg
    one sum); an ``edge`` function's parts are their own (taken on one day)."""
    layout: dict[tuple[str, str, str | None], int] = {}
    for func, column in sorted({key for _, needed in scans for key in needed}):
        fn = AGGREGATES[func]
        for key in [("cells", column, None), *((name, column, fn.edge) for name in sorted(fn.parts))]:
            layout.setdefault(key, len(layout))
    return layout


def _scans_query(scans: list[tuple[Any, set[tuple[str, str]]]], *, dims: list[str],
                 cube_dims: dict[str, str], cube_metrics: dict[str, int],
                 layout: dict[tuple[str, str, str | None], int], n_slots: int, params: _Params,
                 cube_name: str) -> tuple[exp.Select, list[tuple[str, exp.Select]]]:
    """Every scan in one aggregation over the cube: the cube joined to the list of the
    scans (``s``: number, first and last day, filter set, and a flag per dimension that
    says whether the scan groups by it), grouped by scan, segment and day, then by scan and
    segment. A dimension a scan does not group by is NULL in its rows (cube texts never
    are: a blank is ''). ``first``/``last`` add a window over a scan's days per segment
    (its latest/earliest day where the column is non-blank)."""
    filter_sets: dict[tuple, int] = {(): 0}
    for scan, _ in scans:
        filter_sets.setdefault(scan.filters, len(filter_sets))
    rows = []
    for index, (scan, _) in enumerate(scans):
        row: list[exp.Expression] = [exp.Literal.number(index), _date(params.add(scan.period.start)),
                                     _date(params.add(scan.period.end)),
                                     exp.Literal.number(filter_sets[scan.filters])]
        rows.append(exp.Tuple(expressions=row + [exp.Literal.number(int(d in scan.dims)) for d in dims]))
    names = ["s_i", "s_lo", "s_hi", "s_f", *(f"s_u{j}" for j in range(len(dims)))]
    listed = exp.Values(expressions=rows, alias=exp.TableAlias(this=exp.to_identifier("s"),
                                                                columns=[exp.to_identifier(n) for n in names]))
    where: list[exp.Expression] = [
        exp.Between(this=exp.column("d"), low=exp.column("s_lo"), high=exp.column("s_hi"))]
    cases = [exp.If(this=exp.Literal.number(i), true=exp.and_(*[_filter(f, cube_dims, params) for f in filters],
                                                                 copy=False))
             for filters, i in filter_sets.items() if filters]
    if cases:  # the scan's filters, by its filter set (0: none)
        where.append(exp.Case(this=exp.column("s_f"), ifs=cases, default=exp.true()))
    groups = [f"g{j}" for j in range(len(dims))]
    segment = [exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.column(f"s_u{j}"), expression=exp.Literal.number(1)),
                                    true=exp.column(cube_dims[d]))]) for j, d in enumerate(dims)]
    parts = _parts(key for _, needed in scans for key in needed)
    daily_cols: list[exp.Expression] = [exp.column("s_i"), *(_as(e, g) for e, g in zip(segment, groups))]
    daily_cols += [exp.column("d"), _as(_agg("SUM", exp.column("r")), "r")]
    for column in sorted(parts):
        c = cube_metrics[column]
        daily_cols.append(_as(_agg("SUM", exp.column(f"cells{c}")), f"cells{c}"))
        daily_cols += [_as(_agg(_KIND[part.kind], exp.column(f"{name}{c}")), f"{name}{c}")
                       for name, part in sorted(parts[column].items())]
    daily = (exp.select(*daily_cols, copy=False)
             .from_(exp.to_table(cube_name), copy=False)
             .join(listed, join_type="cross", copy=False)
             .where(exp.and_(*where, copy=False), copy=False)
             .group_by(exp.column("s_i"), *[e.copy() for e in segment], exp.column("d"), copy=False))
    ctes = [("kp_day", daily)]
    source = "kp_day"
    keys = ["s_i", *groups]
    edges = sorted({(edge, column) for _, column, edge in layout if edge})
    if edges:
        edge_cols: list[exp.Expression] = [exp.Star()]
        for edge, column in edges:
            c = cube_metrics[column]
            has = exp.If(this=exp.GT(this=exp.column(f"cells{c}"), expression=exp.Literal.number(0)),
                         true=exp.column("d"))
            edge_cols.append(_as(exp.Window(this=_agg("MAX" if edge == "last" else "MIN", exp.Case(ifs=[has])),
                                            partition_by=[exp.column(k) for k in keys]), f"{edge}_d{c}"))
        source = "kp_edge"
        ctes.append((source, exp.select(*edge_cols, copy=False).from_("kp_day", copy=False)))
    out: list[exp.Expression] = [_as(exp.column("s_i"), "scan")]
    out += [_as(_cast_text(exp.column(g)), g) for g in groups]
    out += [_as(_double(_agg("SUM", exp.column("r"))), "n"), _as(_double(exp.Count(this=exp.Star())), "days")]
    values: list[exp.Expression] = [exp.Null()] * n_slots
    for (name, column, edge_name), k in layout.items():
        c = cube_metrics[column]
        if name == "cells":
            values[k] = _agg("SUM", exp.column(f"cells{c}"))
            continue
        part_sql: exp.Expression = exp.column(f"{name}{c}")
        if edge_name:  # the part on the segment's latest/earliest non-blank day
            on_day = exp.EQ(this=exp.column("d"), expression=exp.column(f"{edge_name}_d{c}"))
            part_sql = exp.Case(ifs=[exp.If(this=on_day, true=part_sql)])
        values[k] = _agg(_KIND[parts[column][name].kind], part_sql)
    out += [_as(_double(v), f"v{k}") for k, v in enumerate(values)]
    query = (exp.select(*out, copy=False).from_(source, copy=False)
             .group_by(*[exp.column(k) for k in keys], copy=False))
    return query, ctes


def compile_plan(plan, *, table: exp.Expression, date: str, columns: dict[str, str],
                 dialect: str, extents: Iterable[str] = (), param_style: str | None = None,
                 cube_relation: str | None = None, kinds: dict[str, str] | None = None) -> Compiled:
    """``plan``'s scans (and the data extents of ``extents``' metrics) as one query on
    ``table``. ``columns`` maps each normalised name the plan uses to the table's real
    column name; ``date`` is the real name of the date column; ``kinds`` its type name
    (lower case; a dimension without one is read as text). ``cube_relation``: read the
    cube from that relation (a plain name the caller made) and return it as ``cube_sql``,
    with its own parameters, for the caller to materialise first."""
    params = _Params()
    cube_sql, cube_params = None, {}
    scans = list(plan.scans.items())
    dims = sorted(plan.dims)
    extents = sorted(extents)
    layout = _layout(scans)
    n_slots = max(len(layout), 2 * len(extents), 1)
    ctes: list[tuple[str, exp.Select]] = []
    branches: list[exp.Select] = []
    cube, cube_dims, cube_metrics = _cube(plan, table=table, date=date, columns=columns, kinds=kinds or {},
                                          extents=extents, params=params)
    cube_name = cube_relation or "kp_cube"
    if cube_relation:
        cube_sql, cube_params = _render(cube, dialect, param_style), params.values
        params = _Params()
    else:
        ctes.append(("kp_cube", cube))
    if scans:
        scans_query, scan_ctes = _scans_query(scans, dims=dims, cube_dims=cube_dims, cube_metrics=cube_metrics,
                                              layout=layout, n_slots=n_slots, params=params, cube_name=cube_name)
        ctes += scan_ctes
        branches.append(scans_query)
    if extents or not branches:
        # Each metric's first and last day with a non-blank cell up to as_of - 1, from the cube.
        out: list[exp.Expression] = [_as(exp.Literal.number(-1), "scan")]
        out += [_as(_cast_text(exp.Null()), f"g{i}") for i in range(len(dims))]
        out += [_as(_double(_agg("SUM", exp.column("r"))), "n"), _as(_double(exp.Literal.number(0)), "days")]
        values: list[exp.Expression] = []
        for metric in extents:
            has = exp.GT(this=exp.column(f"cells{cube_metrics[metric]}"), expression=exp.Literal.number(0))
            present = exp.Case(ifs=[exp.If(this=has, true=exp.column("d"))])
            values += [_days(_agg("MIN", present)), _days(_agg("MAX", present.copy()))]
        values += [exp.Null()] * (n_slots - len(values))
        out += [_as(_double(v), f"v{k}") for k, v in enumerate(values)]
        last_day = plan.as_of - dt.timedelta(days=1)
        branches.append(exp.select(*out, copy=False).from_(exp.to_table(cube_name), copy=False)
                        .where(exp.LTE(this=exp.column("d"), expression=params.add(last_day)), copy=False))
    query: exp.Expression = branches[0]
    if len(branches) > 1:
        query = exp.Union(this=query, expression=branches[1], distinct=False)
    # The WITH clause set as a node: the with_() helper deep-copies every CTE it is given.
    with_key = "with_" if "with_" in type(query).arg_types else "with"
    if ctes:
        query.set(with_key, exp.With(expressions=[exp.CTE(this=cte, alias=exp.TableAlias(this=_ident(name)))
                                                  for name, cte in ctes]))
    slots = [[(func, column, part, layout[(part, column, AGGREGATES[func].edge if part != "cells" else None)])
              for func, column in sorted(needed) for part in ["cells", *AGGREGATES[func].parts]]
             for _, needed in scans]
    return Compiled(sql=_render(query, dialect, param_style), params=params.values, width=len(dims),
                    slots=slots, scans=[scan for scan, _ in scans], metrics=extents,
                    segments=[tuple(dims.index(d) for d in scan.dims) for scan, _ in scans],
                    cube_sql=cube_sql, cube_params=cube_params, cube_relation=cube_relation)


def _render(query: exp.Expression, dialect: str, param_style: str | None) -> str:
    if param_style == "pyformat":  # drivers that bind on the client (Snowflake's)
        query = query.transform(lambda node: exp.var(f"%({node.this})s")
                                if isinstance(node, exp.Placeholder) else node, copy=False)
    return query.sql(dialect=dialect)
