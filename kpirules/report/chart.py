"""Trend charts as inline SVG: one point per period, its status shown by colour AND shape
(and named in its ``<title>``), the target and warn levels as lines over tinted bands.

Every chart of one rule shares the rule's value scale, so small multiples of segments can be
compared by eye. Points carry ``data-period``/``data-status``/``data-value`` so that a test
(or a script) can read the chart back.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from kpirules import i18n
from kpirules.report import svg
from kpirules.report.model import AlertRow, Point, RuleView, Series

# Status -> (colour, shape, word). Colour-blind people and printers in black and white
# still tell statuses apart by shape; the word is in every title and legend.
MARKS: dict[str, tuple[str, str, str]] = {
    "PASS": ("#2E7D32", "circle", i18n.N_("pass")),
    "WARN": ("#B26A00", "triangle", i18n.N_("warn")),
    "FAIL": ("#C62828", "square", i18n.N_("fail")),
    "INCONCLUSIVE": ("#5E35B1", "diamond", i18n.N_("inconclusive")),
    "NO_DATA": ("#616161", "ring", i18n.N_("no data")),
    "ERROR": ("#212121", "cross", i18n.N_("error")),
}
BAND_FAIL, BAND_WARN, BAND_PASS = "#FBE3E1", "#FFF1CC", "#E8F3E8"


def marker(status: str, x: float, y: float, r: float = 5.0) -> str:
    colour, shape, _ = MARKS.get(status, MARKS["NO_DATA"])
    common = {"fill": colour, "stroke": "#FFFFFF", "stroke_width": 1.2}
    if shape == "circle":
        return svg.el("circle", cx=x, cy=y, r=r, **common)
    if shape == "ring":
        return svg.el("circle", cx=x, cy=y, r=r - 0.8, fill="#FFFFFF", stroke=colour, stroke_width=2.2)
    if shape == "square":
        return svg.el("rect", x=x - r, y=y - r, width=2 * r, height=2 * r, **common)
    if shape == "triangle":
        h = r * 1.25
        return svg.el("polygon", points=svg.points([(x, y - h), (x + h, y + h * 0.8), (x - h, y + h * 0.8)]),
                      **common)
    if shape == "diamond":
        h = r * 1.3
        return svg.el("polygon", points=svg.points([(x, y - h), (x + h, y), (x, y + h), (x - h, y)]), **common)
    return svg.el("path", d=f"M{svg.num(x - r)} {svg.num(y - r)}L{svg.num(x + r)} {svg.num(y + r)}"
                             f"M{svg.num(x + r)} {svg.num(y - r)}L{svg.num(x - r)} {svg.num(y + r)}",
                  stroke=colour, stroke_width=2.5)


def status_word(status: str) -> str:
    return MARKS.get(status, ("", "", status.lower()))[2]


DRAWABLE = 1e300  # beyond any KPI; far enough from the float limit for the scale's arithmetic


@dataclass(frozen=True)
class Scale:
    low: float
    high: float

    @classmethod
    def of(cls, view: RuleView) -> Scale:
        values = [p.value for s in view.series for p in s.points if p.value is not None]
        values += [v for v in (view.threshold, view.warn, view.low, view.high) if v is not None]
        # History is a tab anyone can edit: a value near the float limit (1e308) would overflow
        # the span and the ticks. Such a value is drawn at the edge (``clamp``), its title exact.
        values = [max(-DRAWABLE, min(DRAWABLE, v)) for v in values]
        if not values:
            return cls(0.0, 1.0)
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
        low = 0.0 if low >= 0 and low - pad < 0 else low - pad
        step = nice_step((high + pad - low) / 4)
        # Round the ends out to whole steps, so that the ticks are round numbers.
        return cls(math.floor(low / step) * step, math.ceil((high + pad) / step) * step)

    def clamp(self, value: float) -> float:
        return max(self.low, min(self.high, value))

    def ticks(self, count: int) -> list[float]:
        """Round values between ``low`` and ``high``, about ``count`` of them."""
        step = nice_step((self.high - self.low) / max(1, count - 1))
        first = math.ceil(self.low / step - 1e-9)
        out = []
        k = first
        while k * step <= self.high + step * 1e-9:
            out.append(round(k * step, 12))
            k += 1
        return out


def nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))  # a float: an int power of ten can outgrow a float
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)


def period_label(point: Point) -> str:
    start = point.period.start
    if i18n.language() == "pl":
        return f"{start:%m.%Y}" if point.period.days >= 28 else f"{start:%d.%m}"
    return f"{start:%Y-%m}" if point.period.days >= 28 else f"{start:%m-%d}"


def point_title(view: RuleView, series: Series, point: Point) -> str:
    from kpirules.format import format_value, period_text

    value = i18n._("no value") if point.value is None else format_value(point.value, view.unit,
                                                                         against=point.threshold)
    who = f"{view.name} [{series.label}]" if series.label else view.name
    text = f"{who}, {period_text(point.period)}: {point.status} ({i18n._(status_word(point.status))}), {value}"
    if point.threshold is not None:
        text += "; " + i18n._("threshold {value}").format(value=format_value(point.threshold, view.unit))
    if not point.recorded:
        text += "; " + i18n._("evaluated for this report, not in History")
    return text


def trend(view: RuleView, series: Series, scale: Scale, *, chart_id: str, small: bool = False) -> str:
    """One series as an SVG line chart over its periods."""
    from kpirules.format import format_threshold, format_value

    width, height = (310, 140) if small else (700, 220)
    left, right, top, bottom = (52, 22, 8, 22) if small else (62, 132, 12, 26)
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(series.points))

    def y(v: float) -> float:
        span = scale.high - scale.low or 1.0
        return top + plot_h * (1 - (scale.clamp(v) - scale.low) / span)

    def x(i: int) -> float:
        return left + (i + 0.5) * plot_w / n

    parts = [_bands(view, y, left, plot_w, top, plot_h)]
    for tick in scale.ticks(3 if small else 5):
        parts.append(svg.el("line", x1=left, x2=left + plot_w, y1=y(tick), y2=y(tick), stroke="#D0D0D0",
                            stroke_width=0.6))
        parts.append(svg.el("text", svg.text(format_threshold(tick, view.unit)), x=left - 6, y=y(tick) + 3.5,
                            text_anchor="end", class_="tick"))
    parts.append(_levels(view, y, left, plot_w, small))
    # The line breaks where a period has no value rather than bridging the gap.
    run: list[tuple[float, float]] = []
    for i, p in enumerate(series.points + [Point(series.points[0].period, "", None)] if series.points else []):
        if p.value is None:
            if len(run) > 1:
                parts.append(svg.el("polyline", points=svg.points(run), fill="none", stroke="#455A64",
                                    stroke_width=1.6 if small else 2))
            run = []
        else:
            run.append((x(i), y(p.value)))
    every = max(1, -(-n // (3 if small else 7)))
    for i, p in enumerate(series.points):
        cy = y(p.value) if p.value is not None else top + plot_h - 6
        title = point_title(view, series, p)
        shape = marker(p.status, x(i), cy, 4.2 if small else 5.5)
        if not p.recorded:  # evaluated now: a dashed halo says "not recorded"
            shape = svg.el("circle", cx=x(i), cy=cy, r=9 if not small else 7, fill="none", stroke="#888888",
                           stroke_dasharray="2 2") + shape
        parts.append(svg.el("g", svg.title(title), shape, class_="point", data_period=str(p.period),
                            data_status=p.status, data_value=None if p.value is None else repr(p.value),
                            data_recorded="yes" if p.recorded else "no"))
        if (n - 1 - i) % every == 0:
            parts.append(svg.el("text", svg.text(period_label(p)), x=x(i), y=height - 8, text_anchor="middle",
                                class_="tick"))
    last = series.last
    if last is not None and not small:
        value = i18n._("no value") if last.value is None else format_value(last.value, view.unit,
                                                                             against=last.threshold)
        ly = y(last.value) if last.value is not None else top + plot_h - 6
        parts.append(svg.el("text", svg.text(f"{value} {last.status}"), x=x(n - 1) + 10, y=ly + 4,
                            class_="last"))
    name = f"{view.name} [{series.label}]" if series.label else view.name
    desc = "; ".join(f"{p.period}: {p.status} {'' if p.value is None else format_value(p.value, view.unit)}".strip()
                     for p in series.points)
    label = i18n.ngettext("Trend of {name} over {n} period, oldest first",
                          "Trend of {name} over {n} periods, oldest first", len(series.points)).format(
        name=name, n=len(series.points))
    return svg.el("svg", svg.title(label), svg.el("desc", svg.text(desc)), *parts,
                  xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width} {height}", width=width,
                  height=height, role="img", aria_label=label, class_="chart small" if small else "chart",
                  id=chart_id, data_rule=view.name, data_segment=series.segment or None)


def _bands(view: RuleView, y, left: float, plot_w: float, top: float, plot_h: float) -> str:
    """Tinted zones: where a value fails, warns and passes."""
    bottom = top + plot_h

    def band(a: float, b: float, fill: str, kind: str) -> str:
        lo, hi = sorted((min(max(y(a), top), bottom), min(max(y(b), top), bottom)))
        if hi - lo < 0.5:
            return ""
        return svg.el("rect", x=left, y=lo, width=plot_w, height=hi - lo, fill=fill, class_=f"band {kind}")

    out = [svg.el("rect", x=left, y=top, width=plot_w, height=plot_h, fill="#FAFAFA")]
    t, w = view.threshold, view.warn
    huge = 1e300
    if view.op in (">=", ">") and t is not None:
        out += [band(-huge, t, BAND_FAIL, "fail"), band(t, huge, BAND_PASS, "pass")]
        if w is not None and w > t:
            out.append(band(t, w, BAND_WARN, "warn"))
    elif view.op in ("<=", "<") and t is not None:
        out += [band(t, huge, BAND_FAIL, "fail"), band(-huge, t, BAND_PASS, "pass")]
        if w is not None and w < t:
            out.append(band(w, t, BAND_WARN, "warn"))
    elif view.op == "between" and view.low is not None and view.high is not None:
        out += [band(-huge, view.low, BAND_FAIL, "fail"), band(view.high, huge, BAND_FAIL, "fail"),
                band(view.low, view.high, BAND_PASS, "pass")]
    return "".join(out)


def _levels(view: RuleView, y, left: float, plot_w: float, small: bool) -> str:
    from kpirules.format import format_threshold

    lines = []
    levels = []
    if view.op == "between":
        levels = [(view.low, i18n._("low")), (view.high, i18n._("high"))]
    elif view.threshold is not None:
        op = (view.op or "").replace(">=", "\u2265").replace("<=", "\u2264")
        levels = [(view.threshold, i18n._("target {op}").format(op=op) + " ")]
        if view.warn is not None:
            levels.append((view.warn, i18n._("warn at") + " "))
    for value, label in levels:
        if value is None:
            continue
        dash = "2 3" if value == view.warn and view.op != "between" else "6 3"
        lines.append(svg.el("line", x1=left, x2=left + plot_w, y1=y(value), y2=y(value), stroke="#424242",
                            stroke_width=1.2, stroke_dasharray=dash, class_="level"))
        if not small:
            text = f"{label}{format_threshold(value, view.unit)}" if label.endswith(" ") else \
                f"{label} {format_threshold(value, view.unit)}"
            lines.append(svg.el("text", svg.text(text), x=left + plot_w + 6, y=y(value) + 4, class_="level"))
    return "".join(lines)


def legend() -> str:
    """The statuses' shapes and words, once for the whole report."""
    items = []
    x = 10.0
    for status in MARKS:
        items.append(svg.el("g", marker(status, x, 12), svg.el("text", svg.text(status), x=x + 10, y=16,
                                                                class_="tick")))
        x += 34 + 7.2 * len(status)
    return svg.el("svg", svg.title(i18n._("Legend: status shapes")), *items, xmlns="http://www.w3.org/2000/svg",
                  viewBox=f"0 0 {int(x)} 24", width=int(x), height=24, role="img",
                  aria_label="Legend: PASS circle, WARN triangle, FAIL square, INCONCLUSIVE diamond, "
                             "NO_DATA ring, ERROR cross", class_="legend")


def alerts_timeline(alerts: list[AlertRow]) -> str:
    """One lane per rule, one marker (the new status's shape) per alert, along time."""
    times = [(a, _when(a.time)) for a in alerts]
    times = [(a, t) for a, t in times if t is not None]
    if not times:
        return ""
    rules = sorted({a.rule for a, _ in times})
    first, last = min(t for _, t in times), max(t for _, t in times)
    span = (last - first).total_seconds() or 86400.0
    left, width, lane = 170, 680, 22
    height = 30 + lane * len(rules)
    parts = []
    for i, rule in enumerate(rules):
        cy = 14 + lane * i
        parts.append(svg.el("text", svg.text(rule[:26]), x=left - 8, y=cy + 4, text_anchor="end", class_="tick"))
        parts.append(svg.el("line", x1=left, x2=width - 10, y1=cy, y2=cy, stroke="#E0E0E0"))
    for a, t in times:
        cx = left + 8 + (width - left - 26) * (t - first).total_seconds() / span
        cy = 14 + lane * rules.index(a.rule)
        what = f"{a.time} {a.rule}" + (f" [{a.segment}]" if a.segment else "")
        what += (f": {a.before or i18n._('new')} \u2192 {a.after} ({status_word(a.after)})"
                 + (f", {a.value}" if a.value else ""))
        parts.append(svg.el("g", svg.title(what), marker(a.after, cx, cy, 5), class_="alert",
                            data_status=a.after))
    for t, anchor, x in ((first, "start", left), (last, "end", width - 10)):
        parts.append(svg.el("text", svg.text(f"{t:%Y-%m-%d}"), x=x, y=height - 4, text_anchor=anchor,
                            class_="tick"))
    label = i18n.ngettext("Alerts timeline: {n} status change from {first} to {last}",
                          "Alerts timeline: {n} status changes from {first} to {last}", len(times)).format(
        n=len(times), first=i18n.date_text(first.date()), last=i18n.date_text(last.date()))
    return svg.el("svg", svg.title(label), *parts, xmlns="http://www.w3.org/2000/svg",
                  viewBox=f"0 0 {width} {height}", width=width, height=height, role="img", aria_label=label,
                  class_="timeline")


def _when(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.strip()[:16])
    except ValueError:
        return None
