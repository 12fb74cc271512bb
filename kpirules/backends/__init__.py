"""Table backends: what reads a source's data table and computes the plan's aggregates.

The pure-Python ``kpirules.table.DataTable`` reads every source. A large CSV file is
faster in DuckDB (the ``kpirules[fast]`` extra): ``kpirules check`` of 1,000,000 rows
against 1,000 rules takes 4.4 s and 800 MB on the Python path, several times less time and
a fifth of the memory with ``kpirules.backends.duckdb_table.DuckTable``, which gives exactly
the same results (bench/README.md has the numbers). Complete periods need each metric's
first and last filled date over the whole table, so DuckDB reads every row up to the day
before the as-of date, not only the rules' dates, into a daily cube.

Which one runs (``choose``):

- ``KPIRULES_BACKEND=python`` (or ``backend="python"``): always the Python path.
- ``KPIRULES_BACKEND=duckdb``: DuckDB for every CSV file (an error when duckdb is missing).
- unset or ``auto``: DuckDB for CSV files of ``AUTO_MIN_BYTES`` (5 MB) or more when duckdb
  is installed; below that the Python path is faster, with no import to pay.

Only CSV files go to DuckDB; spreadsheets (xlsx, Google Sheets) arrive as cells already in
memory, where the Python path is the right tool. Nothing here imports duckdb: the check is
``importlib.util.find_spec``, and ``DuckTable`` imports it when it first queries.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kpirules.errors import SourceError
from kpirules.i18n import _

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import RawTable, Workbook

ENV_VAR = "KPIRULES_BACKEND"
CHOICES = ("auto", "python", "duckdb")
# DuckDB costs ~0.2 s whatever the file (import, connection, planning); the csv module
# costs ~50 ms per MB. Measured on the bench (2 cores, 10 rules): a 3 MB file 0.19 s in
# Python vs 0.21 s in DuckDB, 6.7 MB (100,000 rows) 0.31 s vs 0.23 s; more rules only
# widen DuckDB's lead. So DuckDB from 5 MB up.
AUTO_MIN_BYTES = 5 * 1024 * 1024


def duckdb_available() -> bool:
    """duckdb and sqlglot (which compiles the plan into DuckDB's SQL) are both installed:
    the ``kpirules[fast]`` extra."""
    import importlib.util

    return importlib.util.find_spec("duckdb") is not None and importlib.util.find_spec("sqlglot") is not None


def requested(backend: str | None = None) -> str:
    """The backend asked for: the argument, else ``$KPIRULES_BACKEND``, else ``auto``."""
    from kpirules.errors import SourceError

    choice = (backend or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if choice not in CHOICES:
        raise SourceError(_("unknown table backend {name}").format(name=repr(choice)),
                          hint=_("set {variable} to one of {choices}").format(variable=ENV_VAR,
                                                                              choices=", ".join(CHOICES)))
    return choice


def choose(path: str | os.PathLike, backend: str | None = None) -> str:
    """``"duckdb"`` or ``"python"`` for the CSV file at ``path``."""
    from kpirules.errors import SourceError

    choice = requested(backend)
    if choice == "python":
        return "python"
    if choice == "duckdb":
        if not duckdb_available():
            raise SourceError(_("{variable}=duckdb but duckdb (or sqlglot) is not installed").format(variable=ENV_VAR),
                              hint=_("pip install 'kpirules[fast]', or unset the variable"))
        return "duckdb"
    try:
        big = os.path.getsize(path) >= AUTO_MIN_BYTES
    except OSError:
        return "python"  # the csv connector says what is wrong with the path
    return "duckdb" if big and duckdb_available() else "python"


def csv_table(path: str | os.PathLike, *, date_column: str | None = None, backend: str | None = None,
              settings: Settings | None = None):
    """The data table of the CSV file at ``path`` with the chosen backend: a ``DuckTable``
    or a ``DataTable``, both fit for ``kpirules.evaluate``, both following the same read
    recipe (``kpirules.read.recipe``) with ``settings``."""
    if choose(path, backend) == "duckdb":
        from kpirules.backends.duckdb_table import DuckTable, Unsupported

        try:
            return DuckTable(path, date_column=date_column, settings=settings)
        except Unsupported:
            pass  # the Python path reads it, or says why it cannot
    from kpirules.connectors.csv_file import CsvConnector
    from kpirules.table import load_table

    conn = CsvConnector(os.fspath(path), encoding=getattr(settings, "encoding", None))
    return load_table(conn.read().data, date_column=date_column, settings=settings)


def table_for(source: str | os.PathLike | RawTable | Workbook, *, date_column: str | None = None,
              backend: str | None = None):
    """A table for ``source``: a CSV path (backend chosen by ``choose``), or cells already
    read (a ``RawTable`` or a ``Workbook``), which the Python path indexes."""
    from kpirules.connectors.base import RawTable, Workbook
    from kpirules.table import load_table

    if isinstance(source, Workbook):
        source = source.data
    if isinstance(source, RawTable):
        return load_table(source, date_column=date_column)
    return csv_table(source, date_column=date_column, backend=backend)


def read_with_table(source: str, *, backend: str | None = None, data: str | None = None,
                    **read_options: Any) -> tuple[Workbook, Settings | None, Any]:
    """``kpirules.source.read_source(source, **read_options)`` for ``check``, plus the
    DuckDB table when that backend takes the source: ``(workbook, settings, table)``.

    ``table`` is None for every source the Python path reads: the caller indexes
    ``workbook.data`` with ``load_table`` as before. A CSV file the DuckDB backend takes is
    never read by the csv connector: its workbook holds the header row only (``data.rows``
    is empty), and its settings are those of the settings file, as for any CSV (a CSV has
    no Settings tab).

    ``data`` (a warehouse URL, else the ``data`` setting) with ``table``: the rules and
    settings come from ``source`` and the table is the warehouse's ``SqlTable``."""
    from kpirules.connectors.base import SQL_TABLE, capabilities
    from kpirules.source import read_source

    if data is not None:
        return _sheet_and_warehouse(source, data, read_options)
    path = _csv_path(source, read_options)
    if path is not None and choose(path, backend) == "duckdb":
        found = _duck_workbook(path, read_options.get("config"))
        if found is not None:
            return found
    try:
        conn, workbook, settings = read_source(source, **read_options)
    except SourceError as exc:
        # No data tab may be right: the Settings tab can say the data are in a warehouse.
        found = _rules_only(source, read_options) if _has_tabs(source, read_options) else None
        if found is None or found[2] is None or not found[2].data:
            raise exc from None
        return _sheet_and_warehouse(source, None, read_options, found)
    if SQL_TABLE in capabilities(conn):
        # A database: the whole plan runs there as one query (kpirules.sql.compile).
        return workbook, settings, sql_table_of(conn, settings)
    if settings is not None and settings.data:
        return _sheet_and_warehouse(source, None, read_options, (conn, workbook, settings))
    return workbook, settings, None


def sql_table_of(conn: Any, settings: Settings | None):
    """The ``SqlTable`` of a warehouse connector (one with the ``table`` capability, which
    promises a ``SqlTableSource``: a plugin's that does not keep it is refused by name)."""
    from kpirules.backends.sql_table import SqlTable
    from kpirules.connectors.base import SqlTableSource

    if not isinstance(conn, SqlTableSource):
        raise SourceError(_("the connector {name} declares the `table` capability but is not a SqlTableSource "
                            "(engine(), table, complete_lag_days)").format(name=type(conn).__name__),
                          hint=_("give it what kpirules.connectors.base.SqlTableSource lists, or subclass "
                                 "connectors/warehouse.py's WarehouseConnector"))
    sql = SqlTable(conn.engine(), conn.table, date_column=(settings.date_column if settings else None) or "date")
    sql.complete_lag_days = conn.complete_lag_days  # GA4: as_of - 4
    return sql


# Set by ``kpirules serve`` around /v1/check and /v1/run: the sheet's own data only. A
# sheet's Settings tab is written by anyone who can edit the sheet, and its ``data`` setting
# would otherwise make the service open a file on its own disk (``duckdb:///...``, which
# DuckDB even creates) or connect to any database its network reaches.
_SHEET_DATA_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("sheet_data_only", default=False)


@contextlib.contextmanager
def sheet_data_only() -> Iterator[None]:
    """Within the block, ``warehouse_table`` refuses every URL (this thread's context only)."""
    token = _SHEET_DATA_ONLY.set(True)
    try:
        yield
    finally:
        _SHEET_DATA_ONLY.reset(token)


def warehouse_table(data: str, table: str | None, *, settings: Settings | None = None, **options: Any):
    """The data of ``data`` (a warehouse URL: ``postgresql://...``, ``duckdb:///...``) and
    ``table`` as a ``SqlTable``, for rules that live elsewhere (a sheet's Rules tab):
    ``kpirules run SHEET --data URL --table T``. Raises ``SourceError`` when it cannot be
    read (unreachable, no such table, no date column), or at once, opening nothing, inside
    ``sheet_data_only``."""
    from kpirules.connectors import open_source
    from kpirules.connectors.base import SQL_TABLE, capabilities

    if _SHEET_DATA_ONLY.get():
        raise SourceError(_("the `data` setting names a database, and this service reads the data from the "
                            "sheet's own Data tab only"),
                          hint=_("remove `data` (and `table`) from the Settings tab, or run `kpirules check` "
                                 "or `kpirules run` with --data where the database is reachable"))
    conn = open_source(data, table=table, **options)
    if SQL_TABLE not in capabilities(conn):
        raise SourceError(_("--data takes a database URL; {name} sources hold their data in their own Data "
                            "tab").format(name=getattr(conn, "name", "this")),
                          hint=_("give postgresql://, bigquery://, snowflake://, spark: or duckdb:/// "
                                 "(docs/warehouses.md)"))
    return sql_table_of(conn, settings)


def _connector_options(read_options: dict[str, Any]) -> dict[str, Any]:
    """What a warehouse connector is opened with: the credentials (BigQuery shares the
    Sheets ones)."""
    return {k: v for k, v in read_options.items() if k == "credentials" and v}


def _rules_only(source: str, read_options: dict[str, Any]):
    """``read_source`` with the Rules tab standing in for the data tab (the data are
    elsewhere): (connector, workbook, settings), or None when that cannot be read either."""
    from kpirules.source import read_source

    options = {k: v for k, v in read_options.items() if k != "table"}
    options["data_tab"] = options.get("rules_tab") or _rules_tab(options.get("config"))
    try:
        return read_source(source, **options)
    except SourceError:
        return None


def _has_tabs(source: str, read_options: dict[str, Any]) -> bool:
    """Whether ``source`` is a workbook or sheet (one with tabs, not a CSV file or a database)."""
    from kpirules.connectors import open_source
    from kpirules.connectors.base import TABS, capabilities

    try:
        conn = open_source(source, connector=read_options.get("connector"))
    except Exception:  # noqa: BLE001 - the first error is the one to report
        return False
    return TABS in capabilities(conn)


def _rules_tab(config: str | None) -> str:
    from kpirules.source import find_settings_file

    config = config or find_settings_file()
    if not config:
        return "Rules"
    from kpirules.config import load_settings

    return load_settings(config).rules_tab


def _sheet_and_warehouse(source: str, data: str | None, read_options: dict[str, Any], found: Any = None):
    """Rules (and settings) from ``source``, data from the warehouse ``data`` (or the
    ``data`` setting) and ``--table`` (or the ``table`` setting)."""
    from kpirules.source import read_source

    if found is None:
        options = {k: v for k, v in read_options.items() if k != "table"}
        options["data_tab"] = options.get("rules_tab") or _rules_tab(options.get("config"))
        found = read_source(source, **options)
    _, workbook, settings = found
    url = data or (settings.data if settings else None)
    if not url:
        raise SourceError(_("--table names a table of a database given with --data (or the data setting)"),
                          hint=_("add --data postgresql://USER@HOST/DB (docs/warehouses.md), or drop --table"))
    table = read_options.get("table") or (settings.table if settings else None)
    return workbook, settings, warehouse_table(url, table, settings=settings, **_connector_options(read_options))


def _csv_path(source: str, read_options: dict[str, Any]) -> str | None:
    """The path when the csv connector is the one ``read_source`` would use for ``source``."""
    from kpirules.connectors import open_source
    from kpirules.connectors.csv_file import CsvConnector

    connector = read_options.get("connector")
    if not (connector == "csv" or (connector is None and CsvConnector.matches(source))):
        return None
    # Ask open_source which connector it picks (the options it would pass on do not change
    # the pick); anything but the built-in csv connector keeps the Python path.
    try:
        conn = open_source(source, connector=connector)
    except Exception:  # noqa: BLE001 - read_source will raise it, with the options
        return None
    return conn.path if type(conn) is CsvConnector else None


def _duck_workbook(path: str, config: str | None):
    from kpirules.backends.duckdb_table import DuckTable, Unsupported
    from kpirules.connectors.base import RawTable, Workbook
    from kpirules.source import find_settings_file

    # As read_source: the settings file alone (a CSV has no Settings tab), and pydantic
    # only when there is one.
    config = config or find_settings_file()
    settings = None
    if config:
        from kpirules.config import load_settings

        settings = load_settings(config)
    try:
        table = DuckTable(path, settings=settings)
    except Unsupported:
        return None
    name = os.path.basename(path)
    workbook = Workbook(data=RawTable(headers=list(table.headers), rows=[], sheet=name,
                                      header_row=table.header_row, delimiter=table._delimiter),
                        title=name, url=os.path.abspath(path), tabs=[name])
    return workbook, settings, table
