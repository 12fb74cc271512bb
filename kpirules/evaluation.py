"""The values of one rule for one segment: its expressions computed from the aggregates of
the evaluated period and of its baseline periods (spec/semantics.md, "Values",
"Baselines", "To-date windows and pace").

A missing number anywhere (no rows, a blank metric, a division by zero, a zero baseline of
``change``) raises ``NoData``; the engine makes the result NO_DATA, also inside and/or/not.
``Context`` also records which baseline periods entered a value, because a volume guard
must hold in each of them.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any, cast

from kpirules import ast
from kpirules.aggregate import Group
from kpirules.ast import apply, constant, evaluate  # noqa: F401  (the one evaluator; callers import it here)
from kpirules.dataclass_fast import dataclass, field
from kpirules.errors import DATA, Problem
from kpirules.format import (
    baseline_words,
    change_numbers,
    expr_text,
    is_ratio,
    period_text,
    ratio_numbers,
    rows_text,
    terms_numbers,
)
from kpirules.functions import BASELINE_FUNCTIONS, ZeroBaseline, pace
from kpirules.i18n import _
from kpirules.periods import pace_days
from kpirules.results import Detail, Period, Term

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.completeness import Extents

_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class NoData(Exception):
    """A number the condition needs is missing; ``reason`` says which, for the message."""


class Incomplete(NoData):
    """A period the value needs is not complete for one of its columns (late data:
    spec/semantics.md, "Complete periods"); the result is NO_DATA with ``incomplete``."""


class BadCells(Exception):
    def __init__(self, problems: tuple[Problem, ...]):
        super().__init__(problems[0].message)
        self.problems = problems


def _in_range(value: float, node: ast.Node) -> float:
    """``value``, unless arithmetic on huge values took it past the largest float: then
    the rule is an ERROR (a verdict on infinity would be a fake PASS or FAIL, and
    ``Infinity`` is not JSON)."""
    if math.isfinite(value):
        return value
    raise BadCells((Problem(DATA, _("{expression} is beyond the largest number kpirules computes "
                                    "(about 1.8e308)").format(expression=expr_text(node)),
                            suggestion=_("look in the data for a value in the wrong unit or with a stray "
                                         "exponent (such as 1e308)")),))


def compare(op: str, left: float, right: float) -> bool:
    if op in _COMPARE:
        return _COMPARE[op](left, right)
    # = and != on computed values: 0.1 + 0.2 must equal 0.3.
    equal = math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return equal if op == "=" else not equal


@ast.node_cache
def _detail_shape(expr: ast.Node) -> tuple[tuple[tuple[tuple[str, str], str], ...], ast.Change | None, bool, str]:
    """What ``Context.detail`` takes from the expression alone, not from the segment: each
    distinct aggregate's key and label, the change/delta inside, whether it holds a pace,
    and its text (memoised: a rule by a column of many values asks once per segment)."""
    terms: dict[tuple[str, str], str] = {}  # in the order written, each key once
    inner: ast.Change | None = None
    paced = False
    # One explicit-stack walk, parents before children in declaration order (the order of
    # ``aggregates`` and ``Node.walk``), for the aggregates, the first change and any pace.
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Aggregate):
            key, label = _term(node)
            if key not in terms:
                terms[key] = label
            continue
        if isinstance(node, ast.Change):
            inner = inner or node
        elif isinstance(node, ast.Pace):
            paced = True
        children = node.child_nodes()
        children.reverse()
        stack += children
    return tuple(terms.items()), inner, paced, expr_text(expr)


def _term(agg: ast.Aggregate) -> tuple[tuple[str, str], str]:
    """An aggregate's key in a group's values and its label in a detail's terms."""
    name = agg.column.text or agg.column.name
    return (agg.func, agg.column.name), name if agg.implicit else f"{agg.func}({name})"


@ast.node_cache
def _numbers_shape(expr: ast.Node) -> tuple[Any, ...]:
    """Which of ``numbers_text``'s sentences ``expr`` gets (``Context.numbers``), decided
    from the expression as ``numbers_text`` decides it from a detail's terms (the terms'
    sentence and a change without a baseline period take the terms of ``_detail_shape``)."""
    if isinstance(expr, ast.Change):
        return ("change",)
    if is_ratio(expr):
        binop = cast(ast.BinOp, expr)
        # _detail_shape's terms of a ratio, without walking it: each aggregate once.
        first, second = _term(cast(ast.Aggregate, binop.left)), _term(cast(ast.Aggregate, binop.right))
        term_keys = (first,) if second[0] == first[0] else (first, second)
        keys = {label: key for key, label in term_keys}  # the last of a label, as numbers_text
        left, right = expr_text(binop.left), expr_text(binop.right)
        if left in keys and right in keys:
            return ("ratio", keys[left], left, keys[right], right)
    if isinstance(expr, ast.Aggregate):
        return ("rows",)
    return ("terms",)


@dataclass
class Context:
    """What one rule x segment evaluation reads: its group in each period. Index 0 is the
    evaluated period, 1.. the baseline periods nearest first (kpirules.plan.RulePlan)."""

    rule: ast.Rule
    groups: list[Group | None]
    periods: list[Period | None]
    used: set[int] = field(default_factory=set)  # baseline periods that entered a value
    extents: Extents | None = None  # data start and end per column (complete periods)
    # What depends only on the rule and its periods, not on the segment: shared by the
    # contexts of one rule's segments (the engine passes one dict per rule), so that a
    # rule by a column with 50,000 values judges its periods' completeness once.
    shared: dict = field(default_factory=dict)
    # check_complete found the evaluated period complete for every column the rule reads:
    # values in it need not ask again (most values a result computes).
    checked: bool = False
    # The last change/delta computed: (node, period, its operand now, in the baseline), for
    # the message, which says both (Context.numbers).
    changed: tuple[ast.Change, int, float, float] | None = None

    def complete(self, column: str, at: int) -> None:
        """Raise ``Incomplete`` when period ``at`` is not complete for ``column``."""
        if self.extents is not None:
            key = (column, at)
            try:
                gap = self.shared[key]
            except KeyError:
                gap = self.shared[key] = self.extents.gap(column, self.periods[at])
            if gap is not None:
                where = ""
                if at:  # a baseline period: say which
                    which = (_("the previous period") if self.rule.compared_with.kind == "previous"
                             else _("in {baseline}").format(baseline=self.baseline_text()))
                    where = f" ({which}, {period_text(self.periods[at])})"
                raise Incomplete(gap + where)

    def check_complete(self) -> None:
        """``complete`` for every aggregate of the rule in every period it surely reads,
        before anything is computed, so that the reason for late data never depends on which
        part of the condition was computed first: the evaluated period for the condition,
        warn level and guards; the baseline period of `vs previous`/`vs last year` for what
        change/delta read (and the guards, which must hold there too). The periods of an
        average are checked as they are read: a late one is left out of the mean."""
        if self.extents is None or self.shared.get("complete") is True:
            self.checked = True
            return
        from kpirules.plan import rule_aggregates

        single = self.rule.compared_with.kind != "average" and len(self.periods) > 1
        for agg, in_baseline in rule_aggregates(self.rule):
            self.complete(agg.column.name, 0)
            if in_baseline and single:
                self.complete(agg.column.name, 1)
        self.shared["complete"] = True  # no gap: the next segments need not ask again
        self.checked = True

    def group(self, at: int) -> Group:
        group = self.groups[at]
        if group is None:
            if at:
                raise NoData(f"no rows in {period_text(self.periods[at])}")
            raise NoData("no rows in the period")
        return group

    def value(self, node: ast.Node, at: int = 0) -> float:
        if isinstance(node, ast.Number):
            return node.value
        if isinstance(node, ast.Aggregate):
            if at or not self.checked:
                self.complete(node.column.name, at)
            group = self.groups[at] or self.group(at)  # (which says why there is none)
            agg = group.values[(node.func, node.column.name)]
            if agg.bad:
                raise BadCells(agg.bad)
            if agg.value is None:
                column = node.column.text or node.column.name
                raise NoData(_("{column} has no values in {period}").format(
                    column=column, period=period_text(self.periods[at])) if at else
                    _("{column} has no values").format(column=column))
            return agg.value
        if isinstance(node, ast.Neg):
            return -self.value(node.operand, at)
        if isinstance(node, ast.BinOp):
            left = self.value(node.left, at)
            right = self.value(node.right, at)
            value = apply(node.op, left, right)
            if value is None:
                raise NoData(_("{denominator} is 0, so {expression} has no value").format(
                    denominator=expr_text(node.right), expression=expr_text(node)))
            return _in_range(value, node)
        if isinstance(node, ast.Pace):
            days, unit_days = pace_days(self.rule.window, self.periods[at])
            return _in_range(pace(self.value(node.operand, at), days, unit_days), node)
        if isinstance(node, ast.Change):
            now = self.value(node.operand, at)
            base = self.baseline(node.operand)
            self.changed = (node, at, now, base)
            try:
                return _in_range(BASELINE_FUNCTIONS[node.func].compute(now, base), node)
            except ZeroBaseline:
                raise NoData(_("{operand} was 0 in {baseline}, so its {function} has no value").format(
                    operand=expr_text(node.operand), baseline=self.baseline_text(), function=node.func)) from None
        raise TypeError(f"not an expression: {node!r}")

    def baseline(self, operand: ast.Node) -> float:
        """``operand`` in the baseline: one period's value, or the mean of those of the
        average's periods that have one."""
        kind = self.rule.compared_with.kind
        if len(self.periods) < 2:
            raise NoData(_("no baseline period for {baseline}").format(baseline=self.baseline_text()))
        if kind != "average":
            value = self.value(operand, 1)
            self.used.add(1)
            return value
        values, late = [], []
        for at in range(1, len(self.periods)):
            try:
                values.append(self.value(operand, at))
            except Incomplete as exc:  # late data: left out like any missing value
                late.append(exc)
                continue
            except NoData:
                continue
            self.used.add(at)
        if not values:
            if late and len(late) == len(self.periods) - 1:
                raise late[0]
            raise NoData(_("{operand} has no value in any of {baseline}").format(
                operand=expr_text(operand), baseline=self.baseline_text()))
        try:
            return math.fsum(values) / len(values)
        except OverflowError:
            return _in_range(math.inf, operand)

    def baseline_text(self) -> str:
        words = self.shared.get("baseline words")  # per rule: asked for each segment's message
        if words is None:
            words = self.shared["baseline words"] = baseline_words(self.rule.compared_with, self.rule.window)
        return words  # type: ignore[no-any-return]

    def holds(self, node: ast.Node) -> bool:
        if isinstance(node, ast.Compare):
            return compare(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, ast.Between):
            v = self.value(node.operand)
            return self.value(node.low) <= v <= self.value(node.high)
        if isinstance(node, ast.Not):
            return not self.holds(node.operand)
        if isinstance(node, ast.BoolOp):
            # Both sides always run: a NO_DATA part makes the whole condition NO_DATA,
            # even when the other side alone would decide it.
            left, right = self.holds(node.left), self.holds(node.right)
            return (left and right) if node.op == "and" else (left or right)
        raise TypeError(f"not a condition: {node!r}")

    def value_or_none(self, expr: ast.Node, at: int = 0) -> tuple[float | None, str | None]:
        """``expr``'s value in period ``at`` and None, or None and why it has none."""
        try:
            return self.value(expr, at), None
        except NoData as exc:
            return None, str(exc)
        except BadCells as exc:
            return None, exc.problems[0].message

    def numbers(self, expr: ast.Node, unit: str | None) -> str | None:
        """``numbers_text(self.detail(expr), expr, unit)`` from the values themselves, without
        building the Detail, for the shapes most rules have (a ratio, an aggregate, a change
        against one period, a few terms); None for the others (an average baseline)."""
        shape = _numbers_shape(expr)
        kind, where, group = shape[0], period_text(self.periods[0]), self.groups[0]
        if kind == "change" and len(self.periods) > 1:
            if self.rule.compared_with.kind == "average":
                return None
            change = cast(ast.Change, expr)
            seen = self.changed
            if seen is not None and seen[0] is change and seen[1] == 0:  # as the condition had them
                now, before = seen[2], seen[3]
            else:
                now, before = self.value_or_none(change.operand)[0], self.value_or_none(change.operand, 1)[0]
            return change_numbers(change, unit, now, where, before, period_text(self.periods[1]),
                                  self.baseline_text())
        values = group.values if group is not None else {}
        if kind == "ratio":
            _, left, left_label, right, right_label = shape
            found = values.get(left), values.get(right)
            return ratio_numbers(found[0].value if found[0] else None, left_label,
                                 found[1].value if found[1] else None, right_label, where)
        if kind == "rows":
            return f"{rows_text(group.rows, group.days) if group else rows_text(0, 0)}, {where}"
        terms = []
        for key, label in _detail_shape(expr)[0]:
            value = values.get(key)
            terms.append((label, value.value if value else None))
        return terms_numbers(terms, where)

    def detail(self, expr: ast.Node, at: int = 0) -> Detail:
        group, span = self.groups[at], self.periods[at]
        term_keys, inner, paced, text = _detail_shape(expr)
        terms = []
        for key, label in term_keys:
            value = group.values.get(key) if group else None
            terms.append(Term(
                label=label, func=key[0], column=key[1],
                value=value.value if value else None, rows=group.rows if group else 0,
                cells=value.cells if value else 0, days=group.days if group else 0,
            ))
        value, reason = self.value_or_none(expr, at)
        previous, baselines, words, current = None, (), None, None
        if at == 0 and inner is not None and len(self.periods) > 1:
            words = self.baseline_text()
            try:
                current = self.value(inner.operand)
            except (NoData, BadCells):
                current = None
            found = tuple(self.detail(inner.operand, i) for i in range(1, len(self.periods)))
            if self.rule.compared_with.kind == "average":
                baselines = found
                try:
                    mean = self.baseline(inner.operand)
                except (NoData, BadCells):
                    mean = None
                previous = Detail(expression=expr_text(inner.operand), value=mean, baseline=words)
            else:
                previous = found[0]
        days = pace_days(self.rule.window, span) if paced and span else None
        return Detail(expression=text, value=value, terms=tuple(terms), period=span,
                      rows=group.rows if group else 0, days=group.days if group else 0,
                      previous=previous, reason=reason, baselines=baselines, baseline=words,
                      pace=days, current=current)
