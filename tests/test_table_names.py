"""``--table`` is found as the database itself finds a name: DuckDB compares names without
regard to case (it cannot hold two tables that differ only by case); PostgreSQL folds an
unquoted name to lower case, so kpirules takes the name as written when such a table
exists, else the one table whose name differs only by case, and says so when several do.
A missing table is named with the tables that exist, the closest first. Real DuckDB files
and a real PostgreSQL server (the ``postgres_url`` fixture)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

duckdb = pytest.importorskip("duckdb")

ROWS = [(dt.date(2026, 11, 2) + dt.timedelta(days=d), 10.0) for d in range(14)]


def check(source: str, table: str, rules):
    from kpirules.cli.main import cli

    return CliRunner().invoke(cli, ["check", source, "--table", table, "--rules", str(rules),
                                    "--as-of", "2026-11-16", "--format", "json"])


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "r.kpi"
    path.write_text("visits: visits >= 1 weekly\n", encoding="utf-8")
    return path


@pytest.fixture
def duck(tmp_path):
    path = tmp_path / "t.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE marketing (date DATE, visits DOUBLE)")
        con.execute('CREATE TABLE "Daily" (date DATE, visits DOUBLE)')
        con.execute("CREATE SCHEMA other")
        con.execute("CREATE TABLE other.marketing (date DATE, visits DOUBLE, extra DOUBLE)")
        con.execute("CREATE TABLE sales_2026 (date DATE, visits DOUBLE)")
        for table in ("marketing", '"Daily"'):
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", ROWS)
        con.executemany("INSERT INTO other.marketing VALUES (?, ?, 1)", [(d, 1000.0) for d, _ in ROWS])
    return f"duckdb:///{path}"


@pytest.mark.parametrize("table", ["marketing", "Marketing", "MARKETING", "main.Marketing", "Daily", "daily",
                                   "DAILY"])
def test_duckdb_names_match_without_regard_to_case(duck, rules, table):
    result = check(duck, table, rules)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["value"] == 70.0  # the main schema's table only


def test_duckdb_schema_qualified_and_other_schemas(duck, rules):
    result = check(duck, "OTHER.Marketing", rules)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["value"] == 7000.0


def test_duckdb_missing_table_lists_the_tables_closest_first(duck, rules):
    result = check(duck, "marketng", rules)
    assert result.exit_code == 3, result.output
    assert "table marketng not found" in result.stderr and "Traceback" not in result.output
    hint = result.stderr[result.stderr.index("hint"):]
    assert "tables: marketing, " in hint and "Daily" in hint and "sales_2026" in hint


@pytest.fixture(scope="module")
def pg(postgres_url):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS names_test")
        conn.execute("SET search_path TO names_test")
        for table in ("leads", '"Signups"', '"Mixed"', '"MIXED"'):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (date date, visits double precision)")
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", ROWS)
    return postgres_url


@pytest.mark.parametrize("table", ["names_test.leads", "names_test.Leads", "NAMES_TEST.LEADS",
                                   "names_test.Signups", "names_test.signups", "names_test.Mixed",
                                   "names_test.MIXED"])
def test_postgres_names_as_postgres_finds_them(pg, rules, table):
    result = check(pg, table, rules)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["value"] == 70.0


def test_postgres_names_that_differ_only_by_case_are_ambiguous(pg, rules):
    result = check(pg, "names_test.mixed", rules)
    assert result.exit_code == 3, result.output
    assert "names_test.mixed" in result.stderr and "MIXED" in result.stderr and "Mixed" in result.stderr
    assert "Traceback" not in result.output


def test_postgres_missing_table_lists_the_tables_closest_first(pg, rules):
    result = check(pg, "names_test.lead", rules)
    assert result.exit_code == 3, result.output
    assert "table names_test.lead not found" in result.stderr
    assert "tables: names_test.leads, " in result.stderr  # qualified, as --table was
