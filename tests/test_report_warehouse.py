"""`kpirules report` on data in a database, read as `check` reads them: SOURCE a database
URL with --table and --rules, or --data URL --table T with the rules (and History) in a
workbook. The report must show what the same data in the workbook's own Data tab give.

Real parts only: a DuckDB database file, a real .xlsx, and a real PostgreSQL server on
127.0.0.1 (the `postgres_url` fixture)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_report import AS_OF, charts_of

from kpirules.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "marketing.xlsx"


def example_table() -> tuple[list[str], list[str], list[list]]:
    """The example's Data tab: headers, SQL types (date, double or text) and rows."""
    rows = list(openpyxl.load_workbook(EXAMPLE, read_only=True)["Data"].iter_rows(values_only=True))
    headers, body = [str(h) for h in rows[0]], [list(r) for r in rows[1:] if r[0] is not None]
    types = ["date"] + ["double precision" if all(isinstance(r[i], (int, float)) for r in body if r[i] is not None)
                        else "text" for i in range(1, len(headers))]
    for r in body:
        r[0] = r[0].date() if isinstance(r[0], dt.datetime) else r[0]
    return headers, types, body


def create_sql(name: str, headers: list[str], types: list[str]) -> str:
    return f'CREATE TABLE {name} ({", ".join(f"{chr(34)}{h}{chr(34)} {t}" for h, t in zip(headers, types))})'


@pytest.fixture(scope="module")
def duck(tmp_path_factory) -> str:
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path_factory.mktemp("duck") / "kpis.duckdb"
    headers, types, rows = example_table()
    with duckdb.connect(str(path)) as con:
        con.execute(create_sql("daily", headers, types).replace("double precision", "double"))
        con.executemany(f"INSERT INTO daily VALUES ({', '.join('?' * len(headers))})", rows)
    return f"duckdb:///{path}"


@pytest.fixture(scope="module")
def rules_only(tmp_path_factory) -> Path:
    """The example workbook without its Data tab: the rules stay, the data are elsewhere."""
    path = tmp_path_factory.mktemp("rules") / "marketing.xlsx"
    wb = openpyxl.load_workbook(EXAMPLE)
    del wb["Data"]
    wb.save(path)
    return path


def report(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", *args, "--as-of", AS_OF.isoformat(), "--periods", "5",
                                      "--out", str(out)])
    return result.exit_code, result.output, out.read_text(encoding="utf-8") if out.exists() else ""


def points(text: str) -> dict:
    """Every chart's points (period, status, value shown, where drawn): what the report says.
    The value to 12 digits: the database sums in its own order (spec: within 1e-9)."""
    return {key: [dict(p, **{"data-value": f"{float(p['data-value']):.12g}"} if p.get("data-value") else {})
                  for p in chart] for key, chart in charts_of(text).charts.items()}


@pytest.fixture(scope="module")
def in_the_workbook(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("book")
    shutil.copy(EXAMPLE, folder / "marketing.xlsx")
    code, output, text = report(folder, str(folder / "marketing.xlsx"))
    assert code == 0, output
    return text


def test_report_with_data_and_table_shows_what_the_data_tab_gives(duck, rules_only, in_the_workbook, tmp_path):
    code, output, text = report(tmp_path, str(rules_only), "--data", duck, "--table", "daily")
    assert code == 0, output
    assert points(text) and points(text) == points(in_the_workbook)
    assert "No History yet" in text  # evaluated at recent periods, on the database


def test_report_of_a_database_url_with_a_rules_file(duck, tmp_path):
    rules = tmp_path / "rules.kpi"
    rules.write_text("visit_to_signup: signups / visits >= 2% weekly warn at 2.5%\n"
                     "by_channel: signups / visits >= 1.8% over last 28 days by channel\n", encoding="utf-8")
    code, output, text = report(tmp_path, duck, "--table", "daily", "--rules", str(rules))
    assert code == 0, output
    charts = charts_of(text).charts
    assert len(charts[("visit_to_signup", "")]) == 5  # five weekly periods, computed in the database
    assert any(name == "by_channel" and segment for name, segment in charts)


def test_report_on_a_missing_table_is_exit_3_with_a_message(duck, rules_only, tmp_path):
    code, output, text = report(tmp_path, str(rules_only), "--data", duck, "--table", "nope")
    assert code == 3 and "table nope not found" in output and "Traceback" not in output
    assert text == ""  # no report written


def test_report_with_data_on_postgres(postgres_url, rules_only, in_the_workbook, tmp_path):
    psycopg = pytest.importorskip("psycopg")
    headers, types, rows = example_table()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS report_daily")
        conn.execute(create_sql("report_daily", headers, types))
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO report_daily VALUES ({', '.join(['%s'] * len(headers))})", rows)
    code, output, text = report(tmp_path, str(rules_only), "--data", postgres_url, "--table", "report_daily")
    assert code == 0, output
    assert points(text) == points(in_the_workbook)
