"""Table backends and writers are chosen by what they declare (``capabilities``), never by
a connector's name or by probing for methods."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest

from kpirules.aggregate import IN_DATABASE, ROWS, TableBackend
from kpirules.connectors.base import (
    SQL_TABLE,
    WRITE_SHEET,
    WRITE_WORKBOOK,
    SheetTarget,
    SqlTableSource,
    WorkbookTarget,
    capabilities,
)
from kpirules.connectors.csv_file import CsvConnector
from kpirules.connectors.xlsx_file import XlsxConnector
from kpirules.writeback.writers import SheetWriter, WorkbookWriter, writer_for


def test_every_table_backend_has_the_face_the_engine_reads(tmp_path):
    from kpirules.backends.sql_table import SqlTable
    from kpirules.table import load_table

    path = tmp_path / "d.csv"
    path.write_text("date,visits\n2026-11-16,3\n", encoding="utf-8")
    python = load_table(CsvConnector(str(path)).read().data)
    assert isinstance(python, TableBackend) and ROWS in python.capabilities
    duckdb = pytest.importorskip("duckdb")
    from kpirules.backends.duckdb_table import DuckTable
    from kpirules.connectors.duckdb_db import DuckEngine

    duck = DuckTable(path)
    assert isinstance(duck, TableBackend) and IN_DATABASE in duck.capabilities
    conn = duckdb.connect()
    conn.execute("CREATE TABLE daily (date DATE, visits DOUBLE)")
    sql = SqlTable(DuckEngine(conn), "daily")
    assert isinstance(sql, TableBackend) and ROWS not in sql.capabilities
    assert sql.extents(["visits"], dt.date(2026, 11, 20)) == {}


def test_writers_are_chosen_by_declared_capabilities(tmp_path):
    assert writer_for(CsvConnector(str(tmp_path / "d.csv"))) is None
    xlsx = XlsxConnector(str(tmp_path / "w.xlsx"))
    assert WRITE_WORKBOOK in capabilities(xlsx) and isinstance(xlsx, WorkbookTarget)
    assert isinstance(writer_for(xlsx), WorkbookWriter)

    class PluginSheet:  # a plugin's connector: its own name, declares write-sheet
        name: ClassVar[str] = "my-sheets"
        capabilities: ClassVar[frozenset[str]] = frozenset({WRITE_SHEET})

        @property
        def sheet_ids(self) -> dict[str, int]:
            return {}

        def batch_update(self, requests: list[dict], *, idempotent: bool = False) -> dict[str, Any]:
            return {}

    plugin = PluginSheet()
    assert isinstance(plugin, SheetTarget) and isinstance(writer_for(plugin), SheetWriter)

    class Undeclared:  # has the methods but declares nothing: not written to
        name = "gsheets"

        def batch_update(self, requests: list[dict], *, idempotent: bool = False) -> dict[str, Any]:
            return {}

    assert writer_for(Undeclared()) is None


def test_warehouses_declare_the_sql_table():
    from kpirules.connectors.postgres import PostgresConnector

    conn = PostgresConnector("postgresql://u@127.0.0.1:1/db", table="daily")
    assert SQL_TABLE in capabilities(conn) and isinstance(conn, SqlTableSource)


def test_how_complete_a_warehouse_table_is_comes_from_the_declared_interface(tmp_path):
    """``complete_lag_days`` is part of ``SqlTableSource``: a warehouse declares None (from
    the data), a GA4 export 4, and a plugin that declares ``table`` without keeping the
    interface is refused by name, not read as an empty sheet."""
    from kpirules.backends import sql_table_of
    from kpirules.connectors.duckdb_db import DuckDbConnector
    from kpirules.errors import SourceError

    pytest.importorskip("duckdb")
    db = tmp_path / "w.duckdb"
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits DOUBLE)")
    conn = DuckDbConnector(f"duckdb:///{db}", table="daily")
    assert isinstance(conn, SqlTableSource) and conn.complete_lag_days is None
    assert sql_table_of(conn, None).complete_lag_days is None

    class Lagging(DuckDbConnector):
        complete_lag_days = 4

    assert sql_table_of(Lagging(f"duckdb:///{db}", table="daily"), None).complete_lag_days == 4

    class HalfDeclared:  # says `table`, has no complete_lag_days
        name: ClassVar[str] = "half"
        capabilities: ClassVar[frozenset[str]] = frozenset({SQL_TABLE})
        table = "daily"

        def engine(self) -> Any:
            return None

    assert not isinstance(HalfDeclared(), SqlTableSource)
    with pytest.raises(SourceError, match="HalfDeclared declares the `table` capability but is not a SqlTableSource"):
        sql_table_of(HalfDeclared(), None)


def test_a_sheet_write_waits_for_its_answer_as_long_as_the_timeout_setting_says():
    """The read-back after a write that got no answer waits one more `timeout`: the
    connector's declared ``read-timeout`` (a ``TimedSource``), not a private attribute."""
    from kpirules.connectors.base import READ_TIMEOUT, TimedSource
    from kpirules.connectors.gsheets import GoogleSheetsConnector
    from kpirules.writeback.sheets import write_timeout

    conn = GoogleSheetsConnector("a" * 44, timeout=7)
    assert READ_TIMEOUT in capabilities(conn) and isinstance(conn, TimedSource)
    assert write_timeout(conn) == 7.0
    conn.timeout = 0.4  # what the `timeout` setting does (source.apply_timeout)
    assert write_timeout(conn) == 0.4

    class Untimed:  # a plugin sheet that declares no read timeout: no wait
        capabilities: ClassVar[frozenset[str]] = frozenset({WRITE_SHEET})
        timeout = 99.0

    assert write_timeout(Untimed()) == 0.0
