"""The aggregate functions, declared once: ``sum avg min max count last first stddev``.

Each ``AggregateFunction`` says everything about one function, and every place that
computes or words an aggregate reads it from ``AGGREGATES``:

- the parser accepts ``name(column)`` for every registered name (kpirules.transform) and
  lists them when a name is unknown (kpirules.parse_hints);
- the Python path computes ``compute`` over the non-blank cells of a group in date order
  (kpirules.aggregate); ``last``/``first`` (``edge``) take the cells of the group's
  latest/earliest date that has one;
- the SQL paths (kpirules.backends.sql_plan for DuckDB over the CSV rows,
  kpirules.sql.compile for the warehouses' daily cube) compute the function's ``parts``
  per group, each a ``Part``: a sum, min or max of a value of the cell, which SQL adds up
  per day and again over the days; ``finish`` turns the parts and the count of non-blank
  cells into the value, in Python, so every dialect finishes the same way;
- explain and messages word it with ``words`` ("sum of 12 non-blank cells").

A group with fewer than ``min_cells`` non-blank cells has no value (NO_DATA); ``count``
(``min_cells=0``) is 0 there.

A plugin adds a function with one module holding an ``AggregateFunction`` and one line in
its package's ``kpirules.functions`` entry-point group (``median = "pkg.mod:MEDIAN"``, the
name being the function's). ``find`` loads it the first time a rule calls that name: the
entry points are read only for a name that is not a built-in, so a rule file of built-ins
starts no slower. Loading it is ``register``, the call that declares each built-in below.
This module imports nothing of kpirules' but the entry-point reader (it sits below the SQL
compiler and the AST), nor sqlglot: a part builds its SQL from the expression it is given.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from kpirules.dataclass_fast import dataclass, field


def _marked(message: str) -> str:  # gettext's N_: the catalog extractor finds these words
    return message


N_ = _marked


@dataclass(frozen=True)
class Part:
    """A number SQL computes per group of rows: the ``kind`` (``sum``, ``min`` or ``max``)
    of ``of(cell)`` (the cell itself when None). Parts of the days of a scan combine with
    the same kind, which is what lets the warehouse compiler aggregate a daily cube."""

    kind: str
    of: Callable[[Any], Any] | None = None  # sqlglot expression -> sqlglot expression

    def value(self, cell: Any) -> Any:
        return cell if self.of is None else self.of(cell)


@dataclass(frozen=True)
class AggregateFunction:
    name: str
    words: str  # explain: "<words> 12 non-blank cells"
    compute: Callable[[list[float]], float]  # the non-blank values (at least min_cells), date order
    # What SQL computes, by name. A name means one computation for every function that uses
    # it (sum and avg share "sum"), so the compilers compute it once per column.
    parts: Mapping[str, Part] = field(default_factory=dict)
    finish: Callable[[Mapping[str, float], int], float] = lambda parts, cells: next(iter(parts.values()))
    min_cells: int = 1
    edge: str | None = None  # "last"/"first": over the latest/earliest date with a value

    def of_values(self, present: list[float]) -> float | None:
        """The value from a group's non-blank values (Python path)."""
        return self.compute(present) if len(present) >= self.min_cells else None

    def of_parts(self, parts: Mapping[str, float | None], cells: int) -> float | None:
        """The value from the parts SQL computed and the group's non-blank cells."""
        if cells < self.min_cells:
            return None
        return self.finish({k: (0.0 if v is None else float(v)) for k, v in parts.items()}, cells)


AGGREGATES: dict[str, AggregateFunction] = {}
ENTRY_POINT_GROUP = "kpirules.functions"


class FunctionPluginError(ValueError):
    """A function declared in the entry-point group whose module does not give it."""


def register(function: AggregateFunction) -> AggregateFunction:
    """Make ``function`` known to the parser, both computing paths and explain."""
    AGGREGATES[function.name] = function
    return function


def find(name: str) -> AggregateFunction | None:
    """The aggregate called ``name``: a registered one, else a plugin's declared under
    that name (imported and registered now); None when nothing declares it."""
    function = AGGREGATES.get(name)
    if function is not None:
        return function
    from kpirules.plugins import load_declared

    found = load_declared(ENTRY_POINT_GROUP, name, FunctionPluginError, f"function `{name}`",
                          expected=AggregateFunction, key=lambda f: f.name,
                          described=f"an AggregateFunction named {name!r}")
    return None if found is None else register(found)


def declared_names() -> list[str]:
    """Every aggregate's name, the plugins' included (none imported), for did-you-mean."""
    from kpirules.plugins import declared

    return list(dict.fromkeys([*AGGREGATES, *declared(ENTRY_POINT_GROUP)]))


_SUM = {"sum": Part("sum")}

register(AggregateFunction("sum", N_("sum of"), math.fsum, _SUM))
register(AggregateFunction("avg", N_("average of"), lambda v: math.fsum(v) / len(v),
                           _SUM, lambda p, n: p["sum"] / n))
register(AggregateFunction("min", N_("smallest of"), min, {"min": Part("min")}))
register(AggregateFunction("max", N_("largest of"), max, {"max": Part("max")}))
register(AggregateFunction("count", N_("count of"), lambda v: float(len(v)), {},
                           lambda p, n: float(n), min_cells=0))
# last/first: the sum of the cells of one date; aggregate.py and the SQL windows find it.
register(AggregateFunction("last", N_("latest date's value among"), math.fsum, _SUM, edge="last"))
register(AggregateFunction("first", N_("earliest date's value among"), math.fsum, _SUM, edge="first"))


def _sample_deviation(parts: Mapping[str, float], cells: int) -> float:
    # From the sum and the sum of squares, which add up over the days of a daily cube; a
    # rounding below 0 for equal values is 0.
    squares = parts["sumsq"] - parts["sum"] * parts["sum"] / cells
    return math.sqrt(max(squares, 0.0) / (cells - 1))


def _stdev(values: list[float]) -> float:
    import statistics  # not on every start-up: only a rule with stddev needs it

    return statistics.stdev(values)


register(AggregateFunction("stddev", N_("sample standard deviation of"), _stdev,
                           {**_SUM, "sumsq": Part("sum", lambda cell: cell * cell.copy())},
                           _sample_deviation, min_cells=2))
