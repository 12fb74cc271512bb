"""The lint checks that read the data (``kpirules lint --data SOURCE``): is a ratio's
denominator big enough to be more than noise (KPI002), and is a count's threshold on the
scale of its window (KPI003)?

Both look at the recent past the way the engine would: the rule's own window evaluated at
the last few complete periods the data holds (as of the day after its last date), through
``kpirules.engine.evaluate``, so segments and filters count exactly as in ``check``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
from typing import Any, Iterator

from kpirules import ast
from kpirules.evaluation import constant
from kpirules.format import expr_text, format_value, plural
from kpirules.lint.checks import Item, _count_threshold, canon, comparisons, lhs, unit_of
from kpirules.lint.findings import Finding, nice_ceiling, rule_text, window_words

PERIODS = 8  # how many recent periods the typical value is the median of
# A rate from n events has a standard error of sqrt(p(1-p)/n); with n >= 16(1-p)/p that
# error is at most a quarter of a target p, so one bad period stands out from chance.
NOISE_SHARE = 0.25
DEFAULT_MIN_VOLUME = 30  # for ratios that are not shares (cost per customer): a rule of thumb
# Windows a wider one may grow to before a guard is the better rewrite.
MAX_COUNT = {"day": 90, "week": 13, "month": 12}


class Recent:
    """Values of an expression over the recent complete periods of one table."""

    def __init__(self, table: Any):
        self.table = table
        span = table.date_range
        self.first, self.last = span if span else (None, None)

    @property
    def as_of(self) -> dt.date | None:
        return self.last + dt.timedelta(days=1) if self.last else None

    def values(self, expr: ast.Node, rule: ast.Rule, window: ast.Window | None = None,
               periods: int = PERIODS) -> dict[tuple, list[float]]:
        """Segment -> the expression's value in each of the last ``periods`` complete periods
        inside the data (most recent first; periods without a value are left out)."""
        from kpirules.engine import evaluate
        from kpirules.periods import as_of_for, period
        from kpirules.rulesfile import RuleEntry

        window = window or rule.window
        if self.as_of is None:
            return {}
        baseline = rule.baseline if any(isinstance(n, ast.Change) for n in expr.walk()) else None
        probe = ast.Rule(ast.Compare(">=", expr, ast.Number(0.0)), window, rule.segments, rule.filters,
                         baseline=baseline)
        entry = RuleEntry(name="lint-probe", text=rule_text(probe, warn=None), rule=probe)
        out: dict[tuple, list[float]] = {}
        for back in range(periods):
            p = period(window, self.as_of, back)
            if p is None or p.start < self.first:  # a to-date window on its first day
                break  # a period the data only partly covers would understate it
            report = evaluate([entry], self.table, as_of_for(window, self.as_of, back))
            for r in report.results:
                if r.value is not None:
                    out.setdefault(tuple(sorted((r.segment or {}).items())), []).append(r.value)
        return out

    def integral(self, column: str) -> bool:
        """True when every recent non-blank cell of ``column`` is a whole number (a count,
        not money)."""
        if self.last is None:
            return False
        start = max(self.first, self.last - dt.timedelta(days=400))
        if not hasattr(self.table, "frame"):  # a database table (SqlTable) asks the database
            return bool(self.table.integral(column, start, self.last))
        frame = self.table.frame(start, self.last, metrics=[column])
        cells = [v for v in frame.metrics[column] if v is not None]
        return bool(cells) and all(float(v).is_integer() for v in cells)


def _about(value: float) -> str:
    """A typical value for a sentence: whole above 100, three digits below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _per(window: ast.Window) -> str:
    from kpirules.periods import describe

    return describe(window)


def _segment(key: tuple) -> str:
    return ", ".join(f"{k}={v}" for k, v in key)


def _units(window: ast.Window, n: int) -> str:
    return plural(n, window.unit) if window.count == 1 else plural(n, "period")


# -------------------------------------------------------------------------- KPI002


def _guarded(rule: ast.Rule, denominator: ast.Node) -> bool:
    """True when the rule already asks for a minimum of the denominator (`with at least`, or
    a comparison of it with a number), or judges its rate `with C% confidence`."""
    want = canon(denominator)
    if rule.confidence is not None or any(canon(g.value) == want for g in rule.guards):
        return True
    return any(canon(lhs(c)) == want for c in comparisons(rule.condition))


def small_denominators(items: list[Item], recent: Recent, min_volume: int | None = None) -> Iterator[Finding]:
    """KPI002: a ratio whose denominator counts so few events that the rate is noise."""
    for item in items:
        rule = item.rule
        for cmp in comparisons(rule.condition):
            found = _ratio(cmp)
            if found is None:
                continue
            ratio, denominator = found
            columns = [a.column.name for a in denominator.walk() if isinstance(a, ast.Aggregate)]
            if _guarded(rule, denominator) or not all(recent.integral(c) for c in columns):
                continue
            threshold = constant(cmp.right) if isinstance(cmp, ast.Compare) else constant(cmp.low)
            needed = min_volume or _needed(threshold)
            values = recent.values(denominator, rule)
            medians = {seg: statistics.median(v) for seg, v in values.items() if v}
            if not medians:
                continue
            seg, median = min(medians.items(), key=lambda kv: kv[1])
            if median >= needed:
                continue
            n = len(values[seg])
            from kpirules.i18n import _, number_text

            where = _(" in segment {segment}").format(segment=_segment(seg)) if seg else ""
            bound = cmp.right if isinstance(cmp, ast.Compare) else cmp.low
            target = _("at a {target} target ").format(target=expr_text(bound)) if threshold is not None else ""
            reason = _("`{denominator}` is a median {median} per {per}{where} (last {units}), too few for "
                       "`{ratio}` {target}to tell a real change from chance (it needs about {needed})").format(
                denominator=expr_text(denominator), median=_about(median), per=_per(rule.window), where=where,
                units=_units(rule.window, n), ratio=expr_text(ratio), target=target,
                needed=number_text(f"{needed:,}"))
            yield item.finding("KPI002", reason, _volume_rewrite(item, denominator, needed, median))
            break


def _ratio(cmp: ast.Node) -> tuple[ast.Node, ast.Node] | None:
    """The first division in a comparison's value whose denominator holds sums or counts."""
    for node in lhs(cmp).walk():
        if isinstance(node, ast.BinOp) and node.op == "/":
            aggs = [n for n in node.right.walk() if isinstance(n, ast.Aggregate)]
            if aggs and all(a.func in ("sum", "count") for a in aggs):
                return node, node.right
    return None


def _needed(threshold: float | None) -> int:
    if threshold is not None and 0 < threshold < 1:
        return nice_ceiling((1 - threshold) / (threshold * NOISE_SHARE ** 2))
    return DEFAULT_MIN_VOLUME


def _volume_rewrite(item: Item, denominator: ast.Node, needed: int, median: float) -> str:
    rule = item.rule
    w = rule.window
    grow = math.ceil(needed / median) if median > 0 else math.inf
    unit, count = w.unit, w.count
    if unit in ("quarter", "year"):
        unit, count = "month", count * (3 if unit == "quarter" else 12)
    wider = count * grow
    if grow > 1 and wider <= MAX_COUNT.get(unit, 0):
        return f"{item.name}: {rule_text(rule, window=window_words(unit, int(wider)))}   " \
               f"(a window with enough {expr_text(denominator)})"
    minimum = ast.Number(float(needed), None, f"{needed}")
    if isinstance(denominator, ast.Aggregate):
        guarded = dataclasses.replace(rule, guards=(*rule.guards, ast.Guard(minimum, denominator)))
        return (f"{item.name}: {rule_text(guarded)}   "
                f"(INCONCLUSIVE while the volume is too small to judge)")
    floor = ast.Compare("<", denominator, minimum)
    guard = ast.BoolOp("or", rule.condition, floor)
    return (f"{item.name}: {rule_text(rule, condition=guard, warn=None)}   "
            f"(passes while the volume is too small to judge)")


# -------------------------------------------------------------------------- KPI003

CANDIDATES = (("day", 1), ("week", 1), ("month", 1), ("quarter", 1), ("year", 1))


def window_mismatch(items: list[Item], recent: Recent) -> Iterator[Finding]:
    """KPI003 with data: a count's threshold is far from what its window typically holds
    but close to what another window holds."""
    for item in items:
        found = _count_threshold(item.rule)
        if found is None:
            continue
        agg, threshold, cond = found
        typical = _typical(recent, agg, item.rule, item.rule.window)
        if typical is None or typical <= 0 or 1 / 5 <= threshold / typical <= 5:
            continue
        best = None
        for unit, count in CANDIDATES:
            window = ast.Window(unit, count)
            if (unit, count) == (item.rule.window.unit, item.rule.window.count):
                continue
            other = _typical(recent, agg, item.rule, window, periods=4)
            if other is None or other <= 0:
                continue
            distance = abs(math.log(threshold / other))
            if distance <= math.log(2.5) and (best is None or distance < best[0]):
                best = (distance, window, other)
        if best is None:
            continue
        _distance, window, other = best
        unit = unit_of(cond.right)
        words = window_words(window.unit, window.count)
        from kpirules.i18n import _

        yield item.finding(
            "KPI003",
            _("`{aggregate}` is typically {typical} per {per} but {other} per {other_per}, so a threshold "
              "of {threshold} reads as written for {words} rules").format(
                aggregate=expr_text(agg), typical=_about(typical), per=_per(item.rule.window), other=_about(other),
                other_per=_per(window), threshold=format_value(threshold, unit), words=words),
            f"{item.name}: {rule_text(item.rule, window=words, warn=True)}")


def _typical(recent: Recent, agg: ast.Aggregate, rule: ast.Rule, window: ast.Window,
             periods: int = PERIODS) -> float | None:
    values = recent.values(agg, rule, window, periods)
    medians = [statistics.median(v) for v in values.values() if v]
    return statistics.median(medians) if medians else None

