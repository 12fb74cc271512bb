"""The trend behind an alert, in words and pictures: the direction since the period before,
a text sparkline (Slack, plain-text e-mail) and a PNG chart (HTML e-mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.alert import Alert


def direction(alert: Alert) -> str:
    """``down from 2.84% to 2.24%`` / ``up ...`` / ``unchanged at ...``; empty without two values."""
    from kpirules import i18n
    from kpirules.format import format_value

    values = [v for v, _ in alert.trend if v is not None]
    if len(values) < 2 or alert.trend[-1][0] is None:
        return ""
    before, now = values[-2], values[-1]
    unit = alert.trend_unit
    if now == before:
        return i18n._("unchanged at {value}").format(value=format_value(now, unit))
    text = i18n._("up from {before} to {now}") if now > before else i18n._("down from {before} to {now}")
    return text.format(before=format_value(before, unit, against=now), now=format_value(now, unit, against=before))


def _arrow(before: float, now: float) -> str:
    return "\u2197" if now > before else "\u2198" if now < before else "\u2192"


def trend_line(alert: Alert) -> str:
    """``Trend (6 periods): ▆▇▇▆▅▁ ↘ down from 2.84% to 2.24%``, or empty."""
    from kpirules import i18n
    from kpirules.format import sparkline

    if len(alert.trend) < 2:
        return ""
    moved = direction(alert)
    values = [v for v, _ in alert.trend if v is not None]
    arrow = _arrow(values[-2], values[-1]) if moved else ""
    spark = sparkline([v for v, _ in alert.trend])
    head = i18n.ngettext("Trend ({n} period, oldest first)", "Trend ({n} periods, oldest first)",
                         len(alert.trend)).format(n=len(alert.trend))
    return f"{head}: {spark}" + (f" {arrow} {moved}" if moved else "")


def chart_png(alert: Alert) -> bytes | None:
    from kpirules.notify.png import line_chart

    if len(alert.trend) < 2:
        return None
    return line_chart(list(alert.trend), alert.threshold)


def alt_text(alert: Alert) -> str:
    from kpirules import i18n
    from kpirules.format import format_value

    none = i18n._("no value")
    parts = [f"{format_value(v, alert.trend_unit) if v is not None else none} {s}" for v, s in alert.trend]
    return i18n._("Trend of {rule}, oldest first: {values}").format(rule=alert.rule, values=", ".join(parts))
