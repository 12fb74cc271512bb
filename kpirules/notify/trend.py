"""The trend behind an alert, in words and pictures: the direction since the period before,
a text sparkline (Slack, plain-text e-mail) and a PNG chart (HTML e-mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.alert import Alert


def direction(alert: Alert) -> str:
    """``down from 2.84% to 2.24%`` / ``up ...`` / ``unchanged at ...``; empty without two values."""
    from kpirules.format import format_value

    values = [v for v, _ in alert.trend if v is not None]
    if len(values) < 2 or alert.trend[-1][0] is None:
        return ""
    before, now = values[-2], values[-1]
    unit = alert.trend_unit
    if now == before:
        return f"unchanged at {format_value(now, unit)}"
    word = "up" if now > before else "down"
    return f"{word} from {format_value(before, unit, against=now)} to {format_value(now, unit, against=before)}"


ARROWS = {"up": "\u2197", "down": "\u2198", "unchanged": "\u2192"}


def trend_line(alert: Alert) -> str:
    """``Trend (6 periods): ▆▇▇▆▅▁ ↘ down from 2.84% to 2.24%``, or empty."""
    from kpirules.explain import sparkline

    if len(alert.trend) < 2:
        return ""
    moved = direction(alert)
    arrow = ARROWS.get(moved.split(" ", 1)[0], "") if moved else ""
    spark = sparkline([v for v, _ in alert.trend])
    return f"Trend ({len(alert.trend)} periods, oldest first): {spark}" + (f" {arrow} {moved}" if moved else "")


def chart_png(alert: Alert) -> bytes | None:
    from kpirules.notify.png import line_chart

    if len(alert.trend) < 2:
        return None
    return line_chart(list(alert.trend), alert.threshold)


def alt_text(alert: Alert) -> str:
    from kpirules.format import format_value

    parts = [f"{format_value(v, alert.trend_unit) if v is not None else 'no value'} {s}" for v, s in alert.trend]
    return f"Trend of {alert.rule}, oldest first: " + ", ".join(parts)
