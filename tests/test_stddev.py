"""``stddev(x)``: the sample standard deviation of the non-blank cells, NO_DATA below two.

The same numbers on every path that computes aggregates: the Python table, the DuckDB
backend of a CSV file, and the warehouse compiler on DuckDB and PostgreSQL (real engines:
an in-process DuckDB file, the session's PostgreSQL server). The function is one entry of
kpirules/aggregate_functions.py; ``median`` stays unknown."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from kpirules.connectors.csv_file import CsvConnector
from kpirules.engine import evaluate
from kpirules.errors import KpiError
from kpirules.parser import parse_rule
from kpirules.rulesfile import parse_rules_file
from kpirules.table import load_table

AS_OF = dt.date(2026, 11, 23)  # weekly: 2026-11-16 .. 22
ROWS = [  # channel a: 10, 12, (blank), 23, 16; b: 7, 9; c: 5 only (NO_DATA); d: before the week
    ("2026-11-16", "a", 10), ("2026-11-17", "a", 12), ("2026-11-18", "a", None), ("2026-11-19", "a", 23),
    ("2026-11-20", "a", 16), ("2026-11-21", "b", 7), ("2026-11-22", "b", 9), ("2026-11-16", "c", 5),
    ("2026-11-10", "d", 1), ("2026-11-11", "d", 100),
]
RULES = "spread: stddev(visits) <= 5 weekly by channel\nall: stddev(visits) <= 5 weekly\n"
EXPECTED = {
    ("spread", "a"): statistics.stdev([10, 12, 23, 16]),
    ("spread", "b"): statistics.stdev([7, 9]),
    ("spread", "c"): None,
    ("all", None): statistics.stdev([10, 12, 23, 16, 7, 9, 5]),
}


def write_csv(path: Path) -> Path:
    lines = ["date,channel,visits"] + [f"{d},{c},{'' if v is None else v}" for d, c, v in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def values(results) -> dict:
    """(name, channel) -> (status, value) from Report results or JSON results."""
    out = {}
    for r in results:
        if isinstance(r, dict):
            name, seg, status, value = r["name"], (r["segment"] or {}).get("channel"), r["status"], r["value"]
        else:
            name, seg = r.name, (dict(r.segment).get("channel") if r.segment else None)
            status, value = r.status.value, r.value
        out[(name, seg)] = (status, value)
    return out


def assert_expected(got: dict) -> None:
    assert set(got) == set(EXPECTED)
    for key, want in EXPECTED.items():
        status, value = got[key]
        if want is None:
            assert (status, value) == ("NO_DATA", None), key
        else:
            assert value is not None and math.isclose(value, want, rel_tol=1e-9), (key, value, want)
            assert status == ("PASS" if want <= 5 else "FAIL"), key


def test_python_path(tmp_path):
    table = load_table(CsvConnector(str(write_csv(tmp_path / "d.csv"))).read().data, date_column="date")
    assert_expected(values(evaluate(parse_rules_file(RULES), table, AS_OF).results))


def test_duckdb_csv_backend_gives_the_same_numbers(tmp_path):
    pytest.importorskip("duckdb")
    from kpirules.backends.duckdb_table import DuckTable

    report = evaluate(parse_rules_file(RULES), DuckTable(write_csv(tmp_path / "d.csv")), AS_OF)
    assert_expected(values(report.results))


def check_json(source: str, rules: Path, *extra: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", source, *extra, "--rules", str(rules),
                           "--as-of", AS_OF.isoformat(), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # channel a fails
    return json.loads(proc.stdout)["results"]


def test_warehouse_compiler_on_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    db = tmp_path / "kpi.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TABLE daily (date DATE, channel VARCHAR, visits DOUBLE)")
        conn.executemany("INSERT INTO daily VALUES (?, ?, ?)", ROWS)
    (tmp_path / "r.kpi").write_text(RULES, encoding="utf-8")
    assert_expected(values(check_json(f"duckdb:///{db}", tmp_path / "r.kpi", "--table", "daily")))


def test_warehouse_compiler_on_postgres(postgres_url, tmp_path):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS stddev_daily")
        conn.execute("CREATE TABLE stddev_daily (date date, channel text, visits double precision)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO stddev_daily VALUES (%s, %s, %s)",
                            [(dt.date.fromisoformat(d), c, v) for d, c, v in ROWS])
    (tmp_path / "r.kpi").write_text(RULES, encoding="utf-8")
    assert_expected(values(check_json(postgres_url, tmp_path / "r.kpi", "--table", "stddev_daily")))


def test_stddev_takes_one_column_and_median_stays_unknown():
    assert parse_rule("stddev(visits) <= 5 weekly").condition.left.func == "stddev"
    with pytest.raises(KpiError) as bad:
        parse_rule("stddev(visits, signups) <= 5 weekly")
    assert "`stddev` takes one column" in bad.value.problem.message
    with pytest.raises(KpiError) as unknown:
        parse_rule("median(visits) >= 100 weekly")
    assert unknown.value.problem.message == "unknown function `median`; did you mean `avg`?"
    assert "stddev" in unknown.value.problem.suggestion


def test_explain_words_it(tmp_path):
    (tmp_path / "r.kpi").write_text(RULES, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "kpirules", "explain", str(write_csv(tmp_path / "d.csv")),
                           "--rules", str(tmp_path / "r.kpi"), "--as-of", AS_OF.isoformat(), "all"],
                          capture_output=True, text=True, timeout=120)
    assert "sample standard deviation of 7 non-blank cells" in proc.stdout, proc.stdout + proc.stderr
