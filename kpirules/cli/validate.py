"""``kpirules validate``: every problem of every rules file, without reading data."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import source_errors


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--data", "data_source", metavar="SOURCE",
              help="Also check every column name against this source's headers.")
@click.option("--data-tab", default="Data", show_default=True, metavar="TAB")
@click.option("-q", "--quiet", is_flag=True, help="Print problems only, no summary.")
@source_errors
def command(files, data_source, data_tab, quiet):
    """Check rule files (.kpi, or a workbook's Rules tab) and print every problem.

    Each problem is printed as FILE:LINE:COL: CATEGORY: message, with the line and a
    caret under the column. Exit status 0 when every rule is valid, else 1.

    \b
    Examples:
      kpirules validate rules/*.kpi
      kpirules validate rules.kpi --data examples/marketing.xlsx
    """
    from kpirules.cli.common import read_entries

    headers = None
    if data_source:
        from kpirules.connectors import open_source
        from kpirules.names import normalise

        raw = open_source(data_source).read(data_tab=data_tab).data
        headers = {normalise(h) for h in raw.headers if h not in (None, "")}
    problems = 0
    rules = 0
    for path in files:
        entries = read_entries(path)
        for entry in entries:
            rules += 1
            found = [entry.problem] if entry.problem else []
            if not found and headers is not None and entry.rule is not None:
                from kpirules.resolve import check_names

                found = [entry.locate(p) for p in check_names(entry.rule, headers)]
            for problem in found:
                problems += 1
                # A rule from a workbook is located by cell: name the workbook too.
                click.echo(f"{path}:{problem.render()}" if problem.cell else problem.render())
    if not quiet:
        word = "problem" if problems == 1 else "problems"
        click.echo(f"{rules} rules in {len(files)} file(s): {problems or 'no'} {word}", err=True)
    sys.exit(1 if problems else 0)

