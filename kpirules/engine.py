"""Evaluate a plan over a table: aggregates once per scan, then each rule's condition.

``evaluate`` is the whole pipeline for rules already parsed; ``check`` reads a source
(file or sheet) first. Statuses follow spec/semantics.md, "Conditions and status": a
missing number anywhere in a condition (no rows, a blank metric, a division by zero, a
zero previous value) makes the result NO_DATA, also inside and/or/not.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from kpirules import ast
from kpirules.aggregate import Group, Segment
from kpirules.errors import DATA, Problem
from kpirules.format import expr_text, period_text, result_message
from kpirules.plan import RulePlan, Scan, aggregates, build_plan
from kpirules.results import Detail, Period, Report, RuleResult, Status, Term
from kpirules.rulesfile import RuleEntry
from kpirules.table import DataTable

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import Workbook

_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class NoData(Exception):
    """A number the condition needs is missing; ``reason`` says which, for the message."""


class BadCells(Exception):
    def __init__(self, problems: tuple[Problem, ...]):
        super().__init__(problems[0].message)
        self.problems = problems


def compare(op: str, left: float, right: float) -> bool:
    if op in _COMPARE:
        return _COMPARE[op](left, right)
    # = and != on computed values: 0.1 + 0.2 must equal 0.3.
    equal = math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return equal if op == "=" else not equal


@dataclass
class _Context:
    """What one rule x segment evaluation reads: its groups in both periods."""

    current: Group | None
    previous: Group | None
    period: Period
    previous_period: Period | None

    def group(self, previous: bool) -> Group:
        group = self.previous if previous else self.current
        if group is None:
            if previous:
                raise NoData(f"no rows in the previous period, {period_text(self.previous_period)}")
            raise NoData("no rows in the period")
        return group

    def value(self, node: ast.Node, previous: bool = False) -> float:
        if isinstance(node, ast.Number):
            return node.value
        if isinstance(node, ast.Aggregate):
            agg = self.group(previous).values[(node.func, node.column.name)]
            if agg.bad:
                raise BadCells(agg.bad)
            if agg.value is None:
                when = f" in {period_text(self.previous_period)}" if previous else ""
                raise NoData(f"{node.column.text or node.column.name} has no values{when}")
            return agg.value
        if isinstance(node, ast.Neg):
            return -self.value(node.operand, previous)
        if isinstance(node, ast.BinOp):
            left = self.value(node.left, previous)
            right = self.value(node.right, previous)
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            if right == 0:
                raise NoData(f"{expr_text(node.right)} is 0, so {expr_text(node)} has no value")
            return left / right
        if isinstance(node, ast.Change):
            now = self.value(node.operand, previous)
            before = self.value(node.operand, True)
            if before == 0:
                raise NoData(f"{expr_text(node.operand)} was 0 in {period_text(self.previous_period)}, "
                             "so its change has no value")
            return (now - before) / before
        raise TypeError(f"not an expression: {node!r}")

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

    def detail(self, expr: ast.Node, previous: bool = False) -> Detail:
        group = self.previous if previous else self.current
        period = self.previous_period if previous else self.period
        terms = []
        seen = set()
        for agg, _ in aggregates(expr):
            key = (agg.func, agg.column.name)
            if key in seen:
                continue
            seen.add(key)
            value = group.values[key] if group else None
            terms.append(Term(
                label=agg.column.text or agg.column.name if agg.implicit else
                f"{agg.func}({agg.column.text or agg.column.name})",
                func=agg.func, column=agg.column.name,
                value=value.value if value else None, rows=group.rows if group else 0,
                cells=value.cells if value else 0, days=group.days if group else 0,
            ))
        try:
            value, reason = self.value(expr, previous), None
        except NoData as exc:
            value, reason = None, str(exc)
        except BadCells as exc:
            value, reason = None, exc.problems[0].message
        prev = None
        if not previous and self.previous_period is not None:
            inner = next((n for n in expr.walk() if isinstance(n, ast.Change)), None)
            if inner is not None:
                prev = self.detail(inner.operand, previous=True)
        return Detail(expression=expr_text(expr), value=value, terms=tuple(terms), period=period,
                      rows=group.rows if group else 0, days=group.days if group else 0,
                      previous=prev, reason=reason)


def _status(rule: ast.Rule, ctx: _Context) -> Status:
    if not ctx.holds(rule.condition):
        return Status.FAIL
    cond = rule.condition
    if rule.warn is not None and isinstance(cond, ast.Compare):
        if not compare(cond.op, ctx.value(cond.left), ctx.value(rule.warn)):
            return Status.WARN
    return Status.PASS


def _parts(cond: ast.Node, ctx: _Context) -> list[tuple[ast.Node, float | None, bool | None]]:
    """The comparisons inside and/or/not with their values, for the message."""
    if isinstance(cond, (ast.BoolOp, ast.Not)):
        return [p for child in cond.iter_children() for p in _parts(child, ctx)]
    left = cond.left if isinstance(cond, ast.Compare) else cond.operand
    try:
        return [(cond, ctx.value(left), ctx.holds(cond))]
    except (NoData, BadCells):
        return [(cond, None, None)]


def _constant(ctx: _Context, node: ast.Node | None) -> float | None:
    if node is None:
        return None
    try:
        return ctx.value(node)
    except (NoData, BadCells):
        return None


def _unit(node: ast.Node | None) -> str | None:
    return node.unit if isinstance(node, ast.Number) else None


def _evaluate_rule(rp: RulePlan, groups: dict[Scan, dict[Segment, Group]]) -> list[RuleResult]:
    entry, rule = rp.entry, rp.rule
    base = dict(name=entry.name, rule=entry.text, meta=dict(entry.meta))
    if rp.problem is not None or rule is None:
        problem = rp.problem or entry.problem
        return [RuleResult(status=Status.ERROR, message=problem.one_line() if problem else "",
                           error=problem, **base)]
    current = groups.get(rp.current, {})
    previous = groups.get(rp.previous, {}) if rp.previous else {}
    if rp.current.dims:
        segments = sorted(set(current) | set(previous))
    else:
        segments = [()]
    lhs = rule.value_expr
    results = []
    for segment in segments:
        ctx = _Context(current.get(segment), previous.get(segment), rp.current.period,
                       rp.previous.period if rp.previous else None)
        result = RuleResult(status=Status.NO_DATA, period=rp.current.period,
                            segment=dict(zip(rp.current.dims, segment)) if rp.current.dims else None,
                            threshold=_constant(ctx, rule.threshold), unit=_unit(rule.threshold),
                            warn=_constant(ctx, rule.warn), **base)
        reason = None
        try:
            result.status = _status(rule, ctx)
        except NoData as exc:
            result.status, reason = Status.NO_DATA, str(exc)
        except BadCells as exc:
            result.status = Status.ERROR
            result.data_problems = exc.problems
            first = exc.problems[0]
            more = len(exc.problems) - 1
            result.error = Problem(DATA, first.message + (f" (and {more} more bad cells)" if more else ""),
                                   cell=first.cell, suggestion=first.suggestion)
        if lhs is not None:
            result.detail = ctx.detail(lhs)
            if result.status not in (Status.NO_DATA, Status.ERROR):
                result.value = result.detail.value
        parts = _parts(rule.condition, ctx) if lhs is None and result.status != Status.ERROR else []
        result.message = result_message(result, rule, reason=reason, parts=parts)
        results.append(result)
    return results


def evaluate(entries: Iterable[RuleEntry], table: DataTable, as_of: dt.date) -> Report:
    """Evaluate every rule entry against ``table`` as of ``as_of``.

    ``table`` is a ``DataTable`` or any backend with the same face (``names()``,
    ``ambiguous``, ``date_column``, ``problems`` and ``groups(plan)``), such as the DuckDB
    backend for large files.

    Disabled entries (``meta["enabled"] is False``) are skipped; entries whose rule did not
    parse come back as one ERROR result each, in their place."""
    entries = [e for e in entries if e.meta.get("enabled", True) is not False]
    plan = build_plan(entries, names=[*table.names(), table.date_column], as_of=as_of, ambiguous=table.ambiguous,
                      date_column=table.date_column)
    groups = table.groups(plan)
    results = [r for rp in plan.rules for r in _evaluate_rule(rp, groups)]
    return Report(as_of=as_of, results=results, data_problems=list(table.problems),
                  warnings=list(getattr(table, "warnings", ())))


@dataclass
class Prepared:
    """A source read and ready to evaluate: what ``check`` and ``explain`` both start from."""

    workbook: "Workbook"
    settings: "Settings | None"
    entries: list[RuleEntry]
    table: DataTable
    today: dt.date  # where the sheet lives


def prepare(source: str, *, rules: str | None = None, data_tab: str | None = None,
            rules_tab: str | None = None, connector: str | None = None, config: str | None = None,
            **options) -> Prepared:
    """Read ``source`` (a .csv/.xlsx path or a Google Sheets URL/key) with its settings, its
    rules (or those of the ``rules`` file) and its data table. Settings (``kpirules.toml``,
    the source's Settings tab) name the tabs and the date column; explicit arguments win."""
    from kpirules.backends import read_with_table
    from kpirules.source import rule_entries, today
    from kpirules.table import load_table

    # read_source, except that a large CSV file goes to the DuckDB backend, which comes
    # back as ``table`` (kpirules.backends); for any other source ``table`` is None.
    workbook, settings, table = read_with_table(source, connector=connector, config=config, data_tab=data_tab,
                                                rules_tab=rules_tab, with_rules=rules is None, **options)
    entries = rule_entries(workbook, source, rules)
    if table is None:
        table = load_table(workbook.data, settings=settings)
    return Prepared(workbook, settings, entries, table, today(settings, workbook))


def check(source: str, *, rules: str | None = None, as_of: dt.date | None = None, **options) -> Report:
    """``prepare`` ``source`` and evaluate its rules as of ``as_of`` (default: today where
    the sheet lives)."""
    ready = prepare(source, rules=rules, **options)
    return evaluate(ready.entries, ready.table, as_of or ready.today)
