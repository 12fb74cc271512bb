"""Numbers and sentences for people: values formatted like their threshold, rules printed
back as text, and the one-line message that ``check`` prints and ``run`` writes into the
``Message`` column ("1.83% misses target >= 2% (32 signups / 1,750 visits, 2026-11-16..22)")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kpirules import ast

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.results import Detail, Period, RuleResult

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


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
        return f"change({expr_text(node.operand)})"
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


_SINGLE = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly", "year": "yearly"}


def window_text(window: ast.Window) -> str:
    if window.count == 1:
        return _SINGLE[window.unit]
    return f"over last {window.count} {window.unit}s"


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
    level = rule.warn if warn is True else (warn or None)
    if level is not None:
        parts.append(f"warn at {expr_text(level)}")
    return " ".join(parts)


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def format_value(value: float | None, unit: str | None = None, *, against: float | None = None) -> str:
    """``value`` the way its threshold was written: a percent for a ``%`` threshold,
    thousands separators for large numbers. With ``against`` (the threshold), enough
    decimals are shown that a value that differs from it never prints the same."""
    if value is None:
        return "n/a"
    for extra in range(0, 5):
        text = _format(value, unit, extra)
        if against is None or value == against or text != _format(against, unit, extra):
            return text
    return text


def format_threshold(value: float | None, unit: str | None = None) -> str:
    """A threshold the way a rule writes it: 0.02 with unit % -> ``2%``, 75000 with unit k
    -> ``75k``, 0.87 -> ``0.87`` (no padding zeros, for when the rule text is not at hand)."""
    if value is None:
        return "n/a"
    scale, suffix = {"%": (100, "%"), "k": (1e-3, "k"), "K": (1e-3, "k"), "M": (1e-6, "M")}.get(unit or "", (1, ""))
    text = f"{value * scale:,.6f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text) + suffix


def _format(value: float, unit: str | None, extra: int) -> str:
    if unit == "%":
        return f"{value * 100:,.{2 + extra}f}%"
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
    start, end = period.start, period.end
    if start == end:
        return start.isoformat()
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.isoformat()}..{end.day:02d}"
    if start.year == end.year:
        return f"{start.isoformat()}..{end.month:02d}-{end.day:02d}"
    return f"{start.isoformat()}..{end.isoformat()}"


def numbers_text(detail: Detail, expr: ast.Node, unit: str | None) -> str:
    """What the value was computed from, and when, in words:
    ``32 signups / 1,750 visits, 2026-11-16..22``."""
    where = period_text(detail.period)
    terms = {t.label: t for t in detail.terms}
    if isinstance(expr, ast.Change) and detail.previous is not None:
        prev = detail.previous
        inner = expr.operand
        inner_unit = "%" if isinstance(inner, ast.BinOp) and inner.op == "/" and unit == "%" else None
        now = _value_of(detail)
        return (f"{expr_text(inner)} {format_value(now, inner_unit)} in {where} vs "
                f"{format_value(prev.value, inner_unit)} in {period_text(prev.period)}")
    if (isinstance(expr, ast.BinOp) and expr.op == "/" and isinstance(expr.left, ast.Aggregate)
            and isinstance(expr.right, ast.Aggregate)):
        left, right = terms.get(_label(expr.left)), terms.get(_label(expr.right))
        if left and right:
            return f"{format_value(left.value)} {left.label} / {format_value(right.value)} {right.label}, {where}"
    if isinstance(expr, ast.Aggregate):
        return f"{_rows_text(detail)}, {where}"
    parts = ", ".join(f"{t.label} {format_value(t.value)}" for t in detail.terms)
    return f"{parts}, {where}" if parts else where


def _label(agg: ast.Aggregate) -> str:
    return expr_text(agg)


def _rows_text(detail: Detail) -> str:
    days = f"{detail.days} day{'s' if detail.days != 1 else ''}"
    if detail.rows == detail.days:
        return days
    return f"{detail.rows} rows on {days}"


def _value_of(detail: Detail) -> float | None:
    # The current value of change()'s operand: the detail holds the change itself.
    if detail.previous is None or detail.value is None or detail.previous.value is None:
        return None
    return detail.previous.value * (1 + detail.value)


_VERB = {"PASS": "meets", "WARN": "meets", "FAIL": "misses"}


def result_message(result: RuleResult, rule: ast.Rule, *, reason: str | None = None,
                   parts: list[tuple[ast.Node, float | None, bool | None]] = ()) -> str:
    """The plain-language sentence for one result (the ``Message`` column).

    ``reason`` says why a value is missing (NO_DATA); ``parts`` are the comparisons inside
    an and/or/not condition with their values and outcomes."""
    status = result.status.value
    if status == "ERROR":
        return result.error.one_line() if result.error else "the rule could not be evaluated"
    where = period_text(result.period)
    cond = rule.condition
    if status == "NO_DATA":
        # A late-data reason (``incomplete``) is the one to say, whatever the value's own.
        if not result.incomplete and result.detail and result.detail.reason:
            reason = result.detail.reason
        return f"no data for {where}: {reason}" if reason else f"no data for {where}"
    if isinstance(cond, (ast.Compare, ast.Between)) and result.detail is not None:
        expr = cond.left if isinstance(cond, ast.Compare) else cond.operand
        unit = result.unit
        value = format_value(result.value, unit, against=result.threshold)
        if isinstance(cond, ast.Compare):
            target = f"target {cond.op} {expr_text(cond.right)}"
        else:
            target = f"target between {expr_text(cond.low)} and {expr_text(cond.high)}"
        text = f"{value} {_VERB[status]} {target}"
        if status == "WARN" and rule.warn is not None:
            text += f" but not the warn level {expr_text(rule.warn)}"
        return f"{text} ({numbers_text(result.detail, expr, unit)})"
    shown = "; ".join(_part_text(node, value, ok) for node, value, ok in parts)
    return f"{'holds' if status == 'PASS' else 'does not hold'}: {shown or expr_text(cond)} ({where})"


def _part_text(node: ast.Node, value: float | None, ok: bool | None) -> str:
    if isinstance(node, ast.Compare):
        unit = node.right.unit if isinstance(node.right, ast.Number) else None
        if isinstance(node.left, ast.Change) and unit is None:
            unit = "%"  # a change is a ratio: +3.2% reads better than 0.032
        shown = signed(value, unit) if isinstance(node.left, ast.Change) else format_value(value, unit)
        return f"{expr_text(node.left)} = {shown} ({node.op} {expr_text(node.right)}: {'yes' if ok else 'no'})"
    return f"{expr_text(node)}: {'yes' if ok else 'no'}"
