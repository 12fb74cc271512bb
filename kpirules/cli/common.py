"""What the commands share: parameter types, source options, colour, and error mapping."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from typing import Any, Callable

import click

from kpirules.cli.main import EXIT_ERROR, EXIT_SOURCE


class DateType(click.ParamType):
    """``YYYY-MM-DD``, or ``today`` / ``yesterday``."""

    name = "date"

    def convert(self, value: Any, param, ctx) -> dt.date:
        if isinstance(value, dt.date):
            return value
        text = str(value).strip().lower()
        if text == "today":
            return dt.date.today()
        if text == "yesterday":
            return dt.date.today() - dt.timedelta(days=1)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-26", param, ctx)


DATE = DateType()


def source_options(func: Callable) -> Callable:
    """Options every command that reads a source takes."""
    options = [
        click.option("--data-tab", default=None, metavar="TAB",
                     help="The tab that holds the data table [default: Data, or as the settings say]."),
        click.option("--rules-tab", default=None, metavar="TAB",
                     help="The tab that holds the rules [default: Rules, or as the settings say]."),
        click.option("--connector", metavar="NAME",
                     help="Force a connector (csv, xlsx, gsheets or a plugin's name)."),
        click.option("--credentials", type=click.Path(dir_okay=False), metavar="FILE",
                     envvar="KPIRULES_CREDENTIALS",
                     help="Google service-account key file (Sheets only)."),
        # Read by connector_options through the context, so that every command that opens
        # a source takes it without one more parameter each.
        click.option("--table", metavar="[SCHEMA.]TABLE", expose_value=False, envvar="KPIRULES_TABLE",
                     callback=_remember_table,
                     help="The table to read, for a database source (postgresql://, duckdb://...)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def data_option(func: Callable) -> Callable:
    """``--data URL``: rules (and results) in SOURCE, data in a warehouse's ``--table``
    (docs/warehouses.md). Read by ``connector_options`` through the context, as ``--table``."""
    return click.option(
        "--data", metavar="URL", expose_value=False, envvar="KPIRULES_DATA", callback=_remember_data,
        help="Read the data from this database (postgresql://, bigquery://, snowflake://, spark:, "
             "duckdb:///) and --table, not from SOURCE's data tab [default: the data setting].")(func)


def _remember_data(ctx: click.Context, param, value: str | None) -> str | None:
    if value:
        ctx.meta["kpirules.data"] = value
    return value


def config_option(func: Callable) -> Callable:
    """``--config FILE``: every command takes it, and without it every command finds the same
    settings file (``kpirules.source.find_settings_file``: from here up to the repository's
    root)."""
    return click.option(
        "--config", type=click.Path(dir_okay=False, exists=True), metavar="FILE", default=None,
        help="Settings file [default: the nearest kpirules.toml or pyproject.toml with "
             "[tool.kpirules], from here up to the repository's root].")(func)


def _verbosity(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value and param.name == "verbose":
        import logging

        # -v: what kpirules does (settings found, retries); -vv: everything, for a bug report.
        from kpirules.errors import without_passwords

        class Redacting(logging.Formatter):  # libraries log the URLs they open
            def format(self, record: logging.LogRecord) -> str:
                return without_passwords(super().format(record))

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(Redacting("%(levelname)s %(name)s: %(message)s"))
        logging.basicConfig(level=logging.INFO if value == 1 else logging.DEBUG, handlers=[handler])
    return value


def verbosity_options(func: Callable) -> Callable:
    """``-q`` (problems and the summary only) and ``-v``/``-vv`` (what happens, on stderr)."""
    func = click.option("-v", "--verbose", count=True, callback=_verbosity, expose_value=True,
                        help="Say more on stderr: the settings file used, retries (-vv: debug).")(func)
    return click.option("-q", "--quiet", is_flag=True,
                        help="Print only problems and the summary line.")(func)


def format_option(default: str = "text", human: str = "text") -> Callable:
    """``--format text|json`` (``table|json`` for check, as spec/cli.md fixes it): json
    prints exactly one document on stdout."""
    return click.option("--format", "fmt", type=click.Choice([human, "json"]), default=default,
                        show_default=True, help=f"{human} for people, json for scripts.")


def echo_json(document: Any) -> None:
    """One JSON document on stdout: indented at a terminal, compact in a pipe (where json's
    C encoder, used only without indent, is several times faster on big reports)."""
    import json

    indent = 1 if sys.stdout.isatty() else None
    click.echo(json.dumps(document, ensure_ascii=False, indent=indent, default=str))


def settings_used(config: str | None, verbose: int) -> None:
    """Under -v, say which settings file applies (or that none does)."""
    if verbose:
        from kpirules.source import find_settings_file

        found = config or find_settings_file()
        click.echo(f"settings: {found or 'none found (defaults)'}", err=True)


def _remember_table(ctx: click.Context, param, value: str | None) -> str | None:
    if value:
        ctx.meta["kpirules.table"] = value
    return value


def lang_option(func: Callable) -> Callable:
    """``--lang``: the language of what people read (JSON keys and statuses stay English)."""
    return click.option("--lang", type=click.Choice(["en", "pl"]), default=None, metavar="en|pl",
                        help="Language of messages, tables and numbers [default: the language "
                             "setting, else the Google Sheet's locale, else en].")(func)


def connector_options(credentials: str | None) -> dict[str, Any]:
    """The options every connector is opened with: credentials, and ``--table``."""
    options: dict[str, Any] = {"credentials": credentials} if credentials else {}
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("kpirules.table"):
        options["table"] = ctx.meta["kpirules.table"]
    if ctx is not None and ctx.meta.get("kpirules.data"):
        options["data"] = ctx.meta["kpirules.data"]
    return options


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


STATUS_COLORS = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "NO_DATA": "bright_black",
                 "INCONCLUSIVE": "cyan", "ERROR": "magenta"}


def status_text(status: str, color: bool, width: int = 7) -> str:
    text = status.ljust(width)
    return click.style(text, fg=STATUS_COLORS.get(status), bold=status in ("FAIL", "ERROR")) if color else text


def source_errors(func: Callable) -> Callable:
    """Turn a source that cannot be read into a clear message and exit status 3, and
    settings that cannot be used (a bad kpirules.toml or Settings tab) into every problem
    located (``kpirules.toml:3:9: ...``, ``Settings!B4: ...``) and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from kpirules.errors import SourceError, without_passwords

        try:
            return func(*args, **kwargs)
        except SourceError as exc:
            exc = _blamed(exc, kwargs)
            # A message may quote the source, a database URL with its password.
            click.echo(f"error: {without_passwords(exc.message)}", err=True)
            if exc.hint:
                click.echo(f"hint: {without_passwords(exc.hint)}", err=True)
            sys.exit(EXIT_SOURCE)
        except ValueError as exc:
            # Only settings were loaded if kpirules.config was (pydantic stays unimported
            # on the plain path).
            config = sys.modules.get("kpirules.config")
            if config is None or not isinstance(exc, config.ConfigError):
                raise
            config_error(exc)

    return wrapper


def _blamed(exc, options: dict):
    """A missing tab or column that a setting named says so, with where it was set
    (``kpirules.source.blame_settings``); options given on the command line are not blamed."""
    from kpirules.source import NAMING_SETTINGS, blame_settings, find_settings_file

    config = options.get("config") or find_settings_file()
    if not config:
        return exc
    return blame_settings(exc, [k for k in NAMING_SETTINGS if not options.get(k)], config)


def config_error(exc) -> None:
    """Print every problem of a ``ConfigError`` and exit 2 (spec/cli.md: invalid settings)."""
    for problem in exc.problems:
        click.echo(f"error: {problem.render()}", err=True)
    click.echo("hint: fix the settings (docs/configuration.md lists every key)", err=True)
    sys.exit(EXIT_ERROR)


def read_entries(path: str):
    """Rule entries of a ``.kpi`` file, or of a workbook's Rules tab."""
    from kpirules.rulesfile import read_rules_file
    from kpirules.source import is_rules_file, rule_entries

    if is_rules_file(path):
        return read_rules_file(path)
    from kpirules.connectors import open_source

    return rule_entries(open_source(path).read(), path)


def data_table(source: str, data_tab: str | None = None, *, config: str | None = None):
    """The data table of ``source`` read as ``check`` reads it: with the settings of the
    settings file and the source's Settings tab (data tab, date column, encoding, locale,
    date format). A bad settings file raises ``ConfigError`` (exit 2), an unreadable source
    ``SourceError`` (exit 3)."""
    from kpirules.source import read_source
    from kpirules.table import load_table

    _, workbook, settings = read_source(source, data_tab=data_tab, with_rules=False, config=config)
    return load_table(workbook.data, settings=settings)


def settings_file(config: str | None = None):
    """The settings of ``--config`` or the nearest kpirules.toml (or pyproject.toml's
    [tool.kpirules]), None when there is none; a bad file raises ``ConfigError``, which
    ``source_errors`` turns into exit status 2 in every command."""
    from kpirules.source import find_settings_file

    path = config or find_settings_file()
    if path is None:
        return None
    from kpirules.config import load_settings

    return load_settings(path)


def usage_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)
