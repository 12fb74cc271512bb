"""``kpirules check``: evaluate and print; writes nothing anywhere (spec/cli.md)."""

from __future__ import annotations

import click

# stream_json and print_table are imported from here too.
from kpirules.cli.check_run import print_table, run, stream_json  # noqa: F401
from kpirules.cli.common import (data_option, DATE, config_option, connector_options, format_option,
                                 lang_option, source_errors, source_options, verbosity_options)


@click.command("check")
@click.argument("source")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="A .kpi rules file (default: the source's Rules tab).")
@click.option("--as-of", type=DATE, default=None, metavar="YYYY-MM-DD",
              help="Evaluate as of this date (default: today). Periods end before it.")
@format_option("table", human="table")
@lang_option
@config_option
@verbosity_options
@source_options
@data_option
@source_errors
def command(source, rules_file, as_of, fmt, lang, config, quiet, verbose, data_tab, rules_tab, connector,
            credentials):
    """Evaluate the rules against SOURCE and print the results.

    SOURCE is a .csv or .xlsx file, or a Google Sheets URL or key. Rules come from
    --rules, else from the source's Rules tab.

    \b
    Exit status: 0 no rule fails (PASS, WARN, NO_DATA, INCONCLUSIVE),
                 1 some rule fails, 2 some rule has an error or the settings are invalid,
                 3 the source could not be read, 6 the data are late (late_after).
                 When several apply: 3, 2, 6, 1.

    \b
    Examples:
      kpirules check examples/marketing.xlsx --as-of 2026-11-26
      kpirules check data.csv --rules rules.kpi --format json
      kpirules check https://docs.google.com/spreadsheets/d/KEY/edit
    """
    # The same work as the fast path (kpirules.cli.fast) runs without click.
    run(source, rules_file=rules_file, as_of=as_of, fmt=fmt, lang=lang, config=config, quiet=quiet,
        verbose=verbose, data_tab=data_tab, rules_tab=rules_tab, connector=connector,
        options=connector_options(credentials))
