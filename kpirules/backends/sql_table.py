"""A table that lives in a SQL engine, with the face ``kpirules.engine.evaluate`` needs.

``SqlTable`` answers ``names()``, ``ambiguous``, ``date_column``, ``problems`` and
``groups(plan)`` like ``kpirules.table.DataTable``, but the whole plan runs in the engine
that holds the data as one query (``kpirules.sql.compile``): only aggregates come back.

An engine is reached through a ``SqlEngine``: its sqlglot dialect, the table's columns, and
``execute(sql, params)``. Adding a warehouse is one such class in its connector module.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar, Iterable, Protocol, Sequence

from kpirules.errors import DATA, Problem, SourceError
from kpirules.i18n import _
from kpirules.names import normalise
from kpirules.sql.identifiers import split_table_name

# Column types a metric may have (lower-cased prefixes of the engine's type names).
NUMERIC_TYPES = ("double", "float", "real", "numeric", "decimal", "int", "bigint", "smallint",
                 "tinyint", "hugeint", "integer", "number", "bignumeric", "float64", "int64")
DATE_TYPES = ("date", "timestamp", "datetime")


class SqlEngine(Protocol):
    """What ``SqlTable`` needs from a database connection."""

    dialect: str  # a sqlglot dialect name: "postgres", "duckdb", "spark", "bigquery", ...

    def columns(self, table: str) -> list[tuple[str, str]]:
        """The table's columns: (name, type name), in table order. Raises SourceError
        naming the table when it does not exist."""
        ...

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        ...

    # Optional: ``execute_with_cube(compiled)``, for an engine that must materialise the
    # cube before the query reads it (``kpirules.sql.compile``, ``cube_relation``).


class SqlTable:
    """The table ``table`` of ``engine`` as a kpirules data table."""

    backend = "sql"
    capabilities: ClassVar[frozenset[str]] = frozenset({"in-database"})  # kpirules.aggregate.IN_DATABASE

    def __init__(self, engine: SqlEngine, table: str, *, date_column: str = "date"):
        from sqlglot import exp

        self.engine = engine
        resolve = getattr(engine, "resolve", None)
        if resolve is not None:  # the table's name as the database writes it (--table Marketing)
            table = resolve(table)
        self.table_name = table
        self.sheet = table
        relation = getattr(engine, "relation", None)
        if relation is not None:  # an engine that reads through a view of its own (GA4)
            self._table = relation(table)
        else:
            parts = split_table_name(table)
            self._table = exp.table_(parts[-1], db=parts[-2] if len(parts) > 1 else None,
                                     catalog=parts[-3] if len(parts) > 2 else None, quoted=True)
        found = engine.columns(table)
        self.headers = [name for name, _ in found]
        self.types = {name: (kind or "").lower() for name, kind in found}
        self.columns: dict[str, str] = {}
        self.ambiguous: dict[str, list[str]] = {}
        for name in self.headers:
            key = normalise(name)
            if key in self.columns:
                self.ambiguous.setdefault(key, [self.columns[key]]).append(name)
            elif key:
                self.columns[key] = name
        for key in self.ambiguous:
            self.columns.pop(key, None)
        self.date_column = normalise(date_column)
        if self.date_column not in self.columns:
            raise SourceError(_("table {table} has no `{column}` column (columns: {columns})").format(
                table=table, column=date_column, columns=", ".join(self.headers) or _("none")),
                hint=_("name the date column with the date_column setting"))
        kind = self.types[self.columns[self.date_column]]
        if not kind.startswith(DATE_TYPES):
            raise SourceError(_("column `{column}` of {table} is {kind}, not a date").format(
                column=self.columns[self.date_column], table=table, kind=kind),
                hint=_("point date_column at a DATE column (or a view that casts it)"))
        self._extents: dict[str, tuple[dt.date, dt.date]] = {}
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.complete_lag_days: int | None = None  # set for sources that rewrite their last days
        self.sql: str | None = None  # the last query, for explain and tests

    def names(self) -> list[str]:
        return [n for n in self.columns if n != self.date_column]

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The table's first and last date (``DataTable.date_range``: lint's recent
        periods), by one small query, asked once."""
        if not hasattr(self, "_date_range"):
            from sqlglot import exp

            day = self._day()
            rows = self._select(exp.Min(this=day), exp.Max(this=day.copy()))
            first, last = rows[0] if rows else (None, None)
            self._date_range = None if first is None or last is None else (_as_date(first), _as_date(last))
        return self._date_range

    def integral(self, column: str, start: dt.date, end: dt.date) -> bool:
        """Whether ``column`` has a value dated ``start``..``end`` and every one of them is a
        whole number (lint's check that a column counts events), by one small query."""
        from sqlglot import exp

        if not self.types[self.columns[column]].startswith(NUMERIC_TYPES):
            return False
        cell = exp.column(self.columns[column], quoted=True)
        whole = exp.Case(ifs=[exp.If(this=exp.EQ(this=cell.copy(), expression=exp.Floor(this=cell.copy())),
                                     true=exp.Literal.number(1))], default=exp.Literal.number(0))
        day = exp.DataType(this=exp.DataType.Type.DATE)
        span = exp.Between(this=self._day(), low=exp.Cast(this=exp.Literal.string(start.isoformat()), to=day),
                           high=exp.Cast(this=exp.Literal.string(end.isoformat()), to=day))
        rows = self._select(exp.Count(this=cell), exp.Sum(this=whole), where=span)
        cells, whole_cells = rows[0] if rows else (0, 0)
        return bool(cells) and int(whole_cells or 0) == int(cells)

    def _day(self):
        from sqlglot import exp

        return exp.Cast(this=exp.column(self.columns[self.date_column], quoted=True),
                        to=exp.DataType(this=exp.DataType.Type.DATE))

    def _select(self, *columns, where=None) -> Sequence[tuple]:
        from sqlglot import exp

        query = exp.select(*columns).from_(self._table.copy())
        if where is not None:
            query = query.where(where)
        return self.engine.execute(query.sql(dialect=self.engine.dialect), {})

    def _metric_problem(self, name: str) -> Problem | None:
        kind = self.types[self.columns[name]]
        if kind.startswith(NUMERIC_TYPES):
            return None
        return Problem(DATA, _("column `{column}` of {table} is {kind}, not a number").format(
                           column=self.columns[name], table=self.table_name, kind=kind),
                       cell=f"{self.table_name}.{self.columns[name]}",
                       suggestion=_("sum and compare numeric columns only, or cast it in a view"))

    def groups(self, plan) -> dict:
        from kpirules.aggregate import AggValue
        from kpirules.plan import Plan
        from kpirules.sql.compile import compile_plan

        if not plan.scans:
            return {}
        # A metric column of another type (text...) cannot be summed in the engine: the
        # rules that use it are ERRORs naming it, as a sheet's cells that are not numbers
        # make them; the others still run. Its cells still count as data (the extents).
        bad = {m: p for m in sorted(plan.metrics) if (p := self._metric_problem(m))}
        query_plan = plan if not bad else Plan(
            as_of=plan.as_of, rules=plan.rules, dims=plan.dims, metrics=plan.metrics - bad.keys(),
            scans={scan: {key for key in needed if key[1] not in bad} for scan, needed in plan.scans.items()})
        staged = getattr(self.engine, "execute_with_cube", None)
        compiled = compile_plan(query_plan, table=self._table, date=self.columns[self.date_column],
                                columns=self.columns, dialect=self.engine.dialect,
                                kinds={name: self.types[real] for name, real in self.columns.items()},
                                extents=sorted(plan.metrics),
                                param_style=getattr(self.engine, "param_style", None),
                                cube_relation=f"kp_cube_{uuid.uuid4().hex[:12]}" if staged else None)
        self.sql = compiled.sql if compiled.cube_sql is None else f"{compiled.cube_sql};\n{compiled.sql}"
        rows = staged(compiled) if staged else self.engine.execute(compiled.sql, compiled.params)
        groups, self._extents = decode(compiled, rows, not_a_number=self._not_a_number)
        for scan, needed in plan.scans.items():
            for key in needed:
                if key[1] in bad:
                    for group in groups[scan].values():
                        group.values[key] = AggValue(None, 0, (bad[key[1]],))
        return groups

    def _not_a_number(self, column: str, scan) -> Problem:
        """A metric that sums to NaN or infinity in ``scan``: the table holds such a value
        (a DOUBLE may, a sheet's cell may not), which is not a number to judge, as a
        cell that does not read as a number is not (an ERROR for the rules that use it)."""
        name = self.columns.get(column, column)
        return Problem(DATA, _("column `{column}` of {table} holds NaN or infinity in {start}..{end}, "
                               "which is not a number").format(column=name, table=self.table_name,
                                                               start=scan.period.start, end=scan.period.end),
                       cell=f"{self.table_name}.{name}",
                       suggestion=_("make those values NULL (a blank) or leave them out in a view"))

    def extents(self, columns: Iterable[str], last_day: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
        """Each column's data start and end up to ``last_day`` (as_of - 1), computed by the
        same query as ``groups`` (call it first)."""
        return {c: self._extents[c] for c in columns if c in self._extents}


def _as_date(value: Any) -> dt.date:
    """A date a driver returned: a date, a datetime, or ISO text (BigQuery's REST API)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def decode(compiled, rows: Iterable[tuple], *, not_a_number=None):
    """The query's rows as ``(groups, extents)``: ``groups`` shaped like
    ``DataTable.groups(plan)`` and ``extents`` metric -> (first date, last date).
    ``not_a_number(column, scan)``: the problem of an aggregate that is NaN or infinite."""
    import math

    from kpirules.aggregate import AggValue, Group
    from kpirules.aggregate_functions import AGGREGATES
    from kpirules.sql.compile import EPOCH

    groups: dict[Any, dict[tuple[str, ...], Group]] = {scan: {} for scan in compiled.scans}
    extents: dict[str, tuple[dt.date, dt.date]] = {}
    for row in rows:
        index = int(row[0])
        dims = row[1:1 + compiled.width]
        n, days = row[1 + compiled.width], row[2 + compiled.width]
        values = row[3 + compiled.width:]
        if index < 0:
            for k, metric in enumerate(compiled.metrics):
                first, last = values[2 * k], values[2 * k + 1]
                if first is not None:
                    extents[metric] = (EPOCH + dt.timedelta(days=int(first)),
                                       EPOCH + dt.timedelta(days=int(last)))
            continue
        scan = compiled.scans[index]
        group = Group(rows=int(n), days=int(days))
        parts: dict[tuple[str, str], dict[str, float | None]] = {}
        for func, column, part, at in compiled.slots[index]:
            value = values[at]
            parts.setdefault((func, column), {})[part] = None if value is None else float(value)
        for (func, column), got in parts.items():
            cells = int(got.pop("cells") or 0)
            finite = all(v is None or math.isfinite(v) for v in got.values())
            bad = () if finite or not_a_number is None else (not_a_number(column, scan),)
            group.values[(func, column)] = AggValue(AGGREGATES[func].of_parts(got, cells), cells, bad)
        groups[scan][tuple(dims[at] for at in compiled.segments[index])] = group
    return groups, extents
