"""``kpirules validate``: every problem of every rules file, without reading data."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import source_errors


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--data", "data_source", metavar="SOURCE",
              help="Also check every column name against this source's headers.")
@click.option("--data-tab", default=None, metavar="TAB",
              help="The tab that holds the data table [default: Data, or as the settings say].")
@click.option("-q", "--quiet", is_flag=True, help="Print problems only, no summary.")
@source_errors
def command(files, data_source, data_tab, quiet):
    """Check rule files (.kpi, or a workbook's Rules tab) and print every problem.

    Each problem is printed as FILE:LINE:COL: CATEGORY: message, with the line and a
    caret under the column. With --data, the source is read as `check` reads it (its
    settings, its date column): every rule that `check` would refuse (an unknown or
    ambiguous column, the date column summed) is a problem.

    \b
    Exit status: 0 every rule is valid, 1 some rule is invalid,
                 2 bad usage or settings, 3 the data source could not be read.

    \b
    Examples:
      kpirules validate rules/*.kpi
      kpirules validate rules.kpi --data examples/marketing.xlsx
    """
    from kpirules.cli.common import data_table, read_entries, settings_file

    settings_file()  # a bad settings file is exit 2 here as in every command
    table = data_table(data_source, data_tab) if data_source else None
    problems = 0
    rules = 0
    for path in files:
        entries = read_entries(path)
        planned = _planned(entries, table) if table is not None else {}
        for entry in entries:
            rules += 1
            found = [entry.problem] if entry.problem else []
            if not found and id(entry) in planned:
                found = [planned[id(entry)]]
            for problem in found:
                problems += 1
                # A rule from a workbook is located by cell: name the workbook too.
                click.echo(f"{path}:{problem.render()}" if problem.cell else problem.render())
    if not quiet:
        word = "problem" if problems == 1 else "problems"
        click.echo(f"{rules} rules in {len(files)} file(s): {problems or 'no'} {word}", err=True)
    sys.exit(1 if problems else 0)



def _planned(entries: list, table) -> dict:
    """The problem ``check`` would give each entry against ``table`` (the engine's own
    plan: unknown and ambiguous names, the date column used as a metric), by entry id."""
    import datetime as dt

    from kpirules.plan import build_plan

    plan = build_plan([e for e in entries if e.rule is not None and e.problem is None],
                      names=[*table.names(), table.date_column], as_of=dt.date.today(),
                      ambiguous=table.ambiguous, date_column=table.date_column)
    return {id(rp.entry): rp.problem for rp in plan.rules if rp.problem is not None}
