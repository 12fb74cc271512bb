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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def connector_options(credentials: str | None) -> dict[str, Any]:
    return {"credentials": credentials} if credentials else {}


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
        from kpirules.errors import SourceError

        try:
            return func(*args, **kwargs)
        except SourceError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            sys.exit(EXIT_SOURCE)
        except ValueError as exc:
            # Only settings were loaded if kpirules.config was (pydantic stays unimported
            # on the plain path).
            config = sys.modules.get("kpirules.config")
            if config is None or not isinstance(exc, config.ConfigError):
                raise
            config_error(exc)

    return wrapper


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


def data_table(source: str, data_tab: str | None = None):
    """The data table of ``source`` read as ``check`` reads it: with the settings of the
    settings file and the source's Settings tab (data tab, date column). A bad settings
    file raises ``ConfigError`` (exit 2), an unreadable source ``SourceError`` (exit 3)."""
    from kpirules.source import read_source
    from kpirules.table import load_table

    _, workbook, settings = read_source(source, data_tab=data_tab, with_rules=False)
    return load_table(workbook.data, date_column=settings.date_column if settings else "date")


def settings_file():
    """The settings of ./kpirules.toml (or pyproject.toml's [tool.kpirules]), None when
    there is none; a bad file raises ``ConfigError``, which ``source_errors`` turns into
    exit status 2 in every command."""
    from kpirules.source import find_settings_file

    path = find_settings_file()
    if path is None:
        return None
    from kpirules.config import load_settings

    return load_settings(path)


def usage_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)
