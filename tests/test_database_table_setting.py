"""``lint`` and ``validate`` read a database ``--data`` as ``check`` does: ``--table``, else
the ``table`` setting of the settings file (one code path: ``kpirules.cli.common.data_table``
over ``kpirules.backends.read_with_table``), and without either the hint names what exists.
Real DuckDB database files; the same rows as a CSV file give the same lint findings."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

duckdb = pytest.importorskip("duckdb")

RULES = "conversion: signups / visits >= 2% weekly\nvolume: visits >= 1 weekly by channel\n"


def _rows() -> list[tuple]:
    start = dt.date(2026, 9, 1)
    return [(start + dt.timedelta(days=d), 10.0 + d % 3, 1.0, "web") for d in range(84)]


@pytest.fixture
def place(tmp_path):
    path = tmp_path / "kpis.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE daily (date DATE, visits DOUBLE, signups DOUBLE, channel VARCHAR)")
        con.executemany("INSERT INTO daily VALUES (?, ?, ?, ?)", _rows())
    csv = tmp_path / "daily.csv"
    csv.write_text("date,visits,signups,channel\n" + "".join(f"{d},{v:g},{s:g},{c}\n" for d, v, s, c in _rows()),
                   encoding="utf-8")
    rules = tmp_path / "rules.kpi"
    rules.write_text(RULES, encoding="utf-8")
    settings = tmp_path / "kpirules.toml"
    settings.write_text('table = "daily"\n', encoding="utf-8")
    return {"db": f"duckdb:///{path}", "csv": str(csv), "rules": str(rules), "settings": str(settings),
            "tmp": tmp_path}


def run(*args: str):
    from kpirules.cli.main import cli

    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", ["lint", "validate"])
def test_without_a_table_the_hint_names_what_exists(place, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no settings file found from here
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    result = run(command, place["rules"], "--data", place["db"], "--config", str(empty))
    assert result.exit_code == 3, result.output
    assert "needs a table to read" in result.stderr and "Traceback" not in result.output
    assert "--table" in result.stderr and "`table` in the settings file" in result.stderr
    assert "--table" in run(command, "--help").output  # the option the hint names exists


@pytest.mark.parametrize("how", ["option", "setting"])
def test_validate_reads_the_table_of_the_setting_or_the_option(place, how):
    bad = place["tmp"] / "bad.kpi"
    bad.write_text("typo: visitz >= 1 weekly\n", encoding="utf-8")
    table = ["--config", place["settings"]] if how == "setting" else ["--table", "daily"]
    result = run("validate", str(bad), "--data", place["db"], *table, "--format", "json")
    assert result.exit_code == 1, result.output  # validate: 1 for problems found
    assert "visitz" in result.stdout and "visits" in result.stdout  # the table's columns were read
    ok = run("validate", place["rules"], "--data", place["db"], *table)
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("how", ["option", "setting"])
def test_lint_with_a_database_finds_what_it_finds_in_the_same_csv(place, how):
    table = ["--config", place["settings"]] if how == "setting" else ["--table", "daily"]
    on_db = run("lint", place["rules"], "--data", place["db"], *table, "--format", "json")
    on_csv = run("lint", place["rules"], "--data", place["csv"], "--format", "json")
    assert on_db.exit_code == on_csv.exit_code == 0, on_db.output + on_csv.output
    findings = json.loads(on_db.stdout)["findings"]
    assert findings == json.loads(on_csv.stdout)["findings"]
    assert any(f["code"] == "KPI002" for f in findings)  # a volume check: it read the rows


def test_check_with_a_database_source_takes_the_table_setting(place):
    result = run("check", place["db"], "--rules", place["rules"], "--config", place["settings"],
                 "--as-of", "2026-11-20", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert {r["name"] for r in json.loads(result.stdout)["results"]} == {"conversion", "volume"}
