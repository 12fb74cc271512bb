"""What the commands share: parameter types, source options, colour, and error mapping."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from typing import Any, Callable

import click

from kpirules.cli.main import EXIT_ERROR
# What check prints without click (kpirules.cli.fast) is shared with every command from here.
from kpirules.cli.output import (STATUS_COLORS, echo, echo_json, parse_date, reporting_input_errors,
                                 settings_used, status_text, use_color)


class DateType(click.ParamType):
    """``YYYY-MM-DD``, or ``today`` / ``yesterday``."""

    name = "date"

    def convert(self, value: Any, param, ctx) -> dt.date:
        date = parse_date(value)
        if date is None:
            from kpirules.i18n import _  # --lang is read first (it is eager)
            from kpirules.periods import outside_text

            if _iso_date(value):
                self.fail(outside_text(repr(value)), param, ctx)
            self.fail(_("{value} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-26").format(value=repr(value)),
                      param, ctx)
        return date


DATE = DateType()


def _iso_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return False
    return True


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
    func = table_option(func)  # the last of them
    for option in reversed(options):
        func = option(func)
    return func


def table_option(func: Callable) -> Callable:
    """``--table``: read by connector_options through the context, so that every command that
    opens a source takes it without one more parameter each (else the `table` setting)."""
    return click.option("--table", metavar="[SCHEMA.]TABLE", expose_value=False, envvar="KPIRULES_TABLE",
                        callback=_remember_table,
                        help="The table to read, for a database source (postgresql://, duckdb://...) "
                             "[default: the table setting].")(func)


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


def _remember_table(ctx: click.Context, param, value: str | None) -> str | None:
    if value:
        ctx.meta["kpirules.table"] = value
    return value


def lang_option(func: Callable) -> Callable:
    """``--lang``: the language of what people read (JSON keys and statuses stay English)."""
    return click.option("--lang", type=click.Choice(["en", "pl"]), default=None, metavar="en|pl",
                        callback=_speak_now, is_eager=True,
                        help="Language of messages, tables and numbers [default: the language "
                             "setting, else the Google Sheet's locale, else en].")(func)


def _speak_now(ctx: click.Context, param, value: str | None) -> str | None:
    """``--lang`` applies at once: a source that cannot be read, bad settings or a rule
    that does not parse are said in it too (the setting and the sheet's locale apply once
    they are read: ``kpirules.engine.prepare``)."""
    from kpirules.i18n import set_language

    set_language(value, pinned=value is not None)  # none: English until the settings or the sheet say otherwise
    return value


def connector_options(credentials: str | None) -> dict[str, Any]:
    """The options every connector is opened with: credentials, and ``--table``."""
    options: dict[str, Any] = {"credentials": credentials} if credentials else {}
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("kpirules.table"):
        options["table"] = ctx.meta["kpirules.table"]
    if ctx is not None and ctx.meta.get("kpirules.data"):
        options["data"] = ctx.meta["kpirules.data"]
    return options


def source_errors(func: Callable) -> Callable:
    """Turn a source that cannot be read into a clear message and exit status 3, and
    settings that cannot be used (a bad kpirules.toml or Settings tab) into every problem
    located (``kpirules.toml:3:9: ...``, ``Settings!B4: ...``) and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return reporting_input_errors(lambda: func(*args, **kwargs), kwargs)

    return wrapper


def unreadable_json(unreadable: list) -> dict:
    """``{"unreadable": [{file, message, hint}]}`` for the (path, SourceError) pairs of
    files that could not be read, nothing when there are none: ``validate``'s and ``lint``'s
    ``--format json``, so that a script reading the document does not take a file it
    could not read for a clean one."""
    if not unreadable:
        return {}
    return {"unreadable": [{"file": path, "message": exc.message, "hint": exc.hint} for path, exc in unreadable]}


def read_entries(path: str):
    """Rule entries of a ``.kpi`` file, or of a workbook's Rules tab."""
    from kpirules.rulesfile import read_rules_file
    from kpirules.source import is_rules_file, rule_entries

    if is_rules_file(path):
        return read_rules_file(path)
    from kpirules.connectors import open_source

    return rule_entries(open_source(path).read(), path)


def data_table(source: str, data_tab: str | None = None, *, config: str | None = None):
    """The data table of ``source`` read as ``check`` reads it (``read_with_table``): with the
    settings of the settings file and the source's Settings tab (data tab, date column,
    encoding, locale, date format); a database with ``--table``, else the `table` setting,
    as a ``SqlTable``. A file is read by the Python path (lint reads its rows). A bad
    settings file raises ``ConfigError`` (exit 2), an unreadable source ``SourceError`` (exit 3)."""
    from kpirules.backends import read_with_table
    from kpirules.table import load_table

    options = {k: v for k, v in connector_options(None).items() if k != "data"}
    workbook, settings, table = read_with_table(source, data_tab=data_tab, with_rules=False, config=config,
                                                backend="python", **options)
    return table if table is not None else load_table(workbook.data, settings=settings)


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
    from kpirules.i18n import _

    echo(f"{_('error')}: {message}", err=True)
    sys.exit(EXIT_ERROR)
