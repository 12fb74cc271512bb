"""One pass per scan: group the scan's rows, then compute every aggregate it needs.

Semantics (spec/semantics.md, "Values"): blank cells are left out of everything; each
function (kpirules.aggregate_functions) is computed over the non-blank cells, ``count`` of
them (0 when none); ``last``/``first`` are the summed values of the latest/earliest date on
which the column is non-blank. A group exists only when the scan has rows for it, so "no rows" is simply an
absent group, which the engine reads as NO_DATA.
"""

from __future__ import annotations

from kpirules.dataclass_fast import dataclass, field
import datetime as dt
import math
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Protocol, runtime_checkable

from kpirules.aggregate_functions import AGGREGATES, AggregateFunction
from kpirules.errors import DATA, Problem
from kpirules.i18n import _
from kpirules.plan import AggKey, Scan

if TYPE_CHECKING:  # a type only: table imports this module to compute its groups
    from kpirules.table import Frame

Segment = tuple[str, ...]

# What a table backend declares it can do beyond the ``TableBackend`` protocol
# (``capabilities``): ``ROWS``, it holds every row in Python (``frame``, ``date_range``:
# explain's cells, the report's date reach); ``IN_DATABASE``, its aggregates are computed
# by a database (DuckDB, a warehouse) and only they cross into Python.
ROWS = "rows"
IN_DATABASE = "in-database"


@runtime_checkable
class TableBackend(Protocol):
    """A data table as the engine reads it: ``kpirules.table.DataTable`` (Python),
    ``kpirules.backends.duckdb_table.DuckTable``, ``kpirules.backends.sql_table.SqlTable``."""

    backend: str  # "python", "duckdb", "sql": which path computed the groups
    capabilities: ClassVar[frozenset[str]]
    date_column: str
    ambiguous: dict[str, list[str]]  # normalised name -> header cells of its duplicates
    warnings: list[str]  # said once in the report
    complete_lag_days: int | None  # a source that rewrites its last days (GA4: 4)

    @property
    def problems(self) -> list[Problem]: ...

    def names(self) -> list[str]: ...

    def groups(self, plan: Any) -> dict[Scan, dict[Segment, Group]]: ...

    def extents(self, columns: Iterable[str], last_day: dt.date) -> dict[str, tuple[dt.date, dt.date]]: ...


@dataclass(frozen=True, slots=True)
class AggValue:
    value: float | None  # None: no non-blank cell (except count, which is 0)
    cells: int  # non-blank cells used
    bad: tuple[Problem, ...] = ()  # cells of the scan that are not numbers


@dataclass
class Group:
    """The rows of one segment of one scan and the aggregates computed over them."""

    rows: int
    days: int
    values: dict[AggKey, AggValue] = field(default_factory=dict)


def _group_positions(frame: Frame, scan: Scan) -> dict[Segment, list[int]]:
    positions: range | list[int] = frame.positions(scan.period.start, scan.period.end)
    for flt in scan.filters:
        cells = frame.dims[flt.column.name]
        positions = [p for p in positions if flt.accepts(cells[p])]
    if not scan.dims:
        return {(): positions} if len(positions) else {}
    columns = [frame.dims[d] for d in scan.dims]
    groups: dict[Segment, list[int]] = {}
    if len(columns) == 1:
        (cells,) = columns
        for p in positions:
            groups.setdefault((cells[p],), []).append(p)
    else:
        for p in positions:
            groups.setdefault(tuple(c[p] for c in columns), []).append(p)
    return groups


def _count_days(dates: list[int], positions: range | list[int]) -> int:
    # Positions are in date order, so distinct dates are the number of changes + 1.
    days, last = 0, None
    for p in positions:
        d = dates[p]
        if d != last:
            days, last = days + 1, d
    return days


def _edge_value(dates: list[int], values: list[float | None], positions, latest: bool) -> float | None:
    """Sum of the non-blank values on the latest (or earliest) date that has any: with
    ``math.fsum``, as ``sum`` and the DuckDB backend add them (a running ``+=`` differs from
    both in the last bit, in an order that depends on the rows' order)."""
    seq = reversed(positions) if latest else iter(positions)
    cells: list[float] = []
    day = None
    for p in seq:
        v = values[p]
        if v is None:
            continue
        if day is None:
            day = dates[p]
        elif dates[p] != day:
            break
        cells.append(v)
    return None if day is None else math.fsum(cells)


def compute(frame: Frame, scan: Scan, needed: set[AggKey]) -> dict[Segment, Group]:
    """Every aggregate in ``needed`` for every segment of ``scan``."""
    out: dict[Segment, Group] = {}
    for segment, positions in _group_positions(frame, scan).items():
        group = Group(rows=len(positions), days=_count_days(frame.dates, positions))
        columns: dict[str, tuple[list[float], tuple[Problem, ...]]] = {}
        for func, column in sorted(needed):
            if column not in columns:
                values = frame.metrics[column]
                if isinstance(positions, range):
                    present = [v for v in values[positions.start:positions.stop] if v is not None]
                else:
                    present = [v for v in (values[p] for p in positions) if v is not None]
                bad_cells = frame.bad.get(column)
                bad = tuple(bad_cells[p] for p in positions if p in bad_cells) if bad_cells else ()
                columns[column] = (present, bad)
            present, bad = columns[column]
            n = len(present)
            fn = AGGREGATES[func]
            try:
                if fn.edge and n >= fn.min_cells:
                    value = _edge_value(frame.dates, frame.metrics[column], positions, fn.edge == "last")
                else:
                    value = fn.of_values(present)
            except OverflowError:  # math.fsum: an intermediate sum past the largest float
                value = math.inf
            group.values[(func, column)] = finite(fn, column, value, n, bad)
        out[segment] = group
    return out


def finite(fn: AggregateFunction, column: str, value: float | None, cells: int,
           bad: tuple[Problem, ...] = ()) -> AggValue:
    """The aggregate, or, when it is past the largest number a float holds (cells of 1e308
    added up), no value and a problem saying so: the rule is an ERROR, never a verdict
    on infinity (every path: the Python one's sums raise, SQL's give inf or NaN)."""
    if value is None or math.isfinite(value):
        return AggValue(value, cells, bad)
    problem = Problem(DATA, _("the {function} of `{column}` is beyond the largest number kpirules computes "
                              "(about 1.8e308)").format(function=fn.name, column=column),
                      suggestion=_("look in the column for a value in the wrong unit or with a stray "
                                   "exponent (such as 1e308)"))
    return AggValue(None, cells, bad + (problem,))
