"""Open a source and read it together with its settings, in as few reads as possible.

Settings come from a ``kpirules.toml`` (or ``[tool.kpirules]`` in pyproject.toml) and from
the source's own ``Settings`` tab, which is read in the same call as the data. They are
only loaded (pydantic and all) when one of them exists, so a plain ``check`` on a CSV file
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import Connector, RawTable, Workbook

# Below config and config_sources, so that neither imports this module (it opens sources).
from kpirules.config_base import SETTINGS_FILE, SETTINGS_TAB, find_settings_file

__all__ = ["SETTINGS_FILE", "SETTINGS_TAB", "find_settings_file", "is_rules_file", "rule_entries",
           "settings_tab", "read_source"]

RULES_FILE_SUFFIXES = (".kpi", ".txt", ".rules")


def is_rules_file(path: str) -> bool:
    """A ``.kpi`` (or plain-text) rules file, or ``-`` for standard input."""
    return path == "-" or path.lower().endswith(RULES_FILE_SUFFIXES)


def rule_entries(workbook: Workbook, source: str, rules_file: str | None = None, *,
                 rules_tab: str | None = None, settings: Settings | None = None, config: str | None = None) -> list:
    """The rules to evaluate: those of ``rules_file`` when given, else the workbook's
    rules tab (``rules_tab``, else the settings', else Rules); a source with neither is a
    ``SourceError`` saying what to do, naming the tab asked for (and the setting that
    named it, from ``config`` or the Settings tab)."""
    from kpirules.errors import SourceError, without_passwords
    from kpirules.i18n import _
    from kpirules.rulesfile import read_rules_file, rules_from_table

    if rules_file is not None:
        return read_rules_file(rules_file)
    if workbook.rules is None:
        tab = rules_tab or (settings.rules_tab if settings else None) or "Rules"
        # A CSV file has no tabs at all: its rules come from --rules, whatever tab was named.
        if tab.strip().casefold() == "rules" or workbook.data.delimiter is not None:
            raise SourceError(_("{source} has no Rules tab").format(source=without_passwords(source)),
                              hint=_("add a Rules tab with Name and Rule columns, or give the rules with --rules FILE"))
        missing = SourceError(
            _("{book} has no tab named {tab} (tabs: {tabs})").format(
                book=without_passwords(source), tab=repr(tab), tabs=", ".join(workbook.tabs) or _("none")),
            hint=_("add a {tab} tab with Name and Rule columns, or name the tab that holds the rules with "
                   "--rules-tab").format(tab=repr(tab)))
        raise blame_settings(missing, [] if rules_tab else ["rules_tab"], config or find_settings_file(),
                             settings_tab(workbook)) from None
    return rules_from_table(workbook.rules)


# Settings that name a tab or a column: when one is missing, the message names the setting.
NAMING_SETTINGS = ("data_tab", "rules_tab", "history_tab", "alerts_tab", "date_column")


def blame_settings(exc: Exception, keys, config: str | None, tab: RawTable | None = None) -> Exception:
    """``exc`` (a SourceError about a missing tab or column) saying which setting named it
    and where that was set: "... has no tab named 'Daily' (`data_tab = Daily` from
    ops/kpirules.toml:2)". ``keys``: the settings the command line did not override."""
    from kpirules.errors import SourceError

    if not isinstance(exc, SourceError) or not (config or tab is not None) or getattr(exc, "blamed", False) \
            or "` from " in exc.message:
        return exc
    from kpirules.config_sources import origin
    from kpirules.i18n import _

    for key in keys:
        found = origin(key, config, tab)
        if found is None:
            continue
        value, where = found
        if repr(str(value)) in exc.message or f"`{value}`" in exc.message:
            option = f"--{key.replace('_', '-')}"
            blamed = SourceError(f"{exc.message} ({where})",
                                 hint=_("correct `{key}` there, or override it with {option}").format(
                                     key=key, option=option) if key in ("data_tab", "rules_tab") else
                                 _("correct `{key}` there").format(key=key))
            blamed.blamed = True  # type: ignore[attr-defined]  # said once, however many callers blame
            return blamed
    return exc


def settings_tab(workbook: Workbook) -> RawTable | None:
    for name, tab in workbook.extra_tabs.items():
        if name.strip().casefold() == SETTINGS_TAB.casefold():
            return tab
    return None


def read_source(source: str, *, connector: str | None = None, config: str | None = None,
                data_tab: str | None = None, rules_tab: str | None = None, with_rules: bool = True,
                extra_tabs: tuple[str, ...] = (), **options: Any
                ) -> tuple[Connector, Workbook, Settings | None]:
    """The connector, what it read, and the settings that apply (None: all defaults).
    ``with_rules=False`` skips the Rules tab (the rules come from a file).

    Tabs named on the command line win over settings; a Settings tab that names other data
    or rules tabs costs one more read (rare: a set-up step, not a daily state)."""
    from kpirules.connectors import base, open_source
    from kpirules.connectors.base import ColumnSubsetSource, TextSource, capabilities

    # A database's table: --table, else the `table` setting (read first only then: for
    # any other source, the source's own errors come before the settings').
    database = not options.get("table") and _is_database(source, connector)
    early = None if database else open_source(source, connector=connector, **options)
    config = config or find_settings_file()
    file_settings = None
    if config:
        from kpirules.config import load_settings

        file_settings = load_settings(config)
    if database and file_settings is not None and file_settings.table:
        options["table"] = file_settings.table
    conn: Connector = early if early is not None else open_source(source, connector=connector, **options)
    if file_settings is not None:
        if file_settings.encoding and base.TEXT_ENCODING in capabilities(conn) and isinstance(conn, TextSource):
            conn.encoding = file_settings.encoding  # a CSV file's codec (kpirules.read.text)
        apply_timeout(conn, file_settings)
    wanted: tuple[str | None, str | None] = (data_tab or (file_settings.data_tab if file_settings else "Data"),
              (rules_tab or (file_settings.rules_tab if file_settings else "Rules")) if with_rules else None)
    # The Settings tab is read in the same read as the data, on every source: on Google
    # Sheets one more range of the one call (`kpirules init` and `run` create the tab; a
    # sheet without it costs the connector's fallback, two more calls, and still works).
    tabs = tuple(dict.fromkeys((*extra_tabs, SETTINGS_TAB)))
    from kpirules.errors import SourceError

    unset = [k for k, v in (("data_tab", data_tab), ("rules_tab", rules_tab)) if not v]
    read: Any = conn.read
    if with_rules and base.COLUMN_SUBSET in capabilities(conn) and isinstance(conn, ColumnSubsetSource):
        # A big Google Sheet: below its first rows, only the columns the rules use.
        import functools

        read = functools.partial(read, columns=lambda wb: needed_columns(wb, conn, config, file_settings))
    try:
        workbook = read(data_tab=wanted[0], rules_tab=wanted[1], extra_tabs=tabs)
    except SourceError as exc:
        # A tab missing, perhaps only by its default name: the Settings tab may name the
        # one to read (costs one small read, on a source that is failing anyway).
        workbook = _settings_only(conn, unset)
        if workbook is None:
            raise blame_settings(exc, unset, config) from None
        wanted = (None, None)  # whatever the Settings tab names is read again below
    tab = settings_tab(workbook)
    if tab is None:
        return conn, workbook, file_settings
    from kpirules.config import load_settings

    settings = load_settings(config, tab=tab) if config else load_settings(None, tab=tab)
    again = (data_tab or settings.data_tab, (rules_tab or settings.rules_tab) if with_rules else None)
    if again != wanted:
        try:
            workbook = read(data_tab=again[0], rules_tab=again[1], extra_tabs=tabs)
        except SourceError as exc:
            raise blame_settings(exc, unset, config, tab) from None
    return conn, workbook, settings


def _is_database(source: str, connector: str | None) -> bool:
    """Whether ``source`` goes to a connector that reads a database table (``SQL_TABLE``)."""
    from kpirules.connectors import connector_class
    from kpirules.connectors.base import SQL_TABLE, capabilities
    from kpirules.errors import SourceError

    try:
        return SQL_TABLE in capabilities(connector_class(source, connector))
    except SourceError:
        return False  # open_source says why


def _settings_only(conn: Connector, unset: list[str]) -> Workbook | None:
    """The Settings tab alone (read as the data tab: discarded), when the command line left
    a tab name to the settings; None when there is none."""
    from kpirules.connectors.base import TABS, capabilities
    from kpirules.errors import SourceError

    if not unset or TABS not in capabilities(conn):  # one table (a CSV file, a database): no tabs
        return None
    try:
        workbook = conn.read(data_tab=SETTINGS_TAB, rules_tab=None, extra_tabs=(SETTINGS_TAB,))
    except SourceError:
        return None
    return workbook if settings_tab(workbook) is not None else None


def apply_timeout(conn: Connector, settings: Settings | None) -> None:
    """The `timeout` setting, on a connector that declares reads with a timeout (Google Sheets)."""
    from kpirules.connectors.base import READ_TIMEOUT, TimedSource, capabilities

    if settings is not None and settings.timeout is not None and READ_TIMEOUT in capabilities(conn) \
            and isinstance(conn, TimedSource):
        conn.timeout = settings.timeout


def needed_columns(workbook: Workbook, conn: Connector, config: str | None,
                   file_settings: Settings | None) -> set[int] | None:
    """The 0-based data-tab columns the rules of ``workbook`` (its first rows, its Rules
    and Settings tabs) need: the date column, the first three (where total rows are
    labelled: kpirules.read.recipe) and every column a rule names (metrics, segments,
    filters). None (every column) when that cannot be told from the first rows."""
    from kpirules.ast import Column
    from kpirules.names import normalise
    from kpirules.read.recipe import ReadOptions, shape
    from kpirules.rulesfile import rules_from_table

    settings = file_settings
    tab = settings_tab(workbook)
    try:
        if tab is not None:
            from kpirules.config import load_settings

            settings = load_settings(config, tab=tab)
            apply_timeout(conn, settings)  # for the pages still to read
        if workbook.rules is None:
            return None
        raw, recipe = shape(workbook.data, ReadOptions.of(settings, workbook.data), partial=True)
    except Exception:  # noqa: BLE001 - said by the full read, which then has every column
        return None
    by_name: dict[str, list[int]] = {}
    for i, header in enumerate(raw.headers):
        if header is not None:
            by_name.setdefault(normalise(str(header)), []).append(i)
    needed = {recipe.date_index, 0, 1, 2}
    for entry in rules_from_table(workbook.rules):
        if entry.rule is not None:
            for node in entry.rule.walk():
                if isinstance(node, Column):
                    needed.update(by_name.get(node.name, ()))
    return needed


def now(settings: Settings | None, workbook: Workbook):
    """The current time where the sheet lives: the configured time zone, else the sheet's
    own (Google Sheets' ``timeZone``), else this machine's."""
    import datetime as dt

    zone = (settings.timezone if settings else None) or workbook.timezone
    if zone:
        try:
            from zoneinfo import ZoneInfo

            return dt.datetime.now(ZoneInfo(zone)).replace(microsecond=0)
        except Exception:  # noqa: BLE001 - unknown zone or no tz database: local time
            pass
    return dt.datetime.now().astimezone().replace(microsecond=0)


def today(settings: Settings | None, workbook: Workbook):
    return now(settings, workbook).date()
