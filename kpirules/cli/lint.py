"""``kpirules lint``: KPIs that measure activity instead of outcomes, and other smells
(kpirules/lint/, docs/lint.md)."""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (config_option, echo, echo_json, format_option, lang_option, settings_used,
                                 source_errors, table_option, verbosity_options)
from kpirules.cli.main import EXIT_ERROR, EXIT_LINT, EXIT_OK, EXIT_SOURCE


@click.command("lint")
@click.argument("sources", nargs=-1, required=True, metavar="RULES...")
@click.option("--data", "data_source", metavar="SOURCE",
              help="Data to check ratios' volumes and counts' scales against "
                   "(default: the workbook's own Data tab when RULES is a workbook).")
@click.option("--data-tab", default=None, metavar="TAB",
              help="The data tab [default: Data, or as the settings say].")
@table_option
@click.option("--vocabulary", "vocabularies", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="A TOML file of your team's activity metrics, added to the "
                                   "built-in vocabulary (repeatable).")
@click.option("--ignore", "ignored", multiple=True, metavar="CODE",
              help="Do not report this code, e.g. KPI006 (repeatable).")
@click.option("--min-volume", type=click.IntRange(1), default=None, metavar="N",
              help="KPI002: the smallest denominator per period a ratio needs "
                   "(default: derived from the rule's target).")
@click.option("--strict", is_flag=True, help="Exit with status 4 when there are findings.")
@format_option()
@lang_option
@config_option
@verbosity_options
@source_errors
def command(sources, data_source, data_tab, vocabularies, ignored, min_volume, strict, fmt, lang, config, quiet,
            verbose):
    """Lint rules: is each KPI worth having?

    RULES are .kpi files or workbooks (xlsx, Google Sheets) whose Rules tab is linted.
    Each finding has a code (docs/lint.md), the rule, the reason in one sentence and a
    concrete rewrite. A rule line ending in `# noqa: KPI001` is not reported for that code.

    \b
    Exit status: 0 no rule is invalid (findings are advice),
                 2 some rule does not parse,
                 3 a source could not be read (the others are linted all the same),
                 4 --strict and there are findings.

    \b
    Examples:
      kpirules lint rules/*.kpi
      kpirules lint examples/marketing.xlsx --strict
      kpirules lint rules.kpi --data examples/marketing.csv --format json
    """
    from kpirules.lint import RuleSet, VocabularyError, lint, load_vocabulary
    from kpirules.lint.findings import CODES
    from kpirules.i18n import resolve

    resolve(lang)

    unknown = [c for c in ignored if c.upper() not in CODES]
    if unknown:
        from kpirules.i18n import _

        raise click.BadParameter(_("unknown code {code}; codes: {codes}").format(
            code=repr(unknown[0]), codes=", ".join(CODES)), param_hint="--ignore")
    try:
        vocabulary = load_vocabulary(vocabularies)
    except VocabularyError as exc:
        for problem in exc.problems:
            echo(problem.render(), err=True)
        sys.exit(EXIT_ERROR)
    settings_used(config, verbose)
    from kpirules.cli.common import data_table, settings_file, unreadable_json

    settings = settings_file(config)  # a bad settings file is exit 2 here as in every command
    date_column = settings.date_column if settings else "date"
    from kpirules.cli.output import say_source_error
    from kpirules.errors import SourceError

    rulesets, data, unreadable = [], None, []
    for path in sources:
        try:
            ruleset, workbook_data = _read(path, data_tab, config)
        except SourceError as exc:
            # Said, and exit 3 at the end: the other files are linted all the same.
            unreadable.append((path, exc))
            say_source_error(exc, {"config": config, "data_tab": data_tab})
            continue
        rulesets.append(ruleset)
        data = data if data is not None else workbook_data
    table = None
    if data_source:
        table = data_table(data_source, None if data_tab == "Data" else data_tab, config=config)
    elif data is not None:
        from kpirules.table import load_table

        try:
            table = load_table(data, date_column=date_column)
        except SourceError as exc:
            # The workbook's own data was only a bonus: lint its rules without it.
            echo(f"warning: {exc.message}; checks that need data are skipped", err=True)
    result = lint(rulesets, vocabulary=vocabulary, table=table, ignore=ignored, min_volume=min_volume)
    if fmt == "json":
        echo_json({
            "findings": [f.to_json() for f in result.findings],
            "problems": [p.to_json() | ({"file": p.file} if p.file else {}) for p in result.problems],
            "rules": result.linted,
            "disabled": result.disabled,
            **unreadable_json(unreadable),
        })
    else:
        for problem in result.problems:
            echo(problem.render())
        for finding in result.findings:
            echo(finding.render())
        from kpirules.i18n import _, ngettext
        from kpirules.rulesfile import count_text_of

        n = len(result.findings)
        summary = _("{rules} linted: {findings}").format(
            rules=count_text_of(result.linted, result.disabled),
            findings=ngettext("{n} finding", "{n} findings", n).format(n=n) if n else _("no findings"))
        if result.problems:
            bad = len(result.problems)
            summary += ", " + ngettext("{n} invalid rule", "{n} invalid rules", bad).format(n=bad)
        if table is None:
            summary += " " + _("(give --data to also check volumes and scales)")
        if not quiet:
            echo(summary, err=True)
    if unreadable:
        sys.exit(EXIT_SOURCE)
    if result.problems:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_LINT if strict and result.findings else EXIT_OK)


def _read(path: str, data_tab: str | None, config: str | None):
    """The rules of ``path`` and, for a workbook, its data tab (tabs as the settings say)."""
    from kpirules.lint import RuleSet
    from kpirules.rulesfile import read_rules_file
    from kpirules.source import is_rules_file, read_source, rule_entries

    if is_rules_file(path):
        return RuleSet(path, read_rules_file(path)), None
    _, workbook, _ = read_source(path, config=config, data_tab=data_tab)
    return RuleSet(path, rule_entries(workbook, path), workbook.rules), workbook.data
