"""``kpirules validate``: every problem of every rules file, without reading data."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (config_option, echo, echo_json, format_option, lang_option, settings_used,
                                 source_errors, table_option, verbosity_options)
from kpirules.errors import shown
from kpirules.exitcodes import Exit


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--data", "data_source", metavar="SOURCE",
              help="Also check every column name against this source's headers.")
@click.option("--data-tab", default=None, metavar="TAB",
              help="The data tab of --data [default: Data, or as the settings say].")
@table_option
@format_option()
@lang_option
@config_option
@verbosity_options
@source_errors
def command(files, data_source, data_tab, fmt, lang, config, quiet, verbose):
    """Check rule files (.kpi, or a workbook's Rules tab) and print every problem.

    Each problem is printed as FILE:LINE:COL: CATEGORY: message, with the line and a
    caret under the column (or FILE:Rules!B7 for a workbook's rule). Blank and repeated
    rule names are problems too. Disabled rules are checked as well. With --data, the source
    is read as `check` reads it (its settings, its date column): every rule that `check`
    would refuse (an unknown or ambiguous column, the date column summed) is a problem.

    \b
    Exit status: 0 every rule is valid, 1 some rule is invalid,
                 2 bad usage or settings, 3 a file or source could not be read
                 (the other files are checked and their problems printed all the same).

    \b
    Examples:
      kpirules validate rules/*.kpi
      kpirules validate rules.kpi --data examples/marketing.xlsx
    """
    from kpirules.cli.common import data_table, read_entries, settings_file, unreadable_json
    from kpirules.i18n import _, ngettext, resolve
    from kpirules.rulesfile import count_text

    settings_used(config, verbose)
    # A bad settings file is exit 2 here as in every command; a good one may name the language.
    resolve(lang, settings_file(config))
    from kpirules.cli.output import say_source_error
    from kpirules.errors import SourceError

    table = data_table(data_source, data_tab, config=config) if data_source else None
    found_all: list[tuple[str, object]] = []
    entries_all = []
    unreadable: list[tuple[str, SourceError]] = []
    for path in files:
        try:
            entries = read_entries(path)
        except SourceError as exc:
            # Said, and exit 3 at the end; the other files' problems are all still told.
            unreadable.append((path, exc))
            if fmt != "json":
                say_source_error(exc, {"config": config})
            continue
        entries_all += entries
        planned = _planned(entries, table) if table is not None else {}
        for entry in entries:
            found = [entry.problem] if entry.problem else []
            if not found and id(entry) in planned:
                found = [planned[id(entry)]]
            found_all += [(path, p) for p in found]
    if fmt == "json":
        echo_json({"files": list(files), "rules": count_text(entries_all),
                   "problems": [p.to_json() | {"file": p.file or path, "message": p.message}
                                for path, p in found_all],
                   **unreadable_json(unreadable)})
    else:
        for path, problem in found_all:
            # A rule from a workbook is located by cell: name the workbook too.
            echo(f"{shown(path)}:{problem.render()}" if problem.cell else problem.render())
        if not quiet:
            n, lost = len(found_all), len(unreadable)
            said = [ngettext("{n} problem", "{n} problems", n).format(n=n)] if n else []
            if lost:  # never "no problems" when a file was not even read
                said.append(ngettext("{n} file could not be read", "{n} files could not be read", lost).format(n=lost))
            echo(_("{rules} in {files}: {problems}").format(
                rules=count_text(entries_all),
                files=ngettext("{n} file", "{n} files", len(files)).format(n=f"{len(files):,}"),
                problems=", ".join(said) or _("no problems")),
                err=True)
    sys.exit(int(Exit.SOURCE) if unreadable else 1 if found_all else 0)


def _planned(entries: list, table) -> dict:
    """The problem ``check`` would give each entry against ``table`` (the engine's own
    plan: unknown and ambiguous names, the date column used as a metric), by entry id."""
    import datetime as dt

    from kpirules.plan import build_plan

    plan = build_plan([e for e in entries if e.rule is not None and e.problem is None],
                      names=[*table.names(), table.date_column], as_of=dt.date.today(),
                      ambiguous=table.ambiguous, date_column=table.date_column)
    return {id(rp.entry): rp.problem for rp in plan.rules if rp.problem is not None}
