"""``kpirules test``: rule unit tests from YAML files (docs/testing.md)."""

from __future__ import annotations

import re
import sys

import click

from kpirules.cli.main import EXIT_ERROR, EXIT_FAIL, EXIT_OK


@click.command("test")
@click.argument("test_files", nargs=-1, required=True, metavar="TESTFILE...",
                type=click.Path(dir_okay=False))
@click.option("--run", "patterns", multiple=True, metavar="PATTERN",
              help="Run only tests whose name matches this regular expression (repeatable).")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Also write the results as JUnit XML to FILE (for CI).")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
def command(test_files, patterns, junit_file, quiet):
    """Run rule unit tests: fixed data, a fixed as-of date, expected results.

    Each TESTFILE is YAML naming rule files, the data (a table, a CSV/xlsx file or compact
    series such as "1000+10x6"), the as-of date and the expected status, value, period or
    message of each rule and segment. See docs/testing.md.

    \b
    Exit status: 0 every test passes, 1 some test fails,
                 2 a test file is invalid (or no test matches --run).

    \b
    Examples:
      kpirules test examples/tests/*.yaml
      kpirules test tests/rules.yaml --run conversion --junit report.xml
    """
    from kpirules.cli.common import status_text, use_color
    from kpirules.ruletest.runner import run_file

    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.BadParameter(f"{pattern!r} is not a regular expression: {exc}",
                                     param_hint="--run")
    color = use_color()
    results = [run_file(path, tuple(patterns)) for path in test_files]
    passed = failed = 0
    for fr in results:
        if not quiet or fr.problems or any(not c.passed for c in fr.cases):
            click.echo(fr.path)
        for case in fr.cases:
            if case.passed:
                passed += 1
                if not quiet:
                    click.echo(f"  {status_text('PASS', color, 5)} {case.name}")
            else:
                failed += 1
                click.echo(f"  {status_text('FAIL', color, 5)} {case.name} (line {case.line})")
                click.echo(case.render())
        if fr.problems:
            click.echo(f"  {status_text('ERROR', color, 5)} invalid test file:")
            for problem in fr.problems:
                click.echo("    " + problem.render().replace("\n", "\n    "))
    invalid = sum(1 for fr in results if fr.problems)
    if junit_file:
        from kpirules.ruletest.junit import junit_xml

        with open(junit_file, "wb") as fh:
            fh.write(junit_xml(results))
    summary = f"{passed + failed} tests: {passed} passed, {failed} failed"
    if invalid:
        summary += f"; {invalid} invalid test file{'s' if invalid != 1 else ''}"
    click.echo(f"\n{summary}")
    if invalid:
        sys.exit(EXIT_ERROR)
    if patterns and passed + failed == 0:
        click.echo(f"error: no test matches --run {' '.join(patterns)}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAIL if failed else EXIT_OK)
