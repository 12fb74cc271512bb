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
from kpirules.aggregate_functions import AGGREGATES
from kpirules.errors import shown
from kpirules.evaluation import evaluate
from kpirules.format import BARS, expr_text, format_threshold, format_value, period_text, rows_text, sparkline  # noqa: F401
from kpirules.i18n import N_, _, ngettext
from kpirules.results import Detail, Period, RuleResult, Status

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
    parts: list[Explanation] = field(default_factory=list)
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
            sub = ast.Rule(node, rule.window, rule.segments, rule.filters,
                           baseline=rule.baseline if _uses_baseline(node) else None)
            part = RuleEntry(name=f"{entry.name} part {i + 1}", text=expr_text(node), rule=sub)
            parts.append(explain(part, table, as_of, periods, settings=settings))
    return Explanation(entry.name, entry.text, rule, as_of, results, history, parts, dict(report.late))


def _uses_baseline(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Change) for n in node.walk())


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
    return evaluate(node, lambda n: values.get((n.func, n.column.name)) if isinstance(n, ast.Aggregate) else None)


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
    return rows_text(detail.rows, detail.days, always_rows=True)


_HOLDS = {"PASS": N_("holds"), "WARN": N_("holds"), "FAIL": N_("does not hold")}


def _term_lines(detail: Detail, indent: str) -> list[str]:
    width = max((len(t.label) for t in detail.terms), default=0)
    lines = []
    for t in detail.terms:
        cells = ngettext("{n} non-blank cell", "{n} non-blank cells", t.cells).format(n=t.cells)
        fn = AGGREGATES.get(t.func)
        how = f"{_(fn.words) if fn else t.func} {cells}"
        lines.append(f"{indent}{t.label:<{width}} = {format_value(t.value):>10}   {how}")
    return lines


def render_result(ex: Explanation, r: RuleResult, *, indent: str = "  ") -> list[str]:
    """Everything about one result (one segment), below its status line."""
    rule, lines = ex.rule, []
    d = r.detail
    label = lambda s: f"{indent}{_(s):<10} "  # noqa: E731 - a column of labels (translated)
    if r.status == Status.ERROR:
        lines.append(label(N_("error")) + (r.error.one_line() if r.error else r.message))
        return lines
    if r.period is not None:
        from kpirules.i18n import date_text

        lines.append(label(N_("period")) + f"{date_text(r.period.start)} .. {date_text(r.period.end)} " + _(
            "({window}, as of {date})").format(window=rule.window.text or rule.window.unit, date=date_text(ex.as_of)))
    if d is None:  # and/or/not: the engine keeps no single value; explain each part
        for i, part in enumerate(ex.parts, start=1):
            mine = next((p for p in part.results if segment_key(p) == segment_key(r)), None)
            if mine is None:
                continue
            holds = _(_HOLDS[mine.status.value]) if mine.status.value in _HOLDS else mine.status.value
            lines.append(f"{indent}" + _("part {i}: {text}: {holds}").format(i=i, text=part.text, holds=holds))
            lines += [line for line in render_result(part, mine, indent=indent + "  ")
                      if not line.lstrip().startswith(_("period"))]
        return lines
    lines.append(label(N_("counted")) + _counted(d))
    lines += _term_lines(d, indent + " " * 11)
    expr = rule.value_expr
    change = expr if isinstance(expr, ast.Change) else None
    if change is not None:
        inner = change.operand
        now = d.current if d.current is not None else evaluate_expr(inner, _values(d))
        u = inner_unit(inner, now, r.unit)
        if isinstance(inner, ast.Pace):
            lines.append(label(N_("now")) + _pace_line(d, inner, now))
        elif not isinstance(inner, ast.Aggregate):  # a bare sum is already in the terms
            lines.append(label(N_("now")) + arithmetic(inner, _values(d), now, u))
        prev = d.previous
        if d.baselines:  # vs average of last N: each period, then the mean
            lines.append(label(N_("baseline")) + f"{d.baseline}:")
            for b in d.baselines:
                said = format_value(b.value, u) if b.value is not None else _("left out ({reason})").format(
                    reason=b.reason)
                lines.append(" " * (len(indent) + 11) + f"{period_text(b.period)}: {said}")
            used = [b.value for b in d.baselines if b.value is not None]
            if prev is not None and prev.value is not None:
                lines.append(" " * (len(indent) + 11) + _("mean of {n} = {value}").format(
                    n=len(used), value=format_value(prev.value, u)))
        elif prev is not None:
            word = N_("last year") if rule.compared_with.kind == "last_year" else N_("previous")
            lines.append(label(word) + f"{period_text(prev.period)}: {_counted(prev)}")
            lines += _term_lines(prev, indent + " " * 11)
            if isinstance(inner, ast.Pace):
                lines.append(" " * (len(indent) + 11) + _pace_line(prev, inner, prev.value))
            elif not isinstance(inner, ast.Aggregate):
                lines.append(" " * (len(indent) + 11) + arithmetic(inner, _values(prev), prev.value, u))
        if prev is not None and d.value is not None and now is not None and prev.value is not None:
            from kpirules.functions import BASELINE_FUNCTIONS

            how = BASELINE_FUNCTIONS[change.func].arithmetic.format(
                now=format_value(now, u), base=format_value(prev.value, u))
            said = format_value(d.value, r.unit or ("%" if change.func == "change" else u))
            lines.append(label(change.func) + f"{how} = {said}")
    elif isinstance(expr, ast.Pace):
        lines.append(label("pace") + _pace_line(d, expr, d.value))
    elif expr is not None:
        lines.append(label(N_("value")) + arithmetic(expr, _values(d), d.value, r.unit))
    for check in r.guards:
        where = "" if check.period == r.period else " " + _("in {period}").format(period=period_text(check.period))
        verdict = _("enough") if check.met else _("too few")
        lines.append(label(N_("at least")) + f"{format_value(check.minimum)} {check.label}{where}: "
                     f"{format_value(check.value)} ({verdict})")
    if r.interval is not None:
        lo, hi = r.interval
        lines.append(label(N_("interval")) + _("{confidence} Wilson interval {low} .. {high} around {value}").format(
            confidence=format_threshold(r.confidence, '%'), low=format_value(lo, '%'), high=format_value(hi, '%'),
            value=format_value(r.value, '%')))
    if d.reason:
        lines.append(label(N_("no data")) + d.reason)
    lines.append(label(N_("target")) + _target(rule, r))
    history = ex.history.get(segment_key(r), [])
    unit = r.unit or ("%" if change is not None else None)  # a change is a share
    if change is None and len(history) >= 2:
        p, v = history[-2]
        lines.append(label(N_("previous")) + f"{period_text(p)}: {format_value(v, unit)}")
    if history:
        values = [v for _, v in history]
        present = [v for v in values if v is not None]
        span = (_("low {low}, high {high}").format(low=format_value(min(present), unit),
                                                   high=format_value(max(present), unit))
                if present else _("no values"))
        last = ngettext("last {n} period, oldest first", "last {n} periods, oldest first", len(values))
        lines.append(label(N_("history")) + f"{sparkline(values)}  {last.format(n=len(values))} ({span})")
    for problem in r.data_problems[:3]:
        lines.append(label(N_("bad cell")) + problem.one_line())
    # Each line quotes the data's text (column labels, bad cells, a part's rule text): kept
    # on its line, its control characters shown as escapes.
    return [shown(line) for line in lines]


def _pace_line(d: Detail, pace: ast.Pace, value: float | None) -> str:
    """``pace(revenue) = 143,500 x 30 / 15 days = 287,000``: the total so far, scaled."""
    days, total = d.pace or (0, 0)
    so_far = value * days / total if value is not None and total else None
    return ngettext("{expr} = {so_far} x {total} / {days} day = {value}",
                    "{expr} = {so_far} x {total} / {days} days = {value}", days).format(
        expr=expr_text(pace), so_far=format_value(so_far), total=total, days=days, value=format_value(value))


def _target(rule: ast.Rule, r: RuleResult) -> str:
    cond = rule.condition
    text = expr_text(cond.right) if isinstance(cond, ast.Compare) else ""
    if isinstance(cond, ast.Compare):
        text = f"{cond.op} {text}"
    elif isinstance(cond, ast.Between):
        text = _("between {low} and {high}").format(low=expr_text(cond.low), high=expr_text(cond.high))
    if rule.warn is not None:
        text += _(", warn at {warn}").format(warn=expr_text(rule.warn))
    return f"{text}: {r.status.value}"


def _segment(r: RuleResult) -> str:
    """``channel=social``: the segment's cells as one line of terminal text."""
    return shown(", ".join(f"{k}={v or _('(blank)')}" for k, v in (r.segment or {}).items()))


def render(ex: Explanation, status=None) -> str:
    """The whole explanation as text; ``status(text)`` may colour a status word. The rule's
    name, its text, its segments and messages come from the user's data: each is shown on
    its line with its control characters escaped (``kpirules.errors.shown``)."""
    style = status or (lambda s: s.ljust(7))
    out = [shown(f"{ex.name}: {ex.text}")]
    if len(ex.results) == 1 and not ex.results[0].segment:
        r = ex.results[0]
        out.append(f"{style(r.status.value)} {shown(r.message)}")
        out.append("")
        out += render_result(ex, r)
        return "\n".join(out)
    if not ex.results:
        out.append(_("no segments: no rows in the period"))
        return "\n".join(out)
    out.append(ngettext("{n} segment, worst first:", "{n} segments, worst first:", len(ex.results))
               .format(n=len(ex.results)))
    width = max((len(_segment(r)) for r in ex.results), default=0)
    for r in ex.results:
        values = [v for _, v in ex.history.get(segment_key(r), [])]
        out.append(f"  {style(r.status.value)} {_segment(r):<{width}}  {sparkline(values)}  {shown(r.message)}")
    for r in ex.results:
        out.append("")
        out.append(f"{style(r.status.value)} {_segment(r)}: {shown(r.message)}")
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
                                    "value": d.previous.value, "baseline": d.baseline,
                                    "terms": [{"label": t.label, "value": t.value} for t in d.previous.terms]}
            if d.baselines:
                item["baselines"] = [{"period": b.period.to_json() if b.period else None,
                                      "value": b.value} for b in d.baselines]
            if d.pace is not None:
                item["pace"] = {"days": d.pace[0], "unit_days": d.pace[1]}
        if r.guards:
            item["guards"] = [{"label": g.label, "minimum": g.minimum, "value": g.value,
                               "period": g.period.to_json() if g.period else None, "met": g.met}
                              for g in r.guards]
        item["history"] = [{"period": p.to_json() if p else None, "value": v}
                           for p, v in ex.history.get(segment_key(r), [])]
        out["results"].append(item)
    return out
