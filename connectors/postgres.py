"""PostgreSQL: ``kpirules check postgresql://USER@HOST:PORT/DB --table [schema.]table``.

The whole plan runs in PostgreSQL as one query (psycopg 3, the ``postgres`` extra); only
aggregates come back. The password comes from the URL, ``PGPASSWORD`` or ``~/.pgpass``
(libpq's own lookup) and is never printed. A read-only role is enough: kpirules reads
``information_schema.columns`` and the table, in a read-only transaction.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from kpirules.connectors.warehouse import WarehouseConnector, query_failed, resolve_table
from kpirules.errors import SourceError


class _PostgresEngine:
    dialect = "postgres"

    def __init__(self, conn):
        self.conn = conn
        self._resolved: dict[str, str] = {}

    def resolve(self, table: str) -> str:
        """``table`` as the database writes it (``pick_table``): as given when such a table
        exists (a quoted name), else the one whose name differs only by case (an unquoted
        name folds to lower case); unqualified, in the current schema."""
        from kpirules.i18n import _

        return resolve_table(table, self._resolved, self._tables, not_found=SourceError(
            _("table {table} not found (or not readable by this role)").format(table=table),
            hint=_("check --table ([schema.]table) and GRANT SELECT on it")))

    def _tables(self, schema: str | None) -> list[tuple[str, str]]:
        sql = ("SELECT table_schema, table_name FROM information_schema.tables WHERE "
               "CASE WHEN %(s)s::text IS NULL THEN table_schema = current_schema() "
               "ELSE lower(table_schema) = lower(%(s)s::text) END")
        return [(r[0], r[1]) for r in self.conn.execute(sql, {"s": schema}).fetchall()]

    def columns(self, table: str) -> list[tuple[str, str]]:
        from kpirules.sql.identifiers import split_table_name

        parts = split_table_name(self.resolve(table))
        schema, name = (parts[-2], parts[-1]) if len(parts) > 1 else (None, parts[-1])
        sql = ("SELECT column_name, data_type FROM information_schema.columns "
               "WHERE table_name = %(t)s AND table_schema = COALESCE(%(s)s, current_schema()) "
               "ORDER BY ordinal_position")
        rows = self.conn.execute(sql, {"t": name, "s": schema}).fetchall()
        if not rows:
            from kpirules.i18n import _

            raise SourceError(_("table {table} not found (or not readable by this role)").format(table=table),
                              hint=_("check --table ([schema.]table) and GRANT SELECT on it"))
        return [(r[0], r[1]) for r in rows]

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        import psycopg

        try:
            return self.conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise query_failed("PostgreSQL", exc) from None


class PostgresConnector(WarehouseConnector):
    name: ClassVar[str] = "postgresql"
    schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    example: ClassVar[str] = "--table marketing.daily"

    def connect(self) -> _PostgresEngine:
        try:
            import psycopg
        except ImportError:
            from kpirules.i18n import _

            raise SourceError(_("reading {what} needs {package}").format(what="PostgreSQL", package="psycopg"),
                              hint="pip install 'kpirules[postgres]'") from None
        try:
            conn = psycopg.connect(self.source, connect_timeout=15, autocommit=False)
            conn.read_only = True
        except psycopg.Error as exc:
            # libpq's message names host and user, never the password.
            from kpirules.i18n import _

            raise SourceError(_("cannot connect to {source}: {reason}").format(
                                  source=self.redacted(), reason=str(exc).strip().splitlines()[0]),
                              hint=_("check the URL, that the server runs, and the password "
                                     "(PGPASSWORD or ~/.pgpass)")) from None
        return _PostgresEngine(conn)
