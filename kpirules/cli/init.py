"""``kpirules init``: set a workbook or Google Sheet up for ``kpirules run``."""

from __future__ import annotations

import sys

import click

from kpirules.cli.output import echo

from kpirules.cli.common import (config_option, connector_options, settings_used, source_errors, source_options,
                                 verbosity_options)
from kpirules.cli.main import EXIT_ERROR
from kpirules.i18n import _


@click.command("init")
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Print what would be created; change nothing.")
@config_option
@click.option("--addon", "addon_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write the Google Sheets add-on (KPI rules menu and sidebar) into DIR, "
                   "ready for `clasp push`.")
@click.option("--service-url", envvar="KPIRULES_SERVICE_URL", metavar="URL",
              help="The kpirules service the add-on calls (`kpirules serve`, e.g. on Cloud Run).")
@verbosity_options
@source_options
@source_errors
def command(source, dry_run, config, addon_dir, service_url, quiet, verbose, data_tab, rules_tab, connector,
            credentials):
    """Set SOURCE up: Rules (with example rules and an Enabled dropdown), History,
    Alerts and Settings tabs, and a note on each column the engine writes.

    SOURCE is an .xlsx path (created when it does not exist) or a Google Sheets URL or
    key. Safe to run again: existing tabs and rules are kept; only what is missing is added.

    With --addon DIR, also write the add-on's files (and the --service-url they call)
    into DIR and print the clasp steps that put it into the sheet (docs/serve.md).

    \b
    Examples:
      kpirules init kpis.xlsx
      kpirules init https://docs.google.com/spreadsheets/d/KEY/edit
      kpirules init KEY --addon kpi-addon --service-url https://kpirules-abc-ew.a.run.app
    """
    from kpirules.config import ConfigError

    if addon_dir:
        _speak_the_settings_file(config)  # nothing is read yet: the file's language, else English
    if addon_dir and not service_url:
        echo(_("error") + ": " + _("--addon needs --service-url URL: where `kpirules serve` runs "
                                         "(docs/serve.md)"), err=True)
        sys.exit(EXIT_ERROR)
    if addon_dir:
        from kpirules.errors import SourceError
        from kpirules.serve.addon_files import check_service_url

        try:
            service_url = check_service_url(service_url)
        except SourceError as exc:
            echo(f"{_('error')}: {exc.message}\n" + _("hint: {hint}").format(hint=exc.hint), err=True)
            sys.exit(EXIT_ERROR)
    from kpirules.writeback.scaffold import init

    settings_used(config, verbose)
    try:
        plan = init(source, dry_run=dry_run, config=config, data_tab_name=data_tab,
                    rules_tab_name=rules_tab, connector=connector, **connector_options(credentials))
    except ConfigError as exc:
        for problem in exc.problems:
            echo(f"{_('error')}: {problem.render()}", err=True)
        sys.exit(EXIT_ERROR)
    if plan.empty:
        echo(_("{source} is already set up; nothing to do.").format(source=source))
    else:
        _print_plan(source, plan, dry_run, quiet)
    if addon_dir and not dry_run:
        _write_addon(source, addon_dir, service_url)


def _speak_the_settings_file(config: str | None) -> None:
    """Speak the language the settings file asks for (``init`` has no ``--lang``), else
    English; a file that cannot be used says nothing here (``init`` reports it next)."""
    from kpirules.config import load_settings
    from kpirules.errors import SourceError
    from kpirules.i18n import resolve

    resolve(None)
    try:
        load_settings(config)  # follows its ``language`` before checking the rest
    except (ValueError, SourceError):
        pass


def _print_plan(source, plan, dry_run: bool, quiet: bool) -> None:
    for tab in plan.tabs:
        if tab.empty or quiet:
            continue
        from kpirules.writeback.plan import counts_text

        said = ((_("{tab}: would be created") if tab.create else _("{tab}: would be updated")) if dry_run else
                (_("{tab}: created") if tab.create else _("{tab}: updated"))).format(tab=tab.title)
        details = counts_text(tab.counts)
        echo(said + (f" ({details})" if details else ""))
    if dry_run:
        for line in plan.describe():
            echo("  " + line)
    echo((_("would set up {source}. Next: edit the rules in the Rules tab, then `kpirules run {source}`.")
                if dry_run else
                _("set up {source}. Next: edit the rules in the Rules tab, then `kpirules run {source}`.")).format(
        source=source))


def _write_addon(source: str, folder: str, service_url: str) -> None:
    from kpirules.connectors.gsheets import parse_key
    from kpirules.serve.addon_files import clasp_steps, write_addon

    for path in write_addon(folder, service_url):
        echo(_("wrote {path}").format(path=path))
    echo(_("To put the add-on into the sheet (clasp is Google's Apps Script command line):"))
    for step in clasp_steps(folder, parse_key(source), service_url):
        echo("  " + step)
