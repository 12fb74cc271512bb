"""``kpirules validate``: every problem of every rules file, without reading data."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (config_option, echo_json, format_option, settings_used, source_errors,
                                 verbosity_options)


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--data", "data_source", metavar="SOURCE",
              help="Also check every column name against this source's headers.")
@click.option("--data-tab", default=None, metavar="TAB",
              help="The data tab of --data [default: Data, or as the settings say].")
@format_option()
@config_option
@verbosity_options
@source_errors
def command(files, data_source, data_tab, fmt, config, quiet, verbose):
    """Check rule files (.kpi, or a workbook's Rules tab) and print every problem.

    Each problem is printed as FILE:LINE:COL: CATEGORY: message, with the line and a
    caret under the column (or FILE:Rules!B7 for a workbook's rule). Blank and repeated
    rule names are problems too. Disabled rules are checked as well.

    \b
    Exit status: 0 every rule is valid, 1 some rule is invalid,
                 2 bad usage or settings, 3 a file or source could not be read.

    \b
    Examples:
      kpirules validate rules/*.kpi
      kpirules validate rules.kpi --data examples/marketing.xlsx
    """
    from kpirules.cli.common import read_entries
    from kpirules.format import plural
    from kpirules.rulesfile import count_text

    settings_used(config, verbose)
    headers = None
    if data_source:
        from kpirules.names import normalise
        from kpirules.source import read_source

        _, workbook, _ = read_source(data_source, config=config, data_tab=data_tab, with_rules=False)
        headers = {normalise(h) for h in workbook.data.headers if h not in (None, "")}
    found_all: list[tuple[str, object]] = []
    entries_all = []
    for path in files:
        entries = read_entries(path)
        entries_all += entries
        for entry in entries:
            found = [entry.problem] if entry.problem else []
            if not found and headers is not None and entry.rule is not None:
                from kpirules.resolve import check_names

                found = [entry.locate(p) for p in check_names(entry.rule, headers)]
            found_all += [(path, p) for p in found]
    if fmt == "json":
        echo_json({"files": list(files), "rules": count_text(entries_all),
                   "problems": [p.to_json() | {"file": p.file or path, "message": p.message}
                                for path, p in found_all]})
    else:
        for path, problem in found_all:
            # A rule from a workbook is located by cell: name the workbook too.
            click.echo(f"{path}:{problem.render()}" if problem.cell else problem.render())
        if not quiet:
            n = len(found_all)
            click.echo(f"{count_text(entries_all)} in {plural(len(files), 'file')}: "
                       f"{n or 'no'} problem{'s' if n != 1 else ''}", err=True)
    sys.exit(1 if found_all else 0)
