"""The one-line arithmetic of the constructs of the language's second part, for messages
and explain: "on pace for 287k of 300k: 143.5k in 15 of 30 days", "2.6% (95% interval
2.1%-3.2%) meets >= 2%", "too few visits to judge: 312 of the 1,000 needed", "-0.40pp vs
the average of the last 4 weeks (2.71%)"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpirules import ast
from kpirules.format import expr_text, format_threshold, format_value, period_text, signed
from kpirules.i18n import _, number_text

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.results import Detail, GuardCheck, RuleResult


def compact(value: float | None, unit: str | None) -> str:
    """A total the way its target is written: 287,340 against `300k` -> ``287.3k``."""
    if value is None:
        return _("n/a")
    if unit in ("k", "M"):
        scale = 1e3 if unit == "k" else 1e6
        return number_text(f"{value / scale:,.1f}".rstrip("0").rstrip(".")) + unit
    return number_text(f"{value:,.0f}") if abs(value) >= 100 else format_value(value)


def guard_text(check: GuardCheck, evaluated: object) -> str:
    """``too few visits to judge: 312 of the 1,000 needed`` (and where, when it was a
    baseline period that had too few)."""
    have = _("none") if check.value is None else format_value(check.value)
    text = _("too few {label} to judge: {have} of the {minimum} needed").format(
        label=check.label, have=have, minimum=format_value(check.minimum))
    if check.period is not None and check.period != evaluated:
        text += " " + _("in {period}").format(period=period_text(check.period))
    return text


def interval_text(result: RuleResult) -> str:
    """``95% interval 2.1%-3.2%``: a share's interval, in percent with one decimal."""
    lo, hi = result.interval or (None, None)
    level = format_threshold(result.confidence, "%") if result.confidence else "?"
    return _("{level} interval {low}-{high}").format(level=level, low=_percent(lo), high=_percent(hi))


def _percent(value: float | None) -> str:
    return _("n/a") if value is None else number_text(f"{value * 100:.1f}%")


def pace_text(detail: Detail, cond: ast.Compare, unit: str | None) -> str:
    """``on pace for 287k of 300k: 143.5k in 15 of 30 days``."""
    d, total = detail.pace or (0, 0)
    projected = detail.value
    so_far = projected * d / total if projected is not None and total else None
    return _("on pace for {projected} of {target}: {so_far} in {days} of {total} days").format(
        projected=compact(projected, unit), target=expr_text(cond.right), so_far=compact(so_far, unit), days=d,
        total=total)


def baseline_text(detail: Detail, change: ast.Change, unit: str | None) -> str:
    """``-0.40pp vs the average of the last 4 weeks (2.71%)``."""
    inner = change.operand
    ratio = isinstance(inner, ast.BinOp) and inner.op == "/"
    inner_unit = "%" if ratio and unit in ("%", "pp", None) else None
    if change.func == "change":
        shown = signed(detail.value, unit or "%")
    else:
        shown = signed(detail.value, unit or ("pp" if ratio else None))
    base = detail.previous.value if detail.previous is not None else None
    return _("{change} vs {baseline} ({value})").format(
        change=shown, baseline=detail.baseline or _("the baseline"), value=format_value(base, inner_unit))


def current_text(detail: Detail, change: ast.Change, unit: str | None) -> str:
    """``signups / visits 2.31% in 2026-11-16..22``: the operand now."""
    inner = change.operand
    ratio = isinstance(inner, ast.BinOp) and inner.op == "/"
    inner_unit = "%" if ratio and unit in ("%", "pp", None) else None
    return _("{expression} {value} in {period}").format(
        expression=expr_text(inner), value=format_value(detail.current, inner_unit), period=period_text(detail.period))
