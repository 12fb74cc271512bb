"""The ``kpirules`` click group: a lazy registry of commands, one module each (the table
is ``kpirules.cli.main.COMMANDS``). ``kpirules.cli.main`` imports this module only when a
command line takes click's path (``kpirules.cli.fast`` runs ``check``'s common form)."""

from __future__ import annotations

import importlib

import click

from kpirules._version import __version__
from kpirules.cli.main import COMMANDS, internal_error


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
