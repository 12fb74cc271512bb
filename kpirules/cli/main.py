"""The ``kpirules`` group: a lazy registry of commands, one module each."""

from __future__ import annotations

import importlib

import click

from kpirules._version import __version__

# name -> (module, one-line help). The module defines ``command``, a click.Command.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kpirules.cli.check", "Evaluate rules against a source and print the results."),
    "run": ("kpirules.cli.run", "Evaluate and write results, history and alerts back into the source."),
    "validate": ("kpirules.cli.validate", "Check rule files for errors without reading data."),
    "test": ("kpirules.cli.test", "Run rule unit tests (YAML) with fixed data and as-of dates."),
    "lint": ("kpirules.cli.lint", "Find KPIs that measure activity instead of outcomes, and other smells."),
    "explain": ("kpirules.cli.explain", "Show how one rule's result came about, number by number."),
    "report": ("kpirules.cli.report", "Write a self-contained HTML report: scorecard, trend charts, alerts."),
    "init": ("kpirules.cli.init", "Set a workbook or Google Sheet up with Rules, History and Alerts tabs."),
    "auth": ("kpirules.cli.auth", "Log in to Google for Sheets access (OAuth user login)."),
    "completion": ("kpirules.cli.completion", "Print the shell completion script (bash, zsh or fish)."),
    "serve": ("kpirules.cli.serve", "Serve the engine over HTTP for the Google Sheets add-on."),
}

# Exit statuses (spec/cli.md): 0 all good, 1 some FAIL, 2 some ERROR or usage error;
# ours beyond that: 3 a source could not be read or written, 4 lint findings under --strict.
from kpirules.exitcodes import Exit  # noqa: E402  (one table for every command)

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_SOURCE, EXIT_LINT = (
    int(Exit.OK), int(Exit.FAIL), int(Exit.ERROR), int(Exit.SOURCE), int(Exit.LINT))


# Where people report a crash (README.md, "Reporting a problem").
REPORT_TO = "please report it: run again with --debug and send the output to the kpirules maintainers (README.md, 'Reporting a problem')"


def debug_enabled() -> bool:
    """``kpirules --debug ...`` (or KPIRULES_DEBUG=1): tracebacks instead of one line."""
    import os

    if os.environ.get("KPIRULES_DEBUG", "").strip() not in ("", "0"):
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("debug"))


def internal_error(exc: BaseException, what: str = "kpirules stopped") -> None:
    """One line on stderr for a bug (the traceback only with --debug); exit status 2, never
    1, which a scheduler reads as "some KPI fails"."""
    import sys

    if debug_enabled():
        import traceback

        from kpirules.errors import without_passwords

        # Messages in a traceback may quote a database URL, with its password.
        click.echo(without_passwords("".join(traceback.format_exception(exc))), err=True, nl=False)
    click.echo(f"error: internal error ({type(exc).__name__}): {what}; {REPORT_TO}", err=True)
    sys.exit(EXIT_ERROR)


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: one line, never a traceback
            internal_error(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return module.command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        # `kpirules chek`: say which command was meant (click says only "No such command";
        # for options click suggests by itself).
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint} Commands: {', '.join(COMMANDS)}.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text from the table above: listing commands must not import them all.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kpirules")
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
def cli(debug: bool) -> None:
    """kpirules: declarative KPI rules for spreadsheets.

    Write what matters as rules (`signups / visits >= 2% weekly`) and check them against
    the data where it lives: a Google Sheet, an Excel workbook or a CSV file.

    \b
    Examples:
      kpirules check examples/marketing.xlsx --as-of 2026-11-26
      kpirules run examples/marketing.xlsx
      kpirules validate rules/*.kpi
    """


def main() -> None:
    cli(prog_name="kpirules")


if __name__ == "__main__":
    main()
