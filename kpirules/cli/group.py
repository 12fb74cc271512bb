"""The ``kpirules`` click group: a lazy registry of commands, one module each (the table
is ``kpirules.cli.main.COMMANDS``). ``kpirules.cli.main`` imports this module only when a
command line takes click's path (``kpirules.cli.fast`` runs ``check``'s common form)."""

from __future__ import annotations

import importlib
import inspect
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


def asks_for_help(args: list[str]) -> bool:
    """Whether a command line asks for help (``-h``, ``--help``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg in ("-h", "--help"):
            return True
    return False


def without_lang(args: list[str]) -> list[str]:
    """``args`` without its ``--lang`` (``--lang pl``, ``--lang=pl``)."""
    kept: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            return [*kept, arg, *rest]
        if arg == "--lang":
            next(rest, None)
        elif not arg.startswith("--lang="):
            kept.append(arg)
    return kept


class SpeakingContext(click.Context):
    """A context whose help page (``--help``, or a group run without its command) is said in
    the language of the command line: click's headings come from click's catalog, the
    commands' and options' help from ours (``kpirules.i18n.help_text``). Translated here,
    when the page is rendered, not where the commands are defined: a command line that asks
    for no help pays nothing for it (``check``'s fast path does not even load click)."""

    def get_help(self) -> str:
        return in_current_language(self.command).get_help(self)


def in_current_language(command: click.Command) -> click.Command:
    """A copy of ``command`` whose help texts (its own, its options', its subcommands') are in
    the current language; ``command`` itself keeps its English. The copy builds its own help
    option, so that "Show this message and exit." is said in the language of this page, not
    of the first page the process rendered."""
    import copy  # only for a help page: click alone does not load it

    from kpirules.i18n import help_text

    said = copy.copy(command)
    if command.help:
        said.help = help_text(inspect.cleandoc(command.help))
    if command.short_help:
        said.short_help = help_text(command.short_help)
    said._help_option = None  # type: ignore[attr-defined]
    said.params = []
    for param in command.params:
        param_said = copy.copy(param)
        english = getattr(param, "help", None)
        if english:
            param_said.help = help_text(english)  # type: ignore[attr-defined]
        said.params.append(param_said)
    if isinstance(said, click.Group) and not isinstance(said, LazyGroup):
        said.commands = {name: in_current_language(sub) for name, sub in said.commands.items()}
    return said


def speaking(command: click.Command) -> click.Command:
    """``command`` (and its subcommands) renders its help in the current language."""
    command.context_class = SpeakingContext
    for sub in getattr(command, "commands", {}).values():
        speaking(sub)
    return command


class LazyGroup(click.Group):
    context_class = SpeakingContext

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        line = list(sys.argv[1:] if args is None else args)
        asked = lang_asked(line)
        if asked is not None:
            from kpirules.i18n import set_language

            set_language(asked, pinned=True)  # --lang's own callback says the same, later
            if asks_for_help(line) or not any(arg in COMMANDS for arg in line):
                # `kpirules run --help --lang pl`, `kpirules --help --lang pl`: help in that
                # language for every command, also those that take no --lang (run, init,
                # auth...), and for the group (a line that names no command is the group's:
                # its help, its usage errors). --lang has done its work: nothing but help runs.
                args = without_lang(line)
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
        return speaking(module.command)

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
        from kpirules.i18n import click_gettext, help_text

        with formatter.section(click_gettext("Commands")):
            formatter.write_dl([(name, help_text(help_)) for name, (_, help_) in COMMANDS.items()])


class _VersionLine:
    """click's ``--version`` line, said in the language of the command line when printed:
    click translates its default when the option is defined, before ``--lang`` is read."""

    def __mod__(self, values: dict[str, Any]) -> str:
        return _click_gettext("%(prog)s, version %(version)s") % values


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="kpirules", message=_VersionLine())  # type: ignore[arg-type]
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
