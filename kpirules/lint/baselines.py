"""The lint checks the language's second part made possible (docs/lint.md):

- KPI008 (needs data): a ratio of counts without a volume guard whose denominator was
  below 1,000 in more than a quarter of its last 12 periods -> add `with at least`;
- KPI009: `change` of a ratio (a relative change of a rate: -25% when conversion goes from
  2% to 1.5%) -> `delta(...) ... pp`, the change in points people mean;
- KPI010 (needs data): a daily or weekly change/delta against the previous period on data
  whose weekday pattern (daily) or same-week-last-year pattern (weekly) explains most of
  the variance -> `vs last year`, which compares like with like.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from typing import Any, Iterator

from kpirules import ast
from kpirules.evaluation import constant
from kpirules.format import expr_text, format_threshold
from kpirules.lint.checks import Item, comparisons, lhs, unit_of
from kpirules.lint.findings import Finding, rule_text

GUARD_VOLUME = 1000  # KPI008: a denominator below this is too few to judge a rate
GUARD_PERIODS = 12  # ... looked at over this many recent periods
GUARD_SHARE = 0.25  # ... and flagged when more than this share of them were below it
SEASONAL_R2 = 0.5  # KPI010: the share of variance the pattern must explain
DAILY_DAYS = 56  # KPI010: 8 weeks of days for the weekday pattern
WEEKLY_WEEKS = 26  # KPI010: half a year of weeks, each paired with 52 weeks earlier
_WEEKS_52 = dt.timedelta(days=364)


def series(recent: Any, expr: ast.Node, rule: ast.Rule, window: ast.Window,
           periods: int) -> dict[tuple, list[tuple[Any, float | None]]]:
    """Segment -> (period, value) for the last ``periods`` complete periods inside the data,
    oldest first, periods without a value kept as None (so that they stay aligned)."""
    from kpirules.engine import evaluate
    from kpirules.periods import as_of_for, period
    from kpirules.rulesfile import RuleEntry

    if recent.as_of is None:
        return {}
    baseline = rule.baseline if any(isinstance(n, ast.Change) for n in expr.walk()) else None
    probe = ast.Rule(ast.Compare(">=", expr, ast.Number(0.0)), window, rule.segments,
                     rule.filters, baseline=baseline)
    entry = RuleEntry(name="lint-probe", text=rule_text(probe, warn=None), rule=probe)
    out: dict[tuple, list[tuple[Any, float | None]]] = {}
    for back in range(periods - 1, -1, -1):
        span = period(window, recent.as_of, back)
        if span is None or span.start < recent.first:
            continue
        for r in evaluate([entry], recent.table, as_of_for(window, recent.as_of, back)).results:
            key = tuple(sorted((r.segment or {}).items()))
            out.setdefault(key, []).append((span, r.value))
    return out


# -------------------------------------------------------------------------- KPI008


def _denominator(rule: ast.Rule) -> tuple[ast.Node, ast.Aggregate] | None:
    for cmp in comparisons(rule.condition):
        for node in lhs(cmp).walk():
            if (isinstance(node, ast.BinOp) and node.op == "/"
                    and isinstance(node.right, ast.Aggregate)
                    and node.right.func in ("sum", "count")):
                return node, node.right
    return None


def unguarded_ratios(items: list[Item], recent: Any, skip: set[int]) -> Iterator[Finding]:
    """KPI008: a ratio whose denominator is often below GUARD_VOLUME, without a guard."""
    for item in items:
        rule = item.rule
        found = _denominator(rule)
        if found is None or id(item) in skip or rule.guards or rule.confidence is not None:
            continue
        ratio, denominator = found
        columns = [a.column.name for a in ratio.walk() if isinstance(a, ast.Aggregate)]
        if not all(recent.integral(c) for c in columns):
            continue  # a share of events (signups / visits), not money per event
        for key, values in series(recent, denominator, rule, rule.window, GUARD_PERIODS).items():
            present = [v for _, v in values]
            low = sum(1 for v in present if v is None or v < GUARD_VOLUME)
            if len(present) < 4 or low <= GUARD_SHARE * len(present):
                continue
            where = f" in segment {', '.join(f'{k}={v}' for k, v in key)}" if key else ""
            guard = ast.Guard(ast.Number(float(GUARD_VOLUME), None, str(GUARD_VOLUME)), denominator)
            yield item.finding(
                "KPI008",
                f"`{expr_text(denominator)}` was below {GUARD_VOLUME:,} in {low} of the last "
                f"{len(present)} periods{where}, so `{expr_text(ratio)}` is often computed from "
                f"too few to judge",
                f"{item.name}: {rule_text(dataclasses.replace(rule, guards=(guard,)))}   "
                f"(INCONCLUSIVE instead of PASS or FAIL while there are too few)")
            break


# -------------------------------------------------------------------------- KPI009


def change_of_ratio(items: list[Item], recent: Any = None) -> Iterator[Finding]:
    """KPI009: `change(a / b)`: a relative change of a rate, where points are meant."""
    for item in items:
        rule = item.rule
        cond = rule.condition
        if not isinstance(cond, ast.Compare):
            continue
        left = cond.left
        if not (isinstance(left, ast.Change) and left.func == "change"
                and isinstance(left.operand, ast.BinOp) and left.operand.op == "/"):
            continue
        threshold = constant(cond.right)
        if threshold is None:
            continue
        rate = _typical_rate(recent, left.operand, rule) if recent is not None else None
        if rate is not None:
            points = round(threshold * rate * 100, 1) / 100 or (0.001 if threshold > 0 else -0.001)
            note = (f"   ({format_threshold(threshold, unit_of(cond.right) or '%')} of the typical "
                    f"{format_threshold(rate, '%')})")
        else:
            points, note = threshold, "   (set the points from your own data)"
        new = ast.Compare(cond.op, ast.Change(left.operand, func="delta"),
                          ast.Number(points, "pp", format_threshold(points, "pp")))
        yield item.finding(
            "KPI009",
            f"`{expr_text(left)}` is a relative change of a rate (2% to 1.5% is -25%), which "
            f"reads like a change in points and swings with a small base",
            f"{item.name}: {rule_text(rule, condition=new, warn=None)}{note}")


def _typical_rate(recent: Any, rate: ast.Node, rule: ast.Rule) -> float | None:
    values = [v for vs in series(recent, rate, rule, rule.window, 8).values() for _, v in vs
              if v is not None]
    return statistics.median(values) if values else None


# -------------------------------------------------------------------------- KPI010


def r_squared_by_group(values: list[tuple[Any, float]]) -> float | None:
    """The share of the variance of the values that the means of their groups explain
    (one minus within-group over total sum of squares)."""
    numbers = [v for _, v in values]
    if len(numbers) < 3:
        return None
    mean = statistics.fmean(numbers)
    total = sum((v - mean) ** 2 for v in numbers)
    if total == 0:
        return None
    groups: dict[Any, list[float]] = {}
    for g, v in values:
        groups.setdefault(g, []).append(v)
    within = sum((v - statistics.fmean(vs)) ** 2 for vs in groups.values() for v in vs)
    return 1 - within / total


def r_squared_paired(pairs: list[tuple[float, float]]) -> float | None:
    """The squared correlation of this year's values with last year's (same weeks)."""
    if len(pairs) < 6:
        return None
    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
    try:
        return statistics.correlation(xs, ys) ** 2
    except statistics.StatisticsError:  # a constant series
        return None


def seasonal_changes(items: list[Item], recent: Any) -> Iterator[Finding]:
    """KPI010: a daily/weekly change against the previous period on seasonal data."""
    for item in items:
        rule = item.rule
        window = rule.window
        inner = next((n for n in rule.condition.walk() if isinstance(n, ast.Change)), None)
        if (inner is None or rule.compared_with.kind != "previous" or window.to_date
                or window.count != 1 or window.unit not in ("day", "week")):
            continue
        stat = _seasonality(recent, inner.operand, rule, window.unit)
        if stat is None or stat < SEASONAL_R2:
            continue
        pattern = ("the day of the week" if window.unit == "day"
                   else "the same week last year")
        yield item.finding(
            "KPI010",
            f"{pattern} explains {stat:.0%} of the variance of `{expr_text(inner.operand)}` "
            f"(R² >= {SEASONAL_R2:.0%}), so a change against the previous {window.unit} mostly "
            f"measures that pattern",
            f"{item.name}: {rule_text(dataclasses.replace(rule, baseline=ast.Baseline('last_year')))}")


def _seasonality(recent: Any, operand: ast.Node, rule: ast.Rule, unit: str) -> float | None:
    window = ast.Window(unit, 1)
    if unit == "day":
        found = series(recent, operand, rule, window, DAILY_DAYS)
        stats = [r_squared_by_group([(p.start.weekday(), v) for p, v in values if v is not None])
                 for values in found.values()]
    else:
        found = series(recent, operand, rule, window, WEEKLY_WEEKS + 52)
        stats = []
        for values in found.values():
            by_start = {p.start: v for p, v in values}
            pairs = [(v, by_start.get(p.start - _WEEKS_52)) for p, v in values[-WEEKLY_WEEKS:]]
            stats.append(r_squared_paired([(a, b) for a, b in pairs
                                           if a is not None and b is not None]))
    present = [s for s in stats if s is not None]
    return min(present) if present else None

