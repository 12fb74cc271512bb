"""``kpirules report``: a self-contained HTML report to open, print or attach to an e-mail."""

from __future__ import annotations

import sys

import click

from kpirules.cli.output import echo

from kpirules.cli.common import (
    DATE,
    config_option,
    connector_options,
    data_option,
    lang_option,
    settings_used,
    source_errors,
    source_options,
    verbosity_options,
)
from kpirules.i18n import _


@click.command("report")
@click.argument("source")
@click.option("--as-of", type=DATE, default=None, metavar="YYYY-MM-DD",
              help="Report as of this date (default: today in the sheet's time zone).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default="report.html",
              show_default=True, metavar="FILE", help="Where to write the HTML file (- for standard output).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="A .kpi rules file (default: the source's Rules tab).")
@click.option("--periods", type=click.IntRange(2, 104), default=12, show_default=True, metavar="N",
              help="Periods each chart shows at most, the current one included.")
@config_option
@lang_option
@verbosity_options
@source_options
@data_option
@source_errors
def command(source, as_of, out, rules_file, periods, config, lang, quiet, verbose, data_tab, rules_tab, connector,
            credentials):
    """Write an HTML report of SOURCE's rules: a scorecard, a trend chart of every rule's
    History periods (small multiples for segments) and the alerts timeline.

    The file is self-contained (no server, no network: it opens offline and travels as an
    e-mail attachment) and prints on A4. A source without History yet is evaluated at its
    current and recent periods, and the report says so. Data in a database are read as
    check reads them: SOURCE a database URL with --table (and --rules), or --data URL
    --table T for rules and History in SOURCE (docs/warehouses.md).

    \b
    Exit status: 0 the report was written, 3 the source could not be read.

    \b
    Examples:
      kpirules report examples/marketing.xlsx --as-of 2026-11-26 --out report.html
      kpirules report https://docs.google.com/spreadsheets/d/KEY/edit --out kpis.html
      kpirules report SHEET --data postgresql://kpi_reader@db/analytics --table daily
      kpirules report duckdb:///kpis.duckdb --table daily --rules rules.kpi
    """
    from kpirules.report import build

    settings_used(config, verbose)
    html = build(source, lang=lang, as_of=as_of, rules=rules_file, periods=periods, config=config, data_tab=data_tab,
                 rules_tab=rules_tab, connector=connector, **connector_options(credentials))
    if out == "-":
        sys.stdout.write(html)
        return
    import os
    import tempfile

    # Written whole or not at all: a report half-written by an interrupted run would
    # still open, and mislead.
    folder = os.path.dirname(os.path.abspath(out))
    tmp = None
    try:
        if os.path.exists(out) and not os.path.isfile(out):
            # /dev/stdout, a named pipe: nothing to replace whole (and replacing it would
            # put a file where the device or pipe was).
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(html)
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kpirules-report-", suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would keep the report from whoever shares it
        os.replace(tmp, out)
    except OSError as exc:
        # A folder that is not there, no permission, a full disk: the caller's --out, said
        # as click says a bad option (exit 2), with no half-written file left behind.
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise click.BadParameter(_("cannot write {out}: {reason}").format(out=out, reason=exc.strerror or exc),
                                 param_hint="'--out'") from None
    if not quiet:
        echo(_("wrote {out} ({size} KB)").format(out=out, size=len(html) // 1024 + 1), err=True)
