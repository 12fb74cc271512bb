"""The same rows give the same verdicts, segment names and JSON on every engine: a CSV
file (Python and DuckDB backends), an xlsx workbook with typed cells, a DuckDB table, a
PostgreSQL table (real server, the ``postgres_url`` fixture) and a BigQuery table (its REST
API's fake, which runs our GoogleSQL on DuckDB) with typed columns.

A typed (non-text) dimension value reads as one canonical text everywhere (spec
"Segments and filters"): numbers as a spreadsheet shows them (2, not 2.0; 2.5; 1e+16),
booleans as TRUE/FALSE, dates as 2026-11-02, timestamps at midnight as their date. The
words TRUE and FALSE match in any case, so ``where paid = "true"`` keeps working."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

duckdb = pytest.importorskip("duckdb")

AS_OF = "2026-11-16"
START = dt.date(2026, 11, 2)
RULES = """\
tier two: visits >= 10 weekly where tier = "2"
tier two and a half: visits >= 10 weekly where tier = "2.5"
tier two written 2.0: visits >= 10 weekly where tier = "2.0"
by tier: visits >= 10 weekly by tier
big tier: visits >= 1 weekly where tier = "1e+16"
paid lower: visits >= 10 weekly where paid = "true"
paid upper: visits >= 10 weekly where paid = "TRUE"
not paid: visits >= 10 weekly where paid != "True"
by paid: visits >= 10 weekly by paid
launch: visits >= 1 weekly where launch = "2026-11-02"
by launch: visits >= 1 weekly by launch
by seen: visits >= 1 weekly by seen
"""
TIERS = [2.0, 2.5, 1.0, 1e16]


def typed_rows() -> list[tuple]:
    """(date, visits, tier, paid, launch, seen): two weeks, four rows a day."""
    rows = []
    for day in range(14):
        date = START + dt.timedelta(days=day)
        for k, tier in enumerate(TIERS):
            seen = dt.datetime(2026, 11, 1, 9, 30) if k == 3 else dt.datetime(2026, 11, 1)
            rows.append((date, float(day + k + 1), tier, k % 2 == 0, START + dt.timedelta(days=k), seen))
    return rows


def spreadsheet_text(value) -> str:
    """What a spreadsheet shows for a cell, as its CSV export writes it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    return value.isoformat()


COLUMNS = ["date", "visits", "tier", "paid", "launch", "seen"]


def make_csv(tmp_path):
    path = tmp_path / "data.csv"
    lines = [",".join(COLUMNS)]
    lines += [",".join([r[0].isoformat(), repr(r[1]), *(spreadsheet_text(v) for v in r[2:])]) for r in typed_rows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def make_xlsx(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(COLUMNS)
    for row in typed_rows():
        sheet.append(list(row))
    path = tmp_path / "data.xlsx"
    book.save(path)
    return str(path)


SQL_COLUMNS = "date DATE, visits DOUBLE PRECISION, tier DOUBLE PRECISION, paid BOOLEAN, launch DATE, seen TIMESTAMP"


def make_duckdb(tmp_path):
    path = tmp_path / "data.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE TABLE daily ({SQL_COLUMNS})")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?, ?, ?, ?)", typed_rows())
    return f"duckdb:///{path}"


def make_postgres(postgres_url):
    from test_warehouse_postgres import load_rows

    load_rows(postgres_url, "engines_daily", SQL_COLUMNS, typed_rows())
    return postgres_url


def check_json(source: str, rules, *extra: str, backend: str | None = None, env: dict | None = None) -> list:
    from kpirules.cli.main import cli

    env = {**(env or {}), **({"KPIRULES_BACKEND": backend} if backend else {})}
    result = CliRunner().invoke(cli, ["check", source, *extra, "--rules", str(rules), "--as-of", AS_OF,
                                      "--format", "json"], env=env)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["results"]


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("agree")
    rules = tmp_path / "rules.kpi"
    rules.write_text(RULES, encoding="utf-8")
    return tmp_path, rules, check_json(make_csv(tmp_path), rules, backend="python")


def via_bigquery_fake(rules) -> list:
    """BigQuery cannot run here: its REST API's fake (tests/bigquery_fake.py) runs the
    GoogleSQL we send on DuckDB, with the table's BigQuery types."""
    pytest.importorskip("googleapiclient")
    from bigquery_fake import BigQueryFake

    with BigQueryFake() as fake:
        fake.create_table("daily", [(c, t) for c, t in zip(COLUMNS, ["DATE", "DOUBLE", "DOUBLE", "BOOLEAN", "DATE",
                                                                      "TIMESTAMP"])], typed_rows())
        return check_json("bigquery://proj/ds", rules, "--table", "daily",
                          env={"KPIRULES_BIGQUERY_EMULATOR_HOST": fake.host})


def via_snowflake_fake(rules, kwargs) -> list:
    """Snowflake cannot run here: fakesnow's server (the session's, tests/conftest.py)
    speaks its wire protocol and runs the SQL on DuckDB."""
    import snowflake.connector

    conn = snowflake.connector.connect(**kwargs)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS KPI")
    cur.execute("CREATE SCHEMA IF NOT EXISTS KPI.MARKETING")
    cur.execute("USE SCHEMA KPI.MARKETING")
    cur.execute("CREATE OR REPLACE TABLE ENGINES_DAILY (date DATE, visits FLOAT, tier FLOAT, paid BOOLEAN, "
                "launch DATE, seen TIMESTAMP_NTZ)")
    cur.executemany("INSERT INTO ENGINES_DAILY VALUES (%s, %s, %s, %s, %s, %s)",
                    [(r[0].isoformat(), r[1], r[2], r[3], r[4].isoformat(), r[5].isoformat(" ")) for r in typed_rows()])
    conn.close()
    url = (f"snowflake://{kwargs['user']}@{kwargs['account']}/KPI/MARKETING?host={kwargs['host']}"
           f"&port={kwargs['port']}&protocol={kwargs['protocol']}")
    return check_json(url, rules, "--table", "ENGINES_DAILY", env={"SNOWFLAKE_PASSWORD": kwargs["password"]})


@pytest.mark.parametrize("engine", ["csv-duckdb", "xlsx", "duckdb-table", "postgresql", "bigquery-fake",
                                    "snowflake-fake"])
def test_every_engine_gives_the_same_json(expected, engine, request):
    tmp_path, rules, python_csv = expected
    if engine == "bigquery-fake":
        got = via_bigquery_fake(rules)
    elif engine == "snowflake-fake":
        got = via_snowflake_fake(rules, request.getfixturevalue("fakesnow_server"))
    elif engine == "csv-duckdb":
        got = check_json(make_csv(tmp_path), rules, backend="duckdb")
    elif engine == "xlsx":
        got = check_json(make_xlsx(tmp_path), rules)
    elif engine == "duckdb-table":
        got = check_json(make_duckdb(tmp_path), rules, "--table", "daily")
    else:
        got = check_json(make_postgres(request.getfixturevalue("postgres_url")), rules, "--table", "engines_daily")
    assert got == python_csv


def test_the_canonical_texts(expected):
    """What the shared JSON says: the texts themselves, and which filters match."""
    _, _, results = expected
    by_name = {r["name"]: r for r in results if r["segment"] is None}
    assert by_name["tier two"]["status"] == "PASS"
    assert by_name["tier two and a half"]["status"] == "PASS"
    assert by_name["tier two written 2.0"]["status"] == "NO_DATA"  # values compare as text
    assert by_name["big tier"]["status"] == "PASS"
    assert by_name["paid lower"]["status"] == "PASS"
    assert by_name["paid lower"]["value"] == by_name["paid upper"]["value"]
    assert by_name["not paid"]["status"] == "PASS"
    assert by_name["not paid"]["value"] != by_name["paid lower"]["value"]
    assert by_name["launch"]["status"] == "PASS"
    segments: dict[str, list[str]] = {}
    for r in results:
        if r["segment"]:
            segments.setdefault(r["name"], []).extend(r["segment"].values())
    assert sorted(segments["by tier"]) == ["1", "1e+16", "2", "2.5"]
    assert sorted(segments["by paid"]) == ["FALSE", "TRUE"]
    assert sorted(segments["by launch"]) == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    assert sorted(segments["by seen"]) == ["2026-11-01", "2026-11-01 09:30:00"]


EDGE_NUMBERS = [0.1, 1 / 3, 1e-05, 0.0001, 123456.789, -0.0, -7.0, 1e15, 123456789012345.6, 1e20, 1.5e300, 5e-324]


@pytest.mark.parametrize("engine", ["duckdb-table", "postgresql"])
def test_edge_numbers_read_as_number_text(engine, tmp_path, request):
    """Tiny, huge, negative zero, 16 significant digits: the segment names are
    ``kpirules.names.number_text`` of the value on the databases as in a sheet."""
    from kpirules.names import number_text

    rows = [(START + dt.timedelta(days=d), 1.0, v) for d in range(14) for v in EDGE_NUMBERS]
    if engine == "duckdb-table":
        path = tmp_path / "edge.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE edge (date DATE, visits DOUBLE, tier DOUBLE)")
            con.executemany("INSERT INTO edge VALUES (?, ?, ?)", rows)
        source = f"duckdb:///{path}"
    else:
        psycopg = pytest.importorskip("psycopg")
        source = request.getfixturevalue("postgres_url")
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS engines_edge")
            conn.execute("CREATE TABLE engines_edge (date DATE, visits DOUBLE PRECISION, tier DOUBLE PRECISION)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO engines_edge VALUES (%s, %s, %s)", rows)
    rules = tmp_path / "r.kpi"
    rules.write_text("by tier: visits >= 1 weekly by tier\n", encoding="utf-8")
    results = check_json(source, rules, "--table", "edge" if engine == "duckdb-table" else "engines_edge")
    got = sorted(r["segment"]["tier"] for r in results)
    assert got == sorted({number_text(v) for v in EDGE_NUMBERS})
    assert "0" in got and "-0" not in got and "1e-05" in got and "1e+20" in got and "1000000000000000" in got
