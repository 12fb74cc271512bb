"""Rules and results in the sheet, data in the warehouse (`kpirules run SHEET --data URL
--table T`), and "not checked: <reason>" when the data cannot be read.

Real parts only: the Google Sheets connector over HTTP against the Sheets emulator, real
.xlsx files, a real PostgreSQL server on 127.0.0.1 (the `postgres_url` fixture)."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, DATA_HEADERS, EXPECTED, by_header, data_rows, history_keys
from test_run_sheets import make_sheet, rules_tab
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli

WAREHOUSE_KEY = "1KpiRulesWarehouseSheet0123456789abcdefghijk"
KEY = "1KpiRulesRunTestSheet0123456789abcdefghijk"
COMPARED = ["status", "value", "target", "period", "message"]


@pytest.fixture
def emulator(monkeypatch):
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        yield emu


@pytest.fixture(scope="module")
def daily(postgres_url):
    """``data_rows()`` as table run_daily: a date column of type date, metrics as double
    precision, the campaign as text."""
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS run_daily")
        conn.execute('CREATE TABLE run_daily ("Date" date, "Campaign" text, "Visits" double precision, '
                     '"Signups" double precision)')
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO run_daily VALUES (%s, %s, %s, %s)",
                            [(dt.date.fromisoformat(d), c, v, s) for d, c, v, s in data_rows()])
    return postgres_url


def invoke(*args):
    return CliRunner().invoke(cli, [*args, "--as-of", AS_OF.isoformat()])


def engine_cells(emu, key):
    return {name: {k: row.get(k) for k in COMPARED} for name, row in by_header(emu.values(key, "Rules")).items()}


def test_run_on_the_warehouse_writes_what_the_data_tab_gives(emulator, daily):
    make_sheet(emulator)  # the data in the sheet's own Data tab
    emulator.add_spreadsheet(WAREHOUSE_KEY, {"Rules": rules_tab()}, time_zone="Europe/Warsaw")  # no Data tab
    in_sheet = invoke("run", KEY)
    on_postgres = invoke("run", WAREHOUSE_KEY, "--data", daily, "--table", "run_daily")
    assert in_sheet.exit_code == on_postgres.exit_code == 2, on_postgres.output  # the typo rule's ERROR
    assert {n: r["status"] for n, r in engine_cells(emulator, WAREHOUSE_KEY).items()} == EXPECTED
    assert engine_cells(emulator, WAREHOUSE_KEY) == engine_cells(emulator, KEY)
    assert history_keys(emulator.values(WAREHOUSE_KEY, "History")) == history_keys(emulator.values(KEY, "History"))
    assert "Data" not in emulator.values(WAREHOUSE_KEY, "Settings")  # nothing about the data was written


def test_the_data_and_table_settings_do_the_same(emulator, daily, tmp_path):
    emulator.add_spreadsheet(WAREHOUSE_KEY, {"Rules": rules_tab()}, time_zone="Europe/Warsaw")
    config = tmp_path / "kpirules.toml"
    config.write_text(f'data = "{daily}"\ntable = "run_daily"\n', encoding="utf-8")
    result = invoke("run", WAREHOUSE_KEY, "--config", str(config))
    assert result.exit_code == 2, result.output
    assert {n: r["status"] for n, r in engine_cells(emulator, WAREHOUSE_KEY).items()} == EXPECTED
    # check and explain read the same way
    checked = invoke("check", WAREHOUSE_KEY, "--config", str(config), "--format", "json")
    assert checked.exit_code == 2, checked.output
    statuses = {r["name"]: r["status"] for r in json.loads(checked.output)["results"] if not r["segment"]}
    assert statuses["conversion"] == "WARN" and statuses["typo"] == "ERROR"
    explained = invoke("explain", WAREHOUSE_KEY, "conversion", "--config", str(config))
    assert explained.exit_code == 0, explained.output
    assert "WARN" in explained.output


def test_check_with_data_and_table_options(emulator, daily):
    make_sheet(emulator)
    emulator.add_spreadsheet(WAREHOUSE_KEY, {"Rules": rules_tab()}, time_zone="Europe/Warsaw")
    in_sheet = json.loads(invoke("check", KEY, "--format", "json").output)["results"]
    result = invoke("check", WAREHOUSE_KEY, "--data", daily, "--table", "run_daily", "--format", "json")
    assert result.exit_code == 2, result.output
    on_postgres = json.loads(result.output)["results"]
    keys = ("name", "segment", "status", "value", "message")
    assert [{k: r[k] for k in keys} for r in on_postgres] == [{k: r[k] for k in keys} for r in in_sheet]


def test_a_password_in_the_settings_tab_is_refused(emulator, postgres_url):
    secret_url = postgres_url.replace("@", ":hunter2@", 1) if "@" in postgres_url else \
        postgres_url.replace("postgresql://", "postgresql://kpi:hunter2@", 1)
    emulator.add_spreadsheet(WAREHOUSE_KEY, {"Rules": rules_tab(),
                                             "Settings": [["Key", "Value"], ["data", secret_url],
                                                          ["table", "run_daily"]]})
    result = invoke("run", WAREHOUSE_KEY)
    assert result.exit_code == 2
    assert "Settings!B2" in result.output and "password" in result.output
    assert "hunter2" not in result.output


# ------------------------------------------------------------------ not checked

def not_checked_statuses(rows):
    return {n: r["status"] for n, r in by_header(rows).items()}


def test_unreadable_dates_give_not_checked_in_every_status_xlsx(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    first = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat()])
    assert first.exit_code == 2, first.output
    history = history_keys(tab_rows(book, "History"))
    alerts = tab_rows(book, "Alerts")
    wb = openpyxl.load_workbook(book)
    wb["Data"]["A5"].value = "the 31st of Smarch"  # a data row whose date cannot be read
    wb.save(book)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", (AS_OF + dt.timedelta(days=7)).isoformat()])
    assert result.exit_code == 3, result.output
    statuses = not_checked_statuses(tab_rows(book, "Rules"))
    assert statuses.pop("switched_off") == "OFF"
    assert statuses and all(s.startswith("not checked: ") and "Data!A5" in s for s in statuses.values()), statuses
    messages = {n: r["message"] for n, r in by_header(tab_rows(book, "Rules")).items()}
    assert messages["conversion"].startswith("the data could not be read: ")
    assert history_keys(tab_rows(book, "History")) == history  # no verdict recorded
    assert tab_rows(book, "Alerts") == alerts  # no verdict alert
    assert "Data!A5" in result.output and "not checked" in result.output
    # one line per rule: "not checked <name>: <why>", the reason said once, not in the status too
    line = next(x for x in result.output.splitlines() if " conversion: " in x)
    assert line.startswith("not checked conversion: the data could not be read: ") and line.count("Data!A5") == 1, line


def test_a_missing_data_tab_gives_not_checked_xlsx(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    wb = openpyxl.load_workbook(book)
    wb["Data"].title = "Daily"
    wb.save(book)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--format", "json"])
    assert result.exit_code == 3, result.output
    assert '"not_checked"' in result.output and "Data" in result.output
    statuses = not_checked_statuses(tab_rows(book, "Rules"))
    assert all(s.startswith("not checked: ") for n, s in statuses.items() if n != "switched_off"), statuses
    assert len(tab_rows(book, "History")) <= 1  # the header at most


def test_a_missing_data_tab_gives_not_checked_on_sheets(emulator):
    emulator.add_spreadsheet(KEY, {"Daily": [DATA_HEADERS] + data_rows(), "Rules": rules_tab()})
    result = invoke("run", KEY)
    assert result.exit_code == 3, result.output
    statuses = not_checked_statuses(emulator.values(KEY, "Rules"))
    assert all(s.startswith("not checked: ") and "Data" in s
               for n, s in statuses.items() if n != "switched_off"), statuses
    assert "alert:" not in result.output


def test_an_unreachable_warehouse_gives_not_checked_on_sheets(emulator):
    make_sheet(emulator)
    first = invoke("run", KEY)  # verdicts from the Data tab
    assert first.exit_code == 2
    history = history_keys(emulator.values(KEY, "History"))
    # Nothing listens on port 9 of 127.0.0.1: the server cannot be reached.
    result = invoke("run", KEY, "--data", "postgresql://kpi@127.0.0.1:9/marketing", "--table", "daily")
    assert result.exit_code == 3, result.output
    statuses = not_checked_statuses(emulator.values(KEY, "Rules"))
    assert all(s.startswith("not checked: ") for n, s in statuses.items() if n != "switched_off"), statuses
    assert history_keys(emulator.values(KEY, "History")) == history
    assert "alert:" not in result.output


def test_the_settings_tab_can_name_the_warehouse(emulator, daily):
    """No Data tab, no flags: the Settings tab's data and table rows (no password) suffice."""
    emulator.add_spreadsheet(WAREHOUSE_KEY, {"Rules": rules_tab(),
                                             "Settings": [["Key", "Value"], ["data", daily],
                                                          ["table", "run_daily"]]})
    checked = invoke("check", WAREHOUSE_KEY, "--format", "json")
    assert checked.exit_code == 2, checked.output
    assert {r["name"]: r["status"] for r in json.loads(checked.output)["results"]
            if not r["segment"]}["conversion"] == "WARN"
    result = invoke("run", WAREHOUSE_KEY)
    assert result.exit_code == 2, result.output
    assert {n: r["status"] for n, r in engine_cells(emulator, WAREHOUSE_KEY).items()} == EXPECTED
