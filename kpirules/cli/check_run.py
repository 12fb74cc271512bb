"""``kpirules check``'s work and output, without click: the click command
(``kpirules.cli.check``) and the fast path of its common form (``kpirules.cli.fast``) both
run ``run``."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from kpirules.cli.output import echo, echo_json, settings_used, status_text, use_color
from kpirules.completeness import through_text
from kpirules.i18n import _, ngettext


def run(source: str, *, rules_file: str | None, as_of: dt.date | None, fmt: str, lang: str | None,
        config: str | None, quiet: bool, verbose: int, data_tab: str | None, rules_tab: str | None,
        connector: str | None, options: dict[str, Any]) -> None:
    """Evaluate and print; exits with the report's exit status (spec/cli.md). ``options``:
    what the connector is opened with (``kpirules.cli.common.connector_options``)."""
    from kpirules.engine import evaluate, prepare
    from kpirules.i18n import set_language
    from kpirules.rulesfile import count_text

    # --lang applies at once (click's path sets it too, eagerly): a source that cannot be
    # read or bad settings are said in it; without it, English until the settings or the
    # sheet's locale say otherwise (prepare chooses before the rules are parsed).
    set_language(lang, pinned=lang is not None)
    settings_used(config, verbose)
    ready = prepare(source, rules=rules_file, data_tab=data_tab, rules_tab=rules_tab, connector=connector,
                    config=config, lang=lang, **options)
    report = evaluate(ready.entries, ready.table, as_of or ready.today, settings=ready.settings)
    if fmt == "json":
        if sys.stdout.isatty():
            echo_json(report.to_json())
        else:
            stream_json(report, sys.stdout)
    else:
        print_table(report, count_text(ready.entries), color=use_color(), quiet=quiet)
        for line in report.warning_lines():
            echo(f"{_('warning')}: {line}", err=True)
    sys.exit(report.exit_code)


def stream_json(report, out) -> None:
    """The report's JSON document (``Report.to_json``, compact as ``echo_json`` writes it in a
    pipe), written one result at a time: no document of every result is held in memory, and
    the first bytes leave before the last result is encoded."""
    from itertools import islice

    from kpirules.dataclass_fast import replace
    from kpirules.results_json import encode, result_texts

    # Everything but the results, from Report.to_json itself (keys and their order).
    frame = encode(replace(report, results=[]).to_json())
    head, tail = frame.split('"results": []', 1)
    out.write(head + '"results": [')
    texts, between = result_texts(report.results), ""
    # A thousand results a write: a write each would cost more than making the text.
    while batch := list(islice(texts, 1000)):
        out.write(between + ", ".join(batch))
        between = ", "
    out.write("]" + tail + "\n")
    out.flush()


def _segment_text(segment: dict | None) -> str:
    if not segment:
        return ""
    return ", ".join(f"{v or '(blank)'}" for v in segment.values())


def print_table(report, rules: str, *, color: bool, quiet: bool = False) -> None:
    """One line per result: status, rule (and segment), and its message (``quiet``: only
    results that are not PASS); then the summary, ``rules`` counting them."""
    from kpirules.format import plural

    counts: dict[Any, int] = {}
    for r in report.results:
        counts[r.status] = counts.get(r.status, 0) + 1  # Status is a str: "PASS" finds it too
    results = [r for r in report.results if not quiet or r.status != "PASS"]
    from kpirules.errors import shown

    # Names and messages hold the data's text (a Rules tab's name, a segment's cell): each
    # on its one line, its control characters shown as escapes.
    names = [shown(r.name + (f" [{_segment_text(r.segment)}]" if r.segment else "")) for r in results]
    width = min(max((len(n) for n in names), default=4), 48)
    status_width = max((len(status.value) for status in counts if not quiet or status != "PASS"), default=7)
    statuses = {status: status_text(status.value, color, max(7, status_width)) for status in counts}
    lines: list[str] = []
    for r, name in zip(results, names):
        # The message carries the value (formatted like its threshold), the target, the
        # numbers it came from and the period.
        lines.append(f"{statuses[r.status]} {name:<{width}}  {shown(r.message)}")
        if r.error is not None and r.error.source_line is not None and r.error.column:
            if r.error.cell or (r.error.file and r.error.line is not None):
                lines.append("    " + r.error.location())  # file:line:col, where an editor jumps
            lines.append(r.error.caret())
        if len(lines) >= 1000:  # a write (and flush) a thousand lines, not one a line
            echo("\n".join(lines))
            lines.clear()
    if lines:
        echo("\n".join(lines))
    order = ["PASS", "WARN", "FAIL", "INCONCLUSIVE", "NO_DATA", "ERROR"]
    summary = ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
    late = sum(1 for r in report.results if r.incomplete)
    if late:
        summary += " " + _("({n} waiting for late data)").format(n=late)
    from kpirules.i18n import date_text

    echo("")
    # How far the data reach (complete periods), then the counts: the last line stays the
    # one-line summary scripts and people look for.
    through = through_text(report.extents)
    if through:
        echo(through + ("; " + _("late: {columns}").format(columns=", ".join(report.late))
                              if report.late else ""))
    total = len(report.results)
    echo(_("{rules}, {results} as of {date}: {summary}").format(
        rules=rules, results=ngettext("{n} result", "{n} results", total).format(n=total),
        date=date_text(report.as_of), summary=summary or _("nothing to check")))
