"""The compiled warehouse query (kpirules.sql.compile) on a DuckDB database file, and its
shape in every dialect.

- Every conformance case file is a table of one DuckDB file, checked through the real CLI
  (``kpirules check duckdb:///FILE --table T``, in-process): the results must be exactly
  the conformance results.
- Random rule sets (segments, filters, first/last, change) over a random table give on
  the warehouse path what the pure-Python engine gives on the same rows.
- The query for the bench's 1,000 rules is one aggregation over the daily cube (not one
  branch per scan), every value a parameter, and it parses in each dialect we generate
  (PostgreSQL, Spark, DuckDB, BigQuery, Snowflake). BigQuery and Snowflake cannot run
  here: their SQL is checked by sqlglot only (and run on DuckDB through the fakes of
  tests/test_warehouse_bigquery.py and test_warehouse_snowflake.py).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_backend_duckdb import assert_same
from test_conformance import SQL_TYPES, assert_cases, column_types, expected_exit, rules_file, typed_rows

duckdb = pytest.importorskip("duckdb")

HERE = Path(__file__).parent
BENCH = HERE.parent / "bench"
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))
DIALECTS = ["postgres", "spark", "duckdb", "bigquery", "snowflake"]


def load(con, name: str, doc: dict) -> None:
    types = column_types(doc)
    cols = ", ".join(f'"{c}" {SQL_TYPES[t]}' for c, t in zip(doc["data"]["columns"], types))
    con.execute(f'CREATE TABLE "{name}" ({cols})')
    rows = typed_rows(doc)
    if rows:
        con.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(types))})', rows)


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("duck") / "cases.duckdb"
    with duckdb.connect(str(path)) as con:
        for case_file in CASE_FILES:
            load(con, case_file.stem.replace("-", "_"), json.loads(case_file.read_text("utf-8")))
    return path


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_conformance_on_a_duckdb_file(database, path, tmp_path):
    from kpirules.cli.main import cli

    doc = json.loads(path.read_text("utf-8"))
    rules = rules_file(doc, tmp_path)
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{database}", "--table", path.stem.replace("-", "_"),
                                      "--rules", str(rules), "--as-of", doc["as_of"], "--format", "json"])
    assert result.exit_code == expected_exit(doc), result.output
    results = json.loads(result.stdout)["results"]
    assert_cases(doc, results)


RULE_PARTS = {
    "what": ["visits >= 10", "sum(visits) / sum(orders) >= 2", "avg(revenue) >= 1", "min(revenue) >= 0",
             "max(visits) <= 1000", "count(revenue) >= 2", "last(visits) >= first(visits)",
             "last(revenue) >= 1", "change(visits) >= -10%", "stddev(revenue) <= 50"],
    "when": ["weekly", "daily", "monthly", "over last 28 days", "over last 3 days"],
    "by": ["", " by channel", " by campaign", " by channel, campaign", " by campaign, channel"],
    "where": ["", ' where channel = "email"', ' where channel != "search"',
              ' where campaign in ("a", "b", "")', ' where channel = "email" and campaign != "a"'],
}


def random_table(con, rng: random.Random) -> list[list]:
    start = dt.date(2026, 9, 1)
    rows = []
    for _ in range(rng.randint(1, 400)):
        rows.append([start + dt.timedelta(days=rng.randint(0, 90)), rng.choice(["email", "search", "social", None]),
                     rng.choice(["a", "b", "c", "", None]),
                     rng.choice([None, *range(0, 50)]), rng.choice([None, 0.5, 3.25, 10.0, 99.0]),
                     rng.choice([None, 1.0, 2.0, 7.0])])
    con.execute("CREATE TABLE daily (date DATE, channel VARCHAR, campaign VARCHAR, visits DOUBLE, "
                "revenue DOUBLE, orders DOUBLE)")
    con.executemany("INSERT INTO daily VALUES (?, ?, ?, ?, ?, ?)", rows)
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_random_rules_agree_with_the_python_engine(seed):
    """Scans of different periods, filters and segments share the one aggregation: each
    must still get exactly its own rows."""
    from kpirules.backends.sql_table import SqlTable
    from kpirules.connectors.base import RawTable
    from kpirules.connectors.duckdb_db import DuckEngine
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file
    from kpirules.table import load_table

    rng = random.Random(seed)
    con = duckdb.connect()
    rows = random_table(con, rng)
    text = "".join(f"r{i}: {rng.choice(RULE_PARTS['what'])} {rng.choice(RULE_PARTS['when'])}"
                   f"{rng.choice(RULE_PARTS['by'])}{rng.choice(RULE_PARTS['where'])}\n" for i in range(30))
    entries = parse_rules_file(text)
    as_of = dt.date(2026, 11, 26)
    raw = RawTable(headers=["date", "channel", "campaign", "visits", "revenue", "orders"],
                   rows=[["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in r]
                         for r in rows], sheet="Data", header_row=1)
    python = evaluate(entries, load_table(raw), as_of)
    table = SqlTable(DuckEngine(con), "daily")
    sql = evaluate(entries, table, as_of)
    assert_same(python, sql)
    assert table.sql is not None and table.sql.count("UNION ALL") == 1  # the scans, then the extents


def bench_plan(count: int = 1000):
    sys.path.insert(0, str(BENCH))
    import generate

    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file

    entries = parse_rules_file("\n".join(f"{n}: {t}" for n, t in generate.make_rules(count)))
    names = ["date", "channel", "campaign", "visits", "signups", "leads", "orders", "revenue", "spend",
             "emails_sent", "email_opens", "email_clicks", "likes", "reach"]
    return build_plan(entries, names=names, as_of=generate.AS_OF)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_thousand_rules_are_one_aggregation_that_parses_in_every_dialect(dialect):
    import sqlglot
    from sqlglot import exp

    from kpirules.sql.compile import compile_plan

    plan = bench_plan()
    columns = {n: n for n in [*plan.metrics, *plan.dims]}
    for cube_relation in (None, "kp_cube_1"):
        compiled = compile_plan(plan, table=exp.table_("daily", quoted=True), date="date", columns=columns,
                                dialect=dialect, extents=sorted(plan.metrics), cube_relation=cube_relation)
        tree = sqlglot.parse_one(compiled.sql, read=dialect)
        unions = list(tree.find_all(exp.Union))
        assert len(unions) == 1  # one aggregation of every scan, then the data extents
        # One row per scan in the list the cube is joined to (BigQuery writes it as an
        # UNNEST of STRUCTs), each date a parameter.
        listed = [node for node in tree.find_all(exp.Values, exp.Struct)]
        rows = listed[0].expressions if isinstance(listed[0], exp.Values) else listed
        assert len(rows) == len(plan.scans) == 82
        assert len(compiled.params) >= 2 * len(plan.scans)
        assert not any(isinstance(v, exp.Expression) for v in compiled.params.values())
        if cube_relation:
            sqlglot.parse_one(compiled.cube_sql, read=dialect)
            assert cube_relation in compiled.sql and "kp_cube_1" not in compiled.cube_sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_filter_values_are_parameters_in_every_dialect(dialect):
    import sqlglot
    from sqlglot import exp

    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file
    from kpirules.sql.compile import compile_plan

    evil = "x'); DROP TABLE t; --"
    entries = parse_rules_file(f'a: visits >= 1 weekly by channel where campaign = "{evil}"\n'
                               f'b: last(visits) >= 1 daily where channel != "{evil}"\n')
    plan = build_plan(entries, names=["date", "visits", "channel", "campaign"], as_of=dt.date(2026, 11, 26))
    compiled = compile_plan(plan, table=exp.table_("t", quoted=True), date="date",
                            columns={n: n for n in ("visits", "channel", "campaign")}, dialect=dialect,
                            extents=["visits"])
    assert "DROP" not in compiled.sql and evil in compiled.params.values()
    sqlglot.parse_one(compiled.sql, read=dialect)


def warehouse_agrees_with_csv(tmp_path, source: list[str], columns: list[str], rows: list[tuple], rules: str,
                              as_of: str) -> list[dict]:
    """``kpirules check`` on the warehouse table ``source`` and on a CSV file of the same
    rows give the same results (status, value, period, segment); returns them."""
    import csv

    from kpirules.cli.main import cli

    data = tmp_path / "same.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(["" if v is None else v.isoformat(" ") if isinstance(v, dt.datetime) else v for v in row]
                         for row in rows)
    rules_path = tmp_path / "same.kpi"
    rules_path.write_text(rules, encoding="utf-8")
    got = []
    for where in ([str(data)], source):
        result = CliRunner().invoke(cli, ["check", *where, "--rules", str(rules_path), "--as-of", as_of,
                                          "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        got.append([{k: r.get(k) for k in ("name", "status", "value", "period", "segment")}
                    for r in json.loads(result.stdout)["results"]])
    assert got[1] == got[0]
    return got[0]


TIMED_RULES = ("a: visits >= 100 weekly\nb: last(visits) >= 1 daily\nc: visits >= 1 weekly by channel\n"
               "d: count(visits) >= 14 weekly\n")


def timed_rows() -> list[tuple]:
    """Two rows a day, at 09:00 and 15:00."""
    start = dt.datetime(2026, 10, 1)
    return [(start + dt.timedelta(days=i, hours=h), 10, "web") for i in range(56) for h in (9, 15)]


@pytest.mark.parametrize("kind", ["TIMESTAMP", "TIMESTAMPTZ"])
def test_a_timestamp_date_column_counts_rows_on_their_day(tmp_path, kind):
    """Each row on its date: a period's last day keeps its rows (a timestamp after its
    midnight is still that day) and two instants of a day are one day."""
    path = tmp_path / "timed.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE daily (date {kind}, visits INTEGER, channel VARCHAR)")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?)", timed_rows())
    results = warehouse_agrees_with_csv(tmp_path, [f"duckdb:///{path}", "--table", "daily"],
                                        ["date", "visits", "channel"], timed_rows(), TIMED_RULES, "2026-11-20")
    assert results[0]["value"] == 140


SPACED_RULES = ('a: visits >= 1 weekly by channel\nb: visits >= 1 weekly where channel = "web"\n'
                'c: visits >= 1 weekly where channel = ""\nd: visits >= 1 weekly where channel != "web"\n')


def spaced_rows() -> list[tuple]:
    """Dimension values with spaces around them, blank ones, and only spaces."""
    start = dt.date(2026, 11, 2)
    values = ["web", " web ", "web\t", "  ", "", None, "mail"]
    return [(start + dt.timedelta(days=i), 10 + i, value) for i in range(18) for value in values]


def test_dimension_values_are_trimmed_as_in_a_sheet(tmp_path):
    """``" web "`` is the segment ``web`` and ``"  "`` a blank, as the CSV of the same rows
    reads them (kpirules.table.dimension_text)."""
    path = tmp_path / "spaced.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits INTEGER, channel VARCHAR)")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?)", spaced_rows())
    results = warehouse_agrees_with_csv(tmp_path, [f"duckdb:///{path}", "--table", "daily"],
                                        ["date", "visits", "channel"], spaced_rows(), SPACED_RULES, "2026-11-20")
    assert [r["segment"] for r in results if r["name"] == "a"] == [{"channel": ""}, {"channel": "mail"},
                                                                    {"channel": "web"}]


def test_a_missing_duckdb_package_is_a_source_error(tmp_path, monkeypatch):
    """Without the `fast` extra, duckdb:///FILE says what to install (exit 3), as the other
    warehouses do, instead of an internal error. (The package is hidden from the import
    system: it cannot be uninstalled for one test.)"""
    from kpirules.cli.main import cli

    path = tmp_path / "d.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits INTEGER)")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "duckdb", None)
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{path}", "--table", "daily", "--rules", str(rules)])
    assert result.exit_code == 3, result.output
    assert "reading DuckDB needs duckdb" in result.output and "kpirules[fast]" in result.output
    assert "internal error" not in result.output


def test_a_query_the_database_refuses_is_a_source_error(tmp_path):
    """A view that fails when read (here a cast that cannot be done) is data that cannot
    be read: exit 3 with the engine's reason, not 'internal error, please report it'."""
    from kpirules.cli.main import cli

    path = tmp_path / "d.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE raw (date DATE, visits VARCHAR)")
        con.execute("INSERT INTO raw VALUES (DATE '2026-11-16', 'twelve')")
        con.execute("CREATE VIEW daily AS SELECT date, CAST(visits AS INTEGER) AS visits FROM raw")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{path}", "--table", "daily", "--rules", str(rules),
                                      "--as-of", "2026-11-20"])
    assert result.exit_code == 3, result.output
    assert "DuckDB could not run the query" in result.output and "twelve" in result.output
    assert "internal error" not in result.output


NAN_RULES = "a: visits >= 1 weekly\nb: visits <= 1000 weekly\nc: count(visits) >= 1 weekly\nd: visits >= 1 daily\n"


def nan_rows() -> list[tuple]:
    """A NaN in the week of 2026-11-09 and an infinity in the one before; fine on 11-19."""
    start = dt.date(2026, 11, 1)
    odd = {dt.date(2026, 11, 11): float("nan"), dt.date(2026, 11, 4): float("inf")}
    return [(start + dt.timedelta(days=i), odd.get(start + dt.timedelta(days=i), 5.0)) for i in range(19)]


def assert_nan_is_an_error(results: list[dict]) -> None:
    """Never a verdict on NaN: the rules whose period holds it are ERRORs naming the column."""
    by_name = {r["name"]: r for r in results}
    assert by_name["a"]["status"] == by_name["b"]["status"] == "ERROR", results
    assert "NaN or infinity" in by_name["a"]["message"] and "visits" in by_name["a"]["message"]
    assert by_name["c"]["status"] == "PASS" and by_name["d"]["status"] == "PASS"


def test_nan_or_infinity_in_a_metric_is_an_error_not_a_verdict(tmp_path):
    """A DOUBLE column may hold NaN or infinity (a sheet's cell may not: the CSV path
    reads 'nan' as a cell that is not a number). It was a FAIL, 'nan misses target'."""
    from kpirules.cli.main import cli

    path = tmp_path / "nan.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits DOUBLE)")
        con.executemany("INSERT INTO daily VALUES (?, ?)", nan_rows())
    rules = tmp_path / "r.kpi"
    rules.write_text(NAN_RULES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{path}", "--table", "daily", "--rules", str(rules),
                                      "--as-of", "2026-11-20", "--format", "json"])
    assert result.exit_code == 2, result.output
    assert_nan_is_an_error(json.loads(result.stdout)["results"])


def test_a_text_metric_is_an_error_for_its_rules_and_the_others_still_run(tmp_path):
    """`channel >= 1 weekly` on a VARCHAR column stopped the whole check (exit 3, no
    result for any rule); as on a sheet, its rules are ERRORs and the others run."""
    from kpirules.cli.main import cli

    path = tmp_path / "d.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits INTEGER, channel VARCHAR)")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?)",
                        [(dt.date(2026, 11, 1) + dt.timedelta(days=i), 5, "web") for i in range(19)])
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\nb: channel >= 1 weekly\nc: visits / channel >= 1 daily\n"
                     "d: last(visits) >= 1 daily by channel\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{path}", "--table", "daily", "--rules", str(rules),
                                      "--as-of", "2026-11-20", "--format", "json"])
    assert result.exit_code == 2, result.output
    status = {r["name"]: r for r in json.loads(result.stdout)["results"]}
    assert status["a"]["status"] == status["d"]["status"] == "PASS"
    assert status["b"]["status"] == status["c"]["status"] == "ERROR"
    assert "column `channel` of daily is varchar, not a number" in status["b"]["message"]
