"""``kpirules check``: evaluate and print; writes nothing anywhere (spec/cli.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from kpirules.cli.common import (DATE, connector_options, source_errors, source_options,
                                 status_text, use_color)


@click.command("check")
@click.argument("source")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="A .kpi rules file (default: the source's Rules tab).")
@click.option("--as-of", type=DATE, default=None, metavar="YYYY-MM-DD",
              help="Evaluate as of this date (default: today). Periods end before it.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for scripts.")
@source_options
@source_errors
def command(source, rules_file, as_of, fmt, data_tab, rules_tab, connector, credentials):
    """Evaluate the rules against SOURCE and print the results.

    SOURCE is a .csv or .xlsx file, or a Google Sheets URL or key. Rules come from
    --rules, else from the source's Rules tab.

    \b
    Exit status: 0 all rules pass (or warn), 1 some rule fails,
                 2 some rule has an error, 3 the source could not be read.

    \b
    Examples:
      kpirules check examples/marketing.xlsx --as-of 2026-11-26
      kpirules check data.csv --rules rules.kpi --format json
      kpirules check https://docs.google.com/spreadsheets/d/KEY/edit
    """
    from kpirules.engine import check

    report = check(source, rules=rules_file, as_of=as_of, data_tab=data_tab,
                   rules_tab=rules_tab, connector=connector, **connector_options(credentials))
    if fmt == "json":
        # Indented for a person at a terminal; compact for a pipe, where json's C encoder
        # (used only without indent) is several times faster on thousands of results.
        indent = 1 if sys.stdout.isatty() else None
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=indent))
    else:
        print_table(report, color=use_color())
        for note in report.warnings:  # how the data were read (kpirules.read), said once
            click.echo(f"warning: {note}", err=True)
        for problem in report.data_problems:
            click.echo(f"warning: {problem.cell}: {problem.one_line()}", err=True)
    sys.exit(report.exit_status)


def _segment_text(segment: dict | None) -> str:
    if not segment:
        return ""
    return ", ".join(f"{v or '(blank)'}" for v in segment.values())


def print_table(report, *, color: bool) -> None:
    """One line per result: status, rule (and segment), and its message."""
    results = report.results
    names = [r.name + (f" [{_segment_text(r.segment)}]" if r.segment else "") for r in results]
    width = min(max((len(n) for n in names), default=4), 48)
    for r, name in zip(results, names):
        # The message carries the value (formatted like its threshold), the target, the
        # numbers it came from and the period.
        click.echo(f"{status_text(r.status.value, color)} {name:<{width}}  {r.message}")
        if r.error is not None and r.error.source_line is not None and r.error.column:
            click.echo(r.error.caret())
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    order = ["PASS", "WARN", "FAIL", "NO_DATA", "ERROR"]
    summary = ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
    rules = len({r.name for r in results})
    click.echo(f"\n{rules} rules, {len(results)} results as of {report.as_of.isoformat()}: {summary or 'nothing to check'}")
