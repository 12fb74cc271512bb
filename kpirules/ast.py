"""The rule AST: frozen dataclasses, one per construct of the language.

Every node declares the names of its child fields in ``children`` (as sqlglot does), so
generic walkers (name resolution, plan building, lint) never need to know every node type.
Source positions live in ``span``, which takes no part in equality: two rules that say the
same thing compare equal wherever they were written, which is what the planner relies on to
share aggregates between rules.
"""

from __future__ import annotations

import functools
from kpirules.dataclass_fast import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, TypeVar, Union

from kpirules.aggregate_functions import AGGREGATES
from kpirules.names import bool_word

_T = TypeVar("_T")


def node_cache(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Memoise ``fn(node, *args)`` by the node's identity.

    Nodes are immutable and the parser hands out one object per rule text, so what is
    derived from a node (its aggregates, its text) never changes; keyed by identity, a
    lookup costs nothing, where hashing a frozen tree would walk it. The node is kept in
    the entry, so its id cannot be reused while cached; a long-lived process starts over
    rather than grow without bound."""
    cache: dict[tuple[Any, ...], tuple[Any, _T]] = {}

    @functools.wraps(fn)
    def cached(node: Any, *args: Any) -> _T:
        key = (id(node), *args)
        hit = cache.get(key)
        if hit is not None and hit[0] is node:
            return hit[1]
        value = fn(node, *args)
        if len(cache) > 100_000:
            cache.clear()
        cache[key] = (node, value)
        return value

    return cached


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node was written: 1-based line and column, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Node:
    children: ClassVar[tuple[str, ...]] = ()
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)

    def iter_children(self) -> Iterator["Node"]:
        return iter(self.child_nodes())

    def child_nodes(self) -> list["Node"]:
        """The direct children, in declaration order."""
        out: list[Node] = []
        for name in self.children:
            value = getattr(self, name)
            if isinstance(value, Node):
                out.append(value)
            elif isinstance(value, tuple):
                out.extend(v for v in value if isinstance(v, Node))
        return out

    def walk(self) -> Iterator["Node"]:
        """This node and every node below it, depth first, parents before children."""
        # An explicit stack, not recursive generators: walks run for every rule of a plan.
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            children = node.child_nodes()
            children.reverse()
            stack.extend(children)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Number(Node):
    """A literal. ``value`` is the number it means (``2%`` -> 0.02, ``15k`` -> 15000);
    ``unit`` keeps how it was written (``"%"``, ``"k"``, ``"M"`` or None) so results can be
    formatted the way the user wrote the threshold."""

    value: float
    # How it was written is for display only: `2%` and `0.02` are the same threshold.
    unit: str | None = field(default=None, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Column(Node):
    """A reference to a data column. ``name`` is normalised (see ``kpirules.names``);
    ``text`` is what the user typed, for messages."""

    name: str
    text: str = field(default="", compare=False)  # `Signups` and `signups` are one column


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """``func(column)`` over the rows of a period. A bare column name is
    ``Aggregate("sum", column, implicit=True)``."""

    children: ClassVar[tuple[str, ...]] = ("column",)
    func: str  # a name in kpirules.aggregate_functions.AGGREGATES
    column: Column
    implicit: bool = field(default=False, compare=False)  # `x` means `sum(x)`


@dataclass(frozen=True, slots=True)
class BinOp(Node):
    """Arithmetic on aggregated values: ``+ - * /``."""

    children: ClassVar[tuple[str, ...]] = ("left", "right")
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Neg(Node):
    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Change(Node):
    """``e`` in the evaluated period against ``e`` in the rule's baseline (its ``vs``
    clause, ``vs previous`` by default). ``func`` says how the two are compared:
    ``change`` (relative: (e - b) / b) or ``delta`` (absolute: e - b); the arithmetic of
    each lives in ``kpirules.functions.BASELINE_FUNCTIONS``."""

    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: "Expr"
    func: str = "change"  # one of BASELINE_FUNCTIONS


@dataclass(frozen=True, slots=True)
class Pace(Node):
    """``pace(e)`` in a to-date window: ``e`` x D / d, the value ``e`` reaches by the end
    of the week/month/quarter/year if it keeps its pace (d days of the period so far, D
    days of the whole unit). ``operand`` is a ``sum`` or ``count`` aggregate."""

    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: "Aggregate"


Expr = Union[Number, Aggregate, BinOp, Neg, Change, Pace]

# ----------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Compare(Node):
    children: ClassVar[tuple[str, ...]] = ("left", "right")
    op: str  # one of COMPARISONS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Between(Node):
    """``e between low and high``, inclusive on both ends."""

    children: ClassVar[tuple[str, ...]] = ("operand", "low", "high")
    operand: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    children: ClassVar[tuple[str, ...]] = ("left", "right")
    op: str  # "and" | "or"
    left: "Condition"
    right: "Condition"


@dataclass(frozen=True, slots=True)
class Not(Node):
    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: "Condition"


Condition = Union[Compare, Between, BoolOp, Not]

# ---------------------------------------------------------------------- rule parts


@dataclass(frozen=True, slots=True)
class Window(Node):
    """The period a rule looks at.

    ``unit`` is one of day/week/month/quarter/year and ``count`` how many of them:
    ``daily`` = (day, 1), ``weekly`` = (week, 1), ``over last 28 days`` = (day, 28).
    Every window covers the ``count`` complete units just before the one holding the
    as-of date, except a to-date window (``to_date``), which covers the days of the unit
    holding it before it (see ``kpirules.periods``). ``text`` is the window as written."""

    unit: str
    count: int = 1
    text: str = field(default="", compare=False)  # `weekly` = `over last 1 weeks`
    # `month to date`: from the first day of A's unit through A-1 (count is 1).
    to_date: bool = False


@dataclass(frozen=True, slots=True)
class Filter(Node):
    """One ``where`` term: ``column = "v"``, ``column != "v"`` or ``column in ("a", "b")``.
    Values compare as text; TRUE and FALSE in any case (``kpirules.names.bool_word``)."""

    children: ClassVar[tuple[str, ...]] = ("column",)
    column: Column
    op: str  # "=" | "!=" | "in"
    values: tuple[str, ...]

    def accepts(self, cell: str) -> bool:
        match = cell in self.values
        if not match and (word := bool_word(cell)) is not None:  # TRUE/FALSE in any case
            match = any(bool_word(v) == word for v in self.values)
        return not match if self.op == "!=" else match


@dataclass(frozen=True, slots=True)
class Baseline(Node):
    """The ``vs`` clause: what every ``change``/``delta`` of the rule compares against.
    ``kind`` is ``previous``, ``last_year`` or ``average`` (of the ``count`` periods just
    before the evaluated one); kpirules.periods turns it into dates."""

    kind: str  # one of BASELINE_KINDS
    count: int = 1


# The default ``vs previous``: one immutable node for every rule without a ``vs`` clause
# (``Rule.compared_with`` is asked for each result; building a node each time cost more).
_PREVIOUS = Baseline("previous")


@dataclass(frozen=True, slots=True)
class Guard(Node):
    """One term of ``with at least N x``: the rule is INCONCLUSIVE unless ``value``
    (an aggregate, computed like the rule's values) is at least ``minimum``."""

    children: ClassVar[tuple[str, ...]] = ("minimum", "value")
    minimum: Number
    value: Aggregate


@dataclass(frozen=True, slots=True)
class Rule(Node):
    """One parsed rule. ``warn`` is the ``warn at`` threshold, if any; ``baseline`` the
    ``vs`` clause (None: ``vs previous`` for a rule with change/delta); ``guards`` the
    ``with at least`` terms; ``confidence`` the level of ``with C% confidence`` (0.95)."""

    children: ClassVar[tuple[str, ...]] = ("condition", "window", "segments", "filters", "warn",
                                           "guards")
    condition: Condition
    window: Window
    segments: tuple[Column, ...] = ()
    filters: tuple[Filter, ...] = ()
    warn: Expr | None = None
    text: str = field(default="", compare=False)
    baseline: Baseline | None = None
    guards: tuple[Guard, ...] = ()
    confidence: Number | None = None

    @property
    def compared_with(self) -> Baseline:
        """The baseline every change/delta uses: the ``vs`` clause or ``vs previous``."""
        return self.baseline or _PREVIOUS

    def columns(self) -> Iterator[Column]:
        """Every column the rule names, in the order written (for name checks)."""
        return (n for n in self.walk() if isinstance(n, Column))

    @property
    def uses_change(self) -> bool:
        return any(isinstance(n, Change) for n in self.condition.walk())

    @property
    def value_expr(self) -> Expr | None:
        """The expression whose number a result reports as its ``value``: the left side
        of a comparison, the operand of ``between``; None for and/or/not conditions."""
        c = self.condition
        if isinstance(c, Compare):
            return c.left
        if isinstance(c, Between):
            return c.operand
        return None

    @property
    def threshold(self) -> Expr | None:
        """The right-hand side of a simple comparison (what results call ``threshold``)."""
        c = self.condition
        if isinstance(c, Compare):
            return c.right
        if isinstance(c, Between):
            return c.low
        return None


# The built-in aggregates' names (the registry, kpirules.aggregate_functions, is the live
# list, which a plugin's registration extends).
AGGREGATE_FUNCTIONS = tuple(AGGREGATES)
BASELINE_FUNCTIONS = ("change", "delta")
BASELINE_KINDS = ("previous", "last_year", "average")
COMPARISONS = (">=", ">", "<=", "<", "=", "!=")
WINDOW_UNITS = ("day", "week", "month", "quarter", "year")
RESERVED_WORDS = frozenset(
    "daily weekly monthly quarterly yearly over last by where warn at between and or not in "
    "vs with".split()
)
# Words that mean something only where a clause expects them (`vs previous`, `month to
# date`, `with at least`); anywhere else they name columns (`by month`, a `year` column).
CLAUSE_WORDS = frozenset(
    "previous year average of week month quarter to date least confidence".split()
)


# --- arithmetic: the one evaluator of expressions (the engine's Context, explain, lint and
# the parser's constant checks all use it), with one rule for a division by zero.

def apply(op: str, left: float, right: float) -> float | None:
    """``left op right``; None for a division by zero, which has no value (NO_DATA): the one
    rule for it, for the engine, explain and lint."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right


def evaluate(node: Node, leaf: Callable[[Node], float | None]) -> float | None:
    """The value of an arithmetic expression whose other nodes (aggregates, calls) ``leaf``
    values; None when one has no value or a division is by zero. Explain computes from the
    numbers a result kept, lint from constants only (``leaf`` answers None)."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Neg):
        inner = evaluate(node.operand, leaf)
        return None if inner is None else -inner
    if isinstance(node, BinOp):
        a = evaluate(node.left, leaf)
        b = evaluate(node.right, leaf)
        return None if a is None or b is None else apply(node.op, a, b)
    return leaf(node)


def constant(node: Node | None) -> float | None:
    """The value of an expression made only of numbers (``-10%``, ``2 * 1k``), else None."""
    return None if node is None else evaluate(node, lambda _: None)
