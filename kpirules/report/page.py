"""The report as one self-contained HTML file: inline CSS and SVG, no script, no fetch.

A Content-Security-Policy forbids every network load (``default-src 'none'``), so the file
works offline and as an e-mail attachment, and anything that tried to reach out would show
as a console error (the browser test asserts there is none). Printable on A4: each rule
keeps together on a page, colours print, and the detail tables stay hidden.
"""

from __future__ import annotations

from html import escape

from kpirules.format import period_text
from kpirules.i18n import N_, _, date_text, language, ngettext
from kpirules.report import chart
from kpirules.report.model import STATUS_ORDER, ReportData, RuleView

CSS = """
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 24px auto; max-width: 980px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 0 0 2px; }
.meta, .note, .rule-text { color: var(--muted); }
.rule-text { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 104px; }
.card b { display: block; font-size: 22px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-weight: 600; font-size: 12px;
         border: 1px solid currentColor; white-space: nowrap; }
.PASS { color: #1b5e20; background: #e8f3e8; } .WARN { color: #7a4a00; background: #fff1cc; }
.FAIL { color: #b71c1c; background: #fbe3e1; } .NO_DATA { color: #424242; background: #eeeeee; }
.INCONCLUSIVE { color: #4527a0; background: #ede7f6; } .ERROR { color: #fff; background: #212121; }
section.rule { border-top: 1px solid var(--line); padding: 14px 0 6px; break-inside: avoid; }
.multiples { display: flex; flex-wrap: wrap; gap: 6px 14px; }
.multiples figure { margin: 0; } figcaption { font-size: 12px; color: var(--muted); }
svg { max-width: 100%; height: auto; } svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #424242; }
svg text.last { font-weight: 600; fill: var(--ink); } svg text.level { fill: #424242; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
details summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  details { display: none; } h2 { break-after: avoid; }
  section.rule, .timeline, table { break-inside: avoid; }
}
"""
# Table headings, translated where shown (_heads).
HEADINGS = (N_("Rule"), N_("Segment"), N_("Status"), N_("Period"), N_("Value"), N_("From"), N_("Time"),
            N_("Change"))
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def badge(status: str) -> str:
    """A status as a word in a coloured box: the word carries it, the colour helps."""
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def render(data: ReportData) -> str:
    from kpirules._version import __version__

    e = escape
    out = ['<!DOCTYPE html>', f'<html lang="{language()}">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>" + e(_("KPI report: {source} as of {date}").format(source=data.source,
                                                                      date=date_text(data.as_of))) + "</title>",
           f"<style>{CSS}</style>", "</head>", "<body>",
           f"<header><h1>{e(_('KPI report: {source}').format(source=data.source))}</h1>",
           '<p class="meta">' + e(_("As of {date} (periods end before it)").format(date=date_text(data.as_of)))
           + " &middot; " + e(ngettext("{n} rule", "{n} rules", len(data.rules)).format(n=len(data.rules)))
           + ", " + e(ngettext("{n} result", "{n} results", sum(data.counts.values())).format(
               n=sum(data.counts.values()))) + " &middot; " + e(_("made by kpirules {version}").format(
                   version=__version__)) + "</p></header>"]
    out += _scorecard(data)
    out.append(f'<h2 id="rules">{e(_("Rules"))}</h2>')
    out.append(f'<p class="note">{chart.legend()}</p>')
    out.append('<p class="note">' + e(_(
        "Bands: red where a value fails, amber where it warns, green where it passes; dashed line: the "
        "target, dotted: the warn level. Hover a point for its period, status and value. A dashed halo "
        "marks a period evaluated for this report that History does not hold yet.")) + "</p>")
    for i, view in enumerate(data.rules):
        out.append(_rule(view, i))
    out += _alerts(data)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _scorecard(data: ReportData) -> list[str]:
    e = escape
    cards = [f'<div class="card {s}" role="group" aria-label="{data.counts.get(s, 0)} {s}">'
             f'<b>{data.counts.get(s, 0)}</b>{s}</div>' for s in STATUS_ORDER]
    out = [f'<h2 id="scorecard">{e(_("Scorecard"))}</h2>', f'<div class="cards">{"".join(cards)}</div>', "<ul>"]
    if data.data_reach:
        start, end = data.data_reach
        out.append("<li>" + e(_("The data reach from {start} to {end}.").format(
            start=date_text(start), end=date_text(end))) + "</li>")
    else:
        out.append(f"<li>{e(_('The data hold no dated rows.'))}</li>")
    if data.history_found:
        out.append("<li>" + e(_("Trends come from the History tab (last written {when}).").format(
            when=data.last_run or _("at an unknown time"))) + "</li>")
    else:
        out.append(f"<li><b>{e(_('No History yet'))}</b>: " + e(_(
            "kpirules run has not written this source's History, so each rule was evaluated at its "
            "current and recent periods for this report.")) + "</li>")
    partial = [v.name for v in data.rules if not v.recorded]
    if data.history_found and partial:
        out.append("<li>" + e(_("Not in History yet, evaluated for this report: {rules}.").format(
            rules=", ".join(partial))) + "</li>")
    out.append("</ul>")
    out += _since_last_run(data)
    out.append(f"<h3>{e(_('What changed since the previous period'))}</h3>")
    if not data.changes:
        out.append(f'<p class="note">{e(_("No status changed."))}</p>')
    else:
        rows = "".join(
            f"<tr><td>{e(c.rule)}</td><td>{e(c.segment)}</td><td>{badge(c.before)} \u2192 {badge(c.after)}</td>"
            f"<td>{e(period_text(c.period))}</td></tr>" for c in data.changes)
        out.append(f"<table><thead><tr>{_heads('Rule', 'Segment', 'Status', 'Period')}</tr></thead>"
                   f"<tbody>{rows}</tbody></table>")
    if data.warnings:
        out.append(f"<details><summary>{e(_('Data warnings'))}</summary><ul>"
                   + "".join(f"<li>{e(w)}</li>" for w in data.warnings) + "</ul></details>")
    return out


def _since_last_run(data: ReportData) -> list[str]:
    e = escape
    if not data.history_found:
        return []
    out = [f"<h3>{e(_('What changed since the last run'))}</h3>"]
    if not data.since_last_run:
        return out + ['<p class="note">' + e(_("Nothing: every status is the one History recorded at the last "
                                                "run ({when}).").format(when=data.last_run or "?")) + "</p>"]
    rows = "".join(
        f"<tr><td>{e(c.rule)}</td><td>{e(c.segment)}</td>"
        f"<td>{badge(c.before) if c.before else e(_('new'))} \u2192 {badge(c.after)}</td>"
        f"<td>{e(period_text(c.period))}</td></tr>" for c in data.since_last_run)
    return out + [f'<p class="note">{e(_("What the next kpirules run would record as alerts."))}</p>',
                  (f"<table><thead><tr>{_heads('Rule', 'Segment', 'Status', 'Period')}</tr></thead>"
                   f"<tbody>{rows}</tbody></table>")]


def _rule(view: RuleView, index: int) -> str:
    from kpirules.format import format_value

    e = escape
    scale = chart.Scale.of(view)
    head = (f'<section class="rule" id="rule-{index}" data-rule="{e(view.name)}">'
            f"<h3>{e(view.name)} {badge(view.status)}</h3>"
            f'<div class="rule-text">{e(view.text)}</div>')
    if not view.series:
        message = view.results[0].message if view.results else ""
        why = _("No chart: {why}").format(why=message or _("the rule gave no value"))
        return head + f'<p class="note">{e(why)}</p></section>'
    if not view.segmented:
        body = chart.trend(view, view.series[0], scale, chart_id=f"chart-{index}")
        message = view.results[0].message
        body = f'<p>{e(message)}</p>{body}'
    else:
        ranked = sorted(view.series, key=lambda s: (-_severity(s.last.status if s.last else ""), s.label))
        figures = [f"<figure>{chart.trend(view, s, scale, chart_id=f'chart-{index}-{j}', small=True)}"
                   f"<figcaption>{e(s.label)} {badge(s.last.status) if s.last else ''}</figcaption></figure>"
                   for j, s in enumerate(ranked)]
        body = f'<div class="multiples">{"".join(figures)}</div>'
    rows = "".join(
        f"<tr><td>{e(s.label)}</td><td>{e(period_text(p.period))}</td><td>{badge(p.status)}</td>"
        f'<td class="num">{e(format_value(p.value, view.unit))}</td>'
        f"<td>{e(_('History') if p.recorded else _('evaluated now'))}</td></tr>"
        for s in view.series for p in s.points)
    table = (f"<details><summary>{e(_('The numbers'))}</summary><table><thead><tr>"
             f"{_heads('Segment', 'Period', 'Status', 'Value', 'From')}</tr></thead><tbody>{rows}</tbody>"
             "</table></details>")
    return head + body + table + "</section>"


def _heads(*labels: str) -> str:
    return "".join(f"<th>{escape(_(label))}</th>" for label in labels)


def _severity(status: str) -> int:
    from kpirules.results import Status

    try:
        return Status(status).severity
    except ValueError:
        return -1


def _alerts(data: ReportData) -> list[str]:
    e = escape
    out = [f'<h2 id="alerts">{e(_("Alerts"))}</h2>']
    if not data.alerts:
        return out + [f'<p class="note">{e(_("The Alerts tab holds no status changes yet."))}</p>']
    out.append(chart.alerts_timeline(data.alerts))
    rows = "".join(
        f"<tr><td>{e(a.time)}</td><td>{e(a.rule)}</td><td>{e(a.segment)}</td>"
        f"<td>{badge(a.before) if a.before else e(_('new'))} \u2192 {badge(a.after)}</td>"
        f'<td class="num">{e(a.value)}</td><td>{e(a.period)}</td></tr>' for a in data.alerts)
    out.append(f"<table><thead><tr>{_heads('Time', 'Rule', 'Segment', 'Change', 'Value', 'Period')}</tr></thead>"
               f"<tbody>{rows}</tbody></table>")
    return out
