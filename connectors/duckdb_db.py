"""DuckDB database files and parquet: ``kpirules check duckdb:///path/to/file.duckdb
--table daily`` (``duckdb:///:memory:`` is useless here: nothing would be in it).

The same compiled query as every warehouse (``kpirules.sql.compile``), run in-process.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from kpirules.connectors.warehouse import WarehouseConnector, query_failed, resolve_table
from kpirules.errors import SourceError


class DuckEngine:
    """A DuckDB connection as a ``SqlEngine``."""

    dialect = "duckdb"

    def __init__(self, conn):
        self.conn = conn
        self._resolved: dict[str, str] = {}

    def resolve(self, table: str) -> str:
        """``table`` as the database writes it (``pick_table``: DuckDB compares names
        without regard to case); unqualified, in the current schema, as DuckDB reads it."""
        from kpirules.i18n import _

        return resolve_table(table, self._resolved, self._tables, not_found=SourceError(
            _("table {table} not found").format(table=table), hint=_("check --table")))

    def _tables(self, schema: str | None) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND CASE WHEN $s IS NULL "
            "THEN table_schema = current_schema() ELSE lower(table_schema) = lower($s) END",
            {"s": schema}).fetchall()
        return [(r[0], r[1]) for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        from kpirules.sql.identifiers import split_table_name

        parts = split_table_name(self.resolve(table))
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
            "AND CASE WHEN $s IS NULL THEN table_catalog = current_database() AND table_schema = current_schema() "
            "ELSE table_schema = $s END ORDER BY ordinal_position",
            {"t": parts[-1], "s": parts[-2] if len(parts) > 1 else None}).fetchall()
        if not rows:
            from kpirules.i18n import _

            raise SourceError(_("table {table} not found").format(table=table), hint=_("check --table"))
        return [(r[0], r[1]) for r in rows]

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        import duckdb

        try:
            return self.conn.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise query_failed("DuckDB", exc) from None


class DuckDbConnector(WarehouseConnector):
    name: ClassVar[str] = "duckdb"
    schemes: ClassVar[tuple[str, ...]] = ("duckdb",)
    example: ClassVar[str] = "--table daily"

    def connect(self) -> DuckEngine:
        try:
            import duckdb
        except ImportError:
            from kpirules.i18n import _

            raise SourceError(_("reading {what} needs {package}").format(what="DuckDB", package="duckdb"),
                              hint="pip install 'kpirules[fast]'") from None

        path = self.source.split("://", 1)[1] or ":memory:"
        if path.startswith("/") and path[1:2] == "/":
            path = path[1:]
        try:
            return DuckEngine(duckdb.connect(path, read_only=True))
        except duckdb.Error as exc:
            from kpirules.i18n import _

            raise SourceError(_("cannot open {path}: {reason}").format(path=path, reason=exc),
                              hint=_("give duckdb:///path/to/file.duckdb")) from None
