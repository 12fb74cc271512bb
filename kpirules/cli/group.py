"""The ``kpirules`` click group: a lazy registry of commands, one module each (the table
is ``kpirules.cli.main.COMMANDS``). ``kpirules.cli.main`` imports this module only when a
command line takes click's path (``kpirules.cli.fast`` runs ``check``'s common form)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from kpirules._version import __version__
from kpirules.cli.main import COMMANDS, internal_error


def _click_gettext(message: str) -> str:
    i18n = sys.modules.get("kpirules.i18n")  # not loaded: nobody asked for a language, English
    return message if i18n is None else i18n.click_gettext(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    i18n = sys.modules.get("kpirules.i18n")
    return (singular if n == 1 else plural) if i18n is None else i18n.click_ngettext(singular, plural, n)


def speak_clicks_messages() -> None:
    """click's own messages (``Usage:``, ``Error: Invalid value for ...``, ``No such
    option``, ``Missing argument``...) in the language kpirules speaks. click marks them with
    the standard library's ``gettext``, imported into each of its modules, which reads
    gettext's one process-wide domain and the LANGUAGE variables: a language chosen per
    thread (``--lang``, kpirules.i18n) cannot reach that. Each click module's ``_`` and
    ``ngettext`` are pointed at ``kpirules.i18n``'s, which read the ``click`` catalog beside
    ours (kpirules/locale/pl/LC_MESSAGES/click.po; tests/test_i18n_click.py checks that it
    covers every message of the installed click). Modules click loads later (its shell
    completion, its editor) keep English."""
    import gettext

    for name, module in list(sys.modules.items()):
        if name == "click" or not name.startswith("click."):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


speak_clicks_messages()


def lang_asked(args: list[str]) -> str | None:
    """The ``--lang`` of a command line (``--lang pl``, ``--lang=pl``), if it names a language:
    read before click parses it, so that an error click finds while parsing (an unknown
    option, a missing argument) is said in that language too."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in ("en", "pl"):
            return value
    return None


class LazyGroup(click.Group):
    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        asked = lang_asked(list(sys.argv[1:] if args is None else args))
        if asked is not None:
            from kpirules.i18n import set_language

            set_language(asked, pinned=True)  # --lang's own callback says the same, later
        return super().main(args, *rest, **options)

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
            from kpirules.i18n import _

            names = f" {_('or')} ".join(repr(c) for c in close)
            hint = " " + _("Did you mean {names}?").format(names=names) if close else ""
            ctx.fail(_("No such command {name}.{hint} Commands: {commands}.").format(
                name=repr(name), hint=hint, commands=", ".join(COMMANDS)))
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
