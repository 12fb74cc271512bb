"""The same rules on PostgreSQL: every conformance case loaded into a real table (a date
column of type date, metrics as double precision, dimensions as text) and checked through
the real CLI (`kpirules check postgresql://... --table T --rules FILE --format json`): the
results must be exactly the conformance results. The server is a real PostgreSQL on
127.0.0.1 (the `postgres_url` fixture, one cluster per test run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import assert_cases, column_types, expected_exit, rules_file, typed_rows

psycopg = pytest.importorskip("psycopg")

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))


def load_case_table(conn, name: str, doc: dict) -> None:
    from psycopg import sql

    columns, types = doc["data"]["columns"], column_types(doc)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in zip(columns, types))))
    rows = typed_rows(doc)
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(
            sql.Identifier(name), sql.SQL(", ").join(sql.Placeholder() * len(columns))), rows)


def load_rows(url: str, table: str, columns: str, rows) -> None:
    """Table ``table`` (``columns`` as in CREATE TABLE) holding ``rows``, made again."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({columns})")
        rows = list(rows)
        if rows:
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)


@pytest.fixture(scope="module")
def loaded(postgres_url):
    """Every case file as a table named after it."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for path in CASE_FILES:
            load_case_table(conn, path.stem.replace("-", "_"), json.loads(path.read_text("utf-8")))
    return postgres_url


def kpirules(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpirules", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_conformance_on_postgres(loaded, path, tmp_path):
    doc = json.loads(path.read_text("utf-8"))
    rules = rules_file(doc, tmp_path)
    proc = kpirules("check", loaded, "--table", path.stem.replace("-", "_"), "--rules", str(rules),
                    "--as-of", doc["as_of"], "--format", "json")
    assert proc.returncode == expected_exit(doc), proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert_cases(doc, results)


def test_values_are_parameters_never_sql(loaded, tmp_path):
    """A filter value full of SQL is just a value that matches nothing."""
    rules = tmp_path / "r.kpi"
    rules.write_text("evil: clicks >= 1 weekly where channel = \"x'); DROP TABLE segments; --\"\n", encoding="utf-8")
    proc = kpirules("check", loaded, "--table", "segments", "--rules", str(rules), "--as-of", "2026-11-26",
                    "--format", "json")
    assert json.loads(proc.stdout)["results"][0]["status"] == "NO_DATA", proc.stdout
    with psycopg.connect(loaded) as conn:
        assert conn.execute("SELECT count(*) FROM segments").fetchone()[0] > 0


def test_missing_table_and_bad_names_are_clear(loaded, tmp_path):
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    proc = kpirules("check", loaded, "--table", "nope", "--rules", str(rules))
    assert proc.returncode == 3 and "table nope not found" in proc.stderr and "Traceback" not in proc.stderr
    proc = kpirules("check", loaded, "--table", "x; DROP TABLE y", "--rules", str(rules))
    assert proc.returncode == 3 and "is not a table name" in proc.stderr
    proc = kpirules("check", loaded, "--rules", str(rules))
    assert proc.returncode == 3 and "--table" in proc.stderr


def test_password_never_printed(loaded, tmp_path):
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    url = loaded.replace("postgres@", "postgres:s3cret-pw@").replace("/postgres", "/no_such_db")
    proc = kpirules("check", url, "--table", "t", "--rules", str(rules))
    assert proc.returncode == 3
    assert "s3cret-pw" not in proc.stderr + proc.stdout


def test_a_password_in_the_url_never_appears_anywhere(loaded, tmp_path):
    """Every command that takes a database, on success and on each kind of failure, with
    --debug and -vv (libraries' debug logging on): the password is in no output and in
    nothing written (the report, the workbook `run` writes)."""
    import openpyxl

    secret = "s3cret-pw"
    url = loaded.replace("postgres@", f"postgres:{secret}@")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: clicks >= 1 weekly\nb: clicks >= 1 weekly by channel\n", encoding="utf-8")
    book = tmp_path / "kpis.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Rules"
    wb.active.append(["Name", "Rule"])
    wb.active.append(["a", "clicks >= 1 weekly"])
    wb.save(book)
    report = tmp_path / "report.html"
    at = ["--as-of", "2026-11-26"]
    runs = [
        ["check", url, "--table", "segments", "--rules", str(rules), "--format", "json", *at],
        ["check", url, "--table", "segments", "--rules", str(rules), *at],
        ["check", url, "--table", "segments", *at],  # no rules: an error naming the source
        ["check", url, "--table", "nope", "--rules", str(rules)],
        ["check", url, "--table", "x; DROP TABLE y", "--rules", str(rules)],
        ["check", url, "--rules", str(rules)],  # no --table
        ["check", url.replace("/postgres", "/no_such_db"), "--table", "t", "--rules", str(rules)],
        ["check", url.replace("127.0.0.1:", "127.0.0.1:1").rsplit(":", 1)[0] + ":9/postgres", "--table", "t",
         "--rules", str(rules)],  # nothing listens there
        ["explain", url, "a", "--table", "segments", "--rules", str(rules), *at],
        ["report", url, "--table", "segments", "--rules", str(rules), "--out", str(report), *at],
        ["run", str(book), "--data", url, "--table", "segments", *at],
        ["check", str(book), "--data", url, "--table", "segments", "--format", "json", *at],
    ]
    for args in runs:
        proc = kpirules("--debug", *args[:1], "-vv", *args[1:])
        assert secret not in proc.stdout + proc.stderr, (args, proc.stdout + proc.stderr)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 1, 2, 3), (args, proc.returncode, proc.stderr)
    assert report.exists() and secret not in report.read_text(encoding="utf-8")
    cells = [str(c) for ws in openpyxl.load_workbook(book) for row in ws.iter_rows(values_only=True) for c in row]
    assert any("clicks" in c for c in cells) and not any(secret in c for c in cells)


def test_a_debug_traceback_hides_url_passwords(tmp_path, monkeypatch):
    """A bug whose message quotes a database URL (nothing in kpirules raises one on purpose:
    evaluate is replaced by one that does), shown with --debug: the traceback is there,
    the password is not. (-vv logs: test_a_password_in_the_url_never_appears_anywhere.)"""
    from click.testing import CliRunner

    import kpirules.engine
    from kpirules.cli.main import cli

    url = "postgresql://kpi:hunter2@db.example/analytics"

    def broken(*args, **kwargs):
        raise RuntimeError(f"lost the connection to {url}")

    monkeypatch.setattr(kpirules.engine, "evaluate", broken)
    data = tmp_path / "d.csv"
    data.write_text("date,visits\n2026-11-20,5\n", encoding="utf-8")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: visits >= 1 weekly\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--debug", "check", str(data), "--rules", str(rules)])
    assert result.exit_code == 2
    assert "Traceback" in result.output and "lost the connection to postgresql://kpi:***@db.example" in result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize("kind", ["timestamp", "timestamptz"])
def test_a_timestamp_date_column_counts_rows_on_their_day(postgres_url, tmp_path, kind):
    """As on DuckDB (test_warehouse_duckdb): the same results as the CSV of the same rows."""
    from test_warehouse_duckdb import TIMED_RULES, timed_rows, warehouse_agrees_with_csv

    table = f"timed_{kind}"
    load_rows(postgres_url, table, f"date {kind}, visits integer, channel text", timed_rows())
    results = warehouse_agrees_with_csv(tmp_path, [postgres_url, "--table", table], ["date", "visits", "channel"],
                                        timed_rows(), TIMED_RULES, "2026-11-20")
    assert results[0]["value"] == 140


def test_dimension_values_are_trimmed_as_in_a_sheet(postgres_url, tmp_path):
    """As on DuckDB (test_warehouse_duckdb): the same results as the CSV of the same rows."""
    from test_warehouse_duckdb import SPACED_RULES, spaced_rows, warehouse_agrees_with_csv

    load_rows(postgres_url, "spaced", "date date, visits integer, channel text", spaced_rows())
    results = warehouse_agrees_with_csv(tmp_path, [postgres_url, "--table", "spaced"], ["date", "visits", "channel"],
                                        spaced_rows(), SPACED_RULES, "2026-11-20")
    assert [r["segment"] for r in results if r["name"] == "a"] == [{"channel": ""}, {"channel": "mail"},
                                                                    {"channel": "web"}]


def test_a_query_the_database_refuses_is_a_source_error(loaded, tmp_path):
    """A view that fails when read is data that cannot be read: exit 3 with PostgreSQL's
    reason, not 'internal error, please report it'."""
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE VIEW failing AS SELECT date, 1 / (clicks - clicks) AS clicks FROM segments")
    rules = tmp_path / "r.kpi"
    rules.write_text("a: clicks >= 1 weekly\n", encoding="utf-8")
    proc = kpirules("check", loaded, "--table", "failing", "--rules", str(rules), "--as-of", "2026-11-26")
    assert proc.returncode == 3, proc.stderr
    assert "PostgreSQL could not run the query: division by zero" in proc.stderr
    assert "internal error" not in proc.stderr


def test_nan_or_infinity_in_a_metric_is_an_error_not_a_verdict(loaded, tmp_path):
    """As on DuckDB (test_warehouse_duckdb): never a verdict on NaN."""
    from test_warehouse_duckdb import NAN_RULES, assert_nan_is_an_error, nan_rows

    load_rows(loaded, "with_nan", "date date, visits double precision", nan_rows())
    rules = tmp_path / "r.kpi"
    rules.write_text(NAN_RULES, encoding="utf-8")
    proc = kpirules("check", loaded, "--table", "with_nan", "--rules", str(rules), "--as-of", "2026-11-20",
                    "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert_nan_is_an_error(json.loads(proc.stdout)["results"])
