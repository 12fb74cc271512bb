"""Snowflake, as far as it can run here: the real snowflake-connector-python talks
Snowflake's wire protocol to fakesnow's local server (127.0.0.1), which runs the SQL
kpirules generates for the ``snowflake`` dialect on DuckDB. Snowflake itself cannot run
here; what is checked is our connector, our Snowflake SQL and its parameters, end to end
through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import SQL_TYPES, assert_cases, column_types, expected_exit, rules_file, typed_rows

fakesnow = pytest.importorskip("fakesnow")
pytest.importorskip("snowflake.connector")

HERE = Path(__file__).parent
FILES = [HERE / "conformance" / n for n in ("segments.json", "single_series_2026-11-26.json", "no_data_1.json")]


@pytest.fixture(scope="module")
def snow(fakesnow_server):
    import snowflake.connector

    kwargs = fakesnow_server  # the session's server (tests/conftest.py)
    conn = snowflake.connector.connect(**kwargs, database="KPI", schema="MARKETING")
    cur = conn.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS KPI")
    cur.execute("CREATE SCHEMA IF NOT EXISTS KPI.MARKETING")
    cur.execute("USE SCHEMA KPI.MARKETING")
    for path in FILES:
        doc = json.loads(path.read_text("utf-8"))
        table = path.stem.replace("-", "_").upper()
        types = column_types(doc)
        cols = ", ".join(f'"{c}" {SQL_TYPES[t]}' for c, t in zip(doc["data"]["columns"], types))
        cur.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
        rows = typed_rows(doc, date=str)  # the date as ISO text: the connector binds it so
        cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(types))})", rows)
    conn.close()
    yield kwargs


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_conformance_on_snowflake_sql(snow, path, tmp_path):
    doc = json.loads(path.read_text("utf-8"))
    rules = rules_file(doc, tmp_path)
    url = (f"snowflake://{snow['user']}@{snow['account']}/KPI/MARKETING?host={snow['host']}"
           f"&port={snow['port']}&protocol={snow['protocol']}")
    env = dict(os.environ, SNOWFLAKE_PASSWORD=snow["password"])
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", url, "--table", path.stem.replace("-", "_").upper(),
                           "--rules", str(rules), "--as-of", doc["as_of"], "--format", "json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == expected_exit(doc), proc.stderr[-3000:]
    results = json.loads(proc.stdout)["results"]
    assert_cases(doc, results)


def test_password_in_url_is_refused(tmp_path):
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", "snowflake://u:hunter2@acct/db/s", "--table", "T",
                           "--rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "SNOWFLAKE_PASSWORD" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout


def test_a_query_snowflake_refuses_is_a_source_error(snow, tmp_path):
    """A view that fails when read is data that cannot be read: exit 3 with the engine's
    reason, not 'internal error, please report it'."""
    import snowflake.connector

    conn = snowflake.connector.connect(**snow, database="KPI", schema="MARKETING")
    conn.cursor().execute("CREATE OR REPLACE VIEW FAILING AS SELECT \"date\", CAST('x' || \"clicks\" AS INTEGER) "
                          "AS \"clicks\" FROM SEGMENTS")
    conn.close()
    rules = tmp_path / "r.kpi"
    rules.write_text("a: clicks >= 1 weekly\n", encoding="utf-8")
    url = (f"snowflake://{snow['user']}@{snow['account']}/KPI/MARKETING?host={snow['host']}"
           f"&port={snow['port']}&protocol={snow['protocol']}")
    env = dict(os.environ, SNOWFLAKE_PASSWORD=snow["password"])
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", url, "--table", "FAILING", "--rules", str(rules),
                           "--as-of", "2026-11-26"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Snowflake could not run the query" in proc.stderr and "internal error" not in proc.stderr
    assert snow["password"] not in proc.stderr + proc.stdout
