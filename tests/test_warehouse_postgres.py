"""The same rules on PostgreSQL: every conformance case loaded into a real table (a date
column of type date, metrics as double precision, dimensions as text) and checked through
the real CLI (`kpirules check postgresql://... --table T --rules FILE --format json`): the
results must be exactly the conformance results. The server is a real PostgreSQL on
127.0.0.1 (the `postgres_url` fixture, one cluster per test run)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import assert_matches, expected_exit

psycopg = pytest.importorskip("psycopg")

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))


def column_types(doc: dict) -> list[str]:
    """date for the first column, double precision where every value is a number, else text."""
    types = []
    rows = doc["data"]["rows"]
    for i, _ in enumerate(doc["data"]["columns"]):
        values = [r[i] for r in rows if r[i] is not None]
        if i == 0:
            types.append("date")
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            types.append("double precision")
        else:
            types.append("text")
    return types


def load_case_table(conn, name: str, doc: dict) -> None:
    from psycopg import sql

    columns, types = doc["data"]["columns"], column_types(doc)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier(name),
        sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in zip(columns, types))))
    rows = [[None if v is None else (dt.date.fromisoformat(v[:10]) if i == 0 else
             (str(v) if types[i] == "text" else v)) for i, v in enumerate(row)] for row in doc["data"]["rows"]]
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(
            sql.Identifier(name), sql.SQL(", ").join(sql.Placeholder() * len(columns))), rows)


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
    rules = tmp_path / "rules.kpi"
    rules.write_text("".join(f"{c['name']}: {c['rule']}\n" for c in doc["cases"]), encoding="utf-8")
    proc = kpirules("check", loaded, "--table", path.stem.replace("-", "_"), "--rules", str(rules),
                    "--as-of", doc["as_of"], "--format", "json")
    assert proc.returncode == expected_exit(doc), proc.stderr
    results = json.loads(proc.stdout)["results"]
    for case in doc["cases"]:
        assert_matches(case, [r for r in results if r["name"] == case["name"]])


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
