"""``kpirules explain``: one rule's result, number by number (kpirules/explain.py)."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (data_option, DATE, config_option, connector_options, echo, echo_json, format_option,
                                 lang_option, settings_used, source_errors, source_options, verbosity_options)
from kpirules.cli.main import EXIT_ERROR


@click.command("explain")
@click.argument("source")
@click.argument("rule_name", metavar="RULE-NAME")
@click.option("--as-of", type=DATE, default=None, metavar="YYYY-MM-DD",
              help="Explain the result as of this date (default: today).")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="A .kpi rules file (default: the source's Rules tab).")
@click.option("--periods", type=click.IntRange(2, 52), default=8, show_default=True,
              help="How many periods the history sparkline shows.")
@format_option()
@lang_option
@config_option
@verbosity_options
@source_options
@data_option
@source_errors
def command(source, rule_name, as_of, rules_file, periods, fmt, lang, config, quiet, verbose, data_tab, rules_tab,
            connector, credentials):
    """Show how RULE-NAME's result on SOURCE came about.

    The same sentence `check` prints and `run` writes into the Message column, then the
    period, the rows and days counted, each aggregate's value, the arithmetic with the
    real numbers, the previous period, every segment worst first, and a sparkline of the
    value over the last periods. A disabled rule is explained as it would come out if it
    were switched on, and says that it is off.

    \b
    Exit status: as `check` for this rule's results: 0 no FAIL or ERROR, 1 some
                 segment fails, 2 an error (or bad settings, or no such rule),
                 3 the source could not be read, 6 the data are late.

    \b
    Examples:
      kpirules explain examples/marketing.xlsx visit_to_signup --as-of 2026-11-26
      kpirules explain data.csv conversion --rules rules.kpi
    """
    from kpirules.cli.common import status_text, use_color
    from kpirules.cli.output import json_error
    from kpirules.exitcodes import Exit
    from kpirules.i18n import _
    from kpirules.engine import prepare
    from kpirules.errors import did_you_mean
    from kpirules.explain import explain, render, to_json
    from kpirules.names import normalise

    settings_used(config, verbose)
    ready = prepare(source, rules=rules_file, data_tab=data_tab, rules_tab=rules_tab,
                    connector=connector, config=config, lang=lang, **connector_options(credentials))
    entries = ready.entries
    entry = next((e for e in entries if e.name == rule_name), None) or next(
        (e for e in entries if normalise(e.name) == normalise(rule_name)), None)
    # Under --format json, the one JSON document stdout promises, as for a source error.
    if entry is None:
        names = [e.name for e in entries]
        guess = did_you_mean(rule_name, names)
        message = _("no rule named {name}").format(name=repr(rule_name))
        hint = _("did you mean {guess}?").format(guess=repr(guess)) if guess else _("rules: {names}").format(
            names=", ".join(names) or _("none"))
        echo(f"{_('error')}: {message}", err=True)
        echo(_("hint: {hint}").format(hint=hint), err=True)
        json_error({"fmt": fmt}, "usage", message, hint, Exit.ERROR)
        sys.exit(EXIT_ERROR)
    if entry.problem is not None:
        problem = entry.problem
        echo(problem.render(), err=True)
        json_error({"fmt": fmt}, problem.category, problem.message, problem.suggestion, Exit.ERROR,
                   problems=[problem.to_json()])
        sys.exit(EXIT_ERROR)
    from kpirules.rulesfile import enabled

    off = not enabled(entry)
    if off:
        import dataclasses

        # Evaluated as if switched on: what it would say is the useful answer.
        entry = dataclasses.replace(entry, meta={**entry.meta, "enabled": True})
    ex = explain(entry, ready.table, as_of or ready.today, periods, settings=ready.settings)
    if fmt == "json":
        echo_json(to_json(ex) | {"enabled": not off})
    else:
        if off:
            echo(_("{name} is disabled (its Enabled cell says no): check and run skip it. "
                         "Were it switched on:").format(name=entry.name))
        color = use_color()
        text = render(ex, lambda s: status_text(s, color))
        # -q: the rule and its verdict, without the working.
        echo("\n".join(text.splitlines()[:2]) if quiet else text)
    # The exit statuses of `check` (spec/cli.md), for this rule's results; a disabled
    # rule is not checked, so it fails nothing.
    sys.exit(0 if off else ex.exit_code)
