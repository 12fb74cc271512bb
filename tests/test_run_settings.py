"""Settings a run must follow or refuse with a located error: the tabs it reads and writes
(History and Alerts in tabs of their own; a Settings tab's tab names are the ones `run`
reads) and durations (real xlsx files, the Sheets emulator over HTTP)."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, by_header
from test_run_sheets import emulator  # noqa: F401 (a fixture)
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli


def with_settings(path, *rows):
    """The workbook at ``path`` with a Settings tab holding ``rows`` (key, value)."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Settings")
    ws.append(["Key", "Value"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def run(path, *args):
    return CliRunner().invoke(cli, ["run", str(path), "--as-of", AS_OF.isoformat(), *args])


@pytest.mark.parametrize("key,value,clash", [
    ("alerts_tab", "Rules", "is already the Rules tab (`rules_tab`)"),
    ("alerts_tab", "history", "is already the History tab (`history_tab`)"),
    ("history_tab", "Alerts", "is already the Alerts tab (`alerts_tab`)"),
    ("history_tab", "Dashboard", "is already kpirules' own Dashboard tab"),
    ("history_tab", "DATA", "is already the Data tab (`data_tab`)"),
    ("alerts_tab", "Settings", "is already kpirules' own Settings tab"),
])
def test_history_or_alerts_named_as_another_tab_is_a_located_settings_error(tmp_path, key, value, clash):
    # Before: alerts_tab = Rules appended the alert rows into the Rules tab (its Status
    # header overwritten by Time, the rows read back as broken rules); history_tab =
    # Dashboard had the Dashboard overwrite the History whole, and every later run exit 3.
    book = with_settings(make_workbook(tmp_path / "kpis.xlsx"), (key, value))
    before = book.read_bytes()
    result = run(book)
    assert result.exit_code == 2, result.output
    assert f"Settings!B2: config: `{key}`: {value!r} {clash}" in result.output
    assert f"give `{key}` a tab of its own" in result.output
    assert book.read_bytes() == before


def test_a_clash_is_located_in_the_file_that_set_it_and_init_refuses_it_too(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    before = book.read_bytes()
    config = tmp_path / "kpirules.toml"
    config.write_text('# ops\nalerts_tab = "History"\n')
    for command in (["run", str(book), "--config", str(config)], ["init", str(book), "--config", str(config)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert "kpirules.toml:2: config: `alerts_tab`: 'History' is already the History tab" in result.output
    assert book.read_bytes() == before


def test_a_tab_that_renames_what_the_file_leaves_to_the_default_is_no_clash(tmp_path):
    # The file points Alerts at "History"; the sheet's own Settings tab moves History to
    # "Log": merged key by key, they name different tabs.
    book = with_settings(make_workbook(tmp_path / "kpis.xlsx"), ("history_tab", "Log"))
    config = tmp_path / "kpirules.toml"
    config.write_text('alerts_tab = "History"\n')
    result = run(book, "--config", str(config))
    assert result.exit_code == 2, result.output  # the rules' own ERROR
    wb = openpyxl.load_workbook(book)
    assert wb["Log"]["A1"].value == "Rule" and wb["History"]["A1"].value == "Time"


def test_a_foreign_alerts_tab_is_refused_untouched(tmp_path):
    # init refuses an Alerts tab of someone else's; run appended its columns and rows to it.
    book = make_workbook(tmp_path / "kpis.xlsx")
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("Alerts").append(["When", "Incident", "Owner"])
    wb["Alerts"].append(["2026-01-01", "site down", "ops"])
    wb.save(book)
    before = book.read_bytes()
    result = run(book)
    assert result.exit_code == 3, result.output
    assert "the Alerts tab exists but is not kpirules'" in result.output
    assert book.read_bytes() == before


def test_the_settings_tabs_data_tab_is_the_one_run_evaluates(tmp_path):
    # Before: run read the default Data tab whatever the Settings tab said (check read the
    # named one), so run recorded PASS where check said FAIL; without a Data tab, exit 3.
    book = with_settings(make_workbook(tmp_path / "kpis.xlsx"), ("data_tab", "Daily"))
    wb = openpyxl.load_workbook(book)
    daily = wb.copy_worksheet(wb["Data"])
    daily.title = "Daily"
    for row in range(2, daily.max_row + 1):
        daily.cell(row=row, column=3).value = 1  # one visit a day: daily_visits fails there
    wb.save(book)
    check = CliRunner().invoke(cli, ["check", str(book), "--as-of", AS_OF.isoformat()])
    assert "FAIL    daily_visits" in check.output, check.output
    assert run(book).exit_code == 2
    assert by_header(tab_rows(book, "Rules"))["daily_visits"]["status"] == "FAIL"

    wb = openpyxl.load_workbook(book)
    wb.remove(wb["Data"])  # only the tab the settings name
    wb.save(book)
    result = run(book)
    assert result.exit_code == 2, result.output
    assert by_header(tab_rows(book, "Rules"))["daily_visits"]["status"] == "FAIL"
    check = CliRunner().invoke(cli, ["check", str(book), "--as-of", AS_OF.isoformat()])
    assert check.exit_code == 2 and "FAIL    daily_visits" in check.output, check.output


def test_on_a_google_sheet_a_clash_writes_nothing(emulator):
    from test_run_sheets import KEY, make_sheet

    make_sheet(emulator, extra={"Settings": [["Key", "Value"], ["alerts_tab", "rules"]]})
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    assert "Settings!B2: config: `alerts_tab`: 'rules' is already the Rules tab" in result.output
    assert [e["api"] for e in emulator.requests()] == ["spreadsheets.get"] * len(emulator.requests())
    assert not emulator.changed(KEY)


@pytest.mark.parametrize("key,value", [
    ("history_keep", "100000000 years"), ("owed_for", "99999999999 days"), ("late_after", "99999999 days"),
])
def test_a_duration_past_the_calendar_is_a_located_settings_error_not_a_crash(tmp_path, key, value):
    # Before: an internal error (OverflowError), no location, for run and check alike.
    book = with_settings(make_workbook(tmp_path / "kpis.xlsx"), (key, value))
    before = book.read_bytes()
    for command in ("run", "check"):
        result = CliRunner().invoke(cli, [command, str(book), "--as-of", AS_OF.isoformat()])
        assert result.exit_code == 2, result.output
        assert f"Settings!B2: config: `{key}`: {value!r} is longer than 100 years" in result.output
        assert "internal error" not in result.output
    assert book.read_bytes() == before


def test_on_a_google_sheet_the_settings_tabs_data_tab_is_read_by_run_and_check(emulator):
    from test_run_common import DATA_HEADERS, data_rows
    from test_run_sheets import KEY, rules_tab

    emulator.add_spreadsheet(KEY, {"Daily": [DATA_HEADERS] + data_rows(), "Rules": rules_tab(),
                                   "Settings": [["Key", "Value"], ["data_tab", "Daily"]]}, time_zone="Europe/Warsaw")
    check = CliRunner().invoke(cli, ["check", KEY, "--as-of", AS_OF.isoformat()])
    assert check.exit_code == 2 and "PASS    daily_visits" in check.output, check.output
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    assert by_header(emulator.values(KEY, "Rules"))["daily_visits"]["status"] == "PASS"
    emulator.reset_requests()
    again = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    assert again.exit_code == 2, again.output
    # The default Data tab is not there: the read that names it is refused, the one for the
    # Settings tab's tabs is the run's (docs/running.md, "What a run costs").
    assert [e["api"] for e in emulator.requests()].count("spreadsheets.batchUpdate") == 1


def test_an_enabled_cell_of_0_switches_the_rule_off_in_xlsx_and_on_sheets(tmp_path, emulator):
    # The Enabled words include "0", but a number cell reads as the float 0.0 ("0.0"): a
    # rule its owner switched off with 0 ran, failed and alerted.
    from test_run_common import RULES, USER_COLUMNS
    from test_run_sheets import KEY, make_sheet, rules_tab

    rules = [dict(r, Enabled=0) if r["Name"] == "by_campaign" else dict(r, Enabled=1) if r["Name"] == "daily_visits"
             else r for r in RULES]
    book = make_workbook(tmp_path / "kpis.xlsx", rules=rules)
    make_sheet(emulator, rules=rules_tab(USER_COLUMNS, rules))
    for source, values in ((str(book), lambda: tab_rows(book, "Rules")), (KEY, lambda: emulator.values(KEY, "Rules"))):
        result = CliRunner().invoke(cli, ["run", source, "--as-of", AS_OF.isoformat()])
        assert "alert: by_campaign" not in result.output, result.output
        statuses = {n: r["status"] for n, r in by_header(values()).items()}
        assert statuses["by_campaign"] == "OFF" and statuses["daily_visits"] == "PASS", statuses


def test_a_missing_rules_tab_named_on_the_command_line_is_the_one_named(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    before = book.read_bytes()
    result = CliRunner().invoke(cli, ["run", str(book), "--rules-tab", "KPIs", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3
    assert "kpis.xlsx has no KPIs tab" in result.output and "no Rules tab" not in result.output
    assert book.read_bytes() == before
