"""``kpirules init``: set a workbook or Google Sheet up for ``kpirules run``."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (config_option, connector_options, settings_used, source_errors, source_options,
                                 verbosity_options)
from kpirules.cli.main import EXIT_ERROR


@click.command("init")
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Print what would be created; change nothing.")
@config_option
@verbosity_options
@source_options
@source_errors
def command(source, dry_run, config, quiet, verbose, data_tab, rules_tab, connector, credentials):
    """Set SOURCE up: Rules (with example rules and an Enabled dropdown), History,
    Alerts and Settings tabs, and a note on each column the engine writes.

    SOURCE is an .xlsx path (created when it does not exist) or a Google Sheets URL or
    key. Safe to run again: existing tabs and rules are kept; only what is missing is added.

    \b
    Examples:
      kpirules init kpis.xlsx
      kpirules init https://docs.google.com/spreadsheets/d/KEY/edit
    """
    from kpirules.config import ConfigError
    from kpirules.writeback.scaffold import init

    settings_used(config, verbose)
    try:
        plan = init(source, dry_run=dry_run, config=config, data_tab_name=data_tab,
                    rules_tab_name=rules_tab, connector=connector, **connector_options(credentials))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem.render()}", err=True)
        sys.exit(EXIT_ERROR)
    if plan.empty:
        click.echo(f"{source} is already set up; nothing to do.")
        return
    verb = "would set up" if dry_run else "set up"
    for tab in plan.tabs:
        if tab.empty or quiet:
            continue
        what = "created" if tab.create else "updated"
        details = ", ".join(f"{n} {k}" for k, n in tab.counts.items() if n)
        click.echo(f"{tab.title}: {'would be ' if dry_run else ''}{what}" + (f" ({details})" if details else ""))
    if dry_run:
        for line in plan.describe():
            click.echo("  " + line)
    click.echo(f"{verb} {source}. Next: edit the rules in the Rules tab, then `kpirules run {source}`.")
