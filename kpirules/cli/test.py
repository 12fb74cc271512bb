"""``kpirules test``: rule unit tests from YAML files (docs/testing.md)."""

from __future__ import annotations

import re
import sys

import click

from kpirules.cli.common import config_option, echo, echo_json, format_option, settings_used, verbosity_options
from kpirules.cli.main import EXIT_ERROR, EXIT_FAIL, EXIT_OK
from kpirules.errors import shown


@click.command("test")
@click.argument("paths", nargs=-1, required=True, metavar="TESTFILE...", type=click.Path())
@click.option("--run", "patterns", multiple=True, metavar="PATTERN",
              help="Run only tests whose name matches this regular expression (repeatable).")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Also write the results as JUnit XML to FILE (for CI).")
@format_option()
@config_option
@verbosity_options
def command(paths, patterns, junit_file, fmt, config, quiet, verbose):
    """Run rule unit tests: fixed data, a fixed as-of date, expected results.

    Each TESTFILE (a folder: every *.yaml and *.yml file under it) is YAML naming rule
    files, the data (a table, a CSV/xlsx file or compact series such as "1000+10x6"), the
    as-of date and the expected status, value, period or message of each rule and segment.
    See docs/testing.md. Of the settings, only
    date_column applies (tests are meant to give the same results everywhere).

    \b
    Exit status: 0 every test passes, 1 some test fails,
                 2 a test file is invalid (or no test matches --run).

    \b
    Examples:
      kpirules test examples/tests/*.yaml
      kpirules test examples/tests/
      kpirules test tests/rules.yaml --run conversion --junit report.xml
    """
    from kpirules.cli.common import status_text, use_color
    from kpirules.ruletest.runner import files_to_run, run_file

    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            from kpirules.i18n import _

            raise click.BadParameter(_("{pattern} is not a regular expression: {reason}").format(
                pattern=repr(pattern), reason=exc), param_hint="--run")
    settings_used(config, verbose)
    date_column = _date_column(config)
    color = use_color()
    results = [run_file(path, tuple(patterns), date_column) for path in files_to_run(paths)]
    if junit_file:
        from kpirules.ruletest.junit import junit_xml

        with open(junit_file, "wb") as fh:
            fh.write(junit_xml(results))
    if fmt == "json":
        _report_json(results, patterns)
    passed = failed = 0
    for fr in results:
        if not quiet or fr.problems or any(not c.passed for c in fr.cases):
            echo(shown(fr.path))
        for case in fr.cases:
            if case.passed:
                passed += 1
                if not quiet:
                    echo(f"  {status_text('PASS', color, 5)} {shown(case.name)}")
            else:
                failed += 1
                echo(f"  {status_text('FAIL', color, 5)} {shown(case.name)} (line {case.line})")
                echo(case.render())
        if fr.problems:
            echo(f"  {status_text('ERROR', color, 5)} invalid test file:")
            for problem in fr.problems:
                echo("    " + problem.render().replace("\n", "\n    "))
    invalid = sum(1 for fr in results if fr.problems)
    from kpirules.format import plural

    summary = f"{plural(passed + failed, 'test')}: {passed} passed, {failed} failed"
    if invalid:
        summary += f"; {invalid} invalid test file{'s' if invalid != 1 else ''}"
    echo(f"\n{summary}")
    if invalid:
        sys.exit(EXIT_ERROR)
    if patterns and passed + failed == 0:
        echo(f"error: no test matches --run {' '.join(patterns)}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAIL if failed else EXIT_OK)


def _date_column(config: str | None) -> str:
    from kpirules.source import find_settings_file

    config = config or find_settings_file()
    if not config:
        return "date"
    from kpirules.config import ConfigError, load_settings

    try:
        return load_settings(config).date_column
    except ConfigError as exc:
        for problem in exc.problems:
            echo(f"error: {problem.render()}", err=True)
        sys.exit(EXIT_ERROR)


def _report_json(results, patterns) -> None:
    """``test --format json``: every case of every file, then the exit status test gives."""
    cases = [c for fr in results for c in fr.cases]
    failed = sum(1 for c in cases if not c.passed)
    invalid = [fr for fr in results if fr.problems]
    status = EXIT_ERROR if invalid or (patterns and not cases) else EXIT_FAIL if failed else EXIT_OK
    echo_json({
        "tests": len(cases), "passed": len(cases) - failed, "failed": failed,
        "files": [{"path": fr.path,
                   "cases": [{"name": c.name, "line": c.line, "passed": c.passed,
                              "failures": [f.render() for f in c.failures]} for c in fr.cases],
                   "problems": [p.to_json() | {"file": p.file or fr.path} for p in fr.problems]}
                  for fr in results],
        "exit_status": status,
    })
    sys.exit(status)
