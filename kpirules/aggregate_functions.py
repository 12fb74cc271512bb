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
(``min_cells=0``) is 0 there. Built-ins are registered with ``register`` as a plugin's
function would be. This module imports nothing of kpirules' (it sits below the SQL
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


def register(function: AggregateFunction) -> AggregateFunction:
    """Make ``function`` known to the parser, both computing paths and explain."""
    AGGREGATES[function.name] = function
    return function


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
