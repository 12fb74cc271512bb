"""Numbers and sentences for people: values formatted like their threshold, rules printed
back as text, and the one-line message that ``check`` prints and ``run`` writes into the
``Message`` column ("1.83% misses target >= 2% (32 signups / 1,750 visits, 2026-11-16..22)")."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from kpirules import ast, i18n
from kpirules.i18n import N_, _, ngettext, number_text

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    from kpirules.results import Detail, Period, RuleResult

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 rule``, ``2 rules``, ``1,234 rules``; ``words`` for an irregular plural. Every
    count in a message goes through here, so none reads "1 days"."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


@ast.node_cache
def expr_text(node: ast.Node) -> str:
    """The AST printed back as rule text (canonical spacing, minimal parentheses)."""
    if isinstance(node, ast.Number):
        return node.text or _plain(node.value)
    if isinstance(node, ast.Column):
        return column_text(node)
    if isinstance(node, ast.Aggregate):
        name = expr_text(node.column)
        return name if node.implicit else f"{node.func}({name})"
    if isinstance(node, ast.BinOp):
        prec = _PRECEDENCE[node.op]
        left, right = expr_text(node.left), expr_text(node.right)
        if isinstance(node.left, ast.BinOp) and _PRECEDENCE[node.left.op] < prec:
            left = f"({left})"
        if isinstance(node.right, ast.BinOp) and _PRECEDENCE[node.right.op] <= prec:
            right = f"({right})"
        return f"{left} {node.op} {right}"
    if isinstance(node, ast.Neg):
        inner = expr_text(node.operand)
        return f"-({inner})" if isinstance(node.operand, ast.BinOp) else f"-{inner}"
    if isinstance(node, ast.Change):
        return f"{node.func}({expr_text(node.operand)})"
    if isinstance(node, ast.Pace):
        return f"pace({expr_text(node.operand)})"
    if isinstance(node, ast.Compare):
        return f"{expr_text(node.left)} {node.op} {expr_text(node.right)}"
    if isinstance(node, ast.Between):
        return f"{expr_text(node.operand)} between {expr_text(node.low)} and {expr_text(node.high)}"
    if isinstance(node, ast.Not):
        return f"not ({expr_text(node.operand)})"
    if isinstance(node, ast.BoolOp):
        parts = []
        for side in (node.left, node.right):
            text = expr_text(side)
            if isinstance(side, ast.BoolOp) and side.op != node.op:
                text = f"({text})"
            parts.append(text)
        return f" {node.op} ".join(parts)
    return str(node)


_PLAIN_NAME = re.compile(r"^[^\W\d]\w*$")


def column_text(column: ast.Column) -> str:
    """A column as the user wrote it, in backticks when it would not read back as a plain
    name (spaces, a reserved word like `by`), so printed rules parse again."""
    text = column.text or column.name
    if _PLAIN_NAME.match(text) and text.lower() not in ast.RESERVED_WORDS:
        return text
    return f"`{text}`"


def _string(value: str) -> str:
    return f'"{value}"' if '"' not in value else f"'{value}'"


def filter_text(flt: ast.Filter) -> str:
    col = column_text(flt.column)
    if flt.op == "in":
        return f"{col} in ({', '.join(_string(v) for v in flt.values)})"
    return f"{col} {flt.op} {_string(flt.values[0])}"


def window_text(window: ast.Window) -> str:
    from kpirules.periods import kind

    if window.count == 1 or window.to_date:
        return kind(window).word
    return f"over last {window.count} {window.unit}s"


def baseline_text(baseline: ast.Baseline) -> str:
    """``vs previous``, ``vs last year``, ``vs average of last 4``."""
    if baseline.kind == "average":
        return f"vs average of last {baseline.count}"
    return "vs last year" if baseline.kind == "last_year" else "vs previous"


# The baseline in words for each window unit, written out rather than composed, so that a
# language can decline the unit its own way (Polish: poprzedni tydzień, ten sam miesiąc rok
# wcześniej, średnia z ostatnich 4 tygodni, te same dni poprzedniego miesiąca).
_UNITS = ("day", "week", "month", "quarter", "year")
_PREVIOUS = dict(zip(_UNITS, (N_("the previous day"), N_("the previous week"), N_("the previous month"),
                              N_("the previous quarter"), N_("the previous year"))))
_LAST_YEAR = dict(zip(_UNITS, (N_("the same day last year"), N_("the same week last year"),
                               N_("the same month last year"), N_("the same quarter last year"),
                               N_("the same year last year"))))
_AVERAGE = dict(zip(_UNITS, (N_("the average of the last {n} days"), N_("the average of the last {n} weeks"),
                             N_("the average of the last {n} months"), N_("the average of the last {n} quarters"),
                             N_("the average of the last {n} years"))))
_SAME_DAYS_LAST_YEAR = N_("the same days last year")
_SAME_DAYS_PREVIOUS = dict(zip(_UNITS[1:], (N_("the same days of the previous week"),
                                            N_("the same days of the previous month"),
                                            N_("the same days of the previous quarter"),
                                            N_("the same days of the previous year"))))
_SAME_DAYS_AVERAGE = dict(zip(_UNITS[1:], (N_("the average of the same days of the last {n} weeks"),
                                           N_("the average of the same days of the last {n} months"),
                                           N_("the average of the same days of the last {n} quarters"),
                                           N_("the average of the same days of the last {n} years"))))


def _is_last_year(words: str) -> bool:
    """Whether ``words`` (baseline_words's, in the current language) name last year."""
    return "last year" in words or words in {_(m) for m in (*_LAST_YEAR.values(), _SAME_DAYS_LAST_YEAR)}


def baseline_words(baseline: ast.Baseline, window: ast.Window) -> str:
    """The baseline in a sentence: "the previous week", "the same month last year", "the
    average of the last 4 weeks"."""
    from kpirules.periods import describe

    n = baseline.count
    if window.to_date:  # the same days of earlier weeks, months...
        if baseline.kind == "last_year":
            return _(_SAME_DAYS_LAST_YEAR)
        table = _SAME_DAYS_AVERAGE if baseline.kind == "average" and n > 1 else _SAME_DAYS_PREVIOUS
        if window.unit in table:
            return _(table[window.unit]).format(n=n)
    elif window.count == 1 and window.unit in _PREVIOUS:
        if baseline.kind == "average" and n > 1:
            return _(_AVERAGE[window.unit]).format(n=n)
        return _((_LAST_YEAR if baseline.kind == "last_year" else _PREVIOUS)[window.unit])
    unit = describe(window)  # a window of several units ("28 days"): English, as the rule says it
    if window.to_date:
        if baseline.kind == "average" and n > 1:
            return f"the average of the same days of the last {n} {window.unit}s"
        return f"the same days of the previous {window.unit}"
    if baseline.kind == "average":
        return f"the average of the last {n} {unit}" if n > 1 else f"the previous {unit}"
    if baseline.kind == "last_year":
        return f"the same {unit} last year"
    return f"the previous {unit}"


def guards_text(guards: tuple[ast.Guard, ...]) -> str:
    return "with at least " + " and ".join(
        f"{expr_text(g.minimum)} {expr_text(g.value)}" for g in guards)


def rule_text(rule: ast.Rule, *, condition: ast.Node | None = None, window: str | None = None,
              warn: ast.Node | None | bool = True) -> str:
    """``rule`` printed back as rule text that parses to the same rule, optionally with its
    condition, window or warn level replaced (lint's rewrites). ``warn=True`` keeps the
    rule's own warn level; ``None``/``False`` drops it."""
    parts = [expr_text(condition if condition is not None else rule.condition),
             window or rule.window.text or window_text(rule.window)]
    if rule.segments:
        parts.append("by " + ", ".join(column_text(c) for c in rule.segments))
    if rule.filters:
        parts.append("where " + " and ".join(filter_text(f) for f in rule.filters))
    # A replaced condition keeps the clauses that still make sense for it (lint's
    # rewrites): the baseline only with change/delta, the confidence only for a share.
    cond = condition if condition is not None else rule.condition
    if rule.baseline is not None and any(isinstance(n, ast.Change) for n in cond.walk()):
        parts.append(baseline_text(rule.baseline))
    if rule.guards:
        parts.append(guards_text(rule.guards))
    if rule.confidence is not None and _is_share_test(cond):
        parts.append(f"with {expr_text(rule.confidence)} confidence")
    level = rule.warn if warn is True else (warn or None)
    if level is not None:
        parts.append(f"warn at {expr_text(level)}")
    return " ".join(parts)


def _is_share_test(cond: ast.Node) -> bool:
    return (isinstance(cond, ast.Compare) and cond.op in (">=", ">", "<=", "<")
            and isinstance(cond.left, ast.BinOp) and cond.left.op == "/"
            and all(isinstance(s, ast.Aggregate) and s.func == "sum"
                    for s in (cond.left.left, cond.left.right)))


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def format_value(value: float | None, unit: str | None = None, *, against: float | None = None) -> str:
    """``value`` the way its threshold was written: a percent for a ``%`` threshold,
    thousands separators for large numbers. With ``against`` (the threshold), enough
    decimals are shown that a value that differs from it never prints the same."""
    if value is None:
        return _("n/a")
    text = _format_once(value, unit)
    if against is not None and value != against:
        extra = 0
        while extra < 4 and text == (_format(against, unit, extra) if extra else _format_once(against, unit)):
            extra += 1
            text = _format(value, unit, extra)
    return number_text(text)


_TEXTS: dict[tuple[float, str | None], str] = {}


def _format_once(value: float, unit: str | None) -> str:
    """``_format(value, unit, 0)``, remembered: a check's messages say the same totals and
    thresholds over and over (a column's weekly sum in every rule that reads it)."""
    key = (value, unit)
    text = _TEXTS.get(key)
    if text is None:
        text = _format(value, unit, 0)
        # Not 0 (-0.0 equals 0.0 as a key but prints "-0") nor NaN (never equal to a key).
        if value and value == value:
            if len(_TEXTS) > 100_000:  # a long-lived process: start over, never grow
                _TEXTS.clear()
            _TEXTS[key] = text
    return text


def format_threshold(value: float | None, unit: str | None = None) -> str:
    """A threshold the way a rule writes it: 0.02 with unit % -> ``2%``, 75000 with unit k
    -> ``75k``, 0.87 -> ``0.87`` (no padding zeros, for when the rule text is not at hand)."""
    if value is None:
        return "n/a"
    scale, suffix = {"%": (100, "%"), "pp": (100, "pp"), "k": (1e-3, "k"), "K": (1e-3, "k"),
                     "M": (1e-6, "M")}.get(unit or "", (1, ""))
    text = f"{value * scale:,.6f}".rstrip("0").rstrip(".")
    return number_text(("0" if text in ("-0", "") else text) + suffix)


def _format(value: float, unit: str | None, extra: int) -> str:
    if abs(value) * (100 if unit in ("%", "pp") else 1) >= 1e15:
        # Past 2**53 a float's digits are noise: 2e+200, not 200 digits of thousands groups.
        return f"{value * (100 if unit in ('%', 'pp') else 1):.{6 + extra}g}{unit if unit in ('%', 'pp') else ''}"
    if unit in ("%", "pp"):
        return f"{value * 100:,.{2 + extra}f}{unit}"
    if float(value).is_integer() and extra == 0:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.{2 + extra}f}"
    return f"{value:,.{4 + extra}g}" if extra else f"{value:,.4g}"


def signed(value: float | None, unit: str | None) -> str:
    text = format_value(value, unit)
    return text if value is None or value < 0 else "+" + text


def period_text(period: Period | None) -> str:
    """2026-11-16..22, 2026-10-29..11-25, or a single date."""
    if period is None:
        return ""
    # Every result of a rule (and most rules) share a few periods: each is written once
    # per language. Keyed by the dates, which hash cheaply (a Period hashes field by field).
    key = (period.start, period.end, i18n.language())
    text = _PERIOD_TEXTS.get(key)
    if text is None:
        if len(_PERIOD_TEXTS) > 10_000:  # a long-lived process: start over, never grow
            _PERIOD_TEXTS.clear()
        text = _PERIOD_TEXTS[key] = _period_text(period.start, period.end)
    return text


_PERIOD_TEXTS: dict[tuple[object, object, str], str] = {}


def _period_text(start: dt.date, end: dt.date) -> str:
    if i18n.language() != "en":
        return i18n.period_text(start, end)
    if start == end:
        return start.isoformat()
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.isoformat()}..{end.day:02d}"
    if start.year == end.year:
        return f"{start.isoformat()}..{end.month:02d}-{end.day:02d}"
    return f"{start.isoformat()}..{end.isoformat()}"


def numbers_text(detail: Detail, expr: ast.Node, unit: str | None) -> str:
    """What the value was computed from, and when, in words:
    ``32 signups / 1,750 visits, 2026-11-16..22``. (The engine says the same from the values
    it has, without a Detail: ``kpirules.evaluation.Context.numbers``; both go through the
    sentences below.)"""
    where = period_text(detail.period)
    if isinstance(expr, ast.Change) and detail.previous is not None:
        prev = detail.previous
        return change_numbers(expr, unit, detail.current, where, prev.value,
                              period_text(prev.period) or prev.baseline, detail.baseline)
    if is_ratio(expr):
        ratio = cast(ast.BinOp, expr)
        terms = {t.label: t for t in detail.terms}
        left, right = terms.get(expr_text(ratio.left)), terms.get(expr_text(ratio.right))
        if left and right:
            return ratio_numbers(left.value, left.label, right.value, right.label, where)
    if isinstance(expr, ast.Aggregate):
        return f"{rows_text(detail.rows, detail.days)}, {where}"
    return terms_numbers([(t.label, t.value) for t in detail.terms], where)


def is_ratio(expr: ast.Node) -> bool:
    """``sum(a) / sum(b)``: said as ``32 signups / 1,750 visits``."""
    return (isinstance(expr, ast.BinOp) and expr.op == "/" and isinstance(expr.left, ast.Aggregate)
            and isinstance(expr.right, ast.Aggregate))


def change_numbers(expr: ast.Change, unit: str | None, current: float | None, where: str,
                   previous: float | None, previous_where: str | None, baseline: str | None) -> str:
    """``revenue 8,839.02 in 2026-11-16..22 vs 7,378.48 in 2026-11-09..15``."""
    inner = expr.operand
    inner_unit = "%" if unit == "%" and isinstance(inner, ast.BinOp) and inner.op == "/" else None
    text = _("{expr} {now} in {period} vs {previous} in {previous_period}").format(
        expr=expr_text(inner), now=format_value(current, inner_unit), period=where,
        previous=format_value(previous, inner_unit), previous_period=previous_where or _("the baseline"))
    if baseline and _is_last_year(baseline):
        text += f", {baseline}"
    return text


def ratio_numbers(left: float | None, left_label: str, right: float | None, right_label: str,
                  where: str) -> str:
    return f"{format_value(left)} {left_label} / {format_value(right)} {right_label}, {where}"


def terms_numbers(terms: Sequence[tuple[str, float | None]], where: str) -> str:
    """``visits 62,400, signups 1,399, 2026-11-16..22``."""
    parts = ", ".join(f"{label} {format_value(value)}" for label, value in terms)
    return f"{parts}, {where}" if parts else where


def rows_text(rows: int, days: int, *, always_rows: bool = False) -> str:
    """``1,056 rows on 7 days``, or ``7 days`` when there is one row a day (unless
    ``always_rows``: explain's "counted" line)."""
    key = (rows, days, always_rows, i18n.language())  # a few pairs, said by every rule of a sum
    text = _ROWS_TEXTS.get(key)
    if text is None:
        if len(_ROWS_TEXTS) > 10_000:  # a long-lived process: start over, never grow
            _ROWS_TEXTS.clear()
        text = _ROWS_TEXTS[key] = _rows_text(rows, days, always_rows)
    return text


_ROWS_TEXTS: dict[tuple[int, int, bool, str], str] = {}


def _rows_text(rows: int, days: int, always_rows: bool) -> str:
    text = ngettext("{n} day", "{n} days", days).format(n=number_text(f"{days:,}"))
    if rows == days and not always_rows:
        return text
    return ngettext("{n} row on {days}", "{n} rows on {days}", rows).format(n=number_text(f"{rows:,}"), days=text)


def _judged(status: str, value: str, target: str) -> str:
    """``2.24% meets target >= 2%`` (misses, cannot judge) in the current language."""
    text = {"FAIL": _("{value} misses target {target}"), "INCONCLUSIVE": _("{value} cannot judge target {target}")
            }.get(status) or _("{value} meets target {target}")
    return text.format(value=value, target=target)


def result_message(result: RuleResult, rule: ast.Rule, *, reason: str | None = None,
                   parts: Sequence[tuple[ast.Node, float | None, bool | None]] = (),
                   numbers: Callable[[ast.Node, str | None], str | None] | None = None) -> str:
    """The plain-language sentence for one result (the ``Message`` column).

    ``reason`` says why a value is missing (NO_DATA); ``parts`` are the comparisons inside
    an and/or/not condition with their values and outcomes; ``numbers(expr, unit)`` what
    the value came from, as ``numbers_text`` of the result's detail says it (when it gives
    None, or is not given, the detail is asked: the engine says most without building it)."""
    status = result.status  # a str: compared with and looked up by "PASS"..., as its value
    if status == "ERROR":
        return result.error.one_line() if result.error else _("the rule could not be evaluated")
    where = period_text(result.period)
    cond = rule.condition
    if status == "NO_DATA":
        if reason:
            return _("no data for {period}: {reason}").format(period=where, reason=reason)
        return _("no data for {period}").format(period=where)
    unmet = next((g for g in result.guards if not g.met), None) if result.guards else None
    if status == "INCONCLUSIVE" and unmet is not None:
        from kpirules import sentences  # imports this module: asked only where needed

        return f"{sentences.guard_text(unmet, result.period)} ({where})"
    if isinstance(cond, (ast.Compare, ast.Between)):
        expr = cond.left if isinstance(cond, ast.Compare) else cond.operand
        unit = result.unit
        value = format_value(result.value, unit, against=result.threshold)
        if isinstance(cond, ast.Compare):
            target = f"{cond.op} {expr_text(cond.right)}"
        else:
            target = _("between {low} and {high}").format(low=expr_text(cond.low), high=expr_text(cond.high))
        warn = (" " + _("but not the warn level {warn}").format(warn=expr_text(rule.warn))
                if status == "WARN" and rule.warn is not None else "")
        if isinstance(cond, ast.Compare) and result.interval is not None:
            from kpirules import sentences

            judged = (_("{value} ({interval}) is too uncertain to judge against {target}") if status == "INCONCLUSIVE"
                      else _("{value} ({interval}) misses {target}") if status == "FAIL"
                      else _("{value} ({interval}) meets {target}"))
            return (judged.format(value=value, interval=sentences.interval_text(result),
                                  target=f"{cond.op} {expr_text(cond.right)}")
                    + f"{warn} ({_numbers(result, expr, unit, numbers)})")
        if isinstance(cond, ast.Compare) and isinstance(expr, ast.Pace):
            from kpirules import sentences

            return f"{sentences.pace_text(cast('Detail', result.detail), cond, unit)}{warn} ({where})"
        if (isinstance(expr, ast.Change) and rule.compared_with.kind == "average"  # vs average of last N
                and result.detail is not None and result.detail.baselines):
            from kpirules import sentences

            change = sentences.baseline_text(result.detail, expr, unit)
            return (f"{_judged(status, change, target)}{warn} "
                    f"({sentences.current_text(result.detail, expr, unit)})")
        if status == "WARN" and rule.warn is not None:
            text = _("{value} meets target {target} but not the warn level {warn}").format(
                value=value, target=target, warn=expr_text(rule.warn))
        else:
            text = _judged(status, value, target)
        return f"{text} ({_numbers(result, expr, unit, numbers)})"
    shown = "; ".join(_part_text(node, value, ok) for node, value, ok in parts)
    verdict = _("holds") if status == "PASS" else _("does not hold")
    return f"{verdict}: {shown or expr_text(cond)} ({where})"


def _numbers(result: RuleResult, expr: ast.Node, unit: str | None,
             numbers: Callable[[ast.Node, str | None], str | None] | None) -> str:
    text = numbers(expr, unit) if numbers is not None else None
    return text if text is not None else numbers_text(cast("Detail", result.detail), expr, unit)


def _part_text(node: ast.Node, value: float | None, ok: bool | None) -> str:
    if isinstance(node, ast.Compare):
        unit = node.right.unit if isinstance(node.right, ast.Number) else None
        if isinstance(node.left, ast.Change) and unit is None:
            unit = "%"  # a change is a ratio: +3.2% reads better than 0.032
        shown = signed(value, unit) if isinstance(node.left, ast.Change) else format_value(value, unit)
        return f"{expr_text(node.left)} = {shown} ({node.op} {expr_text(node.right)}: {_('yes') if ok else _('no')})"
    return f"{expr_text(node)}: {_('yes') if ok else _('no')}"


BARS = "▁▂▃▄▅▆▇█"


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
