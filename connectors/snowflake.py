"""Snowflake: ``kpirules check "snowflake://USER@ACCOUNT/DB/SCHEMA?warehouse=WH&role=R"
--table T``.

The password comes from ``SNOWFLAKE_PASSWORD`` (never from the URL, so it stays out of
shell history and logs; a URL password is refused); key-pair or SSO users set
``authenticator`` in the query string as the Snowflake connector knows it. ``host``,
``port`` and ``protocol`` in the query string reach a private-link endpoint or a local
test server. The plan runs as one query; a role with USAGE on the warehouse and SELECT on
the table is enough. snowflake-connector-python is the ``snowflake`` extra.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from kpirules.connectors.warehouse import WarehouseConnector, query_failed
from kpirules.errors import SourceError
from kpirules.i18n import _

PASSWORD_VAR = "SNOWFLAKE_PASSWORD"
_PASSED_ON = ("warehouse", "role", "authenticator", "host", "port", "protocol")


class SnowflakeEngine:
    dialect = "snowflake"
    param_style = "pyformat"  # the connector's client-side binding: %(name)s

    def __init__(self, conn):
        self.conn = conn

    def columns(self, table: str) -> list[tuple[str, str]]:
        from kpirules.sql.identifiers import split_table_name

        parts = split_table_name(table)
        cur = self.conn.cursor()
        try:
            cur.execute("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = %(t)s AND table_schema = COALESCE(%(s)s, CURRENT_SCHEMA()) "
                        "ORDER BY ordinal_position",
                        {"t": parts[-1].upper(), "s": parts[-2].upper() if len(parts) > 1 else None})
            rows = cur.fetchall()
        finally:
            cur.close()
        if not rows:
            raise SourceError(_("table {table} not found (or not readable by this role)").format(table=table),
                              hint=_("check --table and GRANT SELECT on it"))
        return [(r[0], r[1]) for r in rows]

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        import snowflake.connector

        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall()
        except snowflake.connector.Error as exc:
            raise query_failed("Snowflake", exc) from None
        finally:
            cur.close()


class SnowflakeConnector(WarehouseConnector):
    name: ClassVar[str] = "snowflake"
    schemes: ClassVar[tuple[str, ...]] = ("snowflake",)
    example: ClassVar[str] = "--table DAILY_MARKETING"

    def __init__(self, source: str, **options: Any):
        super().__init__(source, **options)
        parts = urlsplit(source)
        if parts.password:
            raise SourceError(_("a password in a snowflake:// URL would be printed and logged"),
                              hint=_("remove it and set {variable}").format(variable=PASSWORD_VAR))
        path = [unquote(p) for p in parts.path.split("/") if p]
        self.kwargs: dict[str, Any] = {"user": unquote(parts.username or ""), "account": parts.hostname or ""}
        if path:
            self.kwargs["database"] = path[0]
        if len(path) > 1:
            self.kwargs["schema"] = path[1]
        for key, values in parse_qs(parts.query).items():
            if key in _PASSED_ON:
                self.kwargs[key] = int(values[-1]) if key == "port" else values[-1]

    def connect(self) -> SnowflakeEngine:
        try:
            import snowflake.connector
        except ImportError:
            raise SourceError(_("reading {what} needs {package}").format(what="Snowflake",
                                                                          package="snowflake-connector-python"),
                              hint="pip install 'kpirules[snowflake]'") from None
        kwargs = dict(self.kwargs)
        if os.environ.get(PASSWORD_VAR):
            kwargs["password"] = os.environ[PASSWORD_VAR]
        try:
            conn = snowflake.connector.connect(**kwargs, login_timeout=30, network_timeout=120,
                                               session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False})
        except snowflake.connector.Error as exc:
            raise SourceError(_("cannot connect to Snowflake account {account}: {reason}").format(
                                  account=self.kwargs["account"], reason=str(exc).splitlines()[0]),
                              hint=_("check the URL, {variable} and the role's grants").format(variable=PASSWORD_VAR)) \
                from None
        return SnowflakeEngine(conn)
