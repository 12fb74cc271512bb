"""``kpirules explain``: how one rule's result came about, for a person who doubts it.

Everything shown comes from the engine's own ``Detail`` (the terms it summed, the rows and
days it counted, the previous period of a ``change``), never from a second computation, so
the explanation cannot disagree with ``check``. The arithmetic is the rule's expression
printed back with each aggregate replaced by its value; the sparkline re-runs the rule at
earlier as-of dates, one per earlier period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from kpirules import ast
from kpirules.format import expr_text, format_value, period_text
from kpirules.results import Detail, Period, RuleResult, Status

BARS = "▁▂▃▄▅▆▇█"
HISTORY = 8  # periods in the sparkline, the current one included


@dataclass
class Explanation:
    """One rule as of one date: its results (one per segment, worst first) and, per
    segment, its value over the last periods (oldest first)."""

    name: str
    text: str
    rule: ast.Rule
    as_of: dt.date
    results: list[RuleResult]
    history: dict[tuple, list[tuple[Period | None, float | None]]] = field(default_factory=dict)
    # For a condition joined with and/or/not, which has no single value: each comparison
    # explained on its own, in the order written.
    parts: list["Explanation"] = field(default_factory=list)
    late: dict[str, dt.date] = field(default_factory=dict)  # Report.late of the evaluation

    @property
    def exit_code(self) -> int:
        """What ``explain`` exits with: the table of spec/cli.md over these results."""
        from kpirules.results import Report

        return Report(as_of=self.as_of, results=self.results, late=self.late).exit_code


def segment_key(result: RuleResult) -> tuple:
    return tuple(sorted((result.segment or {}).items()))


def explain(entry: Any, table: Any, as_of: dt.date, periods: int = HISTORY, *,
            settings: Any = None) -> Explanation:
    """Evaluate ``entry`` (a parsed RuleEntry) on ``table`` at ``as_of`` and at the as-of
    dates of the ``periods - 1`` periods before (``settings``: complete_through, late_after)."""
    from kpirules.engine import evaluate
    from kpirules.periods import as_of_for, period

    rule = entry.rule
    report = evaluate([entry], table, as_of, settings=settings)
    results = sorted(report.results, key=lambda r: worst_first(r, rule))
    # Oldest first; a segment without rows in some period gets a blank there, so every
    # segment's sparkline lines up with every other.
    backs = list(range(periods - 1, -1, -1))
    spans = [period(rule.window, as_of, back) for back in backs]
    values: dict[tuple, dict[int, float | None]] = {}
    for i, back in enumerate(backs):
        if back == 0:
            found = report.results
        else:
            found = evaluate([entry], table, as_of_for(rule.window, as_of, back), settings=settings).results
        for r in found:
            values.setdefault(segment_key(r), {})[i] = r.value
    history = {key: [(spans[i], got.get(i)) for i in range(len(spans))] for key, got in values.items()}
    parts = []
    if not isinstance(rule.condition, (ast.Compare, ast.Between)):
        from kpirules.rulesfile import RuleEntry

        simple = (n for n in rule.condition.walk() if isinstance(n, (ast.Compare, ast.Between)))
        for i, node in enumerate(simple):
            sub = ast.Rule(node, rule.window, rule.segments, rule.filters)
            part = RuleEntry(name=f"{entry.name} part {i + 1}", text=expr_text(node), rule=sub)
            parts.append(explain(part, table, as_of, periods, settings=settings))
    return Explanation(entry.name, entry.text, rule, as_of, results, history, parts, dict(report.late))


def worst_first(result: RuleResult, rule: ast.Rule) -> tuple:
    """Sort key: worse status first, then the value furthest on the wrong side."""
    return (-result.status.severity, _margin(result, rule))


def _margin(result: RuleResult, rule: ast.Rule) -> float:
    v = result.value
    cond = rule.condition
    if v is None:
        return math.inf
    if isinstance(cond, ast.Compare) and result.threshold is not None:
        if cond.op in (">=", ">"):
            return v - result.threshold
        if cond.op in ("<=", "<"):
            return result.threshold - v
    if isinstance(cond, ast.Between):
        try:
            lo, hi = cond.low.value, cond.high.value  # type: ignore[union-attr]
        except AttributeError:
            return 0.0
        return min(v - lo, hi - v)
    return 0.0


def sparkline(values: list[float | None]) -> str:
    """▁▂▃▄▅▆▇█ from the lowest to the highest value; a space for a period without one."""
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    lo, hi = min(present), max(present)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif hi == lo:
            out.append(BARS[3])
        else:
            out.append(BARS[round((v - lo) / (hi - lo) * (len(BARS) - 1))])
    return "".join(out)


# ----------------------------------------------------------------------- arithmetic


def _values(detail: Detail) -> dict[tuple[str, str], float | None]:
    return {(t.func, t.column): t.value for t in detail.terms}


def _substitute(node: ast.Node, values: dict) -> ast.Node:
    """``node`` with every aggregate replaced by its value, printed as a number."""
    if isinstance(node, ast.Aggregate):
        value = values.get((node.func, node.column.name))
        return ast.Number(value if value is not None else math.nan, text=format_value(value))
    if isinstance(node, ast.Number):
        return node
    changes = {name: _substitute(getattr(node, name), values) for name in node.children
               if isinstance(getattr(node, name), ast.Node)}
    return dataclasses.replace(node, **changes)


def evaluate_expr(node: ast.Node, values: dict) -> float | None:
    """The value of an expression without ``change`` from aggregate values (None when a
    value is missing or a division is by zero: the engine's NO_DATA)."""
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Aggregate):
        return values.get((node.func, node.column.name))
    if isinstance(node, ast.Neg):
        v = evaluate_expr(node.operand, values)
        return None if v is None else -v
    if isinstance(node, ast.BinOp):
        a, b = evaluate_expr(node.left, values), evaluate_expr(node.right, values)
        if a is None or b is None or (node.op == "/" and b == 0):
            return None
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else math.nan}[node.op]
    return None


def arithmetic(expr: ast.Node, values: dict, value: float | None, unit: str | None) -> str:
    """``signups / visits = 35 / 2,240 = 1.56%``; just ``visits = 2,240`` for one term."""
    text = expr_text(expr)
    result = format_value(value, unit)
    if isinstance(expr, ast.Aggregate):
        return f"{text} = {result}"
    return f"{text} = {expr_text(_substitute(expr, values))} = {result}"


def inner_unit(expr: ast.Node, value: float | None, unit: str | None) -> str | None:
    """How to print the operand of ``change``: a ratio below 1 as a percent."""
    if isinstance(expr, ast.BinOp) and expr.op == "/" and value is not None and abs(value) < 1:
        return "%"
    return None


# --------------------------------------------------------------------------- output


def _counted(detail: Detail) -> str:
    rows = f"{detail.rows:,} row{'s' if detail.rows != 1 else ''}"
    return f"{rows} on {detail.days} day{'s' if detail.days != 1 else ''}"


_FUNC_WORDS = {"sum": "sum of", "avg": "average of", "min": "smallest of", "max": "largest of",
               "count": "count of", "last": "latest date's value among",
               "first": "earliest date's value among"}
_HOLDS = {"PASS": "holds", "WARN": "holds", "FAIL": "does not hold"}


def _term_lines(detail: Detail, indent: str) -> list[str]:
    width = max((len(t.label) for t in detail.terms), default=0)
    lines = []
    for t in detail.terms:
        how = f"{_FUNC_WORDS.get(t.func, t.func)} {t.cells} non-blank cell{'s' if t.cells != 1 else ''}"
        lines.append(f"{indent}{t.label:<{width}} = {format_value(t.value):>10}   {how}")
    return lines


def render_result(ex: Explanation, r: RuleResult, *, indent: str = "  ") -> list[str]:
    """Everything about one result (one segment), below its status line."""
    rule, lines = ex.rule, []
    d = r.detail
    label = lambda s: f"{indent}{s:<10} "  # noqa: E731 - a column of labels
    if r.status == Status.ERROR:
        lines.append(label("error") + (r.error.one_line() if r.error else r.message))
        return lines
    if r.period is not None:
        lines.append(label("period") + f"{r.period.start.isoformat()} .. {r.period.end.isoformat()} "
                     f"({rule.window.text or rule.window.unit}, as of {ex.as_of.isoformat()})")
    if d is None:  # and/or/not: the engine keeps no single value; explain each part
        for i, part in enumerate(ex.parts, start=1):
            mine = next((p for p in part.results if segment_key(p) == segment_key(r)), None)
            if mine is None:
                continue
            holds = _HOLDS.get(mine.status.value, mine.status.value)
            lines.append(f"{indent}part {i}: {part.text}: {holds}")
            lines += [line for line in render_result(part, mine, indent=indent + "  ")
                      if not line.lstrip().startswith("period")]
        return lines
    lines.append(label("counted") + _counted(d))
    lines += _term_lines(d, indent + " " * 11)
    expr = rule.value_expr
    change = expr if isinstance(expr, ast.Change) else None
    if change is not None:
        inner = change.operand
        now = evaluate_expr(inner, _values(d))
        u = inner_unit(inner, now, r.unit)
        if not isinstance(inner, ast.Aggregate):  # a bare sum is already in the terms
            lines.append(label("now") + arithmetic(inner, _values(d), now, u))
        prev = d.previous
        if prev is not None:
            lines.append(label("previous") + f"{period_text(prev.period)}: {_counted(prev)}")
            lines += _term_lines(prev, indent + " " * 11)
            if not isinstance(inner, ast.Aggregate):
                lines.append(" " * (len(indent) + 11) + arithmetic(inner, _values(prev), prev.value, u))
            if d.value is not None and now is not None and prev.value is not None:
                lines.append(label("change") + f"({format_value(now, u)} - {format_value(prev.value, u)}) / "
                             f"{format_value(prev.value, u)} = {format_value(d.value, r.unit or '%')}")
    elif expr is not None:
        lines.append(label("value") + arithmetic(expr, _values(d), d.value, r.unit))
    if d.reason:
        lines.append(label("no data") + d.reason)
    lines.append(label("target") + _target(rule, r))
    history = ex.history.get(segment_key(r), [])
    unit = r.unit or ("%" if change is not None else None)  # a change is a share
    if change is None and len(history) >= 2:
        p, v = history[-2]
        lines.append(label("previous") + f"{period_text(p)}: {format_value(v, unit)}")
    if history:
        values = [v for _, v in history]
        present = [v for v in values if v is not None]
        span = (f"low {format_value(min(present), unit)}, high {format_value(max(present), unit)}"
                if present else "no values")
        lines.append(label("history") + f"{sparkline(values)}  last {len(values)} periods, oldest first "
                     f"({span})")
    for problem in r.data_problems[:3]:
        lines.append(label("bad cell") + problem.one_line())
    return lines


def _target(rule: ast.Rule, r: RuleResult) -> str:
    cond = rule.condition
    text = expr_text(cond.right) if isinstance(cond, ast.Compare) else ""
    if isinstance(cond, ast.Compare):
        text = f"{cond.op} {text}"
    elif isinstance(cond, ast.Between):
        text = f"between {expr_text(cond.low)} and {expr_text(cond.high)}"
    if rule.warn is not None:
        text += f", warn at {expr_text(rule.warn)}"
    return f"{text}: {r.status.value}"


def _segment(r: RuleResult) -> str:
    return ", ".join(f"{k}={v or '(blank)'}" for k, v in (r.segment or {}).items())


def render(ex: Explanation, status=None) -> str:
    """The whole explanation as text; ``status(text)`` may colour a status word."""
    style = status or (lambda s: s.ljust(7))
    out = [f"{ex.name}: {ex.text}"]
    if len(ex.results) == 1 and not ex.results[0].segment:
        r = ex.results[0]
        out.append(f"{style(r.status.value)} {r.message}")
        out.append("")
        out += render_result(ex, r)
        return "\n".join(out)
    out.append(f"{len(ex.results)} segments, worst first:")
    width = max((len(_segment(r)) for r in ex.results), default=0)
    for r in ex.results:
        values = [v for _, v in ex.history.get(segment_key(r), [])]
        out.append(f"  {style(r.status.value)} {_segment(r):<{width}}  {sparkline(values)}  {r.message}")
    for r in ex.results:
        out.append("")
        out.append(f"{style(r.status.value)} {_segment(r)}: {r.message}")
        out += render_result(ex, r)
    return "\n".join(out)


def to_json(ex: Explanation) -> dict:
    """The explanation for scripts: each result as ``check --format json`` gives it, plus
    its terms and history."""
    out = {"name": ex.name, "rule": ex.text, "as_of": ex.as_of.isoformat(), "results": []}
    for r in ex.results:
        item = r.to_json()
        d = r.detail
        if d is not None:
            item["rows"], item["days"] = d.rows, d.days
            item["terms"] = [{"label": t.label, "func": t.func, "column": t.column, "value": t.value,
                              "rows": t.rows, "cells": t.cells, "days": t.days} for t in d.terms]
            if d.previous is not None:
                item["previous"] = {"period": d.previous.period.to_json() if d.previous.period else None,
                                    "value": d.previous.value,
                                    "terms": [{"label": t.label, "value": t.value} for t in d.previous.terms]}
        item["history"] = [{"period": p.to_json() if p else None, "value": v}
                           for p, v in ex.history.get(segment_key(r), [])]
        out["results"].append(item)
    return out
